"""Vector quantizers: small modules with no training loops (MOC-RVQ, codebook reordering)."""
