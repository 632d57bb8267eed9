"""gr-semcom codec core: MOC-RVQ quantizer, Gray QAM index mapping and torch channels.

Pure PyTorch/numpy so that it trains on a GPU box without GNU Radio; the radio blocks
import it, never the other way round.
"""

from .channel import (
    IndexChannel,
    awgn,
    fading,
    fading_gains,
    from_air_order,
    to_air_order,
)
from .constellation import (
    GrayQAM,
    esn0_db_to_noise_var,
    gray,
    hard_demap,
    label_amplitudes,
    map_indices,
    position_amplitudes,
    position_labels,
    soft_demap,
)
from .quantizer import MOCRVQ, kmeans
from .reorder import (
    chain_length,
    gray_neighbour_length,
    nearest_neighbour_chain,
    reorder_codebook,
    reorder_mocrvq,
)

__version__ = "0.1.0"

__all__ = [
    "GrayQAM",
    "IndexChannel",
    "MOCRVQ",
    "awgn",
    "chain_length",
    "esn0_db_to_noise_var",
    "fading",
    "fading_gains",
    "from_air_order",
    "gray",
    "gray_neighbour_length",
    "hard_demap",
    "kmeans",
    "label_amplitudes",
    "map_indices",
    "nearest_neighbour_chain",
    "position_amplitudes",
    "position_labels",
    "reorder_codebook",
    "reorder_mocrvq",
    "soft_demap",
    "to_air_order",
    "__version__",
]
