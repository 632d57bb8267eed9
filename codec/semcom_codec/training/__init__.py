"""Training-loop infrastructure shared by the systems: data, distributed, loop helpers."""
