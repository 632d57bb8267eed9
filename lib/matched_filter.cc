/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include <gnuradio/semcom/matched_filter.h>
#include <cmath>
#include <stdexcept>
#include <string>

namespace gr {
namespace semcom {

double matched_filter::rrc(double t, double a)
{
    if (std::abs(t) < 1e-9) {
        return 1.0 - a + 4.0 * a / M_PI;
    }
    if (std::abs(std::abs(4.0 * a * t) - 1.0) < 1e-9) {
        const double quarter = M_PI / (4.0 * a);
        return (a / std::sqrt(2.0)) *
               ((1 + 2 / M_PI) * std::sin(quarter) + (1 - 2 / M_PI) * std::cos(quarter));
    }
    return (std::sin(M_PI * t * (1 - a)) + 4 * a * t * std::cos(M_PI * t * (1 + a))) /
           (M_PI * t * (1 - (4 * a * t) * (4 * a * t)));
}

matched_filter::matched_filter(unsigned int sps,
                               double rolloff,
                               unsigned int span,
                               unsigned int phases)
    : d_sps(sps), d_half(span * sps), d_taps(2 * span * sps + 2), d_phases(phases)
{
    if (sps < 2) {
        throw std::invalid_argument("samples per symbol must be >= 2, got " +
                                    std::to_string(sps));
    }
    if (!(rolloff > 0.0 && rolloff <= 1.0)) {
        throw std::invalid_argument("the roll-off must be in (0, 1], got " +
                                    std::to_string(rolloff));
    }
    if (span < 1 || phases < 2) {
        throw std::invalid_argument("span >= 1 symbol and phases >= 2 needed");
    }
    d_table.resize(size_t(phases + 1) * d_taps);
    for (unsigned int q = 0; q <= phases; q++) {
        const double frac = double(q) / phases;
        for (unsigned int j = 0; j < d_taps; j++) {
            const double offset = frac + double(d_half) - double(j);
            d_table[size_t(q) * d_taps + j] = rrc(offset / sps, rolloff);
        }
    }
}

void matched_filter::at(const std::complex<double>* in,
                        size_t nin,
                        const double* times,
                        std::complex<double>* out,
                        size_t n) const
{
    const long length = long(nin);
    const double scale = 1.0 / d_sps;
    for (size_t i = 0; i < n; i++) {
        const double t = times[i];
        const double base = std::floor(t);
        const double position = (t - base) * d_phases;
        unsigned int row = unsigned(position);
        if (row > d_phases - 1) {
            row = d_phases - 1;
        }
        const double share = position - row;
        const double* w0 = &d_table[size_t(row) * d_taps];
        const double* w1 = w0 + d_taps;
        const long first = long(base) - long(d_half);
        double re = 0.0, im = 0.0;
        if (first >= 0 && first + long(d_taps) <= length) {
            const std::complex<double>* x = in + first;
            for (unsigned int j = 0; j < d_taps; j++) {
                const double w = w0[j] * (1.0 - share) + w1[j] * share;
                re += x[j].real() * w;
                im += x[j].imag() * w;
            }
        } else {
            for (unsigned int j = 0; j < d_taps; j++) {
                const long k = first + long(j);
                if (k < 0 || k >= length) {
                    continue;
                }
                const double w = w0[j] * (1.0 - share) + w1[j] * share;
                re += in[k].real() * w;
                im += in[k].imag() * w;
            }
        }
        out[i] = std::complex<double>(re * scale, im * scale);
    }
}

} // namespace semcom
} // namespace gr
