"""Where a command's outputs go and how they are written: by default a new folder
``kernels-results/<command>-<date>-<time>`` under the working directory (git-ignored in
this repository), so that a long run is never only in the scrollback."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from ..rows import Report

ROOT = "kernels-results"


def default_folder(command: str) -> Path:
    """``kernels-results/<command>-YYYYmmdd-HHMMSS`` (not created)."""
    return Path(ROOT) / f"{command}-{time.strftime('%Y%m%d-%H%M%S')}"


def check_writable(folder: Path) -> Path:
    """Raise OSError unless ``folder`` exists as a writable directory or can be created
    (its nearest existing ancestor is a writable directory); nothing is created."""
    folder = Path(folder).resolve()
    ancestor = folder
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK):
        raise OSError(f"cannot write into {folder}: {ancestor} is not a writable directory")
    return folder


def save_report(result: Report, out: Path) -> list[Path]:
    """report.json, report.md and report.png in ``out`` (created); the paths written."""
    from .charts import report_chart
    from .render import markdown

    out.mkdir(parents=True, exist_ok=True)
    files = [out / "report.json", out / "report.md", out / "report.png"]
    files[0].write_text(result.to_json())
    files[1].write_text(markdown(result))
    report_chart(result, files[2])
    return files


def save_scaling(result: dict, out: Path) -> list[Path]:
    """scaling.json and the plots in ``out`` (created); the paths written."""
    from .scaling_plots import write_plots

    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(result, indent=1))
    return [out / "scaling.json", *write_plots(result, out)]
