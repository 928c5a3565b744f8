"""Fashion-MNIST loading: the real files, and corrupted or truncated copies (never the
real ones)."""

import gzip
import mmap
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import one_line_exit

from kernels import data, decoded
from kernels.cli import main
from kernels.data import DataError, load_fashion_mnist


def test_real_train_and_test(train, test_split):
    for (X, y), n in ((train, 60_000), (test_split, 10_000)):
        assert X.shape == (n, 784) and X.dtype == np.float64
        assert y.shape == (n,) and y.dtype == np.int64
        assert X.min() == 0.0 and X.max() == 1.0
        assert set(np.unique(y)) == set(range(10))
        assert np.all(np.bincount(y) == n // 10)  # Fashion-MNIST is balanced
    assert train[1][:5].tolist() == [9, 0, 0, 3, 0]  # first labels of the published set


def test_float32_and_cache(train):
    X32, _ = load_fashion_mnist("train", dtype=np.float32)
    assert X32.dtype == np.float32
    np.testing.assert_allclose(X32, train[0], rtol=1e-7)
    assert load_fashion_mnist("train")[0] is train[0]  # cached, not re-read
    assert not train[0].flags.writeable  # so nobody corrupts the cache


def real_dir():
    return data.locate("test")[1]


@pytest.fixture
def copy_of_test_split(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "cache_dir", lambda: tmp_path / "cache")  # decoded copies too
    for name in data.SPLITS["test"]:
        shutil.copy(data._file_in(real_dir(), name), tmp_path)
    return tmp_path


def test_explicit_path_and_uncompressed_files(copy_of_test_split):
    X, y = load_fashion_mnist("test", path=copy_of_test_split)
    assert X.shape == (10_000, 784)
    # the same bytes, not gzipped, are accepted too
    for name in data.SPLITS["test"]:
        gz = copy_of_test_split / f"{name}.gz"
        (copy_of_test_split / name).write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    X2, y2 = load_fashion_mnist("test", path=copy_of_test_split)
    np.testing.assert_array_equal(X2, X)


def decoded_load(directory):
    data._load.cache_clear()  # a new process: only the files on disk remain
    return load_fashion_mnist("test", path=directory)


def memory_mapped(X):
    """Whether X's memory is a file mapping (somewhere down its chain of bases)."""
    while X is not None:
        if isinstance(X, mmap.mmap):
            return True
        X = X.obj if isinstance(X, memoryview) else getattr(X, "base", None)
    return False


def test_decoded_copy_is_memory_mapped_and_equal(copy_of_test_split):
    first = decoded_load(copy_of_test_split)  # decodes and writes the copy
    npy = decoded._decoded_path(
        copy_of_test_split / "t10k-images-idx3-ubyte", "float64", data.cache_dir() / "decoded"
    )
    assert npy.exists() and not memory_mapped(first[0])
    second = decoded_load(copy_of_test_split)
    assert memory_mapped(second[0])  # read from the copy
    np.testing.assert_array_equal(second[0], first[0])
    np.testing.assert_array_equal(second[1], first[1])
    assert not second[0].flags.writeable


def test_tampered_decoded_copy_is_rebuilt(copy_of_test_split):
    good = decoded_load(copy_of_test_split)[0].copy()
    npy = decoded._decoded_path(
        copy_of_test_split / "t10k-images-idx3-ubyte", "float64", data.cache_dir() / "decoded"
    )
    raw = bytearray(npy.read_bytes())
    raw[-8:] = np.float64(7.0).tobytes()  # last pixel 7.0: not a pixel value
    npy.write_bytes(bytes(raw))
    X, _ = decoded_load(copy_of_test_split)
    assert not memory_mapped(X)  # refused, decoded from the source again
    np.testing.assert_array_equal(X, good)
    np.testing.assert_array_equal(decoded_load(copy_of_test_split)[0], good)  # and rewritten


def test_decoded_copy_never_hides_a_corrupted_source(copy_of_test_split):
    decoded_load(copy_of_test_split)
    source = copy_of_test_split / "t10k-images-idx3-ubyte.gz"
    raw = bytearray(gzip.decompress(source.read_bytes()))
    raw[1000] ^= 0xFF
    source.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="corrupted"):
        decoded_load(copy_of_test_split)


