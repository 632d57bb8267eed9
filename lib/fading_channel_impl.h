/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_FADING_CHANNEL_IMPL_H
#define INCLUDED_SEMCOM_FADING_CHANNEL_IMPL_H

#include <gnuradio/semcom/fading_channel.h>
#include <gnuradio/semcom/normal_rng.h>
#include <atomic>
#include <vector>

namespace gr {
namespace semcom {

class fading_channel_impl : public fading_channel
{
private:
    const bool d_rician;
    const float d_k_factor;
    const unsigned int d_block_length;
    std::atomic<float> d_esn0_db;
    normal_rng d_rng;
    gr_complex d_h;          // coefficient of the current fading block
    unsigned int d_left;     // symbols left in the current block
    std::vector<float> d_noise;

    gr_complex draw_coefficient();

public:
    fading_channel_impl(const std::string& kind,
                        float esn0_db,
                        float k_factor,
                        unsigned int block_length,
                        uint64_t seed);

    std::string kind() const override { return d_rician ? "rician" : "rayleigh"; }
    float esn0_db() const override { return d_esn0_db.load(); }
    float noise_var() const override;
    float k_factor() const override { return d_k_factor; }
    unsigned int block_length() const override { return d_block_length; }
    void set_esn0_db(float esn0_db) override;

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;
};

} // namespace semcom
} // namespace gr

#endif /* INCLUDED_SEMCOM_FADING_CHANNEL_IMPL_H */
