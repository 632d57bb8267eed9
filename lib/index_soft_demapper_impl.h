/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_INDEX_SOFT_DEMAPPER_IMPL_H
#define INCLUDED_SEMCOM_INDEX_SOFT_DEMAPPER_IMPL_H

#include <gnuradio/semcom/gray_pam.h>
#include <gnuradio/semcom/index_soft_demapper.h>
#include <atomic>

namespace gr {
namespace semcom {

class index_soft_demapper_impl : public index_soft_demapper
{
private:
    const gray_pam d_pam;
    std::atomic<float> d_noise_var;
    std::vector<tag_t> d_tags;

public:
    index_soft_demapper_impl(unsigned int order, float noise_var);

    unsigned int order() const override { return d_pam.order(); }
    float noise_var() const override { return d_noise_var.load(); }
    void set_noise_var(float noise_var) override;

    int work(int noutput_items,
             gr_vector_const_void_star& input_items,
             gr_vector_void_star& output_items) override;
};

} // namespace semcom
} // namespace gr

#endif /* INCLUDED_SEMCOM_INDEX_SOFT_DEMAPPER_IMPL_H */
