"""tinymnist: the committed file, and every way a data file can be wrong."""

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from nnscratch.data import DEFAULT_PATH, batches, load_tinymnist, one_hot, to_float, two_moons

README = Path(__file__).resolve().parents[1] / "data" / "README.md"


@pytest.fixture(scope="module")
def tiny():
    return load_tinymnist()


def test_committed_file_matches_the_sha256_in_the_readme():
    documented = re.search(r"sha256: `([0-9a-f]{64})`", README.read_text()).group(1)
    assert hashlib.sha256(DEFAULT_PATH.read_bytes()).hexdigest() == documented


def test_shapes_dtypes_and_stratified_labels(tiny):
    assert tiny.x_train.shape == (4000, 28, 28) and tiny.x_train.dtype == np.uint8
    assert tiny.x_test.shape == (1000, 28, 28) and tiny.x_test.dtype == np.uint8
    assert np.array_equal(np.bincount(tiny.y_train), [400] * 10)
    assert np.array_equal(np.bincount(tiny.y_test), [100] * 10)
    assert tiny.x_train.max() == 255 and tiny.x_train.min() == 0


def test_train_and_test_share_no_image(tiny):
    train = {img.tobytes() for img in tiny.x_train}
    assert not any(img.tobytes() in train for img in tiny.x_test)


def save(path, **arrays):
    np.savez(path, **arrays)
    return path


def valid_arrays(n=5):
    rng = np.random.default_rng(0)
    return {
        "x_train": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n) % 10,
        "x_test": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n) % 10,
    }


def test_a_valid_small_file_loads(tmp_path):
    data = load_tinymnist(save(tmp_path / "ok.npz", **valid_arrays()))
    assert data.x_train.shape == (5, 28, 28) and data.y_test.dtype == np.int64


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_tinymnist(tmp_path / "nope.npz")


def test_truncated_file(tmp_path):
    good = DEFAULT_PATH.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"cut\.npz.*not a valid npz"):
        load_tinymnist(cut)


def test_corrupt_file(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip file at all" * 10)
    with pytest.raises(ValueError, match=r"junk\.npz.*not a valid npz"):
        load_tinymnist(junk)


def test_missing_keys(tmp_path):
    arrays = valid_arrays()
    del arrays["y_test"]
    with pytest.raises(ValueError, match=r"missing\.npz.*missing arrays \['y_test'\]"):
        load_tinymnist(save(tmp_path / "missing.npz", **arrays))


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("x_train", np.zeros((5, 28, 27), dtype=np.uint8), r"x_train must be uint8.*\(5, 28, 27\)"),
        ("x_train", np.zeros((5, 28, 28), dtype=np.float32), "x_train must be uint8.*float32"),
        ("y_train", np.zeros(4, dtype=np.int64), r"y_train must be integer labels of shape \(5,\)"),
        ("y_test", np.zeros(5, dtype=np.float64), "y_test must be integer labels"),
        ("y_test", np.array([0, 1, 2, 3, 10]), "y_test labels must be in 0-9, got 0-10"),
        ("y_train", np.array([-1, 1, 2, 3, 4]), "y_train labels must be in 0-9"),
    ],
)
def test_wrong_shapes_dtypes_and_labels(tmp_path, key, value, match):
    arrays = valid_arrays()
    arrays[key] = value
    with pytest.raises(ValueError, match=rf"bad\.npz: {match}"):
        load_tinymnist(save(tmp_path / "bad.npz", **arrays))


def test_pickled_object_arrays_are_refused(tmp_path):
    arrays = valid_arrays()
    arrays["y_train"] = np.array([object()] * 5, dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez(path, **arrays)  # savez pickles object arrays by default
    with pytest.raises(ValueError, match=r"pickled\.npz.*pickled object arrays"):
        load_tinymnist(path)


def test_to_float_and_one_hot():
    x = to_float(np.array([[0, 255]], dtype=np.uint8))
    assert x.dtype == np.float32 and x.tolist() == [[0.0, 1.0]]
    np.testing.assert_array_equal(one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="labels"):
        one_hot(np.array([3]), 3)


def test_batches_cover_everything_once_with_a_seeded_shuffle():
    X, y = np.arange(10)[:, None], np.arange(10)
    seen = [yb for _, yb in batches(X, y, 3, np.random.default_rng(5))]
    assert [len(b) for b in seen] == [3, 3, 3, 1]
    order = np.concatenate(seen)
    assert sorted(order) == list(range(10)) and list(order) != list(range(10))
    again = np.concatenate([yb for _, yb in batches(X, y, 3, np.random.default_rng(5))])
    np.testing.assert_array_equal(order, again)
    in_order = np.concatenate([yb for _, yb in batches(X, y, 4)])
    np.testing.assert_array_equal(in_order, y)
    for Xb, yb in batches(X, y, 4, np.random.default_rng(1)):
        np.testing.assert_array_equal(Xb[:, 0], yb)  # rows stay paired with labels


def test_batches_bad_arguments():
    with pytest.raises(ValueError, match="different lengths"):
        next(batches(np.zeros(3), np.zeros(2), 1))
    with pytest.raises(ValueError, match="batch_size"):
        next(batches(np.zeros(3), np.zeros(3), 0))


def test_two_moons_is_seeded_balanced_and_validated():
    X, y = two_moons(100, 0.1, np.random.default_rng(3))
    X2, _ = two_moons(100, 0.1, np.random.default_rng(3))
    assert X.shape == (100, 2) and X.dtype == np.float32 and np.bincount(y).tolist() == [50, 50]
    np.testing.assert_array_equal(X, X2)
    assert X[y == 0, 1].mean() > X[y == 1, 1].mean()  # moon 0 on top
    with pytest.raises(ValueError, match="noise"):
        two_moons(10, -1.0)
