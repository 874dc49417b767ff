"""nnscratch.seeds: one book-wide seed set, switched by NNSCRATCH_SEED_SET."""

from __future__ import annotations

import numpy as np
import pytest

from nnscratch.experiments import MLPConfig, run_generators, train_mlp
from nnscratch.seeds import ENV_VAR, book_rng, book_seed, seed_sequence, seed_set


def draw(*name: int) -> np.ndarray:
    return book_rng(*name).random(4)


def test_set_zero_is_the_plain_seed(monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert seed_set() == 0
    assert book_seed(5) == 5
    np.testing.assert_array_equal(draw(5), np.random.default_rng(5).random(4))
    np.testing.assert_array_equal(draw(7, 1, 2), np.random.default_rng([7, 1, 2]).random(4))
    monkeypatch.setenv(ENV_VAR, "0")
    np.testing.assert_array_equal(draw(5), np.random.default_rng(5).random(4))


def test_other_sets_are_independent_and_repeat(monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    set0 = [draw(n) for n in range(5)]
    monkeypatch.setenv(ENV_VAR, "1")
    set1 = [draw(n) for n in range(5)]
    np.testing.assert_array_equal([draw(n) for n in range(5)], set1)  # the same every call
    assert book_seed(5) != 5 and book_seed(5) == book_seed(5)
    monkeypatch.setenv(ENV_VAR, "2")
    set2 = [draw(n) for n in range(5)]
    for a, b, c in zip(set0, set1, set2, strict=True):
        assert not np.array_equal(a, b) and not np.array_equal(b, c) and not np.array_equal(a, c)


def test_a_runs_streams_follow_the_seed_set(monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    zero = [g.random(3) for g in run_generators(3)]
    monkeypatch.setenv(ENV_VAR, "1")
    one = [g.random(3) for g in run_generators(3)]
    assert all(not np.array_equal(a, b) for a, b in zip(zero, one, strict=True))
    monkeypatch.setenv(ENV_VAR, "1")
    config = MLPConfig(hidden=(8,), pool=4, n_train=100, epochs=1, p=0.5, seed=0)
    again = train_mlp(config), train_mlp(config)
    np.testing.assert_array_equal(again[0].train_loss, again[1].train_loss)


@pytest.mark.parametrize("value", ["one", "1.5", "-1"])
def test_a_bad_seed_set_names_the_variable(monkeypatch, value: str) -> None:
    monkeypatch.setenv(ENV_VAR, value)
    with pytest.raises(ValueError, match="NNSCRATCH_SEED_SET must be an integer >= 0"):
        seed_set()


def test_seed_names_are_non_negative_integers() -> None:
    with pytest.raises(ValueError, match="at least one integer"):
        seed_sequence()
    with pytest.raises(ValueError, match=">= 0"):
        seed_sequence(-3)
