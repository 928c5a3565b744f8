#!/usr/bin/env bash
# Before a GPU run, on the CPU machine (which reaches the package registries): gather in
# .gpu/ what benchmarks/gpu_run.sh needs on a GPU machine that has no network, beside
# the libraries it already has (NumPy, numba-cuda, CuPy, PyTorch, jax): the four
# Fashion-MNIST files and wheels of the pure-Python packages this project and its tests
# import, plus matplotlib's (for the chart), all for CPython 3.12 on x86-64 Linux.
# Then hand .gpu to the run (carry it with the working tree). About 25 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu && mkdir -p .gpu/data .gpu/wheels
python -m kernels data >/dev/null                  # finds (or fetches) and verifies the files
python - <<'PY'
import shutil
from kernels.data import SHA256, _file_in, locate
for split in ("train", "test"):
    _, directory = locate(split)
    for name in SHA256:
        found = _file_in(directory, name)
        if found:
            shutil.copy(found, ".gpu/data/")
PY
pure="array-api-compat pooch platformdirs threadpoolctl rich markdown-it-py mdurl pygments
      requests urllib3 idna certifi charset-normalizer packaging pytest pluggy iniconfig
      hypothesis attrs sortedcontainers cycler pyparsing python-dateutil six"
binary="matplotlib contourpy kiwisolver pillow fonttools"
# shellcheck disable=SC2086
pip download -q --no-deps -d .gpu/wheels --only-binary=:all: --python-version 3.12 \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 --platform any $pure $binary
du -sh .gpu/data .gpu/wheels
