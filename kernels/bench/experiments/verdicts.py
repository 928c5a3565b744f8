"""The verdict of ``python -m kernels compare`` on one benchmark, from the per-process
values of the two commits: a one-sided Mann-Whitney rank test (no assumption on the
noise's shape) and the ratio of medians. ``slower`` (``faster``) when the test gives
p < ``FALSE_ALARMS / n`` in that direction, n the number of benchmarks compared (so
that between identical commits the chance of any false alarm in the whole set stays
below ``FALSE_ALARMS``), and the ratio passes ``1 + MIN_EFFECT``; ``noisy`` when the
values' spread (without the one most outlying process) is so wide that a change of
``2 MIN_EFFECT`` could not be told; else ``unchanged``."""

from __future__ import annotations

import math
import statistics

FALSE_ALARMS = 0.01  # of the whole set
MIN_EFFECT = 0.015  # smallest change reported: 1.5 %
NOISY = 0.20  # (p90 - p10) / median above this on either side: too noisy to tell


def min_rounds(n_benchmarks: int, alarms: float = FALSE_ALARMS) -> int:
    """The fewest rounds with which ``n_benchmarks`` compared at the shared level can flag
    anything: with r + r values the one-sided rank test's smallest p (every HEAD value
    above every BASE value) is 1 / C(2r, r), and it must be below ``alarms / n``
    (5 rounds for one or two benchmarks, 6 for the default six)."""
    if not isinstance(n_benchmarks, int) or n_benchmarks < 1:
        raise ValueError(
            f"the number of benchmarks must be a positive integer; got {n_benchmarks!r}"
        )
    r = 1
    while smallest_p(r) >= alarms / n_benchmarks:
        r += 1
    return r


def smallest_p(rounds: int) -> float:
    """The one-sided rank test's smallest p with ``rounds`` + ``rounds`` values."""
    return 1 / math.comb(2 * rounds, rounds)


def verdict(base: list[float], head: list[float], alpha: float = FALSE_ALARMS) -> dict:
    """The statistics and verdict of one benchmark, tested at level ``alpha`` (see the
    module docstring)."""
    from scipy.stats import mannwhitneyu

    for side, got in (("base", base), ("head", head)):
        if len(got) == 0:
            raise ValueError(f"no {side} values: each side needs at least one measurement")
        bad = [v for v in got if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0)]
        if bad:
            raise ValueError(
                f"{side} values must be finite and positive (times or ratios); got {bad[0]!r}"
            )
    mb, mh = statistics.median(base), statistics.median(head)
    ratio = mh / mb
    spread = max(_spread(base), _spread(head))
    p_slower = mannwhitneyu(head, base, alternative="greater").pvalue
    p_faster = mannwhitneyu(head, base, alternative="less").pvalue
    if p_slower < alpha and ratio > 1 + MIN_EFFECT:
        word = "slower"
    elif p_faster < alpha and ratio < 1 - MIN_EFFECT:
        word = "faster"
    elif spread > NOISY:
        word = "noisy"
    else:
        word = "unchanged"
    return {
        "base": mb,
        "head": mh,
        "ratio": ratio,
        "verdict": word,
        "p_slower": p_slower,
        "p_faster": p_faster,
        "alpha": alpha,
        "spread": spread,
        "n_base": len(base),
        "n_head": len(head),
        "base_values": list(base),
        "head_values": list(head),  # round order
        "evidence": f"normalised ratio (epoch / same-process reference), medians of "
        f"{len(base)} + {len(head)} processes; Mann-Whitney one-sided p = "
        f"{min(p_slower, p_faster):.2g} (level {alpha:.2g}); spread {spread:.1%}",
    }


def _spread(values: list[float]) -> float:
    """(p90 - p10) / median, without the one value farthest from the median when there
    are five or more: one process of nine that a neighbour hit does not make a figure
    noisy (the rank test is not swayed by it either)."""
    values = sorted(values)
    middle = statistics.median(values)
    if len(values) >= 5:
        values = values[1:] if middle - values[0] > values[-1] - middle else values[:-1]
    qs = statistics.quantiles(values, n=10) if len(values) > 1 else [values[0]] * 9
    return (qs[-1] - qs[0]) / middle


def verdicts(values: dict[str, tuple[list[float], list[float]]]) -> list[dict]:
    """A record per benchmark of ``{name: (base values, head values)}``, each tested at
    ``FALSE_ALARMS / len(values)`` (Bonferroni: the set's chance of a false alarm); no
    record for no benchmark."""
    if not values:
        return []
    alpha = FALSE_ALARMS / len(values)
    return [{"benchmark": n, **verdict(*values[n], alpha)} for n in values]
