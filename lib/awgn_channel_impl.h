/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_AWGN_CHANNEL_IMPL_H
#define INCLUDED_SEMCOM_AWGN_CHANNEL_IMPL_H

#include <gnuradio/semcom/awgn_channel.h>
#include <gnuradio/semcom/normal_rng.h>
#include <atomic>
#include <vector>

namespace gr {
namespace semcom {

/*! N0 per complex symbol for an Es/N0 in dB; throws for a value that is not finite. */
float esn0_db_to_noise_var(float esn0_db);

class awgn_channel_impl : public awgn_channel
{
private:
    std::atomic<float> d_esn0_db;
    normal_rng d_rng;
    std::vector<float> d_noise;

public:
    awgn_channel_impl(float esn0_db, uint64_t seed);

    float esn0_db() const override { return d_esn0_db.load(); }
    float noise_var() const override;
    void set_esn0_db(float esn0_db) override;

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;
};

} // namespace semcom
} // namespace gr

#endif /* INCLUDED_SEMCOM_AWGN_CHANNEL_IMPL_H */
