"""The tinymnist digits, and a seeded mini-batch iterator.

`load_tinymnist()` reads `tinymnist.npz`, which ships inside this package (real MNIST digits;
see `data/README.md` in the repository for provenance, licence and the script that builds it), and
checks everything about it before handing it over: the file exists and is a readable npz,
holds no pickled objects, has the four expected arrays with the expected shapes, dtypes
and label range. Any problem raises an error that names the file and what is wrong.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .functional import member_generators

# The digits travel with the package (package data), so an installed wheel can load them too.
DEFAULT_PATH = Path(__file__).resolve().parent / "_data" / "tinymnist.npz"
KEYS = ("x_train", "y_train", "x_test", "y_test")
NUM_CLASSES = 10


@dataclass(frozen=True)
class TinyMNIST:
    """Images `(N, 28, 28)` uint8 in 0-255 and labels `(N,)` int64 in 0-9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def __repr__(self) -> str:
        return f"TinyMNIST(train={len(self.y_train)}, test={len(self.y_test)})"


def load_tinymnist(path: str | Path | None = None) -> TinyMNIST:
    """Load and validate a tinymnist `.npz` file.

    Args:
        path: the file; the copy shipped inside the package if None.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a valid npz, holds pickled objects, or has missing keys,
            wrong shapes or dtypes, or labels outside 0-9.
    """
    path = DEFAULT_PATH if path is None else Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"tinymnist file not found: {path}")
    if not zipfile.is_zipfile(path):
        # np.load would try to unpickle a non-zip file; refuse before that.
        raise ValueError(f"{path}: not a valid npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in KEYS if key in npz.files}
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise ValueError(f"{path}: contains pickled object arrays, refused to load") from err
        raise ValueError(f"{path}: not a valid npz file ({err})") from err
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a valid npz file ({err})") from err
    missing = [key for key in KEYS if key not in arrays]
    if missing:
        raise ValueError(f"{path}: missing arrays {missing}; expected {list(KEYS)}")

    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 3 or x.shape[1:] != (28, 28):
            raise ValueError(
                f"{path}: x_{split} must be uint8 of shape (N, 28, 28), got {x.dtype} {x.shape}"
            )
        if y.dtype.kind not in "iu" or y.shape != (x.shape[0],):
            raise ValueError(
                f"{path}: y_{split} must be integer labels of shape ({x.shape[0]},), "
                f"got {y.dtype} {y.shape}"
            )
        if y.size and (y.min() < 0 or y.max() >= NUM_CLASSES):
            raise ValueError(
                f"{path}: y_{split} labels must be in 0-{NUM_CLASSES - 1}, got {y.min()}-{y.max()}"
            )
        arrays[f"y_{split}"] = y.astype(np.int64)
    return TinyMNIST(**arrays)


def to_float(images: np.ndarray, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """Scale uint8 pixels 0-255 to floats in [0, 1]."""
    return (np.asarray(images) / 255.0).astype(dtype)


def one_hot(labels: np.ndarray, num_classes: int = NUM_CLASSES, dtype=np.float32) -> np.ndarray:
    """`(N,)` integer labels -> `(N, num_classes)` rows with a single 1."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes - 1}]")
    out = np.zeros((labels.shape[0], num_classes), dtype=dtype)
    out[np.arange(labels.shape[0]), labels] = 1
    return out


def batches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    rng: np.random.Generator | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield `(X_batch, y_batch)` pairs covering the data once.

    Args:
        X, y: arrays with the same first dimension.
        batch_size: rows per batch (the last batch may be smaller).
        rng: if given, the order is shuffled with it (a new permutation each call);
            if None, batches come in order. A sequence of K generators shuffles K orders,
            one per member of a stack of networks, and yields `(K, batch, ...)` arrays
            (member k's rows are `X[order_k[...]]`, as with `rng=rng[k]` alone).
    """
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X and y have different lengths: {n} and {len(y)}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if rng is None:
        for start in range(0, n, batch_size):
            yield X[start : start + batch_size], y[start : start + batch_size]
        return
    if isinstance(rng, np.random.Generator):
        order = rng.permutation(n)
    else:  # one order per member, (K, n)
        order = np.stack([r.permutation(n) for r in member_generators(rng)])
    for start in range(0, n, batch_size):
        idx = order[..., start : start + batch_size]
        yield X[idx], y[idx]


def two_moons(
    n: int, noise: float = 0.25, rng: np.random.Generator | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A 2-D toy problem: two interleaving half circles, `n` points, labels 0 and 1.

    Args:
        n: number of points (split as evenly as possible between the two moons).
        noise: standard deviation of Gaussian noise added to each coordinate.
        rng: generator for the angles and the noise.

    Returns:
        `X` float32 `(n, 2)` and `y` int64 `(n,)`.
    """
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    rng = np.random.default_rng() if rng is None else rng
    y = np.arange(n) % 2
    angle = rng.uniform(0.0, np.pi, size=n)
    # Moon 0: upper half circle centred at (0, 0); moon 1: lower one centred at (1, 0.5).
    X = np.where(
        (y == 0)[:, None],
        np.column_stack([np.cos(angle), np.sin(angle)]),
        np.column_stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)]),
    )
    X = X + rng.normal(0.0, noise, size=X.shape)
    return X.astype(np.float32), y.astype(np.int64)
