/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_GRAY_PAM_H
#define INCLUDED_SEMCOM_GRAY_PAM_H

#include <gnuradio/gr_complex.h>
#include <gnuradio/semcom/api.h>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gr {
namespace semcom {

/*!
 * \brief Gray-labelled N-PAM per axis, two codebook indices per square N^2-QAM symbol.
 * \ingroup semcom
 *
 * PAM position p (0..N-1, amplitude 2p-(N-1)) carries the index whose label is
 * gray(p) = p ^ (p >> 1). The first index of a pair goes on I, the second on Q.
 * Amplitudes are scaled to unit average symbol energy (64-QAM: 1/sqrt(42)).
 * This is the single definition of the mapping that the mapper and both demappers
 * share; the codec package's torch channel implements the same table.
 */
class SEMCOM_API gray_pam
{
public:
    /*! \param order N, the number of indices per axis: 2, 4, 8 or 16. */
    explicit gray_pam(unsigned int order);

    unsigned int order() const { return d_order; }
    unsigned int bits_per_index() const { return d_bits; }

    /*! Gray label carried by PAM position \p position. */
    static unsigned int gray(unsigned int position) { return position ^ (position >> 1); }

    /*! Unit-energy amplitude that carries index \p label (throws for label >= N). */
    float amplitude(unsigned int label) const;

    /*! Amplitudes of PAM positions 0..N-1, ascending. */
    const std::vector<float>& position_amplitudes() const { return d_pos_amp; }

    /*! Factor from unit-energy amplitude to the integer grid 2p-(N-1). */
    float grid_scale() const { return d_grid_scale; }

    /*!
     * Map \p nsymbols index pairs from \p indices (2*nsymbols bytes) to symbols.
     * Returns the number of symbols written: fewer than \p nsymbols when an index is
     * out of range, in which case the offending index is at position 2*return (+1).
     */
    size_t map(const uint8_t* indices, gr_complex* symbols, size_t nsymbols) const;

    /*! Text naming the first out-of-range index in a pair: for error messages. */
    std::string describe_bad_pair(const uint8_t* pair, uint64_t index_offset) const;

    /*! Hard decision: 2*nsymbols indices (I then Q) from \p nsymbols symbols. */
    void hard_demap(const gr_complex* symbols, uint8_t* indices, size_t nsymbols) const;

    /*!
     * Per-index posteriors p(k | y) for the I and Q axis of each symbol: writes
     * 2*nsymbols*N floats, the vector for index label k at position k.
     * \param noise_var N0, the complex noise variance per symbol (N0/2 per axis), > 0.
     */
    void soft_demap(const gr_complex* symbols,
                    float* posteriors,
                    size_t nsymbols,
                    float noise_var) const;

    /*!
     * As above with one N0 per symbol, \p noise_vars[i] for symbol i: after fading and
     * zero-forcing equalisation each symbol has its own noise variance N0 / |h_i|^2.
     */
    void soft_demap(const gr_complex* symbols,
                    float* posteriors,
                    size_t nsymbols,
                    const float* noise_vars) const;

private:
    unsigned int d_order;
    unsigned int d_bits;
    float d_scale;      // unit-energy amplitude per grid step
    float d_grid_scale; // 1 / d_scale
    std::vector<float> d_pos_amp;
    std::vector<float> d_label_amp;
};

} // namespace semcom
} // namespace gr

#endif /* INCLUDED_SEMCOM_GRAY_PAM_H */
