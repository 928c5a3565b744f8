"""``python -m kernels``: the command line (kernels/cli)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
