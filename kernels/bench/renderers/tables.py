"""The one style of every table the commands print: rich's Table with its title on the
left, a rule under the header only and no padding at the edges (what keeps each table
within 80 columns)."""

from __future__ import annotations


def titled(title: str):
    """An empty rich Table of that style, titled ``title``; rich is imported on use."""
    from rich import box
    from rich.table import Table

    return Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
