/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Hand-written pybind11 bindings for gr-semcom (no generated headers to keep in sync).
 */

#include <pybind11/complex.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <gnuradio/semcom/awgn_channel.h>
#include <gnuradio/semcom/fading_channel.h>
#include <gnuradio/semcom/gray_pam.h>
#include <gnuradio/semcom/index_demapper.h>
#include <gnuradio/semcom/index_mapper.h>
#include <gnuradio/semcom/index_soft_demapper.h>
#include <gnuradio/semcom/matched_filter.h>
#include <gnuradio/semcom/normal_rng.h>

#include <stdexcept>

namespace py = pybind11;
using namespace gr::semcom;

namespace {

using c64_array = py::array_t<std::complex<float>, py::array::c_style | py::array::forcecast>;
using u8_array = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;

py::array_t<std::complex<float>> map_array(const gray_pam& pam, const u8_array& indices)
{
    if (indices.ndim() != 1 || indices.shape(0) % 2 != 0) {
        throw std::invalid_argument("gray_pam.map: expected a 1-D array of an even number "
                                    "of indices");
    }
    const size_t nsymbols = size_t(indices.shape(0)) / 2;
    py::array_t<std::complex<float>> out(nsymbols);
    const uint8_t* in = indices.data();
    const size_t done = pam.map(in, reinterpret_cast<gr_complex*>(out.mutable_data()), nsymbols);
    if (done < nsymbols)
        throw std::invalid_argument(pam.describe_bad_pair(in + 2 * done, 2 * done));
    return out;
}

py::array_t<uint8_t> hard_demap_array(const gray_pam& pam, const c64_array& symbols)
{
    if (symbols.ndim() != 1)
        throw std::invalid_argument("gray_pam.hard_demap: expected a 1-D array of symbols");
    const size_t nsymbols = size_t(symbols.shape(0));
    py::array_t<uint8_t> out(2 * nsymbols);
    pam.hard_demap(
        reinterpret_cast<const gr_complex*>(symbols.data()), out.mutable_data(), nsymbols);
    return out;
}

py::array_t<float>
soft_demap_array(const gray_pam& pam, const c64_array& symbols, float noise_var)
{
    if (symbols.ndim() != 1)
        throw std::invalid_argument("gray_pam.soft_demap: expected a 1-D array of symbols");
    const size_t nsymbols = size_t(symbols.shape(0));
    py::array_t<float> out({ py::ssize_t(2 * nsymbols), py::ssize_t(pam.order()) });
    pam.soft_demap(reinterpret_cast<const gr_complex*>(symbols.data()),
                   out.mutable_data(),
                   nsymbols,
                   noise_var);
    return out;
}

using f32_array = py::array_t<float, py::array::c_style | py::array::forcecast>;

py::array_t<float> soft_demap_csi_array(const gray_pam& pam,
                                        const c64_array& symbols,
                                        const f32_array& noise_vars)
{
    if (symbols.ndim() != 1 || noise_vars.ndim() != 1 ||
        noise_vars.shape(0) != symbols.shape(0)) {
        throw std::invalid_argument("gray_pam.soft_demap: expected 1-D arrays of symbols and "
                                    "of one noise variance per symbol");
    }
    const size_t nsymbols = size_t(symbols.shape(0));
    py::array_t<float> out({ py::ssize_t(2 * nsymbols), py::ssize_t(pam.order()) });
    pam.soft_demap(reinterpret_cast<const gr_complex*>(symbols.data()),
                   out.mutable_data(),
                   nsymbols,
                   noise_vars.data());
    return out;
}

py::array_t<float> normal_array(normal_rng& rng, size_t n)
{
    py::array_t<float> out(n);
    rng.fill(out.mutable_data(), n);
    return out;
}

py::array_t<std::complex<double>>
matched_at_array(const matched_filter& mf,
                 py::array_t<std::complex<double>, py::array::c_style | py::array::forcecast> in,
                 py::array_t<double, py::array::c_style | py::array::forcecast> times)
{
    if (in.ndim() != 1 || times.ndim() != 1) {
        throw std::invalid_argument("matched filter: samples and times must be 1-D arrays");
    }
    const size_t n = size_t(times.shape(0));
    py::array_t<std::complex<double>> out(n);
    {
        py::gil_scoped_release release;
        mf.at(in.data(), size_t(in.shape(0)), times.data(), out.mutable_data(), n);
    }
    return out;
}

} // namespace

