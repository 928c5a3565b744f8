"""Fashion-MNIST, real and verified (docs/design.md, section 4).

The four IDX files are looked for, in order: ``path=``; ``$KERNELS_DATA_DIR``;
``/usr/share/datasets/fashion-mnist`` (Debian package ``dataset-fashion-mnist``);
the user cache directory; and last a download into that cache through pooch.
Each file is accepted gzipped or not, and its decompressed bytes must match the
sha256 below; anything else is refused with an error saying how to get a good copy.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import zlib
from pathlib import Path

import numpy as np

from .decoded import decoded_copy, save_decoded

SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SIZES = {"train": 60_000, "test": 10_000}  # examples per split
IMAGE_SHAPE = (28, 28)  # pixels per image, rows x columns
N_FEATURES = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
N_CLASSES = 10
SHA256 = {  # of the decompressed files: Debian re-compressed the .gz
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
MD5_GZ = {  # of the canonical .gz files, checked by pooch on download
    "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
}
URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
HOW_TO_GET = (
    "Get a good copy with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu) "
    "or point KERNELS_DATA_DIR at a directory holding the four original files"
)
HOW_TO_FIX = (
    f"{HOW_TO_GET}, or delete the bad file from the cache and run `python -m kernels "
    f"data` to download it."
)


class DataError(RuntimeError):
    """A Fashion-MNIST file is missing, unreadable, truncated or corrupted."""


def cache_dir() -> Path:
    """Where downloads go: the user cache directory of ``kernels``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("kernels")) / "fashion-mnist"


def candidates(path: str | os.PathLike | None = None) -> list[tuple[str, Path]]:
    """The directories searched, in order, as ``(label, directory)`` pairs.

    An explicit ``path`` is the only candidate: asking for a directory and
    silently reading another would hide a mistake.
    """
    if path is not None:
        return [("path argument", Path(path))]
    found = []
    if os.environ.get("KERNELS_DATA_DIR"):
        found.append(("KERNELS_DATA_DIR", Path(os.environ["KERNELS_DATA_DIR"])))
    found += [("Debian package dataset-fashion-mnist", DEBIAN_DIR), ("user cache", cache_dir())]
    return found


def _file_in(directory: Path, name: str) -> Path | None:
    for candidate in (directory / f"{name}.gz", directory / name):
        try:
            if candidate.is_file():
                return candidate
        except OSError as exc:  # e.g. a directory we may not enter
            raise DataError(
                f"cannot look for {candidate.name} in {directory} "
                f"({exc.strerror or exc}). {HOW_TO_FIX}"
            ) from exc
    return None


def locate(split: str, path=None, download: bool = True) -> tuple[str, Path]:
    """The first candidate directory holding both files of ``split``.

    When none does and no ``path`` was given, the files are downloaded into the
    cache (if ``download``). Raises DataError naming what is missing.
    """
    names = _split_files(split)
    searched = candidates(path)
    for label, directory in searched:
        if all(_file_in(directory, n) for n in names):
            return label, directory
    if path is None and download:
        return "downloaded into the user cache", _download(names)
    where = "; ".join(f"{d} ({label})" for label, d in searched)
    raise DataError(
        f"Fashion-MNIST files {', '.join(names)} (.gz or not) not found in: {where}. {HOW_TO_GET}."
    )


def _download(names) -> Path:
    import pooch

    target = cache_dir()
    for name in names:
        try:
            pooch.retrieve(
                URL + f"{name}.gz",
                known_hash=f"md5:{MD5_GZ[name]}",
                fname=f"{name}.gz",
                path=target,
                progressbar=False,
            )
        except Exception as exc:  # no network, wrong hash, unwritable cache: say what to do
            raise DataError(
                f"could not download {name}.gz from {URL} ({exc}). {HOW_TO_FIX}"
            ) from exc
    return target


def how_to_fix(file: Path) -> str:
    """What to do about a bad ``file``: in the download cache, delete it and download it
    again; anywhere else (the user's own folder, the Debian package) replace it."""
    if Path(file).parent == cache_dir():
        return HOW_TO_FIX
    return f"Replace {file} with a good copy. {HOW_TO_GET}."


