/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_AWGN_CHANNEL_H
#define INCLUDED_SEMCOM_AWGN_CHANNEL_H

#include <gnuradio/semcom/api.h>
#include <gnuradio/sync_block.h>
#include <cstdint>

namespace gr {
namespace semcom {

/*!
 * \brief AWGN at a given Es/N0 for unit-energy symbols.
 * \ingroup semcom
 *
 * y = x + w, w ~ CN(0, N0) with N0 = 10^(-EsN0_dB/10), N0/2 on each of I and Q. The noise
 * comes from normal_rng (vectorised Box-Muller over xoshiro256+), fast enough that the
 * channel is never the bottleneck of a flowgraph; the same seed gives the same noise for
 * the same stream. Es/N0 can be changed while running (next work() call).
 */
class SEMCOM_API awgn_channel : virtual public gr::sync_block
{
public:
    typedef std::shared_ptr<awgn_channel> sptr;

    static sptr make(float esn0_db = 10.0f, uint64_t seed = 0);

    virtual float esn0_db() const = 0;
    /*! N0 per complex symbol at the current Es/N0. */
    virtual float noise_var() const = 0;
    /*! Thread-safe; throws std::invalid_argument for a value that is not finite. */
    virtual void set_esn0_db(float esn0_db) = 0;
};

} // namespace semcom
} // namespace gr

#endif /* INCLUDED_SEMCOM_AWGN_CHANNEL_H */
