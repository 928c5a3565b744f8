"""The noise study of ``python -m kernels compare``: false alarms between commits that
differ only in the README, and the detection of injected slowdowns (3 % in numba's
mlp_epoch, 5 % in numba's gradient_norm), each with nothing else running and with a
CPU-bound and a memory-bound neighbour on the other core.

    python -m benchmarks.noise_study [--repetitions 5] [--rounds 9]
        [--neighbour both|on|off|alternating] [--changes NAME,...] [--out DIR]

It clones this repository into a temporary folder, adds the three test commits there
(never here), runs the comparisons and writes ``noise-study.json`` into ``--out``
(default ``kernels-results/noise-study-DATE-TIME``): the machine, the date, the rounds
and one row per comparison with every benchmark's record.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kernels.bench.experiments.compare import ROUNDS
from kernels.bench.renderers.compare_table import short
from kernels.machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
# (name, file, text replaced, replacement): each makes one test commit on top of HEAD
INJECTIONS = {
    "readme-only": ("README.md", None, "\n"),
    "mlp_epoch numba +3 %": (
        "kernels/ops/mlp/jit.py",
        "    if n == 1:\n        return _epoch(*args)\n",
        "    if n == 1:\n        import time\n        start = time.perf_counter()\n"
        "        result = _epoch(*args)\n        end = time.perf_counter()\n"
        "        while time.perf_counter() < end + 0.03 * (end - start):\n            pass\n"
        "        return result\n",
    ),
    "gradient_norm numba +5 %": (
        "kernels/ops/gradient_norm/jit.py",
        "    (_parallel if len(u) > 1 and threads() > 1 else _serial)(u, g, u.dtype.type(0.5))\n",
        "    import time\n    start = time.perf_counter()\n"
        "    (_parallel if len(u) > 1 and threads() > 1 else _serial)(u, g, u.dtype.type(0.5))\n"
        "    end = time.perf_counter()\n"
        "    while time.perf_counter() < end + 0.05 * (end - start):\n        pass\n",
    ),
}
EXPECTED = {
    "readme-only": None,
    "mlp_epoch numba +3 %": "mlp_epoch numba",
    "gradient_norm numba +5 %": "gradient_norm numba",
}
NEIGHBOURS = [  # on the last allowed core: a CPU-bound dgemm and a memory-bound copy
    ("import numpy as np\na = np.random.default_rng(0).random((1024, 1024))", "a @ a"),
    ("import numpy as np\na = np.ones(64 << 20); b = np.empty_like(a)", "np.copyto(b, a)"),
]
SWITCH = 15  # seconds: an alternating neighbour works this long, then idles as long
CONDITIONS = {"off": None, "on": "steady", "alternating": "alternating"}


def neighbour_code(setup: str, step: str, mode: str) -> str:
    """A neighbour process: ``step`` forever (steady), or for SWITCH s out of 2 SWITCH s."""
    if mode == "steady":
        return f"{setup}\nwhile True: {step}"
    return (
        f"{setup}\nimport time\nwhile True:\n    end = time.time() + {SWITCH}\n"
        f"    while time.time() < end: {step}\n    time.sleep({SWITCH})"
    )


def git(*args, cwd) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_commits(clone: Path) -> dict[str, str]:
    """The test commits on top of the clone's HEAD: ``{name: hash}``, plus ``base``."""
    base = git("rev-parse", "HEAD", cwd=clone)
    commits = {"base": base}
    for name, (file, old, new) in INJECTIONS.items():
        git("checkout", "-q", base, cwd=clone)
        path = clone / file
        text = path.read_text()
        path.write_text(text + new if old is None else text.replace(old, new))
        git(
            "-c",
            "user.name=noise-study",
            "-c",
            "user.email=noise@study",
            "commit",
            "-qam",
            f"noise study: {name}",
            cwd=clone,
        )
        commits[name] = git("rev-parse", "HEAD", cwd=clone)
    git("checkout", "-q", base, cwd=clone)
    return commits


