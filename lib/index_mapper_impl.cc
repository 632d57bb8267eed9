/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "index_mapper_impl.h"
#include <gnuradio/io_signature.h>

namespace gr {
namespace semcom {

index_mapper::sptr index_mapper::make(unsigned int order)
{
    return gnuradio::make_block_sptr<index_mapper_impl>(order);
}

index_mapper_impl::index_mapper_impl(unsigned int order)
    : gr::sync_decimator("index_mapper",
                         gr::io_signature::make(1, 1, sizeof(uint8_t)),
                         gr::io_signature::make(1, 1, sizeof(gr_complex)),
                         2),
      d_pam(order)
{
    // The scheduler's rounding of tag offsets is not "pair k -> symbol k"; do it here.
    set_tag_propagation_policy(TPP_DONT);
}

int index_mapper_impl::work(int noutput_items,
                            gr_vector_const_void_star& input_items,
                            gr_vector_void_star& output_items)
{
    const auto* in = static_cast<const uint8_t*>(input_items[0]);
    auto* out = static_cast<gr_complex*>(output_items[0]);

    const size_t nmapped = d_pam.map(in, out, size_t(noutput_items));

    const uint64_t first_in = nitems_read(0);
    get_tags_in_range(d_tags, 0, first_in, first_in + 2 * nmapped);
    for (auto& tag : d_tags) {
        tag.offset /= 2;
        add_item_tag(0, tag);
    }

    if (nmapped == 0 && noutput_items > 0) {
        d_logger->error("{:s}; stopping", d_pam.describe_bad_pair(in, first_in));
        return WORK_DONE;
    }
    return int(nmapped);
}

} // namespace semcom
} // namespace gr
