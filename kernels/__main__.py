"""Command line: ``python -m kernels {report,scaling,autotune,compare,gpu,data,agree,train,evaluate}``.

Every failure caused by the user's input, files or environment ends as one line on
stderr and a non-zero exit, never a traceback (``main`` catches them)."""
from __future__ import annotations

import argparse
import sys

from .app.arguments import (add_train_arguments, check_cores, dtype_list, kernel_list,
                            nonnegative, positive, thread_list)

# exit status of an error (bad input, files, environment), as argparse's: apart from 1,
# which a command that judges (compare: HEAD slower; agree; data) gives as its verdict
ERROR = 2


def cmd_data(args) -> int:
    """Say where Fashion-MNIST was found (fetching it if needed) and check its checksums."""
    from .data import status
    rows = status(args.path)
    for name, where, verdict in rows:
        print(f"{name}: {where}: {verdict}")
    return 0 if all(v.startswith("ok") for _, _, v in rows) else 1


def cmd_agree(args) -> int:
    """Run every available backend of every kernel on real images and compare each with the
    plain-Python reference at the tolerances of docs/design.md (exit 1 if any is outside)."""
    from .bench.experiments.agree import agreement, check_examples
    check_examples(args.n)
    print(f"{args.n} Fashion-MNIST training examples, minibatches of 100, dh = 10, float64")
    failed = []
    for kernel, backend, err, ok in agreement(n=args.n):
        print(f"  {kernel:14s} {backend:13s} max |difference| from python: {err:.1e}  "
              f"{'ok' if ok else 'OUTSIDE THE TOLERANCE'}")
        if not ok:
            failed.append(f"{kernel}/{backend}")
    if failed:
        print(f"outside the tolerance: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def cmd_report(args) -> int:
    """Time every kernel x backend (and peers) per epoch on Fashion-MNIST against the
    machine's physical limit, with pinned threads; print the tables and a summary and
    save JSON, Markdown and a chart; with several --threads or --dtype, also numba's
    epochs at every setting, in the same run."""
    from pathlib import Path
    from .bench.experiments import report
    from .bench.renderers import outputs, render
    from .bench.workloads import check_names
    kernels = kernel_list(args.kernels)
    threads, dtypes = args.threads, args.dtype
    peer_names = None if args.peers is None else check_names(filter(None, args.peers.split(",")))
    out = outputs.check_writable(Path(args.out) if args.out else outputs.default_folder("report"))
    check_cores(max(threads))
    if max(threads) > 1:
        # numba sizes its thread pool when first imported: start it with the most threads
        from .bench.timing.threads import pin
        pin(max(threads))
        try:
            import numba  # noqa: F401
        except ImportError:
            pass
    result = report.time_report(kernels, dtypes[0], args.dh, threads=threads[0], quick=args.quick,
                        examples=args.examples, peer_names=peer_names)
    if len(threads) > 1 or len(dtypes) > 1:
        from .bench.experiments import variants
        from .bench.settings import effort
        result.variants = variants.time_variants(kernels, dtypes, threads, args.dh,
                                                    effort("variants", args.quick).rounds,
                                                    args.examples)
    render.print_report(result)
    files = outputs.save_report(result, out)
    print("wrote:", *files, sep="\n  ")
    return 0


def cmd_autotune(args) -> int:
    """Time the backends of every kernel here along the K axis, both dtypes, in this
    process's thread conditions, and record what kernels.fastest should pick; a busy
    machine stops it, and nothing is saved."""
    from rich.console import Console
    from .bench.experiments import tuning
    from .record import drop_record, load_record, record_path
    console = Console()
    if args.forget:
        console.print(f"removed {record_path()}" if drop_record() else f"no record at {record_path()}",
                      highlight=False)
        return 0
    if args.show:
        record = load_record()
        if record is None:
            console.print(f"no usable record at {record_path()}: kernels.fastest follows the "
                          f"shipped ranking", highlight=False)
            return 0
        measured = record
    else:
        measured = tuning.autotune(threads=args.threads, quick=args.quick)
    console.print(tuning.table(measured))
    console.print(tuning.LEGEND, highlight=False)
    console.print(f"record: {record_path()} (`--forget` removes it)", highlight=False)
    return 0


def cmd_compare(args) -> int:
    """Did HEAD make anything slower than BASE? asv builds both commits; each kernel's
    epoch over a same-process reference, several processes per commit, rank test. Exit
    status 0: nothing slower; 1: something slower; 2: an error (a bad commit, option or
    environment), so that a CI gate can tell a regression from a mistake."""
    from rich.console import Console
    from .bench.experiments import compare
    console = Console(stderr=True)
    records = compare.compare(args.base, args.head, args.bench, args.rounds,
                              progress=lambda line: console.print(line, style="dim", highlight=False),
                              json_path=args.json)
    Console().print(compare.table(records))
    for r in records:
        print(f"{r['benchmark']}: {r['evidence']}")
    if args.json:
        compare.save_json(records, args.json)
    return 1 if any(r["verdict"] == "slower" for r in records) else 0


def cmd_scaling(args) -> int:
    """Sweep K, dh and the image side per kernel x backend x dtype; print the fitted cost
    models and the crossovers, write scaling.json and the plots into --out."""
    from pathlib import Path
    from .bench.experiments import scaling
    from .bench.renderers import outputs, scaling_plots
    kernels = kernel_list(args.kernels)
    check_cores(args.threads)
    out = outputs.check_writable(Path(args.out) if args.out else outputs.default_folder("scaling"))
    result = scaling.sweep(kernels=kernels, dtypes=tuple(args.dtype), threads=args.threads,
                           quick=args.quick)
    scaling_plots.print_summary(result)
    files = outputs.save_scaling(result, out)
    print("wrote:", *files, sep="\n  ")
    return 0


def cmd_gpu(args) -> int:
    """Time each kernel's GPU backends (numba-cuda, array-api on CuPy, jax) and PyTorch on
    CUDA per epoch on the device, against its limits measured in the run and numba on
    the CPU, then mlp_epoch across K; write gpu-DTYPE.json and .png into --out."""
    from pathlib import Path
    from rich.console import Console
    from .bench.experiments import gpu
    from .bench.renderers import gpu_render, outputs
    from .bench.settings import effort
    kernels = kernel_list(args.kernels, gpu.gpu_kernels())
    gpu.check_device()
    out = outputs.check_writable(Path(args.out) if args.out else outputs.default_folder("gpu"))
    console, files = Console(), []
    for dtype in args.dtype:
        result = gpu.time_gpu(kernels, dtype, repeats=effort("gpu", args.quick).rounds,
                         sweep=effort("gpu", args.quick).sizes,
                         examples=args.examples,
                         progress=lambda line: console.print(line, style="dim", highlight=False))
        console.print(gpu_render.table(result))
        print(*gpu_render.notes(result), sep="\n")
        files += gpu_render.save(result, out)
    print("wrote:", *files, sep="\n  ")
    return 0


def cmd_train(args) -> int:
    """Train an MLP (or softmax regression) on Fashion-MNIST and log train/valid/test
    error and loss per epoch to DIR/log.csv, with curves.png, model.npz, summary.json."""
    from .app.train import Settings, train
    from .bench.renderers.outputs import default_folder
    fields = {k: v for k, v in vars(args).items() if k in Settings.__dataclass_fields__}
    out = args.out or default_folder("train")
    train(Settings(**fields), out)
    print(f"wrote {out}/ (log.csv, curves.png, model.npz, summary.json); "
          f"`python -m kernels evaluate {out}` tests the model")
    return 0


def cmd_evaluate(args) -> int:
    """Test error, loss and confusion matrix of a model saved by `train`."""
    from rich.console import Console
    from rich.table import Table
    from .app.train import evaluate_file
    from .data import CLASSES
    error, loss, confusion = evaluate_file(args.model, args.limit)
    console = Console()
    console.print(f"{args.model}: test error {error:.4f} (accuracy {1 - error:.2%}), "
                  f"mean cross-entropy {loss:.4f} on {confusion.sum()} test images")
    t = Table(title="confusion matrix (rows: true class, columns: predicted class)",
              title_justify="left")
    t.add_column("true class")
    for i in range(len(CLASSES)):
        t.add_column(str(i), justify="right")
    for i, (name, row) in enumerate(zip(CLASSES, confusion)):
        t.add_row(f"{i} {name}", *(str(v) for v in row))
    console.print(t)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kernels",
        description="The same ML kernels as Python loops, NumPy, Numba and JAX, proven equal and "
                    "timed per epoch on Fashion-MNIST. Each command has its own --help.")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name, run):
        """A subcommand whose help and description are its function's docstring."""
        p = sub.add_parser(name, help=run.__doc__, description=run.__doc__)
        p.set_defaults(run=run)
        return p
    p = command("data", cmd_data)
    p.add_argument("--path", help="a directory holding the four IDX files")
    p = command("agree", cmd_agree)
    p.add_argument("-n", type=positive, default=250, help="training examples to use (default 250, "
                   "at most 2,000)")
    p = command("report", cmd_report)
    p.add_argument("--threads", type=thread_list, default=[1], help="BLAS and numba threads "
                   "(default 1); several, comma-separated, add numba's epochs at each (same run)")
    p.add_argument("--dh", type=positive, default=50, help="MLP hidden units (default 50)")
    p.add_argument("--dtype", type=dtype_list, default=["float64"], help="float64 (default) or "
                   "float32; both, comma-separated, add numba's epochs in each (same run)")
    p.add_argument("--kernels", help="comma-separated subset of the kernels")
    p.add_argument("--quick", action="store_true", help="fewer rounds, smaller extrapolation slices")
    p.add_argument("--examples", type=positive, help="time only the first N training examples "
                   "(figures extrapolated to the epoch)")
    p.add_argument("--peers", help="comma-separated peers to time (default: every one installed: "
                   "scipy, torch, torch.compile, scikit-learn); '' for none")
    p.add_argument("--out", metavar="DIR", help="folder for report.json, report.md and report.png "
                   "(default: a new kernels-results/report-DATE-TIME)")
    p = command("autotune", cmd_autotune)
    p.add_argument("--threads", type=positive, help="pin BLAS and numba threads (recorded in the "
                   "fingerprint; default: leave the environment as it is)")
    from .bench.experiments.tuning import FULL_TIME, QUICK_TIME
    p.add_argument("--quick", action="store_true", help=f"three sizes K, shorter timings "
                   f"({QUICK_TIME}; the full run {FULL_TIME})")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--show", action="store_true", help="print the record and where it lives; "
                      "measure nothing")
    what.add_argument("--forget", action="store_true", help="remove the record: kernels.fastest "
                      "follows the shipped ranking again")
    p = command("compare", cmd_compare)
    p.add_argument("base", help="the commit compared against (e.g. main)")
    p.add_argument("head", help="the commit under test (e.g. HEAD)")
    try:
        from .bench.experiments.compare import selected
        names = "; ".join(selected(None))
    except (OSError, ValueError, StopIteration, SyntaxError):     # not at the repository root
        names = "see benchmarks/normalised.py"
    p.add_argument("--bench", metavar="REGEX", help=f"only benchmarks whose name matches ({names})")
    p.add_argument("--json", metavar="PATH", help="also write the records as JSON")
    from .bench.experiments.compare import ROUNDS
    p.add_argument("--rounds", type=positive, default=ROUNDS, help=f"asv runs per commit (default {ROUNDS})")
    p = command("scaling", cmd_scaling)
    p.add_argument("--quick", action="store_true", help="fewer sizes, float64, short timings (under 2 min)")
    p.add_argument("--dtype", type=dtype_list, default=["float64"], help="float64 and/or float32, "
                   "comma-separated (default float64)")
    p.add_argument("--kernels", help="comma-separated subset of the kernels")
    p.add_argument("--threads", type=positive, default=1, help="BLAS and numba threads (default 1)")
    p.add_argument("--out", metavar="DIR", help="folder for scaling.json and the PNG plots "
                   "(default: a new kernels-results/scaling-DATE-TIME)")
    p = command("gpu", cmd_gpu)
    p.add_argument("--dtype", type=dtype_list, default=["float64", "float32"],
                   help="float64 and/or float32, comma-separated (default both)")
    p.add_argument("--kernels", help="comma-separated subset of the kernels whose Spec asks for "
                   "the GPU (default: all of them)")
    p.add_argument("--quick", action="store_true", help="three timed epochs, fewer K in the sweep")
    p.add_argument("--examples", type=positive, help="time only the first N training examples "
                   "(figures extrapolated to the epoch)")
    p.add_argument("--out", metavar="DIR", help="folder for gpu-DTYPE.json and .png (default: a "
                   "new kernels-results/gpu-DATE-TIME)")
    p = command("train", cmd_train)
    add_train_arguments(p, positive, nonnegative)
    p = command("evaluate", cmd_evaluate)
    p.add_argument("model", help="the folder train wrote (or its model.npz)")
    p.add_argument("--limit", type=positive, help="only the first N test images")
    args = parser.parse_args(argv)
    from .data import DataError
    from .ops.mlp import DivergenceError
    from .registry import BackendUnavailable
    try:
        return args.run(args)
    except (DataError, OSError, ValueError, KeyError, BackendUnavailable, DivergenceError,
            RuntimeError) as exc:
        # KeyError's str() adds quotes; its message is its argument
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"kernels {args.command}: {message}", file=sys.stderr)
        raise SystemExit(ERROR) from None


if __name__ == "__main__":
    sys.exit(main())
