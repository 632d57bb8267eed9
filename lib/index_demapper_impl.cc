/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "index_demapper_impl.h"
#include <gnuradio/io_signature.h>

namespace gr {
namespace semcom {

index_demapper::sptr index_demapper::make(unsigned int order)
{
    return gnuradio::make_block_sptr<index_demapper_impl>(order);
}

index_demapper_impl::index_demapper_impl(unsigned int order)
    : gr::sync_interpolator("index_demapper",
                            gr::io_signature::make(1, 1, sizeof(gr_complex)),
                            gr::io_signature::make(1, 1, sizeof(uint8_t)),
                            2),
      d_pam(order)
{
    set_tag_propagation_policy(TPP_DONT);
    set_output_multiple(2);
}

int index_demapper_impl::work(int noutput_items,
                              gr_vector_const_void_star& input_items,
                              gr_vector_void_star& output_items)
{
    const auto* in = static_cast<const gr_complex*>(input_items[0]);
    auto* out = static_cast<uint8_t*>(output_items[0]);
    const size_t nsymbols = size_t(noutput_items) / 2;

    d_pam.hard_demap(in, out, nsymbols);

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
