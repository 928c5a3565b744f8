"""kernels.fastest: explicit choices, autotune records, the shipped ranking, fallbacks.
Timings here are injected records: nothing is timed and no test asserts a duration."""

import json

import numpy as np
import pytest
from conftest import run_python

import kernels
from kernels import record, select

HAS_NUMBA = all("numba" in kernels.available(k) for k in kernels.KERNELS)
needs_numba = pytest.mark.skipif(not HAS_NUMBA, reason="numba cannot run here")


def write_record(results, fingerprint=None, spread=None):
    record.record_path().write_text(
        json.dumps(
            {
                "fingerprint": fingerprint or record.fingerprint(),
                "results": results,
                "spread": spread or {},
            }
        )
    )
    record.forget()


@needs_numba
@pytest.mark.parametrize("kernel", kernels.KERNELS)
def test_shipped_ranking_and_identity(kernel):
    assert select.choose(kernel) == ("numba", "shipped ranking")
    assert kernels.fastest(kernel) is kernels.get(kernel, "numba")  # no wrapper
    assert getattr(kernels, kernel) is kernels.fastest(kernel)


def test_environment_override(monkeypatch):
    monkeypatch.setenv("KERNELS_BACKEND", "numpy")
    for k in kernels.KERNELS:
        assert kernels.fastest(k) is kernels.get(k, "numpy")
        assert select.choose(k)[1] == "KERNELS_BACKEND"
    monkeypatch.setenv("KERNELS_BACKEND", "softmax:python, mlp_epoch:example-loop")
    assert kernels.fastest("softmax") is kernels.get("softmax", "python")
    assert kernels.fastest("mlp_epoch") is kernels.get("mlp_epoch", "example-loop")
    assert select.choose("gradient_norm")[1] != "KERNELS_BACKEND"  # not named: normal rules


@pytest.mark.parametrize(
    "spec,error,message",
    [
        ("torch", KeyError, "valid backends: python, numpy, numba"),
        ("softmax:torch", KeyError, "valid backends: python, numpy, numba"),
        ("softmax=numpy", KeyError, "unknown backend 'softmax=numpy'"),
        ("sofmax:numpy", ValueError, "KERNELS_BACKEND=sofmax:numpy: cannot read 'sofmax:numpy'"),
        ("softmax:numpy,numba", ValueError, "cannot read 'numba'"),
    ],
)
def test_bad_environment_override_is_an_error(monkeypatch, spec, error, message):
    monkeypatch.setenv("KERNELS_BACKEND", spec)
    with pytest.raises(error, match=message):
        kernels.fastest("softmax")


def test_use_context_manager():
    before = select.choose("softmax")
    with kernels.use("numpy"):
        assert kernels.fastest("softmax") is kernels.get("softmax", "numpy")
        assert kernels.softmax is kernels.get("softmax", "numpy")
        with kernels.use(softmax="python"):
            assert kernels.fastest("softmax") is kernels.get("softmax", "python")
            assert kernels.fastest("mlp_epoch") is kernels.get("mlp_epoch", "numpy")
        assert kernels.fastest("softmax") is kernels.get("softmax", "numpy")
    assert select.choose("softmax") == before
    with pytest.raises(KeyError, match="valid kernels"):
        with kernels.use(sofmax="numpy"):
            pass
    entered = []
    for wrong in (dict(backend="nump"), dict(softmax="nump")):  # refused at once, named
        with pytest.raises(KeyError, match="'nump'.*valid backends.*numpy"):
            with kernels.use(**wrong):
                entered.append(wrong)
    assert entered == []


def test_use_takes_precedence_over_environment(monkeypatch):
    monkeypatch.setenv("KERNELS_BACKEND", "python")
    with kernels.use("numpy"):
        assert kernels.fastest("softmax") is kernels.get("softmax", "numpy")


