"""The command line: ``python -m kernels COMMAND``, one module per command.

Each command module has a docstring (its help: the first line in the command list, the
whole in its own ``--help``), ``arguments(parser)`` and ``run(args) -> int``, and imports
what its run needs inside ``run``: ``python -m kernels data`` imports neither the
harness nor the training tool. Only the command being run gets its arguments, so a
command's help that needs work (compare's list of benchmarks) costs nothing elsewhere.

Every failure caused by the user's input, files or environment ends as one line on
stderr and exit status 2 (as argparse's usage errors), never a traceback; 1 is a
verdict (compare: HEAD slower; agree: outside the tolerance; data: a bad file).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import textwrap
import warnings

COMMANDS = ("data", "agree", "report", "autotune", "compare", "scaling", "gpu", "train", "evaluate")
ERROR = 2


class Formatter(argparse.HelpFormatter):
    """argparse's help, wrapped at spaces only: ``gpu-DTYPE.json`` stays whole."""

    def _split_lines(self, text, width):
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)

    def _fill_text(self, text, width, indent):
        return "\n\n".join(
            textwrap.fill(
                " ".join(p.split()),
                width,
                initial_indent=indent,
                subsequent_indent=indent,
                break_on_hyphens=False,
            )
            for p in text.split("\n\n")
        )


def _command(name: str):
    return importlib.import_module(f".{name}", __name__)


def _summary(module) -> str:
    """The first sentence of a command's docstring, read without importing the module's
    dependencies (the modules import them inside ``run``)."""
    return module.__doc__.split("\n\n")[0].replace("\n", " ")


def parser(chosen: str | None) -> argparse.ArgumentParser:
    """The parser: every command listed, only ``chosen`` with its arguments."""
    top = argparse.ArgumentParser(
        prog="python -m kernels",
        formatter_class=Formatter,
        description="The same ML kernels as Python loops, NumPy, Numba and JAX, proven equal "
        "and timed per epoch on Fashion-MNIST. Each command has its own --help.",
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = _command(name)
        p = sub.add_parser(
            name, help=_summary(module), description=module.__doc__, formatter_class=Formatter
        )
        p.set_defaults(run=module.run)
        if name == chosen:
            module.arguments(p)
    return top


def _one_line(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as the command line shows it: one line, no source file or line."""
    print(f"kernels: warning: {message}", file=file or sys.stderr)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    args = parser(chosen).parse_args(argv)
    from ..data import DataError
    from ..ops.errors import BackendUnavailable
    from ..ops.mlp.types import DivergenceError

    with warnings.catch_warnings():
        warnings.showwarning = _one_line
        try:
            return args.run(args)
        except (
            DataError,
            OSError,
            ValueError,
            KeyError,
            BackendUnavailable,
            DivergenceError,
            RuntimeError,
        ) as exc:
            # KeyError's str() adds quotes; its message is its argument
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            print(f"kernels {args.command}: {message}", file=sys.stderr)
            raise SystemExit(ERROR) from None
