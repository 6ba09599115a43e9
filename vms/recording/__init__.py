"""Recording: segments, their index, the recorder per camera."""
