"""The progress bar an experiment shows while it measures: on stderr, and only where
stderr is a terminal, so that a pipe, a log or a captured run gets no stray lines (rich
ends even a transient bar with a newline where it cannot redraw)."""

from __future__ import annotations


def bar(enabled: bool = True, *columns):
    """A transient ``rich.progress.Progress`` (with ``columns``, else rich's defaults)."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    return Progress(
        *columns, console=console, transient=True, disable=not (enabled and console.is_terminal)
    )
