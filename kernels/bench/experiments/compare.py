"""``python -m kernels compare BASE HEAD``: did HEAD make anything slower than BASE?

A front over asv. asv builds and installs each commit in its own environment and runs
``benchmarks/normalised.py`` (each kernel's epoch over a same-process reference, so a
neighbour's load cancels); ``ROUNDS`` asv runs of each commit alternate (BASE, HEAD,
BASE, ...), each a new process per benchmark, so values are spread over processes and
over time and a busy minute hits both commits alike. The results stay in asv's database.

Verdict per benchmark, from the per-process values of the two commits: a one-sided
Mann-Whitney rank test (no assumption on the noise's shape) and the ratio of medians.
``slower`` (``faster``) when the test gives p < ``FALSE_ALARMS / n`` in that direction,
n the number of benchmarks compared (so that between identical commits the chance of
any false alarm in the whole set stays below ``FALSE_ALARMS``), and the ratio passes
``1 + MIN_EFFECT``; ``noisy`` when the values' spread (without the one most outlying
process) is so wide that a change of ``2 MIN_EFFECT`` could not be told; else
``unchanged``.
"""
from __future__ import annotations

import ast
import functools
import json
import math
import re
import statistics
import subprocess
import sys
from pathlib import Path

# processes per commit and benchmark: with 7 + 7 values three pairs out of order give
# p = 0.002, over 1 % / 6 (a 5 % slowdown was missed so in the noise study); with 9 + 9
# six pairs out of order still give p = 0.0013
ROUNDS = 9
FALSE_ALARMS = 0.01     # of the whole set
MIN_EFFECT = 0.015      # smallest change reported: 1.5 %
NOISY = 0.20            # (p90 - p10) / median above this on either side: too noisy to tell
SUITE = "Normalised"
MAX_ROUNDS = 50         # 100 asv runs, about an hour for the default set: beyond it, a typo


def min_rounds(n_benchmarks: int, alarms: float = FALSE_ALARMS) -> int:
    """The fewest rounds with which ``n_benchmarks`` compared at the shared level can flag
    anything: with r + r values the one-sided rank test's smallest p (every HEAD value
    above every BASE value) is 1 / C(2r, r), and it must be below ``alarms / n``
    (5 rounds for one or two benchmarks, 6 for the default six)."""
    if not isinstance(n_benchmarks, int) or n_benchmarks < 1:
        raise ValueError(f"the number of benchmarks must be a positive integer; got {n_benchmarks!r}")
    r = 1
    while smallest_p(r) >= alarms / n_benchmarks:
        r += 1
    return r


def smallest_p(rounds: int) -> float:
    """The one-sided rank test's smallest p with ``rounds`` + ``rounds`` values."""
    return 1 / math.comb(2 * rounds, rounds)


def bench_regex(bench: str | None) -> str:
    """asv's --bench for the suite's benchmarks matching ``bench``; ValueError naming it
    where ``bench`` is not a regular expression."""
    if bench:
        try:
            re.compile(bench)
        except re.error as exc:
            raise ValueError(f"--bench {bench!r} is not a regular expression ({exc})") from None
    return f"{SUITE}" + (f".*({bench})" if bench else "")


def selected(bench: str | None, root: Path = Path(".")) -> list[str]:
    """The benchmarks ``asv run --bench`` selects for this regex, as asv matches them
    (``name(parameter)``), from the suite's parameter list in the benchmark folder,
    read as data (the library never imports the benchmarks)."""
    conf = json.loads((root / "asv.conf.json").read_text())
    source = root / conf.get("benchmark_dir", "benchmarks") / "normalised.py"
    tree = ast.parse(source.read_text())
    default = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                   and any(getattr(t, "id", None) == "DEFAULT" for t in node.targets))
    return [p for p in default if re.search(bench_regex(bench), f"normalised.{SUITE}.track_ratio({p})")]


