/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "awgn_channel_impl.h"
#include <gnuradio/io_signature.h>
#include <cmath>
#include <stdexcept>
#include <string>

namespace gr {
namespace semcom {

float esn0_db_to_noise_var(float esn0_db)
{
    // Beyond +-100 dB the noise variance leaves what float32 samples can carry
    // (-400 dB would be 1e40: inf and NaN samples).
    if (!(esn0_db >= -100.0f && esn0_db <= 200.0f)) {
        throw std::invalid_argument("Es/N0 must be a number of dB in -100..200, got " +
                                    std::to_string(esn0_db));
    }
    return std::pow(10.0f, -esn0_db / 10.0f);
}

awgn_channel::sptr awgn_channel::make(float esn0_db, uint64_t seed)
{
    return gnuradio::make_block_sptr<awgn_channel_impl>(esn0_db, seed);
}

awgn_channel_impl::awgn_channel_impl(float esn0_db, uint64_t seed)
    : gr::sync_block("awgn_channel",
                     gr::io_signature::make(1, 1, sizeof(gr_complex)),
                     gr::io_signature::make(1, 1, sizeof(gr_complex))),
      d_esn0_db(0.0f),
      d_rng(seed)
{
    set_esn0_db(esn0_db);
}

float awgn_channel_impl::noise_var() const { return esn0_db_to_noise_var(esn0_db()); }

void awgn_channel_impl::set_esn0_db(float esn0_db)
{
    esn0_db_to_noise_var(esn0_db); // validates
    d_esn0_db.store(esn0_db);
}

int awgn_channel_impl::work(int noutput_items,
                            gr_vector_const_void_star& input_items,
                            gr_vector_void_star& output_items)
{
    const auto* in = static_cast<const float*>(input_items[0]);
    auto* out = static_cast<float*>(output_items[0]);
    const size_t n = 2 * size_t(noutput_items); // I and Q
    const float sigma = std::sqrt(noise_var() / 2.0f);
    if (d_noise.size() < n)
        d_noise.resize(n);
    d_rng.fill(d_noise.data(), n);
    const float* w = d_noise.data();
    for (size_t i = 0; i < n; i++)
        out[i] = in[i] + sigma * w[i];
    return noutput_items;
}

} // namespace semcom
} // namespace gr
