/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_MATCHED_FILTER_H
#define INCLUDED_SEMCOM_MATCHED_FILTER_H

#include <gnuradio/semcom/api.h>
#include <complex>
#include <cstddef>
#include <vector>

namespace gr {
namespace semcom {

/*!
 * \brief The root-raised-cosine matched filter evaluated at any instant: the burst
 * receiver's hot path (timing search, resampling of every symbol on its clock).
 * \ingroup semcom
 *
 * Output at fractional sample time t: (1/sps) sum_n x[n] p((t - n)/sps), p the
 * unit-energy RRC truncated at +/- span symbols, samples outside the input counting as
 * zero. The pulse comes from a table of \p phases rows per sample, interpolated
 * linearly between rows (outputs within 5e-6 of the exact pulse at 512 phases). The
 * same arithmetic as the codec package's numpy reference,
 * semcom_codec.phy.pulse.matched_at.
 */
class SEMCOM_API matched_filter
{
public:
    matched_filter(unsigned int sps, double rolloff, unsigned int span = 8,
                   unsigned int phases = 512);

    unsigned int sps() const { return d_sps; }
    unsigned int taps() const { return d_taps; }

    /*! The unit-energy RRC at \p t symbol periods. */
    static double rrc(double t, double rolloff);

    /*! Matched-filter outputs \p out[i] at \p times[i] (samples) on \p in[0..nin). */
    void at(const std::complex<double>* in,
            size_t nin,
            const double* times,
            std::complex<double>* out,
            size_t n) const;

private:
    unsigned int d_sps, d_half, d_taps, d_phases;
    std::vector<double> d_table; // (phases + 1) rows of d_taps weights
};

} // namespace semcom
} // namespace gr

#endif /* INCLUDED_SEMCOM_MATCHED_FILTER_H */