def check_plan(base: str, head: str, bench: str | None, rounds: int, json_path: str | None) -> list[str]:
    """Refuse, before any asv run, a comparison that cannot decide or cannot be saved;
    return the benchmarks it will compare."""
    if base == head:
        raise ValueError(f"BASE and HEAD are the same commit ({base[:8]}): there is nothing to "
                         f"compare; name two commits (e.g. main~1 main)")
    names = selected(bench)
    if not names:
        raise ValueError(f"--bench {bench!r} matches none of the benchmarks: "
                         f"{', '.join(selected(None))}")
    need = min_rounds(len(names))
    if rounds < need:
        raise ValueError(f"{rounds} round(s) can never flag a change in {len(names)} benchmark(s) "
                         f"at the shared {FALSE_ALARMS:.0%} level (the smallest possible p with "
                         f"{rounds} + {rounds} values is {smallest_p(rounds):.2g}): "
                         f"use --rounds {need} or more")
    if rounds > MAX_ROUNDS:
        raise ValueError(f"--rounds {rounds} is over {MAX_ROUNDS} (each round is two asv runs, "
                         f"about 30 s each for the default set)")
    if json_path:
        check_writable(Path(json_path))
    return names


def check_writable(path: Path) -> None:
    """Raise OSError now, naming the path, if the results could not be written there."""
    existed = path.exists()
    try:
        with path.open("a"):
            pass
    except OSError as exc:
        raise OSError(f"cannot write {path}: {exc.strerror or exc}") from None
    if not existed:
        path.unlink()


# asv through this interpreter, not whichever ``asv`` is first on PATH (none, when the
# package's interpreter is called directly from a virtual environment not activated)
ASV = (sys.executable, "-m", "asv")


def rev_parse(ref: str) -> str:
    out = subprocess.run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], capture_output=True, text=True)
    if out.returncode:
        raise ValueError(f"not a commit: {ref!r} ({out.stderr.strip().splitlines()[-1] if out.stderr else ''})")
    return out.stdout.strip()


def run_once(commit: str, bench: str | None, progress=print) -> dict[str, float]:
    """One ``asv run`` of ``commit`` (built and installed in its environment by asv, the
    result kept in asv's database): ``{benchmark with parameters: value}``."""
    command = [*ASV, "run", f"{commit}^!", "--bench", bench_regex(bench), "--machine", machine_name()]
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode:
        last = (out.stdout + out.stderr).strip().splitlines()
        raise RuntimeError(f"asv run failed on {commit[:8]}: {last[-1] if last else 'no output'}")
    return values(commit)


@functools.cache
def machine_name() -> str:
    """This machine's name in asv's results (described once per process with ``asv
    machine --yes``, not before every run)."""
    import platform
    name = platform.node() or "this-machine"
    if subprocess.run([*ASV, "machine", "--yes", "--machine", name], capture_output=True).returncode:
        raise RuntimeError("asv machine failed: is asv installed (pip install -e '.[test]')?")
    return name


def values(commit: str) -> dict[str, float]:
    """``{benchmark with parameters: value}`` of ``commit`` in asv's results database."""
    import itertools
    from asv.config import Config
    from asv.results import iter_results_for_machine_and_hash
    conf = Config.load(Path("asv.conf.json"))
    found: dict[str, float] = {}
    for result in iter_results_for_machine_and_hash(conf.results_dir, machine_name(), commit):
        for key in result.get_all_result_keys():
            if f".{SUITE}." not in key:
                continue
            params = result.get_result_params(key)
            for combo, value in zip(itertools.product(*params), result.get_result_value(key, params)):
                if value is not None and value == value:        # not NaN (n/a)
                    found[f"{key}({', '.join(c.strip(chr(39)) for c in combo)})"] = float(value)
    return found


