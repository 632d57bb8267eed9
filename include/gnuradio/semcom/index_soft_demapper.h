/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_INDEX_SOFT_DEMAPPER_H
#define INCLUDED_SEMCOM_INDEX_SOFT_DEMAPPER_H

#include <gnuradio/semcom/api.h>
#include <gnuradio/sync_interpolator.h>

namespace gr {
namespace semcom {

/*!
 * \brief Per-index posteriors from Gray-mapped square QAM symbols.
 * \ingroup semcom
 *
 * For each symbol, two output vectors of N floats (I index, then Q index): element k
 * is p(k | y) = exp(-(y - a_k)^2 / N0) / sum, with a_k the unit-energy amplitude of
 * index k and N0 the complex noise variance per symbol (N0/2 per axis). Computed
 * relative to the nearest amplitude so that it stays finite and sums to one from
 * very low to very high SNR. The receiver can use the posterior-weighted mean of the
 * code vectors instead of the hard decision. A tag on symbol k moves to vector 2k.
 */
class SEMCOM_API index_soft_demapper : virtual public gr::sync_interpolator
{
public:
    typedef std::shared_ptr<index_soft_demapper> sptr;

    /*!
     * \param order N, indices per axis: 2, 4, 8 or 16.
     * \param noise_var N0 per complex symbol (= 10^(-EsN0_dB/10) at unit Es), > 0.
     */
    static sptr make(unsigned int order = 8, float noise_var = 0.1f);

    virtual unsigned int order() const = 0;
    virtual float noise_var() const = 0;
    /*! Thread-safe; takes effect at the next call to work(). Throws for N0 <= 0. */
    virtual void set_noise_var(float noise_var) = 0;
};

} // namespace semcom
} // namespace gr

#endif /* INCLUDED_SEMCOM_INDEX_SOFT_DEMAPPER_H */
