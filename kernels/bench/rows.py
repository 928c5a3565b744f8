"""A report's result, typed: ``Report`` holds the machine and one ``Row`` per kernel x
backend (or peer) x mode; ``report.time_report`` makes it, the renderers read it, and
its JSON round trip (``to_json``, ``Report.from_json``) reads every report committed
since the first (fields added later take their defaults)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .timing.load import BOUND


def clear_lead(fast: float, fast_spread: float, slow: float, slow_spread: float) -> bool:
    """A time ``fast`` beats ``slow`` by more than either one's spread of rounds ((max -
    min) / median): a lead the noise of these timings cannot explain; otherwise a tie."""
    return slow > fast * (1 + max(fast_spread, slow_spread))


# a row's comparisons as saved before they were named by the registry's roles
RENAMED = {
    "speedup_vs_python": "speedup_vs_reference",
    "speedup_vs_numpy": "speedup_vs_baseline",
    "max_diff_vs_numba": "max_diff_vs_compiled",
}


def _renamed(row: dict) -> dict:
    """A row as saved before the kernels' axes were their Specs' (dh a field of every
    MLP row, None for the others) and before the roles named its comparisons."""
    row = {RENAMED.get(k, k): v for k, v in row.items()}
    if "sizes" in row:
        return row
    dh = row.get("dh")
    return {**row, "sizes": {"dh": dh} if dh else {}}


@dataclass
class Row:
    """One timed epoch: seconds per 60,000 examples (the median of ``rounds``, min and
    max kept), extrapolated when only ``batches_timed`` minibatches ran, against its
    physical limit and the rows of the same kernel and mode of the backends with the
    roles reference (python) and baseline (numpy) (``registry.ROLES``)."""

    kernel: str
    backend: str
    dtype: str
    sizes: dict  # the kernel's own axes (Spec.sizes): {"dh": 50}, {"side": 28}, ...
    K: int
    mode: str  # "streaming" (out=), "cache-hot" (outputs discarded) or ""
    seconds_per_epoch: float  # median over the rounds, per 60,000 examples
    seconds_min: float
    seconds_max: float
    extrapolated: bool
    batches_timed: int
    rounds: int
    pct_of_limit: float | None  # None: disturbed (the row beat a limit it cannot beat)
    speedup_vs_reference: float | None = None
    speedup_vs_baseline: float | None = None
    peer: bool = False
    max_diff_vs_compiled: float | None = None  # peers: checked outside the timed region
    disturbed: bool = False
    limit_seconds: float | None = None  # the physical limit of the epoch, best rates
    others: float | None = None  # cores other work took while it was timed (None: unknown)
    busy: bool = False  # others passed timing.load.BOUND: the figure may be slow

    @property
    def spread(self) -> float:
        """(max - min) / median of the rounds."""
        return (self.seconds_max - self.seconds_min) / self.seconds_per_epoch

    @property
    def label(self) -> str:
        """The row's name: backend, (peer), and its mode shortened (stream / hot)."""
        mode = {"streaming": " stream", "cache-hot": " hot"}.get(self.mode, "")
        return f"{self.backend}{' (peer)' if self.peer else ''}{mode}"

    @property
    def limit(self) -> float | None:
        """The physical limit in seconds per epoch (reports before limit_seconds was
        recorded: from the percentage)."""
        if self.limit_seconds:
            return self.limit_seconds
        if self.pct_of_limit is None:
            return None
        return self.seconds_per_epoch * self.pct_of_limit / 100

    @property
    def name(self) -> str:
        """``kernel/backend mode``, as the warnings list rows."""
        return f"{self.kernel}/{self.backend}{' ' + self.mode if self.mode else ''}"


@dataclass
class Report:
    """What ``python -m kernels report`` measured: ``machine`` (CPU, threads, versions
    and the rates of the limits), the rows, what ``kernels.fastest`` picks, every
    measurement of the rates, the rows flagged noisy or disturbed, the cold start and
    the same-run variants (both optional)."""

    machine: dict
    rows: list[Row]
    fastest: dict = field(default_factory=dict)
    rate_measurements: list = field(default_factory=list)
    noisy: list[str] = field(default_factory=list)
    disturbed: list[str] = field(default_factory=list)
    cold_start: dict | None = None
    variants: dict | None = None
    # cores other work took while the limits' rates were measured, one per measurement
    limits_others: list = field(default_factory=list)

    @property
    def kernels(self) -> list[str]:
        """The kernels in the rows, in order."""
        return list(dict.fromkeys(r.kernel for r in self.rows))

    def load_line(self) -> str | None:
        """What the report's first lines say when other work ran while it measured: the
        rows timed meanwhile (marked *) and the limits' measurements; None when quiet."""
        busy = [r for r in self.rows if r.busy]
        slow_limits = [o for o in self.limits_others if o is not None and o > BOUND]
        if not busy and not slow_limits:
            return None
        worst = max([r.others for r in busy] + slow_limits)
        parts = [f"{len(busy)} of {len(self.rows)} rows (marked *)"] if busy else []
        if slow_limits:
            parts.append(
                f"{len(slow_limits)} of {len(self.limits_others)} measurements of the limits "
                f"(a slow limit overstates every % of limit)"
            )
        return (
            f"busy machine: other work took up to {worst:.2f} cores (bound {BOUND}) while "
            f"{' and '.join(parts)} were measured; those figures may be slow"
        )

    def rows_of(self, kernel: str, peers: bool = True) -> list[Row]:
        return [r for r in self.rows if r.kernel == kernel and (peers or not r.peer)]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        known = {f.name for f in fields(Row)}
        # the first reports (2026-11) had no mode and kept the median only
        first = lambda r: {
            "mode": "",
            "seconds_min": r["seconds_per_epoch"],
            "seconds_max": r["seconds_per_epoch"],
        }
        rows = [
            Row(**{**first(r), **{k: v for k, v in _renamed(r).items() if k in known}})
            for r in data["rows"]
        ]
        own = {f.name for f in fields(cls)} - {"rows"}
        return cls(rows=rows, **{k: v for k, v in data.items() if k in own})

    @classmethod
    def from_json(cls, text: str) -> Report:
        return cls.from_dict(json.loads(text))

    @classmethod
    def load(cls, path: Path | str) -> Report:
        return cls.from_json(Path(path).read_text())
