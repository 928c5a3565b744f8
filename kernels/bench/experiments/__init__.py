"""The experiments, one module per command: report (and its variants), scaling, autotune
(tuning), cold start, agreement, compare and the GPU harness. They time through
``timing`` and hand their results to ``renderers``."""
