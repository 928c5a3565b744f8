"""kernels.fastest remembers its answers (``kernels.softmax(z)`` asks on every call), but
never past a change of what the answer depends on: kernels.use(), KERNELS_BACKEND, the
record (its file, or another HOME's), the arguments' types."""

import json

import pytest

import kernels
from kernels import record


def write_record(path, winner):
    """A record at ``path`` in which ``winner`` is by far the fastest softmax."""
    times = {"numpy": 1e-9, "numba": 1e-9, winner: 1e-12}
    results = {"softmax": {"float64": {"100": times}}}
    path.write_text(json.dumps({"fingerprint": record.fingerprint(), "results": results}))


def test_the_remembered_answer_follows_every_input_of_the_choice(monkeypatch, tmp_path):
    first = kernels.fastest("softmax")
    assert kernels.softmax is first and kernels.fastest("softmax") is first
    monkeypatch.setenv("KERNELS_BACKEND", "softmax:python")
    assert kernels.softmax is kernels.get("softmax", "python")
    monkeypatch.delenv("KERNELS_BACKEND")
    with kernels.use(softmax="numpy"):
        assert kernels.softmax is kernels.get("softmax", "numpy")
        with kernels.use(softmax="python"):
            assert kernels.softmax is kernels.get("softmax", "python")
        assert kernels.softmax is kernels.get("softmax", "numpy")
    assert kernels.softmax is first
    # another record file (as another HOME gives): its own answer, without forget()
    for winner in ("numpy", "numba"):
        if winner not in kernels.available("softmax"):
            continue
        path = tmp_path / winner / "autotune.json"
        path.parent.mkdir()
        write_record(path, winner)
        monkeypatch.setattr(record, "record_path", lambda path=path: path)
        assert kernels.softmax is kernels.get("softmax", winner)


def test_a_remembered_answer_never_hides_an_error():
    assert kernels.fastest("softmax", size=1) is kernels.fastest("softmax", size=1.0)
    with pytest.raises(TypeError, match="number of rows"):
        kernels.fastest("softmax", size=True)  # True == 1, but not a size
    with pytest.raises(TypeError, match="number of rows"):
        kernels.fastest("softmax", size=[1])  # unhashable: the rules still say why
