/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_FADING_CHANNEL_H
#define INCLUDED_SEMCOM_FADING_CHANNEL_H

#include <gnuradio/semcom/api.h>
#include <gnuradio/sync_block.h>
#include <cstdint>
#include <string>

namespace gr {
namespace semcom {

/*!
 * \brief Flat block fading plus AWGN, equalised with perfect CSI (VQ-DeepSC eqs. 3-4).
 * \ingroup semcom
 *
 * y = h x + w with w ~ CN(0, N0), N0 = 10^(-EsN0_dB/10); h is drawn once per block of
 * \p block_length symbols, Rayleigh h ~ CN(0, 1) or Rician h ~ CN(mu, s^2) with
 * mu = sqrt(K/(K+1)), s^2 = 1/(K+1), so E|h|^2 = 1. The receiver knows h and outputs
 * x_hat = conj(h) y / |h|^2 (zero forcing). The optional second output is the effective
 * noise variance of each equalised symbol, N0 / |h|^2, which soft demapping needs.
 */
class SEMCOM_API fading_channel : virtual public gr::sync_block
{
public:
    typedef std::shared_ptr<fading_channel> sptr;

    /*!
     * \param kind "rayleigh" or "rician".
     * \param esn0_db average Es/N0 in dB.
     * \param k_factor Rician K (linear, >= 0); ignored for Rayleigh.
     * \param block_length symbols per fading coefficient, >= 1 (1: fast fading).
     * \param seed seed of the fading and noise generator.
     */
    static sptr make(const std::string& kind = "rayleigh",
                     float esn0_db = 10.0f,
                     float k_factor = 1.0f,
                     unsigned int block_length = 1,
                     uint64_t seed = 0);

    virtual std::string kind() const = 0;
    virtual float esn0_db() const = 0;
    virtual float noise_var() const = 0;
    virtual float k_factor() const = 0;
    virtual unsigned int block_length() const = 0;
    /*! Thread-safe; throws std::invalid_argument for a value that is not finite. */
    virtual void set_esn0_db(float esn0_db) = 0;
};

} // namespace semcom
} // namespace gr

#endif /* INCLUDED_SEMCOM_FADING_CHANNEL_H */
