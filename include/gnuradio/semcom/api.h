/* -*- c++ -*- */
/*
 * Copyright 2026 gr-semcom authors.
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#ifndef INCLUDED_SEMCOM_API_H
#define INCLUDED_SEMCOM_API_H

#include <gnuradio/attributes.h>

#ifdef gnuradio_semcom_EXPORTS
#define SEMCOM_API __GR_ATTR_EXPORT
#else
#define SEMCOM_API __GR_ATTR_IMPORT
#endif

#endif /* INCLUDED_SEMCOM_API_H */