@needs_numba
def test_autotune_record_by_dtype_and_size_class():
    write_record(
        {
            "softmax": {
                "float64": {
                    "1": {"numpy": 2e-9, "numba": 1e-9},
                    "100": {"numpy": 1e-9, "numba": 3e-9},
                },
                "float32": {"100": {"numpy": 5e-9, "numba": 1e-9}},
            }
        }
    )
    assert select.choose("softmax")[0] == "numpy"
    assert select.choose("softmax")[1].startswith("autotune record")
    assert kernels.fastest("softmax", size=3) is kernels.get("softmax", "numba")  # K = 1
    assert kernels.fastest("softmax", size=250) is kernels.get("softmax", "numpy")  # K = 100
    assert kernels.fastest("softmax", dtype="float32") is kernels.get("softmax", "numba")
    import numpy as np

    for name in (np.float32, "f4", np.dtype("float32"), "float32"):
        assert kernels.fastest("softmax", dtype=name) is kernels.get("softmax", "numba")
    for name in (np.float64, float, "f8", None):
        assert kernels.fastest("softmax", dtype=name) is kernels.get("softmax", "numpy")
    # beyond the measured range: the nearest measured size
    assert select.choose("softmax", size=50_000)[0] == "numpy"
    # a kernel or dtype the record does not hold: the shipped ranking
    assert select.choose("mlp_epoch")[1] == "shipped ranking"


def test_size_classes_are_the_nearest_measured_size_in_log_scale():
    measured = [1, 16, 100, 1024, 60_000]
    assert [select.size_class(s, measured) for s in (None, 1, 3, 5, 11, 100, 320, 330, 10**6)] == [
        100,
        1,
        1,
        16,
        16,
        100,
        100,
        1024,
        60_000,
    ]
    assert select.size_class(7, []) is None


def test_record_sizes_must_be_positive_integers():
    with pytest.raises(ValueError, match="'abc' is not a positive integer"):
        record._valid_results({"softmax": {"float64": {"abc": {"numpy": 1.0}}}})


def test_record_never_makes_python_the_choice():
    write_record({"softmax": {"float64": {"100": {"python": 1e-12, "numpy": 1e-6}}}})
    assert select.choose("softmax")[0] == "numpy"


def test_stale_record_is_ignored_with_a_warning():
    stale = {**record.fingerprint(), "cpu": "some other CPU"}
    write_record({"softmax": {"float64": {"100": {"numpy": 1e-9, "numba": 1.0}}}}, stale)
    with pytest.warns(UserWarning, match="measured on another machine"):
        assert select.choose("softmax")[1] == "shipped ranking"


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[1, 2]",
        '{"fingerprint": {}}',
        "[" * 100_000 + "]" * 100_000,  # nested past the parser's recursion limit
        '{"results": {"softmax": {"float64": {"100": {"numpy": ' + "9" * 401 + "}}}}}",
    ],
)
def test_corrupted_record_is_ignored_with_a_warning(content):
    record.record_path().write_text(content)
    with pytest.warns(UserWarning, match="unreadable autotune record"):
        assert select.choose("softmax")[1] == "shipped ranking"


def test_corrupted_record_never_breaks_import(tmp_path):
    (tmp_path / "kernels").mkdir()
    (tmp_path / "kernels" / "autotune.json").write_text("\x00garbage")
    out, err = run_python(
        """
        import numpy as np, kernels
        print(kernels.softmax(np.zeros(2)))
    """,
        env={"XDG_CACHE_HOME": str(tmp_path)},
    )
    assert out.strip() == "[0.5 0.5]"
    assert "unreadable autotune record" in err


def test_numba_unimportable_falls_back_to_numpy(tmp_path):
    out, _ = run_python(
        """
        import sys
        sys.modules['numba'] = None
        import kernels
        print(all(kernels.fastest(k) is kernels.get(k, 'numpy') for k in kernels.KERNELS))
        try:
            with kernels.use('numba'):
                kernels.fastest('softmax')
        except kernels.BackendUnavailable as exc:
            print('refused:', exc)
    """,
        env={"XDG_CACHE_HOME": str(tmp_path)},
    )
    lines = out.splitlines()
    assert lines[0] == "True"
    assert lines[1].startswith("refused: backend 'numba' of kernel 'softmax' cannot run here")


