"""A measurement in a fresh Python process: what a first call costs (the cold start), a
register block fixed at import (autotune's blocks), a backend timed as a user's process
runs it. The process prints its result as JSON on its last line."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run_json(code: str, *args, env: dict | None = None, timeout: float = 600, what: str = ""):
    """Run ``python -c code *args`` with ``env`` added to this process's environment;
    return the JSON on the last line it printed. RuntimeError naming ``what`` and the
    process's last error line if it fails."""
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{what or 'a fresh process'} failed: {last}")
    return json.loads(out.stdout.splitlines()[-1])
