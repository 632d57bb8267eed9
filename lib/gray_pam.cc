/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <gnuradio/semcom/gray_pam.h>
#include <cmath>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace gr {
namespace semcom {

namespace {
// The element-wise loops below are compiled twice, for AVX2 and for baseline x86-64,
// and the loader picks one by CPU (GCC function multi-versioning). AVX2 alone, not FMA:
// both versions then round every operation identically.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define SEMCOM_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SEMCOM_VECTOR_CLONES
#endif

// exp() of anything below this is below the smallest normal float.
constexpr float min_log_posterior = -87.0f;

/*
 * In-place exp(x) for x in [min_log_posterior, 0], written to auto-vectorise:
 * exp(x) = 2^n * 2^f with n = round(x log2 e) and |f| <= 1/2, 2^f by its degree-6 Taylor
 * polynomial (relative error below 2e-7). VOLK 2.5's volk_32f_exp_32f has no kernel
 * named "generic", so it cannot run under VOLK_GENERIC=1, which GNU Radio's QA sets.
 */
SEMCOM_VECTOR_CLONES void exp_nonpositive(float* x, size_t n)
{
    constexpr float log2e = 1.44269504088896341f;
    constexpr float c1 = 0.693147180559945f, c2 = 0.240226506959101f,
                    c3 = 0.0555041086648216f, c4 = 0.00961812910762848f,
                    c5 = 0.00133335581464284f, c6 = 0.000154035303933816f;
    for (size_t i = 0; i < n; i++) {
        const float t = x[i] * log2e;
        const int32_t k = int32_t(t - 0.5f); // round(t) for t <= 0
        const float f = t - float(k);
        const float p = 1.0f + f * (c1 + f * (c2 + f * (c3 + f * (c4 + f * (c5 + f * c6)))));
        const int32_t bits = (k + 127) << 23;
        float scale;
        std::memcpy(&scale, &bits, sizeof(scale));
        x[i] = p * scale;
    }
}
} // namespace

gray_pam::gray_pam(unsigned int order) : d_order(order), d_bits(0)
{
    if (order != 2 && order != 4 && order != 8 && order != 16) {
        throw std::invalid_argument("gray_pam: order (indices per axis) must be 2, 4, 8 "
                                    "or 16, got " +
                                    std::to_string(order));
    }
    while ((1u << d_bits) < order)
        d_bits++;

    // Square N^2-QAM on the grid 2p-(N-1): mean energy per symbol 2(N^2-1)/3.
    const double mean_energy = 2.0 * (double(order) * order - 1.0) / 3.0;
    d_scale = float(1.0 / std::sqrt(mean_energy));
    d_grid_scale = float(std::sqrt(mean_energy));

    d_pos_amp.resize(order);
    d_label_amp.resize(order);
    for (unsigned int p = 0; p < order; p++) {
        // The same float product as map() computes, so tables and symbols agree exactly.
        const float a = float(2 * int(p) - int(order - 1)) * d_scale;
        d_pos_amp[p] = a;
        d_label_amp[gray(p)] = a;
    }
}

float gray_pam::amplitude(unsigned int label) const
{
    if (label >= d_order) {
        throw std::out_of_range("gray_pam: index " + std::to_string(label) +
                                " is out of range 0.." + std::to_string(d_order - 1));
    }
    return d_label_amp[label];
}

namespace {
/*
 * Index i of the stream lands on float i of the interleaved I/Q output, so mapping is
 * element-wise: label -> PAM position (inverse Gray code, by xor-shifts) -> amplitude,
 * without table look-ups so that it vectorises. Masking keeps every value in range
 * whatever the input; the returned OR of all indices tells the caller whether any had a
 * bit at or above log2(N).
 */
SEMCOM_VECTOR_CLONES uint32_t
map_axes(const uint8_t* indices, float* out, size_t n, int32_t order, float scale)
{
    const int32_t mask = order - 1;
    const int32_t centre = order - 1;
    uint32_t any_bits = 0;
    for (size_t i = 0; i < n; i++) {
        const uint32_t label = indices[i];
        any_bits |= label;
        int32_t p = int32_t(label) & mask;
        p ^= p >> 1;
        p ^= p >> 2; // N <= 16: four bits need two xor-shift steps
        out[i] = float(2 * p - centre) * scale;
    }
    return any_bits;
}

/*
 * Position p sits at grid value 2p-(N-1); t = p + 0.5 before clamping, so truncation
 * rounds to the nearest position. NaN compares false and lands on position 0.
 */
SEMCOM_VECTOR_CLONES void
slice_axes(const float* axis, uint8_t* indices, size_t n, int32_t order, float grid_scale)
{
    const float gain = 0.5f * grid_scale;
    const float offset = 0.5f * float(order - 1) + 0.5f;
    const float lo = 0.5f;
    const float hi = float(order) - 0.5f;
    for (size_t i = 0; i < n; i++) {
        float t = axis[i] * gain + offset;
        t = t > lo ? t : lo;
        t = t < hi ? t : hi;
        const int p = int(t);
        indices[i] = uint8_t(p ^ (p >> 1));
    }
}
} // namespace

size_t gray_pam::map(const uint8_t* indices, gr_complex* symbols, size_t nsymbols) const
{
    const uint32_t any_bits = map_axes(
        indices, reinterpret_cast<float*>(symbols), 2 * nsymbols, int32_t(d_order), d_scale);
    if ((any_bits >> d_bits) == 0) // N is a power of two
        return nsymbols;

    size_t first_bad = 0;
    while (indices[first_bad] < d_order)
        first_bad++;
    return first_bad / 2;
}

std::string gray_pam::describe_bad_pair(const uint8_t* pair, uint64_t index_offset) const
{
    const unsigned int which = pair[0] >= d_order ? 0 : 1;
    std::ostringstream msg;
    msg << "index " << unsigned(pair[which]) << " at stream position "
        << index_offset + which << " is out of range 0.." << d_order - 1 << " for "
        << d_order << " indices per axis (" << d_order * d_order << "-QAM)";
    return msg.str();
}

void gray_pam::hard_demap(const gr_complex* symbols, uint8_t* indices, size_t nsymbols) const
{
    slice_axes(reinterpret_cast<const float*>(symbols),
               indices,
               2 * nsymbols,
               int32_t(d_order),
               d_grid_scale);
}

namespace {
/*
 * Log-posteriors of N labels per axis value, relative to the nearest point (<= 0, so exp
 * never overflows), exponentiated and normalised. N is a template parameter so that the
 * per-point loops unroll and the Gray scatter becomes fixed offsets.
 */
template <unsigned int N>
// inv_n0[i >> shift] is 1/N0 for axis value i: shift 1 with one N0 per symbol,
// a large shift with a single N0.
SEMCOM_VECTOR_CLONES void soft_demap_fixed(const float* axis,
                      float* posteriors,
                      size_t naxis,
                      const float* inv_n0,
                      unsigned int shift,
                      const float* amplitudes)
{
    float amp[N];
    for (unsigned int p = 0; p < N; p++)
        amp[p] = amplitudes[p];
    for (size_t i = 0; i < naxis; i++) {
        const float x = axis[i];
        float d[N];
        float dmin = (x - amp[0]) * (x - amp[0]);
        for (unsigned int p = 0; p < N; p++) {
            d[p] = (x - amp[p]) * (x - amp[p]);
            dmin = d[p] < dmin ? d[p] : dmin;
        }
        float* out = posteriors + i * N;
        for (unsigned int p = 0; p < N; p++) {
            const float l = (dmin - d[p]) * inv_n0[i >> shift];
            out[p ^ (p >> 1)] = l > min_log_posterior ? l : min_log_posterior;
        }
    }
    exp_nonpositive(posteriors, naxis * N);
    for (size_t i = 0; i < naxis; i++) {
        float* out = posteriors + i * N;
        float sum = 0.0f;
        for (unsigned int k = 0; k < N; k++)
            sum += out[k];
        const float inv = 1.0f / sum;
        for (unsigned int k = 0; k < N; k++)
            out[k] *= inv;
    }
}
} // namespace

namespace {
void check_noise_var(float noise_var)
{
    // 1/N0 must be finite too: a denormal N0 would make it inf and the posteriors NaN
    if (!(noise_var > 0.0f) || !std::isfinite(noise_var) ||
        !std::isfinite(1.0f / noise_var)) {
        throw std::invalid_argument("gray_pam: noise variance N0 must be a positive finite "
                                    "number with a finite inverse, got " +
                                    std::to_string(noise_var));
    }
}

void soft_demap_order(unsigned int order,
                      const gr_complex* symbols,
                      float* posteriors,
                      size_t nsymbols,
                      const float* inv_n0,
                      unsigned int shift,
                      const float* amp)
{
    const float* axis = reinterpret_cast<const float*>(symbols);
    const size_t naxis = 2 * nsymbols;
    switch (order) {
    case 2:
        return soft_demap_fixed<2>(axis, posteriors, naxis, inv_n0, shift, amp);
    case 4:
        return soft_demap_fixed<4>(axis, posteriors, naxis, inv_n0, shift, amp);
    case 8:
        return soft_demap_fixed<8>(axis, posteriors, naxis, inv_n0, shift, amp);
    default:
        return soft_demap_fixed<16>(axis, posteriors, naxis, inv_n0, shift, amp);
    }
}
} // namespace

void gray_pam::soft_demap(const gr_complex* symbols,
                          float* posteriors,
                          size_t nsymbols,
                          float noise_var) const
{
    check_noise_var(noise_var);
    const float inv_n0 = 1.0f / noise_var;
    soft_demap_order(
        d_order, symbols, posteriors, nsymbols, &inv_n0, 63, d_pos_amp.data());
}

void gray_pam::soft_demap(const gr_complex* symbols,
                          float* posteriors,
                          size_t nsymbols,
                          const float* noise_vars) const
{
    std::vector<float> inv_n0(nsymbols);
    for (size_t i = 0; i < nsymbols; i++) {
        check_noise_var(noise_vars[i]);
        inv_n0[i] = 1.0f / noise_vars[i];
    }
    soft_demap_order(
        d_order, symbols, posteriors, nsymbols, inv_n0.data(), 1, d_pos_amp.data());
}

} // namespace semcom
} // namespace gr