@needs_numba
def test_a_pick_overrides_the_ranking_only_beyond_its_spread():
    # numpy measured 5 % faster than numba (the ranking's choice)
    results = {"softmax": {"float64": {"100": {"numpy": 1.00e-8, "numba": 1.05e-8}}}}
    write_record(results, spread={"softmax": {"float64": {"100": {"numpy": 0.10}}}})
    backend, why = select.choose("softmax")
    assert backend == "numba" and "tie" in why  # 5 % is within a 10 % spread
    write_record(results, spread={"softmax": {"float64": {"100": {"numpy": 0.02}}}})
    assert select.choose("softmax")[0] == "numpy"  # 5 % beyond a 2 % spread


@pytest.mark.parametrize(
    "size,error",
    [
        (float("inf"), ValueError),
        (-float("inf"), ValueError),
        (float("nan"), ValueError),
        ("100", TypeError),
        (True, TypeError),
        (2.5, ValueError),
    ],
)
def test_bad_size_is_a_clear_error(size, error):
    with pytest.raises(error, match="size must be"):
        kernels.fastest("softmax", size=size)


def test_bad_dtype_is_a_clear_error():
    with pytest.raises(TypeError, match="dtype must be a NumPy dtype"):
        kernels.fastest("softmax", dtype="float99")
    for unsupported in ("float16", np.int64):
        with pytest.raises(ValueError, match="float64 or float32; got dtype"):
            kernels.fastest("softmax", dtype=unsupported)
    assert kernels.fastest("softmax", size=100.0) is kernels.fastest("softmax", size=100)


@pytest.mark.parametrize(
    "results,named",
    [
        ({"softmax": {"float64": {"100": {"cupy": 1e-9, "numpy": 1e-8}}}}, "backend 'cupy'"),
        ({"conv2d": {"float64": {"100": {"numpy": 1e-8}}}}, "kernel 'conv2d'"),
    ],
)
def test_record_naming_an_unknown_backend_is_ignored_with_a_warning(results, named):
    write_record(results)
    with pytest.warns(UserWarning, match=f"{named}.*does not know"):
        assert select.choose("softmax")[1] == "shipped ranking"


def test_record_of_other_thread_conditions_is_ignored(monkeypatch):
    write_record({"softmax": {"float64": {"100": {"numpy": 1e-9, "numba": 1.0}}}})
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")  # this process now differs
    with pytest.warns(UserWarning, match="thread setting"):
        assert select.choose("softmax")[1] == "shipped ranking"


def test_empty_backend_in_environment_is_an_error(monkeypatch):
    monkeypatch.setenv("KERNELS_BACKEND", "softmax:")
    with pytest.raises(ValueError, match="cannot read 'softmax:'"):
        kernels.fastest("softmax")


def test_a_record_never_makes_fastest_hand_out_a_gpu_only_backend():
    gpu_only = [
        b for b in kernels.backends("softmax") if not kernels.registry.entry("softmax", b).cpu
    ]
    assert gpu_only
    timings = {b: 1e-12 for b in gpu_only} | {select.ranked("softmax"): 1e-6}
    record.record_path().write_text(
        json.dumps(
            {
                "fingerprint": record.fingerprint(),
                "results": {"softmax": {"float64": {"100": timings}}},
            }
        )
    )
    record.forget()
    backend, _ = select.choose("softmax", size=100)
    assert backend not in gpu_only and kernels.registry.entry("softmax", backend).cpu


def test_a_size_beyond_float_range_is_used_not_a_crash():
    assert kernels.fastest("softmax", size=10**400) is kernels.get(
        "softmax", select.choose("softmax")[0]
    )


@pytest.mark.parametrize("call", [lambda: select.use(""), lambda: select.use(softmax="")])
def test_an_empty_backend_name_is_refused(call):
    with pytest.raises(ValueError, match="empty backend name"):
        with call():
            pass
