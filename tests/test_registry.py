"""The registry: names, lookups, lazy imports, and backends that cannot import."""

import ast

import pytest
from conftest import run_python

import kernels
from kernels import registry
from kernels.cli import main


def starts(names, first):
    return tuple(names)[: len(first)] == tuple(first)


def test_public_names():
    # the shipped table first; a kernel or backend registered later comes after it
    assert starts(
        kernels.KERNELS, ("gradient_norm", "softmax", "mlp_fprop", "mlp_bprop", "mlp_epoch")
    )
    # the design's minimum (docs/design.md, section 1), then numba's one-thread twin
    # where numba splits the work over threads, then the GPU's compiled loops and the
    # array code written once for any array library
    gpu = ("numba-cuda", "array-api")
    assert starts(kernels.backends("softmax"), ("python", "numpy", "numba", "jax", *gpu))
    assert starts(
        kernels.backends("gradient_norm"), ("python", "numpy", "numba", "jax", "numba-serial", *gpu)
    )
    for k in ("mlp_fprop", "mlp_bprop"):
        assert starts(
            kernels.backends(k), ("python", "example-loop", "numpy", "numba", "jax", *gpu)
        )
    assert starts(
        kernels.backends("mlp_epoch"),
        ("python", "example-loop", "numpy", "numba", "jax", "numba-serial", *gpu),
    )


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(KeyError, match="valid kernels: gradient_norm, softmax"):
        kernels.get("sofmax", "numpy")
    with pytest.raises(KeyError, match="valid backends: python, numpy, numba"):
        kernels.get("softmax", "torch")
    with pytest.raises(KeyError, match="valid kernels"):
        kernels.backends("nope")


def test_duplicate_registration_raises():
    before = kernels.get("softmax", "numpy")
    with pytest.raises(ValueError, match="already registered"):
        registry.register("softmax", "numpy", "kernels.ops.softmax.loops:softmax")
    assert kernels.get("softmax", "numpy") is before  # the first registration stands


@pytest.mark.parametrize(
    "name, target, message",
    [
        ("", "kernels.ops.softmax.loops:softmax", "non-empty"),
        ("my:fast", "kernels.ops.softmax.loops:softmax", "without ':' or ','"),
        ("a,b", "kernels.ops.softmax.loops:softmax", "without ':' or ','"),
        ("mine", "kernels.ops.softmax.loops.softmax", "package.module:function"),
        ("mine", "kernels.ops.softmax.loops:", "package.module:function"),
        ("mine", ":softmax", "package.module:function"),
        ("mine", "kernels..loops:softmax", "package.module:function"),
    ],
)
def test_a_registration_kernels_backend_cannot_name_or_load_is_refused(name, target, message):
    with pytest.raises(ValueError, match=message):
        registry.register("softmax", name, target)
    assert name not in kernels.backends("softmax")


def test_a_broken_registration_leaves_the_other_backends_listed():
    out, _ = run_python("""
        import numpy as np, kernels
        from kernels import registry
        registry.register("softmax", "gone", "kernels.ops.softmax.no_such_module:softmax")
        registry.register("softmax", "typo", "kernels.ops.softmax.vectorized:sofmax")
        runs = kernels.available("softmax")
        print(runs[:2], "gone" in runs, "typo" in runs)
        for name in ("gone", "typo"):
            try:
                kernels.get("softmax", name)
            except kernels.BackendUnavailable as exc:
                print(exc)
        print(kernels.fastest("softmax")(np.zeros(2)))
    """)
    out = out.splitlines()
    assert out[0] == "('python', 'numpy') False False"
    assert "'gone' of kernel 'softmax' cannot run here" in out[1] and "No module named" in out[1]
    assert "'typo' of kernel 'softmax' cannot run here" in out[2] and "sofmax" in out[2]
    assert out[3] == "[0.5 0.5]"


def test_get_returns_the_same_callable():
    assert kernels.get("softmax", "numpy") is kernels.get("softmax", "numpy")


def test_every_entry_imports_and_names_its_function():
    for k in kernels.KERNELS:
        for b in kernels.available(k):
            fn = kernels.get(k, b)
            assert callable(fn) and fn.__doc__, (k, b)


def test_import_is_light():
    out, _ = run_python("""
        import sys, kernels
        print('numba' in sys.modules, 'scipy' in sys.modules, 'matplotlib' in sys.modules)
        kernels.get('softmax', 'numpy')
        print('numba' in sys.modules)
        kernels.get('softmax', 'numba')
        print('numba' in sys.modules)
    """)
    assert out.split() == ["False", "False", "False", "False", "True"]


