"""The training tool (``python -m kernels train`` / ``evaluate``), built on the library."""
