# gr-semcom: set-up, build, test and demo on Debian 12 (as root or with sudo).
#   make demo       install everything, build the module, run examples/loopback_awgn.py
#   make test       the same set-up, then every test (ctest: C++ blocks + Python QA; pytest: codec)
#   make bench-phy  throughput of the index mapper/demappers against GNU Radio's stock blocks
#   make bench-header  frame header success over AWGN at -5 dB and above
#   make bench-ota     the OTA PHY: detection, false alarms, N0 estimate, error rates, images
#   make bench-blocks  PSNR through the GNU Radio loopback beside semcom eval, per codec
#   make bench-stream  N Kodak images through the loopback flowgraph: images/s, symbols/s
#   make bench-soak    N=1000 images through one flowgraph: RSS growth from image 100 to N
#   make grc        GNU Radio Companion (venv Python, module's blocks) on loopback_awgn_qt.grc
#   make screenshot the GRC GUI test under Xvfb; saves docs/grc_loopback_awgn_qt.png
# Every step is idempotent: a second run only checks and rebuilds what changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
ROOT := $(CURDIR)
VENV ?= $(ROOT)/.venv
PY := $(VENV)/bin/python
BUILD ?= $(ROOT)/build
JOBS ?= $(shell nproc)
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
DEB_PACKAGES := gnuradio gnuradio-dev libvolk2-dev pybind11-dev python3-pybind11 cmake g++ \
                python3-venv python3-matplotlib python3-scipy python3-pil \
                gir1.2-gtk-3.0 gir1.2-pango-1.0 python3-gi-cairo xvfb xdotool
STAMPS := $(VENV)/.stamps

.PHONY: all setup debs venv build demo test test-cpp test-codec bench-phy bench-header bench-ota bench-blocks bench-stream bench-soak grc screenshot clean

all: build

setup: build

# Debian packages: checked with dpkg (fast); apt runs only when something is missing.
debs:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "debs: installing" $$missing; \
	  $(SUDO) apt-get update -q; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $(DEB_PACKAGES); \
	fi

# The venv sees Debian's GNU Radio (its modules are for /usr/bin/python3, not the python3 on PATH).
$(STAMPS)/venv: requirements.txt codec/pyproject.toml | debs
	[ -x $(PY) ] || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e codec
	mkdir -p $(STAMPS) && touch $@

$(STAMPS)/metric-weights: $(STAMPS)/venv
	$(PY) -c "from semcom_codec.metrics import lpips_weights; lpips_weights.lpips_state_dict_path()"
	$(PY) -c "from semcom_codec.metrics import dists_weights; dists_weights.dists_state_dict_path()"
	touch $@

# Launchers in the venv: GRC and grcc on the venv's Python with the installed blocks found.
LAUNCHERS := $(VENV)/bin/gnuradio-companion $(VENV)/bin/grcc
$(LAUNCHERS): $(VENV)/bin/%: tools/grc-launcher.in | $(STAMPS)/venv
	sed -e 's|@VENV@|$(VENV)|g' -e 's|@TOOL@|$*|g' $< > $@.tmp
	chmod +x $@.tmp && mv $@.tmp $@

venv: debs $(STAMPS)/venv $(STAMPS)/metric-weights $(LAUNCHERS)

$(BUILD)/CMakeCache.txt: | venv
	cmake -S $(ROOT) -B $(BUILD) -DCMAKE_BUILD_TYPE=Release \
	    -DPYTHON_EXECUTABLE=$(PY) \
	    -DCMAKE_INSTALL_PREFIX=$(VENV) \
	    -DCMAKE_INSTALL_RPATH=$(VENV)/lib/x86_64-linux-gnu

build: venv $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)
	cmake --install $(BUILD) > /dev/null

test-cpp: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-codec: venv
	cd codec && $(PY) -m pytest -q tests

test: test-cpp test-codec

demo: build
	$(PY) examples/loopback_awgn.py

bench-phy: build
	$(PY) benchmarks/bench_phy.py

bench-header: build
	$(PY) benchmarks/bench_header.py

bench-ota: build
	$(PY) benchmarks/bench_ota.py

bench-blocks: build
	$(PY) benchmarks/bench_blocks_vs_eval.py --markdown docs/BLOCKS_VS_EVAL.md

# N images (default 8; make bench-stream N=24) through image source -> mapper -> AWGN -> sink
N ?= 8
bench-stream: build
	$(PY) benchmarks/bench_stream.py --images $(N)

# N images (default 1000) through one loopback flowgraph, RSS sampled at every image
bench-soak: build
	$(PY) benchmarks/bench_soak.py --images $(if $(filter command line,$(origin N)),$(N),1000)

grc: build
	$(VENV)/bin/gnuradio-companion examples/loopback_awgn_qt.grc

# The GRC GUI test alone; it copies its screenshot to SEMCOM_SCREENSHOT.
screenshot: build
	cd $(BUILD) && SEMCOM_SCREENSHOT=$(ROOT)/docs/grc_loopback_awgn_qt.png \
	    ctest --output-on-failure -R '^qa_grc_gui$$'

clean:
	rm -rf $(BUILD)
