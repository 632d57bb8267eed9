"""Channel codes (LDPC) for the classical baselines and the digital systems."""
