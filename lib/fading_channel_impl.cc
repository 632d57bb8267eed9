/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "fading_channel_impl.h"
#include "awgn_channel_impl.h" // esn0_db_to_noise_var
#include <gnuradio/io_signature.h>
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace gr {
namespace semcom {

namespace {
bool parse_kind(const std::string& kind)
{
    if (kind == "rayleigh")
        return false;
    if (kind == "rician")
        return true;
    throw std::invalid_argument("fading_channel: kind must be 'rayleigh' or 'rician', got '" +
                                kind + "'");
}
} // namespace

fading_channel::sptr fading_channel::make(const std::string& kind,
                                          float esn0_db,
                                          float k_factor,
                                          unsigned int block_length,
                                          uint64_t seed)
{
    return gnuradio::make_block_sptr<fading_channel_impl>(
        kind, esn0_db, k_factor, block_length, seed);
}

fading_channel_impl::fading_channel_impl(const std::string& kind,
                                         float esn0_db,
                                         float k_factor,
                                         unsigned int block_length,
                                         uint64_t seed)
    : gr::sync_block("fading_channel",
                     gr::io_signature::make(1, 1, sizeof(gr_complex)),
                     gr::io_signature::make2(1, 2, sizeof(gr_complex), sizeof(float))),
      d_rician(parse_kind(kind)),
      d_k_factor(k_factor),
      d_block_length(block_length),
      d_esn0_db(0.0f),
      d_rng(seed),
      d_h(1.0f, 0.0f),
      d_left(0)
{
    if (!(k_factor >= 0.0f) || !std::isfinite(k_factor)) {
        throw std::invalid_argument("fading_channel: the Rician K factor must be a finite "
                                    "number >= 0, got " +
                                    std::to_string(k_factor));
    }
    if (block_length < 1)
        throw std::invalid_argument("fading_channel: block_length must be at least 1");
    set_esn0_db(esn0_db);
}

float fading_channel_impl::noise_var() const { return esn0_db_to_noise_var(esn0_db()); }

void fading_channel_impl::set_esn0_db(float esn0_db)
{
    esn0_db_to_noise_var(esn0_db); // validates
    d_esn0_db.store(esn0_db);
}

gr_complex fading_channel_impl::draw_coefficient()
{
    float g[2];
    d_rng.fill(g, 2);
    if (!d_rician)
        return gr_complex(g[0], g[1]) * std::sqrt(0.5f);
    const float mu = std::sqrt(d_k_factor / (d_k_factor + 1.0f));
    const float s = std::sqrt(0.5f / (d_k_factor + 1.0f)); // per axis
    return gr_complex(mu + s * g[0], s * g[1]);
}

int fading_channel_impl::work(int noutput_items,
                              gr_vector_const_void_star& input_items,
                              gr_vector_void_star& output_items)
{
    const auto* in = static_cast<const gr_complex*>(input_items[0]);
    auto* out = static_cast<gr_complex*>(output_items[0]);
    auto* nvar = output_items.size() > 1 ? static_cast<float*>(output_items[1]) : nullptr;
    const float n0 = noise_var();
    const float sigma = std::sqrt(n0 / 2.0f);
    const size_t n = size_t(noutput_items);
    if (d_noise.size() < 2 * n)
        d_noise.resize(2 * n);
    d_rng.fill(d_noise.data(), 2 * n);
    const auto* w = reinterpret_cast<const gr_complex*>(d_noise.data());

    size_t i = 0;
    while (i < n) {
        if (d_left == 0) {
            d_h = draw_coefficient();
            d_left = d_block_length;
        }
        const size_t run = std::min<size_t>(d_left, n - i);
        // Guard the measure-zero h = 0: a huge, not infinite, noise variance.
        const float power = std::max(std::norm(d_h), std::numeric_limits<float>::min());
        const gr_complex eq = std::conj(d_h) / power; // 1/h
        for (size_t k = i; k < i + run; k++)
            out[k] = (d_h * in[k] + sigma * w[k]) * eq;
        if (nvar)
            std::fill(nvar + i, nvar + i + run, n0 / power);
        d_left -= unsigned(run);
        i += run;
    }
    return noutput_items;
}

} // namespace semcom
} // namespace gr
