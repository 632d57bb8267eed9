# Lets other CMake projects use gr-semcom: find_package(gnuradio-semcom)
include(CMakeFindDependencyMacro)
find_dependency(Gnuradio "3.10" COMPONENTS runtime)
include("${CMAKE_CURRENT_LIST_DIR}/gnuradio-semcomTargets.cmake")
