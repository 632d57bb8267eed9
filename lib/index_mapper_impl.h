/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_INDEX_MAPPER_IMPL_H
#define INCLUDED_SEMCOM_INDEX_MAPPER_IMPL_H

#include <gnuradio/semcom/gray_pam.h>
#include <gnuradio/semcom/index_mapper.h>

namespace gr {
namespace semcom {

class index_mapper_impl : public index_mapper
{
private:
    const gray_pam d_pam;
    std::vector<tag_t> d_tags;

public:
    explicit index_mapper_impl(unsigned int order);

    unsigned int order() const override { return d_pam.order(); }

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;
};

} // namespace semcom
} // namespace gr

#endif /* INCLUDED_SEMCOM_INDEX_MAPPER_IMPL_H */
