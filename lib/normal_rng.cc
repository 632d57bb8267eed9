/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Compiled with -ffast-math (see CMakeLists.txt) so that glibc's vector math library
 * supplies logf/sinf/cosf for whole SIMD registers; nothing else lives in this file.
 */

#include <gnuradio/semcom/normal_rng.h>
#include <math.h> // the C declarations carry glibc's SIMD variants
#include <algorithm>

namespace gr {
namespace semcom {

namespace {
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SEMCOM_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SEMCOM_VECTOR_CLONES
#endif

constexpr size_t chunk = 1024; // Box-Muller pairs per vector pass
constexpr float two_pi = 6.28318530717958647692f;
constexpr float inv_2_24 = 1.0f / 16777216.0f;

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

inline uint64_t splitmix64(uint64_t& x)
{
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// u1 in (0, 1] (log stays finite), u2 in [0, 1): two normals per pair, written
// interleaved (even: cosine branch, odd: sine branch). Separate loops, because GCC
// fuses sinf and cosf of one argument into a sincosf that has no vector variant.
SEMCOM_VECTOR_CLONES void
box_muller(float* u1, float* u2, float* out, size_t npairs)
{
    for (size_t i = 0; i < npairs; i++)
        u1[i] = sqrtf(-2.0f * logf(u1[i]));
    for (size_t i = 0; i < npairs; i++)
        out[2 * i] = u1[i] * cosf(two_pi * u2[i]);
    for (size_t i = 0; i < npairs; i++)
        out[2 * i + 1] = u1[i] * sinf(two_pi * u2[i]);
}
} // namespace

normal_rng::normal_rng(uint64_t seed) : d_u1(chunk), d_u2(chunk) { this->seed(seed); }

void normal_rng::seed(uint64_t seed)
{
    uint64_t x = seed;
    for (auto& s : d_state)
        s = splitmix64(x);
}

uint64_t normal_rng::next()
{
    // xoshiro256+ (Blackman and Vigna): the top bits are the good ones, we use 24 + 24.
    const uint64_t result = d_state[0] + d_state[3];
    const uint64_t t = d_state[1] << 17;
    d_state[2] ^= d_state[0];
    d_state[3] ^= d_state[1];
    d_state[1] ^= d_state[2];
    d_state[0] ^= d_state[3];
    d_state[2] ^= t;
    d_state[3] = rotl(d_state[3], 45);
    return result;
}

float normal_rng::uniform() { return float(next() >> 40) * inv_2_24; }

void normal_rng::fill(float* out, size_t n)
{
    while (n >= 2) {
        const size_t npairs = std::min(chunk, n / 2);
        for (size_t i = 0; i < npairs; i++) {
            const uint64_t bits = next();
            d_u1[i] = float((bits >> 40) + 1) * inv_2_24;            // (0, 1]
            d_u2[i] = float((bits >> 16) & 0xffffffULL) * inv_2_24; // [0, 1)
        }
        box_muller(d_u1.data(), d_u2.data(), out, npairs);
        out += 2 * npairs;
        n -= 2 * npairs;
    }
    if (n) {
        float pair[2];
        const uint64_t bits = next();
        float u1 = float((bits >> 40) + 1) * inv_2_24;
        float u2 = float((bits >> 16) & 0xffffffULL) * inv_2_24;
        box_muller(&u1, &u2, pair, 1);
        out[0] = pair[0];
    }
}

} // namespace semcom
} // namespace gr