def read_verified(file: Path) -> bytes:
    """The decompressed bytes of ``file``, refused unless their sha256 matches."""
    name = file.name.removesuffix(".gz")
    try:
        raw = file.read_bytes()
        data = gzip.decompress(raw) if file.suffix == ".gz" else raw
    except PermissionError as exc:
        raise DataError(f"{file} cannot be read: permission denied. {how_to_fix(file)}") from exc
    except (OSError, EOFError, zlib.error) as exc:  # truncated or not gzip at all
        raise DataError(f"{file} is unreadable or truncated ({exc}). {how_to_fix(file)}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[name]:
        raise DataError(
            f"{file} is corrupted: sha256 of its content is {digest}, expected "
            f"{SHA256[name]}. {how_to_fix(file)}"
        )
    return data


def _parse_idx(data: bytes, ndim: int, file: Path) -> np.ndarray:
    # IDX: two zero bytes, type code 0x08 (ubyte), ndim, then ndim big-endian int32 sizes
    head = np.frombuffer(data, ">i4", count=1 + ndim)
    if head[0] != 0x0800 + ndim:
        raise DataError(f"{file} is not an IDX file of unsigned bytes with {ndim} dimensions")
    return np.frombuffer(data, np.uint8, offset=4 * (1 + ndim)).reshape(tuple(head[1:]))


def _split_files(split: str) -> tuple[str, str]:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    return SPLITS[split]


def load_fashion_mnist(split: str = "train", path=None, dtype=np.float64):
    """Fashion-MNIST images and labels, verified against the checksums of docs/design.md.

    Returns ``X (N, 784)`` of ``dtype`` (float32 or float64) scaled to [0, 1] and
    ``y (N,)`` int64, with N = 60,000 (train) or 10,000 (test). The arrays are
    read-only and cached: loading twice in one process costs nothing.
    """
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64; got {dtype}")
    _split_files(split)
    _, directory = locate(split, path)
    return _load(split, directory.resolve(), dtype.str)


@functools.lru_cache(maxsize=8)
def _load(split: str, directory: Path, dtype: str):
    image_name, label_name = SPLITS[split]
    image_file, label_file = _file_in(directory, image_name), _file_in(directory, label_name)
    labels = _parse_idx(read_verified(label_file), 1, label_file)
    folder, shape = cache_dir() / "decoded", (SIZES[split], N_FEATURES)
    X = decoded_copy(image_file, dtype, folder, shape)
    if X is None:
        images = _parse_idx(read_verified(image_file), 3, image_file)
        X = images.reshape(len(images), -1).astype(dtype)
        X /= 255  # in place: 30x faster than uint8 / float64(255), same values
        save_decoded(image_file, X, folder)
    y = labels.astype(np.int64)
    X.flags.writeable = y.flags.writeable = False
    return X, y


def status(path=None) -> list[tuple[str, str, str]]:
    """For each of the four files: ``(name, where it was found, "ok" or the error)``.

    Fetches the files when they are nowhere to be found (as loading would). A split
    whose files are not found is one row naming both; when no split is found at all,
    DataError is raised (one message, not one per file).
    """
    rows, missing = [], []
    for split, names in SPLITS.items():
        try:
            label, directory = locate(split, path)
        except DataError as exc:
            if "not found" not in str(exc):
                raise
            missing.append(exc)
            rows.append((" and ".join(names), "not found", str(exc)))
            continue
        for name in names:
            file = _file_in(directory, name)
            try:
                read_verified(file)
                rows.append((name, f"{file} ({label})", "ok: sha256 matches"))
            except DataError as exc:
                rows.append((name, f"{file} ({label})", str(exc)))
    if len(missing) == len(SPLITS):
        if path is None:
            raise missing[0]
        names = [n for split_names in SPLITS.values() for n in split_names]
        found = [n for n in names if _file_in(Path(path), n)]
        raise DataError(
            f"Fashion-MNIST in {path} (path argument): "
            f"{', '.join(n for n in names if n not in found)} (.gz or not) missing"
            + (f"; found {', '.join(found)}" if found else "")
            + f". {HOW_TO_GET}."
        )
    return rows