def verdict(base: list[float], head: list[float], alpha: float = FALSE_ALARMS) -> dict:
    """The statistics and verdict of one benchmark, tested at level ``alpha`` (see the
    module docstring)."""
    from scipy.stats import mannwhitneyu
    for side, got in (("base", base), ("head", head)):
        if len(got) == 0:
            raise ValueError(f"no {side} values: each side needs at least one measurement")
        bad = [v for v in got if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0)]
        if bad:
            raise ValueError(f"{side} values must be finite and positive (times or ratios); "
                             f"got {bad[0]!r}")
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
    return {"base": mb, "head": mh, "ratio": ratio, "verdict": word, "p_slower": p_slower,
            "p_faster": p_faster, "alpha": alpha, "spread": spread, "n_base": len(base),
            "n_head": len(head), "base_values": list(base), "head_values": list(head),  # round order
            "evidence": f"normalised ratio (epoch / same-process reference), medians of "
                        f"{len(base)} + {len(head)} processes; Mann-Whitney one-sided p = "
                        f"{min(p_slower, p_faster):.2g} (level {alpha:.2g}); spread {spread:.1%}"}


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


def compare(base_ref: str, head_ref: str, bench: str | None = None, rounds: int = ROUNDS,
            progress=print, json_path: str | None = None) -> list[dict]:
    """Records ``{benchmark, base, head, ratio, verdict, ...}`` for every benchmark:
    ``rounds`` asv runs of each commit, alternating BASE, HEAD, BASE, ... Refused
    before any run where it could not decide (``check_plan``)."""
    base, head = rev_parse(base_ref), rev_parse(head_ref)
    if not Path("asv.conf.json").is_file():
        raise OSError("no asv.conf.json here: run `python -m kernels compare` from the repository root")
    check_plan(base, head, bench, rounds, json_path)
    import importlib.util
    if importlib.util.find_spec("asv") is None:
        raise RuntimeError(f"asv is not installed for {sys.executable}: pip install -e '.[test]'")
    seen: dict[str, dict[str, list[float]]] = {base: {}, head: {}}
    for r in range(rounds):
        for commit in (base, head):
            progress(f"round {r + 1} of {rounds}: asv run {commit[:8]}")
            for name, value in run_once(commit, bench).items():
                seen[commit].setdefault(name, []).append(value)
    names = sorted(set(seen[base]) & set(seen[head]))
    if not names:
        raise RuntimeError("asv recorded no value of both commits: try `asv run --bench Normalised "
                           "HEAD^!` to see why")
    return verdicts({n: (seen[base][n], seen[head][n]) for n in names})


def verdicts(values: dict[str, tuple[list[float], list[float]]]) -> list[dict]:
    """A record per benchmark of ``{name: (base values, head values)}``, each tested at
    ``FALSE_ALARMS / len(values)`` (Bonferroni: the set's chance of a false alarm); no
    record for no benchmark."""
    if not values:
        return []
    alpha = FALSE_ALARMS / len(values)
    return [{"benchmark": n, **verdict(*values[n], alpha)} for n in values]


def short(benchmark: str) -> str:
    """asv's full name of a benchmark -> its parameter ("kernel backend")."""
    return benchmark.split("(")[-1].rstrip(")")


def table(records: list[dict]):
    from rich import box
    from rich.table import Table
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="HEAD against BASE (x reference, lower "
              "is better)", title_justify="left")
    for col in ("benchmark", "base", "head", "ratio", "p", "spread", "verdict"):
        t.add_column(col, justify="left" if col in ("benchmark", "verdict") else "right", overflow="fold")
    for r in records:
        name = short(r["benchmark"])
        t.add_row(name, f"{r['base']:.4g}", f"{r['head']:.4g}", f"{r['ratio']:.3f}",
                  f"{min(r['p_slower'], r['p_faster']):.1g}", f"{r['spread']:.0%}", r["verdict"])
    return t


def save_json(records: list[dict], path: str) -> None:
    Path(path).write_text(json.dumps(records, indent=1))
