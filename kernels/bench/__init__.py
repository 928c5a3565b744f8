"""The measuring harness: one spec per kernel (``specs``), epochs on real data
(``workloads``), physical limits, peers, thread pinning, cold start, the report and
autotune. Built on the library; the library never imports it."""
