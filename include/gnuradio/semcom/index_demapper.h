/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_INDEX_DEMAPPER_H
#define INCLUDED_SEMCOM_INDEX_DEMAPPER_H

#include <gnuradio/semcom/api.h>
#include <gnuradio/sync_interpolator.h>

namespace gr {
namespace semcom {

/*!
 * \brief Hard decision from Gray-mapped square QAM symbols back to codebook indices.
 * \ingroup semcom
 *
 * The exact inverse of index_mapper on clean symbols: per axis the nearest PAM
 * amplitude (a slice, not a search over the N^2 points), then its Gray label; two
 * index bytes (I, then Q) per input symbol. A tag on symbol k moves to index 2k.
 */
class SEMCOM_API index_demapper : virtual public gr::sync_interpolator
{
public:
    typedef std::shared_ptr<index_demapper> sptr;

    /*! \param order N, indices per axis: 2, 4, 8 or 16. */
    static sptr make(unsigned int order = 8);

    virtual unsigned int order() const = 0;
};

} // namespace semcom
} // namespace gr

#endif /* INCLUDED_SEMCOM_INDEX_DEMAPPER_H */
