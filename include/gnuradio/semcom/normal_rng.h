/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_NORMAL_RNG_H
#define INCLUDED_SEMCOM_NORMAL_RNG_H

#include <gnuradio/semcom/api.h>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace gr {
namespace semcom {

/*!
 * \brief Fast, seedable standard normal numbers for the channel blocks.
 * \ingroup semcom
 *
 * Uniforms from xoshiro256+ (24-bit mantissas), Gaussians from the Box-Muller transform
 * computed a buffer at a time so that log, sin and cos run as vector code. The same seed
 * gives the same sequence on every machine that picks the same code path.
 */
class SEMCOM_API normal_rng
{
public:
    explicit normal_rng(uint64_t seed = 0);

    /*! Restart the sequence from \p seed (expanded by splitmix64). */
    void seed(uint64_t seed);

    /*! Write \p n independent N(0, 1) floats to \p out. */
    void fill(float* out, size_t n);

    /*! One uniform float in [0, 1) with 24 random bits. */
    float uniform();

private:
    uint64_t d_state[4];
    std::vector<float> d_u1, d_u2;
    uint64_t next();
};

} // namespace semcom
} // namespace gr

#endif /* INCLUDED_SEMCOM_NORMAL_RNG_H */
