#!/usr/bin/env bash
# One prepared GPU run, on a bare machine with an NVIDIA GPU and no network, in under
# 8 minutes: install this package without resolving anything, run the GPU equality
# tests on the device, then `python -m kernels gpu` (float64 and float32: the device's
# limits, every kernel's GPU backends and PyTorch on CUDA, the sweep over K). JSON,
# PNG and a log go into one folder: $OUT if set, else kernels-results/gpu-run-DATE.
#
# Needs, already on the machine: Python 3.10+, NumPy, SciPy, numba with its CUDA target
# (numba-cuda), CuPy, PyTorch with CUDA, jax with its CUDA plugin. Brought along in
# .gpu/ by benchmarks/gpu_prepare.sh (run it on a machine with the registries): the four
# Fashion-MNIST files and wheels of the pure-Python packages. Anything missing stops the
# run at once, with one line saying what.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-kernels-results/gpu-run-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
stop() { echo "gpu_run: STOPPED: $*"; exit 2; }
step() { echo; echo "== $* ($(date +%T))"; }

step "the device"
command -v nvidia-smi >/dev/null || stop "no nvidia-smi: no NVIDIA driver on this machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
    || stop "nvidia-smi finds no GPU"
PYTHON=${PYTHON:-python3}
"$PYTHON" --version || stop "no $PYTHON"

step "the libraries already here"
"$PYTHON" - <<'PY' || stop "a library the GPU run needs is missing or sees no GPU (above)"
import importlib, os, sys
os.environ["NUMBA_ENABLE_CUDASIM"] = "0"
bad = []
for name in ("numpy", "scipy", "numba", "cupy", "torch", "jax"):
    try:
        module = importlib.import_module(name)
        print(f"{name} {module.__version__}")
    except Exception as exc:
        bad.append(f"{name} ({type(exc).__name__}: {exc})")
if not bad:
    from numba import cuda
    import cupy, jax, torch
    checks = {"numba.cuda sees a GPU": cuda.is_available(),
              "CuPy counts a device": cupy.cuda.runtime.getDeviceCount() > 0,
              "torch.cuda is available": torch.cuda.is_available(),
              "jax runs on the GPU": jax.default_backend() == "gpu"}
    bad += [what for what, ok in checks.items() if not ok]
    print("jax devices:", jax.devices())
if bad:
    print("missing or not on the GPU:", "; ".join(bad))
    sys.exit(1)
PY

step "the pure-Python packages (from .gpu/wheels where missing)"
missing=$("$PYTHON" - <<'PY'
import importlib.util
wanted = {"array_api_compat": "array-api-compat", "pooch": "pooch", "platformdirs": "platformdirs",
          "threadpoolctl": "threadpoolctl", "rich": "rich", "matplotlib": "matplotlib",
          "pytest": "pytest", "hypothesis": "hypothesis"}
print(" ".join(pkg for module, pkg in wanted.items() if importlib.util.find_spec(module) is None))
PY
)
if [ -n "$missing" ]; then
    [ -d .gpu/wheels ] || stop "missing $missing and no .gpu/wheels: run benchmarks/gpu_prepare.sh first"
    # shellcheck disable=SC2086
    "$PYTHON" -m pip install -q --no-index --find-links .gpu/wheels $missing \
        || stop "could not install $missing from .gpu/wheels"
fi
"$PYTHON" -m pip install -q --no-deps --no-build-isolation -e . || stop "pip could not install this package"

step "the data"
if [ -d .gpu/data ]; then export KERNELS_DATA_DIR=$PWD/.gpu/data; fi
"$PYTHON" -m kernels data || stop "no verified Fashion-MNIST: run benchmarks/gpu_prepare.sh, or set KERNELS_DATA_DIR"

export NUMBA_ENABLE_CUDASIM=0 KERNELS_GPU=1
step "equality on the device: GPU backends against numba and NumPy on the CPU"
# every registry-wide equality test, the GPU backends included (no simulator here)
timeout 200 "$PYTHON" -m pytest -q -x -p no:cacheprovider -o addopts="" \
    tests/test_gpu.py tests/test_softmax.py tests/test_gradient_norm.py tests/test_mlp.py \
    -k "not full_epoch and not learns" || stop "an equality test failed on the device (above)"

step "python -m kernels gpu"
timeout 330 "$PYTHON" -m kernels gpu --dtype float64,float32 --out "$OUT" \
    || stop "python -m kernels gpu failed (above)"
step "done: $OUT"
ls -l "$OUT"
