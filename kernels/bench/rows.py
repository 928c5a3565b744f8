"""What every renderer and a kernel's note say of one row of a report: its name and its
physical limit."""
from __future__ import annotations


def label(row: dict) -> str:
    """The row's name: backend, (peer), and its mode shortened (stream / hot)."""
    mode = {"streaming": " stream", "cache-hot": " hot"}.get(row["mode"], "")
    return f"{row['backend']}{' (peer)' if row['peer'] else ''}{mode}"



def limit_of(row: dict) -> float | None:
    """The row's physical limit in seconds per epoch (reports before limit_seconds was
    recorded: from its percentage)."""
    if row.get("limit_seconds"):
        return row["limit_seconds"]
    return None if row["pct_of_limit"] is None else row["seconds_per_epoch"] * row["pct_of_limit"] / 100
