"""Which stores the numba backends write a streaming output with: non-temporal ones
(stores.py), which skip the read of each output line that an ordinary store makes
first, or ordinary ones. Non-temporal by default: the gradient norm writes its output
once, in order, in whole aligned vectors (vector_stencil.py), and so on the Intel Xeon
measured they made its streaming epoch 13-29 % faster and its cache-hot one no slower
(docs/results; before, with an image-by-image copy, they had lost). Which wins is still
the CPU's, so it is measured on the user's machine: ``python -m kernels autotune`` times
both and records the clear winner. Kept free of numba, so that the package
can hand it the record without importing numba."""

from __future__ import annotations

import os
from collections.abc import Callable

KINDS = ("ordinary", "nontemporal")

# the kind autotune measured faster on this machine, or None: set by the package
# (kernels/__init__.py reads it from the autotune record); the kernels never import it
measured: Callable[[], str | None] | None = None

# the kind the streaming kernels write with, once read (``current``); kernels.record's
# forget and save_record empty it with their own caches
kept: dict[str, str] = {}


def chosen() -> tuple[str, str]:
    """The store kind and where it came from: ``KERNELS_STORES`` where set, else the one
    autotune measured here (``measured``), else non-temporal stores. ValueError for a
    ``KERNELS_STORES`` that names no kind."""
    forced = os.environ.get("KERNELS_STORES", "").strip()
    if forced:
        if forced not in KINDS:
            raise ValueError(f"KERNELS_STORES must be nontemporal or ordinary; got {forced!r}")
        return forced, "KERNELS_STORES"
    found = measured() if measured is not None else None
    if found:
        return found, "measured by autotune"
    return "nontemporal", "default"


def current() -> str:
    """The kind ``chosen`` gives, read on the first call and kept (in ``kept``) until
    the record is forgotten or saved: the streaming kernels ask on every call, and
    reading the environment and the record each time made a streaming gradient_norm
    epoch 2-7 % slower on the Intel Xeon (docs/design.md 7.1). A ``KERNELS_STORES`` set
    later in the process counts from ``kernels.record.forget()`` on."""
    if "kind" not in kept:
        kept["kind"] = chosen()[0]
    return kept["kind"]


def valid(kind) -> str | None:
    """The autotune record's store kind (one of ``KINDS``) or None, as it is; ValueError
    otherwise."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"'stores' must be one of {', '.join(KINDS)}; got {kind!r}")
    return kind
