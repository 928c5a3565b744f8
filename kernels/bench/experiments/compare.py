"""``python -m kernels compare BASE HEAD``: did HEAD make anything slower than BASE?

A front over asv. asv builds and installs each commit in its own environment and runs
``benchmarks/normalised.py`` (each kernel's epoch over a same-process reference, so a
neighbour's load cancels); ``ROUNDS`` asv runs of each commit alternate (BASE, HEAD,
BASE, ...), each a new process per benchmark, so values are spread over processes and
over time and a busy minute hits both commits alike. The results stay in asv's database.

The verdict per benchmark is verdicts.py's.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import subprocess
import sys
from pathlib import Path

from .verdicts import FALSE_ALARMS, min_rounds, smallest_p, verdicts

# processes per commit and benchmark: with 7 + 7 values three pairs out of order give
# p = 0.002, over 1 % / 6 (a 5 % slowdown was missed so in the noise study); with 9 + 9
# six pairs out of order still give p = 0.0013
ROUNDS = 9
SUITE = "Normalised"
MAX_ROUNDS = 50  # 100 asv runs, about an hour for the default set: beyond it, a typo


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
    default = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", None) == "DEFAULT" for t in node.targets)
    )
    return [
        p for p in default if re.search(bench_regex(bench), f"normalised.{SUITE}.track_ratio({p})")
    ]


def check_plan(
    base: str, head: str, bench: str | None, rounds: int, json_path: str | None
) -> list[str]:
    """Refuse, before any asv run, a comparison that cannot decide or cannot be saved;
    return the benchmarks it will compare."""
    if base == head:
        raise ValueError(
            f"BASE and HEAD are the same commit ({base[:8]}): there is nothing to "
            f"compare; name two commits (e.g. main~1 main)"
        )
    names = selected(bench)
    if not names:
        raise ValueError(
            f"--bench {bench!r} matches none of the benchmarks: {', '.join(selected(None))}"
        )
    need = min_rounds(len(names))
    if rounds < need:
        raise ValueError(
            f"{rounds} round(s) can never flag a change in {len(names)} benchmark(s) "
            f"at the shared {FALSE_ALARMS:.0%} level (the smallest possible p with "
            f"{rounds} + {rounds} values is {smallest_p(rounds):.2g}): "
            f"use --rounds {need} or more"
        )
    if rounds > MAX_ROUNDS:
        raise ValueError(
            f"--rounds {rounds} is over {MAX_ROUNDS} (each round is two asv runs, "
            f"about 30 s each for the default set)"
        )
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
    out = subprocess.run(
        ["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], capture_output=True, text=True
    )
    if out.returncode:
        raise ValueError(
            f"not a commit: {ref!r} ({out.stderr.strip().splitlines()[-1] if out.stderr else ''})"
        )
    return out.stdout.strip()


def run_once(commit: str, bench: str | None, progress=print) -> dict[str, float]:
    """One ``asv run`` of ``commit`` (built and installed in its environment by asv, the
    result kept in asv's database): ``{benchmark with parameters: value}``."""
    command = [
        *ASV,
        "run",
        f"{commit}^!",
        "--bench",
        bench_regex(bench),
        "--machine",
        machine_name(),
    ]
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
    if subprocess.run(
        [*ASV, "machine", "--yes", "--machine", name], capture_output=True
    ).returncode:
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
            for combo, value in zip(
                itertools.product(*params), result.get_result_value(key, params)
            ):
                if value is not None and value == value:  # not NaN (n/a)
                    found[f"{key}({', '.join(c.strip(chr(39)) for c in combo)})"] = float(value)
    return found


def compare(
    base_ref: str,
    head_ref: str,
    bench: str | None = None,
    rounds: int = ROUNDS,
    progress=print,
    json_path: str | None = None,
) -> list[dict]:
    """Records ``{benchmark, base, head, ratio, verdict, ...}`` for every benchmark:
    ``rounds`` asv runs of each commit, alternating BASE, HEAD, BASE, ... Refused
    before any run where it could not decide (``check_plan``)."""
    base, head = rev_parse(base_ref), rev_parse(head_ref)
    if not Path("asv.conf.json").is_file():
        raise OSError(
            "no asv.conf.json here: run `python -m kernels compare` from the repository root"
        )
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
        raise RuntimeError(
            "asv recorded no value of both commits: try `asv run --bench Normalised "
            "HEAD^!` to see why"
        )
    return verdicts({n: (seen[base][n], seen[head][n]) for n in names})


def save_json(records: list[dict], path: str) -> None:
    Path(path).write_text(json.dumps(records, indent=1))
