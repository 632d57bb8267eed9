/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_INDEX_MAPPER_H
#define INCLUDED_SEMCOM_INDEX_MAPPER_H

#include <gnuradio/semcom/api.h>
#include <gnuradio/sync_decimator.h>

namespace gr {
namespace semcom {

/*!
 * \brief Codebook indices to Gray-mapped square QAM symbols, two indices per symbol.
 * \ingroup semcom
 *
 * Input: bytes holding indices 0..N-1. Output: one complex symbol per pair of indices,
 * the first on I and the second on Q, each on a Gray-labelled N-PAM axis with unit
 * average symbol energy (N = 8 gives 64-QAM). An index >= N is an error: the block
 * logs the value and its stream position and ends the flowgraph after the symbols
 * before it, rather than masking it. A tag on index 2k or 2k+1 moves to symbol k.
 */
class SEMCOM_API index_mapper : virtual public gr::sync_decimator
{
public:
    typedef std::shared_ptr<index_mapper> sptr;

    /*! \param order N, indices per axis: 2 (QPSK), 4 (16-QAM), 8 (64-QAM), 16 (256-QAM). */
    static sptr make(unsigned int order = 8);

    virtual unsigned int order() const = 0;
};

} // namespace semcom
} // namespace gr

#endif /* INCLUDED_SEMCOM_INDEX_MAPPER_H */
