"""The scaling sweep's points (``Point``: one kernel x backend x dtype at one size, with
the work of a call) and how to read them from a sweep's result."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..registry import kernel_names
from .rows import clear_lead
from .settings import MINIBATCH, Axis
from .specs import SPECS

__all__ = [
    "Point",
    "axes",
    "axis_kernels",
    "bound_work",
    "grid",
    "headline",
    "leads",
    "per_call",
    "points_of",
]


def axes(kernels=None) -> dict[str, Axis]:
    """Every axis of the registered ``kernels`` (default all), the minibatch first."""
    found = {MINIBATCH.name: MINIBATCH}
    for kernel in kernels or kernel_names():
        found.update((a.name, a) for a in SPECS[kernel].axes if a.name not in found)
    return found


def grid(quick: bool, kernels=None) -> dict[str, tuple[int, ...]]:
    """The scaling sweep's values of every axis (``--quick``: fewer)."""
    return {name: axis.values(quick) for name, axis in axes(kernels).items()}


def headline(kernel: str) -> dict[str, int]:
    """Every axis of ``kernel``, K first, at its headline value."""
    return {MINIBATCH.name: MINIBATCH.base, **SPECS[kernel].base()}


def axis_kernels(axis: str) -> tuple[str, ...]:
    """The registered kernels swept along ``axis`` (every one along K)."""
    return tuple(
        k
        for k in kernel_names()
        if axis == MINIBATCH.name or axis in {a.name for a in SPECS[k].axes}
    )


@dataclass
class Point:
    """One kernel x backend x dtype at one size: the median seconds per call of K examples."""

    kernel: str
    backend: str
    dtype: str
    K: int
    sizes: dict = field(default_factory=dict)  # the kernel's own axes (Spec.sizes)
    examples: int = 0  # examples timed (at most the Spec's epoch at these sizes)
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
        return self.K if axis == MINIBATCH.name else self.sizes[axis]

    @property
    def where(self) -> str:
        """Its sizes as text: ``K=100 dh=50``."""
        return " ".join(f"{a}={v}" for a, v in {"K": self.K, **self.sizes}.items())

    @property
    def base(self) -> bool:
        """Every axis but K at its headline value."""
        return self.sizes == SPECS[self.kernel].base()

    @property
    def sliced(self) -> bool:
        """Timed on fewer examples than one epoch holds (extrapolated per example)."""
        return self.examples + self.K <= SPECS[self.kernel].examples(self.sizes)

    @classmethod
    def on_axis(cls, kernel: str, backend: str, dtype: str, axis: str, size: int) -> Point:
        """The point of ``axis`` at ``size``, every other axis at its headline value."""
        values = {**headline(kernel), axis: size}
        K = values.pop(MINIBATCH.name)
        return cls(kernel, backend, dtype, K, values)

    @classmethod
    def read(cls, d: dict) -> Point:
        """A point from a sweep's JSON; a sweep before ``sizes`` kept dh and side as
        fields of every point: the kernel's own axes are taken from them."""
        d = dict(d)
        legacy = {a: d.pop(a) for a in ("dh", "side") if a in d}
        if "sizes" not in d:
            names = {a.name for a in SPECS[d["kernel"]].axes} if d["kernel"] in SPECS else ()
            d["sizes"] = {a: v for a, v in legacy.items() if a in names}
        return cls(**d)


def leads(best: Point, other: Point) -> bool:
    """``best`` is faster than ``other`` beyond either point's spread (else they tie)."""
    return clear_lead(best.seconds_per_call, best.spread, other.seconds_per_call, other.spread)


def per_call(p: Point, model: str) -> float:
    """FLOP (``model="flop"``) or bytes (``"bytes"``) of one call of K examples at the
    point's sizes, from the kernel's models in ``specs.SPECS``."""
    spec = SPECS[p.kernel]
    return (spec.flop if model == "flop" else spec.bytes)(
        p.K, 1, np.dtype(p.dtype).itemsize, p.sizes
    )


def points_of(result: dict, base: bool = False, **where) -> list[Point]:
    """The measured points matching ``where`` (field or axis = value; ``base``: every
    axis but K at its headline value), as Points; those of kernels no longer registered
    are left out."""
    pts = [Point.read(d) for d in result["points"] if d["kernel"] in SPECS]
    return [
        p
        for p in pts
        if p.seconds_per_call is not None
        and (p.base or not base)
        and all(
            (p.sizes.get(k) if k in p.sizes else getattr(p, k, None)) == v for k, v in where.items()
        )
    ]


def bound_work(p: Point) -> float:
    """The work per call that the kernel's physical limit divides by its rate."""
    return p.flop_per_call if SPECS[p.kernel].bound == "flop" else p.bytes_per_call
