"""The measuring harness, built on the library (which never imports it).

Its base is what it knows of each kernel and result: ``workloads`` (the Specs and the
epoch of real data they build), ``peers`` (what users would otherwise pick),
``kernel_notes`` and ``results``. Above it three jobs, each a sub-package: ``timing``,
``experiments`` and ``renderers`` (pyproject.toml's import-linter contracts keep them
apart: renderers never time, timing never renders)."""