@contextlib.contextmanager
def neighbours(mode: str | None):
    """The two neighbour processes on the last allowed core while the block runs:
    ``mode`` "steady", "alternating" (SWITCH s on, SWITCH s off) or None (none)."""
    procs = []
    if mode:
        core = str(max(os.sched_getaffinity(0)))
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        procs = [
            subprocess.Popen(
                ["taskset", "-c", core, sys.executable, "-c", neighbour_code(setup, step, mode)],
                env=env,
            )
            for setup, step in NEIGHBOURS
        ]
    try:
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()


def compare(clone: Path, base: str, head: str, rounds: int) -> tuple[int, list[dict], float]:
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        start = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "kernels",
                "compare",
                base,
                head,
                "--rounds",
                str(rounds),
                "--json",
                f.name,
            ],
            cwd=clone,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        if out.returncode not in (0, 1):
            raise RuntimeError(out.stderr.strip().splitlines()[-1])
        return out.returncode, json.loads(Path(f.name).read_text()), seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.noise_study", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help=f"per comparison (default {ROUNDS})"
    )
    parser.add_argument(
        "--neighbour",
        default="both",
        help="comma-separated conditions: off (nothing else running), on (the "
        f"neighbour processes), alternating ({SWITCH} s busy, {SWITCH} s "
        "idle); both: off,on (default)",
    )
    parser.add_argument(
        "--changes",
        default=",".join(EXPECTED),
        help="comma-separated changes to compare (default: all)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=ROOT / "kernels-results" / f"noise-study-{time.strftime('%Y%m%d-%H%M%S')}",
    )
    args = parser.parse_args(argv)
    wrong = [
        c for c in args.neighbour.split(",") if c not in CONDITIONS and args.neighbour != "both"
    ]
    if wrong or any(c not in EXPECTED for c in args.changes.split(",")):
        parser.error(
            f"--neighbour takes {', '.join(CONDITIONS)} or both; --changes takes "
            f"{', '.join(EXPECTED)}"
        )
    # a SIGTERM (kill, a timeout) unwinds like an error, so the neighbours are stopped
    # too: left running, they would load the machine after the study (it happened)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    args.out.mkdir(parents=True, exist_ok=True)
    machine = {"cpu": cpu_model(), "cores": os.cpu_count()}
    rows = []
    with tempfile.TemporaryDirectory(prefix="kernels-noise-") as tmp:
        clone = Path(tmp) / "repo"
        git("clone", "-q", str(ROOT), str(clone), cwd=tmp)
        commits = make_commits(clone)
        changes = {name: EXPECTED[name] for name in args.changes.split(",")}
        for neighbour in ("off", "on") if args.neighbour == "both" else args.neighbour.split(","):
            for rep in range(args.repetitions):  # each change once per repetition
                for name, expected in changes.items():
                    with neighbours(CONDITIONS[neighbour]):
                        code, records, seconds = compare(
                            clone, commits["base"], commits[name], args.rounds
                        )
                    flagged = [short(r["benchmark"]) for r in records if r["verdict"] == "slower"]
                    rows.append(
                        {
                            "change": name,
                            "neighbour": neighbour,
                            "repetition": rep + 1,
                            "exit": code,
                            "flagged": flagged,
                            "seconds": seconds,
                            "correct": flagged == ([expected] if expected else []),
                            "records": records,
                        }
                    )
                    print(
                        f"{name:26s} neighbour={neighbour:11s} #{rep + 1}: exit {code}, "
                        f"flagged {flagged or 'nothing'} ({seconds:.0f} s)",
                        flush=True,
                    )
                    # after every comparison: a stopped study keeps what it measured
                    study = {
                        "machine": machine,
                        "date": time.strftime("%Y-%m-%d"),
                        "rounds": args.rounds,
                        "rows": rows,
                    }
                    (args.out / "noise-study.json").write_text(json.dumps(study, indent=1))
    print(f"wrote {args.out / 'noise-study.json'}")
    return 0 if all(r["correct"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