def test_truncated_file_is_refused(copy_of_test_split):
    f = copy_of_test_split / "t10k-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    with pytest.raises(
        DataError,
        match="t10k-images-idx3-ubyte.gz is unreadable or truncated"
        ".*apt-get install dataset-fashion-mnist",
    ):
        load_fashion_mnist("test", path=copy_of_test_split)


def test_corrupted_file_is_refused(copy_of_test_split):
    f = copy_of_test_split / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(f.read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one label changed: valid gzip, wrong data
    f.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz is corrupted: sha256"):
        load_fashion_mnist("test", path=copy_of_test_split)


def test_missing_file_names_it_and_the_fix(copy_of_test_split):
    (copy_of_test_split / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.*not found.*KERNELS_DATA_DIR"):
        load_fashion_mnist("test", path=copy_of_test_split)


def test_search_order(monkeypatch, tmp_path):
    monkeypatch.setenv("KERNELS_DATA_DIR", str(tmp_path))
    labels = [label for label, _ in data.candidates()]
    assert labels == ["KERNELS_DATA_DIR", "Debian package dataset-fashion-mnist", "user cache"]
    assert [label for label, _ in data.candidates(tmp_path)] == ["path argument"]
    # an empty KERNELS_DATA_DIR falls through to the next place that holds the files
    assert data.locate("test")[0] != "KERNELS_DATA_DIR"


def test_download_failure_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(data, "candidates", lambda path=None: [("nowhere", tmp_path / "none")])
    monkeypatch.setattr(data, "cache_dir", lambda: tmp_path / "cache")
    monkeypatch.setattr(data, "URL", "http://127.0.0.1:9/")  # nothing listens: fails at once
    with pytest.raises(DataError, match="could not download t10k-images-idx3-ubyte.gz"):
        load_fashion_mnist("test")


def test_bad_arguments():
    with pytest.raises(ValueError, match="split must be one of train, test"):
        load_fashion_mnist("valid")
    with pytest.raises(TypeError, match="float32 or float64"):
        load_fashion_mnist("test", dtype=np.int32)


def test_data_command(capsys, copy_of_test_split):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert out.count("ok: sha256 matches") == 4
    (copy_of_test_split / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"junk"))
    assert main(["data", "--path", str(copy_of_test_split)]) == 1
    assert "is corrupted" in capsys.readouterr().out


def test_unreadable_data_directory(monkeypatch, tmp_path, capsys):

    real = Path.is_file

    def denied(self):
        if str(self).startswith(str(tmp_path)):
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(Path, "is_file", denied)
    from kernels.data import DataError, load_fashion_mnist

    with pytest.raises(
        DataError, match=f"cannot look for .* in {tmp_path} \\(Permission denied\\)"
    ):
        load_fashion_mnist("test", path=tmp_path)
    one_line_exit(["data", "--path", str(tmp_path)], "kernels data: cannot look for")


def test_data_path_with_some_files_names_the_missing_ones(tmp_path):
    from kernels.data import SPLITS, locate

    _, directory = locate("train")
    present = SPLITS["train"][0]
    source = next(directory.glob(present + "*"))
    (tmp_path / source.name).write_bytes(source.read_bytes())
    line = one_line_exit(["data", "--path", str(tmp_path)], "kernels data: ")
    missing = [n for names in SPLITS.values() for n in names if n != present]
    assert all(n in line.split("missing")[0] for n in missing) and f"found {present}" in line


def test_a_bad_file_in_the_users_own_folder_is_not_blamed_on_the_cache(tmp_path):
    from kernels.data import SPLITS, DataError, read_verified

    bad = tmp_path / (SPLITS["test"][1] + ".gz")
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(DataError) as error:
        read_verified(bad)
    assert "from the cache" not in str(error.value) and f"Replace {bad}" in str(error.value)
