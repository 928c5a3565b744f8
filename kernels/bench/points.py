"""The scaling sweep's points (``Point``: one kernel x backend x dtype at one size, with
the work of a call) and how to read them from a sweep's result."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import SIZES
from ..registry import kernel_names
from .rows import clear_lead
from .settings import BASE, SIDE
from .specs import SPECS

__all__ = [
    "BASE",
    "Point",
    "axis_kernels",
    "bound_work",
    "epoch_examples",
    "leads",
    "per_call",
    "points_of",
]


def axis_kernels(axis: str) -> tuple[str, ...]:
    """The registered kernels whose Spec has ``axis`` among its scaling axes."""
    return tuple(k for k in kernel_names() if axis in SPECS[k].axes)


@dataclass
class Point:
    """One kernel x backend x dtype at one size: the median seconds per call of K examples."""

    kernel: str
    backend: str
    dtype: str
    K: int
    dh: int
    side: int
    examples: int = 0  # examples timed (the epoch has SIZES["train"] / scale^2)
    seconds_per_call: float | None = None
    flop_per_call: float = 0.0
    bytes_per_call: float = 0.0
    skipped: str | None = None  # why it was not timed
    spread: float = 0.0  # (max - min) / median of its rounds; 0 with one round
    others: float | None = None  # cores other work took while it was timed (None: unknown)
    busy: bool = False  # others passed timing.load.BOUND: the figure may be slow

    @property
    def seconds_per_example(self) -> float | None:
        return None if self.seconds_per_call is None else self.seconds_per_call / self.K

    def size(self, axis: str) -> int:
        return getattr(self, axis)

    @property
    def sliced(self) -> bool:
        """Timed on fewer examples than one epoch holds (extrapolated per example)."""
        return self.examples + self.K <= epoch_examples(self.side)


def leads(best: Point, other: Point) -> bool:
    """``best`` is faster than ``other`` beyond either point's spread (else they tie)."""
    return clear_lead(best.seconds_per_call, best.spread, other.seconds_per_call, other.spread)


def epoch_examples(side: int) -> int:
    # the upsampled epochs hold as many pixels as the 28 x 28 one (memory stays at 376 MB)
    return SIZES["train"] // (side // SIDE) ** 2


def per_call(p: Point, model: str) -> float:
    """FLOP (``model="flop"``) or bytes (``"bytes"``) of one call of K examples at the
    point's sizes, from the kernel's models in ``specs.SPECS``."""
    spec = SPECS[p.kernel]
    return (spec.flop if model == "flop" else spec.bytes)(
        p.K, 1, p.dh, np.dtype(p.dtype).itemsize, p.side**2
    )


def points_of(result: dict, **where) -> list[Point]:
    """The measured points matching ``where`` (field = value), as Points."""
    pts = [Point(**d) for d in result["points"]]
    return [
        p
        for p in pts
        if p.seconds_per_call is not None and all(getattr(p, k) == v for k, v in where.items())
    ]


def bound_work(p: Point) -> float:
    """The work per call that the kernel's physical limit divides by its rate."""
    return p.flop_per_call if SPECS[p.kernel].bound == "flop" else p.bytes_per_call
