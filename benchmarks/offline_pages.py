"""Make ``asv publish``'s pages work without the CDNs: ``python -m benchmarks.offline_pages``.

asv's index.html loads jQuery, flot, bootstrap, stupidtable and md5 from CDNs; where only
the package mirrors are reachable the page stays blank ("Can not determine continental
origin of swallow"). This copies the same libraries from Debian packages into
``<html_dir>/vendor/`` with each package's copyright file, and points the page at them:

    apt-get install libjs-jquery libjs-bootstrap libjs-jquery-stupidtable \\
        node-blueimp-md5 libghc-js-flot-data
    asv publish && python -m benchmarks.offline_pages && asv preview

Debian ships flot 0.8.3 (the version asv asks for, in libghc-js-flot-data), jQuery 3.6
(asv: 3.3.1), bootstrap 3.4.1 (asv: 3.1.1), blueimp-md5 2.19.0 and stupidtable. The flot
orderBars plugin is in no Debian package and not on PyPI: its tag is removed, so the bars
of the parameter view (x axis = a parameter) overlap instead of standing side by side;
the history graphs do not use it. Not imported by the suite's benchmarks (asv imports
this module while discovering them; it defines none).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

# the file name asv's page asks for -> (Debian package, installed file)
LOCAL = {
    "jquery-3.3.1.min.js": ("libjs-jquery", "/usr/share/javascript/jquery/jquery.min.js"),
    "jquery.flot.min.js": ("libghc-js-flot-data", "/usr/share/haskell-js-flot/jquery.flot.min.js"),
    "jquery.flot.time.min.js": (
        "libghc-js-flot-data",
        "/usr/share/haskell-js-flot/jquery.flot.time.min.js",
    ),
    "jquery.flot.selection.min.js": (
        "libghc-js-flot-data",
        "/usr/share/haskell-js-flot/jquery.flot.selection.min.js",
    ),
    "jquery.flot.categories.min.js": (
        "libghc-js-flot-data",
        "/usr/share/haskell-js-flot/jquery.flot.categories.min.js",
    ),
    "stupidtable.min.js": (
        "libjs-jquery-stupidtable",
        "/usr/share/javascript/jquery-stupidtable/stupidtable.min.js",
    ),
    "md5.min.js": ("node-blueimp-md5", "/usr/share/javascript/blueimp-md5/md5.min.js"),
    "bootstrap.min.js": ("libjs-bootstrap", "/usr/share/javascript/bootstrap/js/bootstrap.min.js"),
    "bootstrap.min.css": (
        "libjs-bootstrap",
        "/usr/share/javascript/bootstrap/css/bootstrap.min.css",
    ),
}
DROPPED = {"jquery.flot.orderBars.js"}  # no packaged copy anywhere reachable
# bootstrap's stylesheet loads its icon font from ../fonts/ relative to itself
EXTRA_DIRS = {"libjs-bootstrap": ("/usr/share/javascript/bootstrap/fonts", "fonts")}

_TAG = re.compile(r'<(script|link)\b[^>]*?(?:src|href)="(https?://[^"]+)"[^>]*>(?:\s*</script>)?')


def rewrite(html: str, vendor: str = "vendor") -> tuple[str, list[str]]:
    """The page with every CDN script/stylesheet tag pointed at its packaged file in
    ``vendor/`` (its integrity hash removed: the packaged file is not byte-identical to
    the CDN's) or, for DROPPED files, removed; and the files it now needs. A CDN reference that is
    neither in LOCAL nor DROPPED raises ValueError (a newer asv asks for something new)."""
    needed = []

    def local(match):
        url = match.group(2)
        name = url.rsplit("/", 1)[-1]
        if name in DROPPED:
            return ""
        if name not in LOCAL:
            raise ValueError(f"asv's page loads {url}, which has no local copy in LOCAL")
        needed.append(name)
        target = match.group(0).replace(url, f"{vendor}/{Path(LOCAL[name][1]).name}")
        target = re.sub(r'\s+(integrity|crossorigin|referrerpolicy)="[^"]*"', "", target)
        return re.sub(r"\s+crossorigin(?=[\s>])", "", target)

    return _TAG.sub(local, html), needed


def install(html_dir: Path) -> list[str]:
    """Rewrite ``html_dir/index.html`` and copy the files it needs (plus each package's
    copyright file) into ``html_dir/vendor``; returns the files copied. Refuses before
    changing anything when a packaged file is missing."""
    index = html_dir / "index.html"
    if not index.is_file():
        raise FileNotFoundError(f"{index} not found: run `asv publish` first")
    page, needed = rewrite(index.read_text())
    packages = sorted({LOCAL[name][0] for name in needed})
    missing = sorted({LOCAL[name][0] for name in needed if not Path(LOCAL[name][1]).is_file()})
    if missing:
        raise FileNotFoundError(
            "not installed: " + " ".join(missing) + f"; run: apt-get install {' '.join(missing)}"
        )
    vendor = html_dir / "vendor"
    vendor.mkdir(exist_ok=True)
    copied = []
    for name in needed:
        source = Path(LOCAL[name][1])
        shutil.copyfile(source, vendor / source.name)
        copied.append(source.name)
    for package in packages:
        shutil.copyfile(f"/usr/share/doc/{package}/copyright", vendor / f"LICENSE.{package}")
        if package in EXTRA_DIRS:
            source, target = EXTRA_DIRS[package]
            shutil.copytree(source, html_dir / target, dirs_exist_ok=True)
    index.write_text(page)
    return copied


def main(argv: list[str] | None = None) -> int:
    conf = json.loads(Path("asv.conf.json").read_text())
    html_dir = Path(argv[0] if argv else conf.get("html_dir", "html"))
    try:
        copied = install(html_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"offline_pages: {exc}", file=sys.stderr)
        return 1
    print(f"{html_dir}/index.html now loads {len(copied)} local files from {html_dir}/vendor")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
