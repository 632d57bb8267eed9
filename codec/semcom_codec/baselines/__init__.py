"""Classical image links: JPEG / BPG (HEVC intra) source coding over LDPC + QAM."""