def test_numba_unimportable_leaves_the_rest_working():
    out, _ = run_python("""
        import sys
        # importing them now raises ImportError
        sys.modules['numba'] = sys.modules['jax'] = sys.modules['array_api_compat'] = None
        import numpy as np, kernels
        print(kernels.available('softmax'))
        print(kernels.softmax(np.array([0.0, 0.0])))
        try:
            kernels.get('softmax', 'numba')
        except kernels.BackendUnavailable as exc:
            print('ERROR', exc)
    """)
    lines = out.splitlines()
    runs = ast.literal_eval(lines[0])
    assert runs[:2] == ("python", "numpy") and not {"numba", "numba-serial", "array-api"} & set(
        runs
    )
    assert lines[1] == "[0.5 0.5]"
    assert lines[2].startswith("ERROR backend 'numba' of kernel 'softmax' cannot run here")
    assert "needs numba" in lines[2] and "python, numpy" in lines[2]
    assert "jax" not in lines[0]


def test_fastest_prefers_compiled_code_by_default():
    for k in kernels.KERNELS:
        if "numba" in kernels.backends(k):
            assert kernels.fastest(k) is kernels.get(k, "numba")


def test_convenience_names_follow_the_choice():
    with kernels.use("numpy"):
        assert kernels.softmax is kernels.get("softmax", "numpy")
        assert kernels.mlp_epoch is kernels.get("mlp_epoch", "numpy")
        assert kernels.softmax is not kernels.get("softmax", "python")
    with kernels.use(gradient_norm="python"):
        assert kernels.gradient_norm is kernels.get("gradient_norm", "python")
    with pytest.raises(AttributeError):
        _ = kernels.no_such_kernel


def test_agree_exits_non_zero_when_a_backend_disagrees(monkeypatch, capsys):

    assert main(["agree", "-n", "120"]) == 0
    assert "OUTSIDE" not in capsys.readouterr().out
    numpy_softmax = kernels.get("softmax", "numpy")
    monkeypatch.setitem(
        registry._loaded, ("softmax", "numpy"), lambda z: numpy_softmax(z) * (1 + 1e-8)
    )  # 1e-8 relative: too far
    assert main(["agree", "-n", "120"]) == 1
    captured = capsys.readouterr()
    assert "softmax        numpy" in captured.out and "OUTSIDE THE TOLERANCE" in captured.out
    assert "outside the tolerance: softmax/numpy" in captured.err


def test_roles_are_checked_once_per_kernel():
    assert registry.role_of("softmax", "reference") == "python"
    assert registry.role_of("mlp_epoch", "compiled") == "numba"
    with pytest.raises(ValueError, match="one of .'reference', 'baseline', 'compiled'."):
        registry.register("softmax", "mine", "kernels.ops.softmax.loops:softmax", role="oracle")
    with pytest.raises(ValueError, match="has a baseline already .numpy."):
        registry.register("softmax", "mine", "kernels.ops.softmax.loops:softmax", role="baseline")
    assert "mine" not in kernels.backends("softmax")


@pytest.mark.parametrize("facts", [{"role": "oracle"}, {"speed": "fast"}])
def test_a_refused_registration_of_a_new_kernel_lists_no_kernel(facts):
    """A bad fact (a role that is none, a keyword the registry does not know) is refused
    before anything is written: the new kernel is not listed, empty, afterwards."""
    with pytest.raises((ValueError, TypeError)):
        registry.register("no_such_kernel", "mine", "kernels.ops.softmax.loops:softmax", **facts)
    assert "no_such_kernel" not in registry.kernel_names()


def test_agree_holds_every_backend_against_the_registered_reference(monkeypatch, capsys):
    """With numpy made softmax's reference, a python off by 1e-8 is the one outside."""
    from dataclasses import replace

    row = registry._TABLE["softmax"]
    monkeypatch.setitem(row, "python", replace(row["python"], role=None))
    monkeypatch.setitem(row, "numpy", replace(row["numpy"], role="reference"))
    python_softmax = kernels.get("softmax", "python")
    monkeypatch.setitem(
        registry._loaded, ("softmax", "python"), lambda z: python_softmax(z) * (1 + 1e-8)
    )
    assert main(["agree", "-n", "120"]) == 1
    err = capsys.readouterr().err
    assert "softmax/python" in err and "softmax/numpy" not in err


def test_first_use_imports_only_what_it_picks():
    out, _ = run_python("""
        import sys, numpy as np, kernels
        kernels.softmax(np.zeros(3))
        print('jax' in sys.modules)
    """)
    assert out.split() == ["False"]  # jax has no rank: never imported unless measured


def test_tolerance_of_an_unknown_kernel_is_a_key_error_listing_the_kernels():
    with pytest.raises(KeyError, match="valid kernels: gradient_norm"):
        kernels.tolerance("no_such_kernel", "float64")
    assert kernels.tolerance("softmax", "float64") == {"rtol": 1e-10, "atol": 1e-12}
