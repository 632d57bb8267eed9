/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "index_soft_demapper_impl.h"
#include <gnuradio/io_signature.h>
#include <cmath>
#include <stdexcept>

namespace gr {
namespace semcom {

index_soft_demapper::sptr index_soft_demapper::make(unsigned int order, float noise_var)
{
    return gnuradio::make_block_sptr<index_soft_demapper_impl>(order, noise_var);
}

index_soft_demapper_impl::index_soft_demapper_impl(unsigned int order, float noise_var)
    : gr::sync_interpolator("index_soft_demapper",
                            gr::io_signature::make(1, 1, sizeof(gr_complex)),
                            gr::io_signature::make(1, 1, order * sizeof(float)),
                            2),
      d_pam(order),
      d_noise_var(1.0f)
{
    set_noise_var(noise_var);
    set_tag_propagation_policy(TPP_DONT);
    set_output_multiple(2);
}

void index_soft_demapper_impl::set_noise_var(float noise_var)
{
    // N0 from 1e-10 to 1e10 (Es/N0 -100..100 dB): 1/N0 and the log-posteriors stay
    // finite in float32.
    if (!(noise_var >= 1e-10f && noise_var <= 1e10f)) {
        throw std::invalid_argument(
            "index_soft_demapper: noise variance N0 must be in 1e-10..1e10, got " +
            std::to_string(noise_var));
    }
    d_noise_var.store(noise_var);
}

int index_soft_demapper_impl::work(int noutput_items,
                                   gr_vector_const_void_star& input_items,
                                   gr_vector_void_star& output_items)
{
    const auto* in = static_cast<const gr_complex*>(input_items[0]);
    auto* out = static_cast<float*>(output_items[0]);
    const size_t nsymbols = size_t(noutput_items) / 2;

    d_pam.soft_demap(in, out, nsymbols, d_noise_var.load());

    const uint64_t first_in = nitems_read(0);
    get_tags_in_range(d_tags, 0, first_in, first_in + nsymbols);
    for (auto& tag : d_tags) {
        tag.offset *= 2;
        add_item_tag(0, tag);
    }
    return noutput_items;
}

} // namespace semcom
} // namespace gr
