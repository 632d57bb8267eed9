#
# Copyright 2026 gr-semcom authors.
# SPDX-License-Identifier: GPL-3.0-or-later
#
"""gr-semcom: digital generative semantic communication of images (MOC-RVQ) for GNU Radio.

C++ blocks: index_mapper (codebook indices -> Gray-mapped square QAM), index_demapper
(hard decision) and index_soft_demapper (per-index posteriors), and the gray_pam kernel
they share.
"""

from .semcom_python import gray_pam, index_demapper, index_mapper, index_soft_demapper

__all__ = ["gray_pam", "index_mapper", "index_demapper", "index_soft_demapper"]
