"""The command line's option types: checked counts, thread and dtype lists, kernels,
cores. Each raises argparse's error (a usage line, exit 2) or ValueError naming the
value."""

from __future__ import annotations

import argparse
import os


def at_least(low: int):
    """An argparse type: an integer >= ``low``."""

    def check(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}; got {text}")
        return value

    check.__name__ = "integer"  # argparse's "invalid integer value: 'x'"
    return check


nonnegative, positive = at_least(0), at_least(1)


def thread_list(text: str) -> list[int]:
    """--threads: one count or several, comma-separated (each >= 1)."""
    return [positive(t) for t in text.split(",")]


def dtype_list(text: str) -> list[str]:
    """--dtype: float64 and/or float32, comma-separated."""
    dtypes = text.split(",")
    bad = [d for d in dtypes if d not in ("float64", "float32")]
    if bad or len(set(dtypes)) != len(dtypes):
        raise argparse.ArgumentTypeError(
            f"takes float64 and/or float32 once each, comma-separated; got {text}"
        )
    return dtypes


def axis_size(text: str) -> tuple[str, int]:
    """--size: ``AXIS=N``, one of a kernel's own axes at a positive integer (``dh=100``)."""
    axis, equals, value = text.partition("=")
    if not (equals and axis.isidentifier() and value.isdigit() and int(value) > 0):
        raise argparse.ArgumentTypeError(f"takes AXIS=N, N a positive integer; got {text}")
    return axis, int(value)


def sizes_of(pairs, kernels) -> dict[str, int]:
    """The --size pairs as ``{axis: N}``, each axis one that a chosen kernel has and each
    value one its axis takes (``Spec.sizes``); ValueError naming what is wrong."""
    from ..bench.points import axes
    from ..bench.specs import SPECS

    known = set(axes(kernels)) - {"K"}
    unknown = [axis for axis, _ in pairs if axis not in known]
    if unknown:
        raise ValueError(
            f"--size: no chosen kernel has the axis {', '.join(unknown)}; their axes: "
            f"{', '.join(sorted(known)) or 'none but K'}"
        )
    sizes = dict(pairs)
    for kernel in kernels:  # each value checked by the axis's own rule, before any timing
        try:
            SPECS[kernel].pick(sizes)
        except ValueError as exc:
            raise ValueError(f"--size: {exc}") from None
    return sizes


def check_cores(threads: int) -> None:
    """Raise ValueError unless this process may run on ``threads`` cores."""
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if threads > allowed:
        raise ValueError(
            f"--threads {threads} asks for more cores than the {allowed} this process may use"
        )


def kernel_list(text: str | None, valid=None) -> tuple[str, ...]:
    """The kernels of a comma-separated --kernels (default all ``valid``: every kernel),
    each checked."""
    from ..registry import kernel_names

    valid = valid or kernel_names()
    if not text:
        return valid
    kernels = tuple(text.split(","))
    unknown = [k for k in kernels if k not in valid]
    if unknown:
        raise ValueError(f"unknown kernel(s) {', '.join(unknown)}; valid: {', '.join(valid)}")
    return kernels


def examples_option(p: argparse.ArgumentParser) -> None:
    """The --examples option of a command that may time a slice of the epoch."""
    p.add_argument(
        "--examples",
        type=positive,
        help="time only the first N training examples (figures extrapolated to the epoch)",
    )


def out_folder(p: argparse.ArgumentParser, what: str, files: str) -> None:
    """The --out option of a command that writes ``files`` into a new folder."""
    p.add_argument(
        "--out",
        metavar="DIR",
        help=f"folder for {files} (default: a new kernels-results/{what}-DATE-TIME)",
    )
