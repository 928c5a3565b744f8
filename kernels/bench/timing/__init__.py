"""Timing: the stopwatch, thread pinning, the machine's physical limits (CPU and GPU) and
the load of other work. Never renders, and knows nothing of the experiments."""