PYBIND11_MODULE(semcom_python, m)
{
    m.doc() = "gr-semcom C++ blocks and the Gray N-PAM index mapping kernel";

    // Base classes (gr::block, ...) must be registered before ours refer to them.
    py::module::import("gnuradio.gr");

    py::class_<gray_pam>(m, "gray_pam", R"doc(
Gray-labelled N-PAM per axis; two codebook indices per square N^2-QAM symbol.

The kernel behind index_mapper, index_demapper and index_soft_demapper, exposed for
tests and offline use on numpy arrays.)doc")
        .def(py::init<unsigned int>(), py::arg("order") = 8)
        .def("order", &gray_pam::order)
        .def("bits_per_index", &gray_pam::bits_per_index)
        .def_static("gray", &gray_pam::gray, py::arg("position"))
        .def("amplitude", &gray_pam::amplitude, py::arg("label"))
        .def("position_amplitudes", &gray_pam::position_amplitudes)
        .def("map", &map_array, py::arg("indices"))
        .def("hard_demap", &hard_demap_array, py::arg("symbols"))
        .def("soft_demap", &soft_demap_array, py::arg("symbols"), py::arg("noise_var"))
        .def("soft_demap",
             &soft_demap_csi_array,
             py::arg("symbols"),
             py::arg("noise_vars"),
             "Posteriors with one noise variance N0 per symbol (after fading).");

    py::class_<matched_filter>(m, "matched_filter", R"doc(
The RRC matched filter at any instant (the burst receiver's hot path): the C++ twin of
semcom_codec.phy.pulse.matched_at.)doc")
        .def(py::init<unsigned int, double, unsigned int, unsigned int>(),
             py::arg("sps") = 2,
             py::arg("rolloff") = 0.35,
             py::arg("span") = 8,
             py::arg("phases") = 512)
        .def("sps", &matched_filter::sps)
        .def("taps", &matched_filter::taps)
        .def_static("rrc", &matched_filter::rrc, py::arg("t"), py::arg("rolloff"))
        .def("at",
             &matched_at_array,
             py::arg("samples"),
             py::arg("times"),
             "Outputs at fractional sample times (complex128 in and out).");

    py::class_<normal_rng>(m, "normal_rng", R"doc(
Seedable standard normal numbers (xoshiro256+ and vectorised Box-Muller): the noise
behind awgn_channel and fading_channel.)doc")
        .def(py::init<uint64_t>(), py::arg("seed") = 0)
        .def("seed", &normal_rng::seed, py::arg("seed"))
        .def("normal", &normal_array, py::arg("n"), "n independent N(0, 1) floats.")
        .def("uniform", &normal_rng::uniform);

    py::class_<index_mapper,
               gr::sync_decimator,
               gr::sync_block,
               gr::block,
               gr::basic_block,
               std::shared_ptr<index_mapper>>(m, "index_mapper", R"doc(
Codebook indices (bytes 0..N-1) to Gray-mapped N^2-QAM symbols, two indices per
symbol (first on I, second on Q), unit average symbol energy. An index >= N ends the
flowgraph with an error naming the value.)doc")
        .def(py::init(&index_mapper::make), py::arg("order") = 8)
        .def("order", &index_mapper::order);

    py::class_<index_demapper,
               gr::sync_interpolator,
               gr::sync_block,
               gr::block,
               gr::basic_block,
               std::shared_ptr<index_demapper>>(m, "index_demapper", R"doc(
Hard decision: Gray-mapped N^2-QAM symbols to two index bytes each (I, then Q).)doc")
        .def(py::init(&index_demapper::make), py::arg("order") = 8)
        .def("order", &index_demapper::order);

    py::class_<index_soft_demapper,
               gr::sync_interpolator,
               gr::sync_block,
               gr::block,
               gr::basic_block,
               std::shared_ptr<index_soft_demapper>>(m, "index_soft_demapper", R"doc(
Per-index posteriors p(k | y): two vectors of N floats per symbol (I index, then Q
index), for noise variance N0 per complex symbol (settable while running).)doc")
        .def(py::init(&index_soft_demapper::make),
             py::arg("order") = 8,
             py::arg("noise_var") = 0.1f)
        .def("order", &index_soft_demapper::order)
        .def("noise_var", &index_soft_demapper::noise_var)
        .def("set_noise_var", &index_soft_demapper::set_noise_var, py::arg("noise_var"));

    py::class_<awgn_channel,
               gr::sync_block,
               gr::block,
               gr::basic_block,
               std::shared_ptr<awgn_channel>>(m, "awgn_channel", R"doc(
y = x + w, w ~ CN(0, N0), N0 = 10^(-EsN0_dB/10): AWGN for unit-energy symbols, seedable,
Es/N0 settable while running.)doc")
        .def(py::init(&awgn_channel::make), py::arg("esn0_db") = 10.0f, py::arg("seed") = 0)
        .def("esn0_db", &awgn_channel::esn0_db)
        .def("noise_var", &awgn_channel::noise_var)
        .def("set_esn0_db", &awgn_channel::set_esn0_db, py::arg("esn0_db"));

    py::class_<fading_channel,
               gr::sync_block,
               gr::block,
               gr::basic_block,
               std::shared_ptr<fading_channel>>(m, "fading_channel", R"doc(
Rayleigh or Rician block fading plus AWGN, equalised with perfect CSI (x_hat = y / h);
optional second output: the effective noise variance N0 / |h|^2 of each symbol.)doc")
        .def(py::init(&fading_channel::make),
             py::arg("kind") = "rayleigh",
             py::arg("esn0_db") = 10.0f,
             py::arg("k_factor") = 1.0f,
             py::arg("block_length") = 1,
             py::arg("seed") = 0)
        .def("kind", &fading_channel::kind)
        .def("esn0_db", &fading_channel::esn0_db)
        .def("noise_var", &fading_channel::noise_var)
        .def("k_factor", &fading_channel::k_factor)
        .def("block_length", &fading_channel::block_length)
        .def("set_esn0_db", &fading_channel::set_esn0_db, py::arg("esn0_db"));
}
