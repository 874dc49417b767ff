"""Paired comparisons of two classifiers on the same test digits.

The book's claims compare networks that differ in one setting (a dropout rate, a variant)
and are otherwise paired: the same initial weights, the same batch order, the same test digits.
A paired test uses that: it looks at the digits on which the two disagree, not at two
accuracies measured separately. Three tools, each for one question:

- `accuracy_se(acc, n)`: how uncertain is one accuracy measured on `n` digits?
  The binomial standard error `sqrt(acc (1 - acc) / n)`.
- `mcnemar(correct_a, correct_b)`: for one pair of networks, is one right more often than the
  other on the same digits? The exact two-sided McNemar test: among the `n_ab` digits that
  exactly one of the two gets right, the count `b` that only A gets right is Binomial(n_ab, 1/2)
  if neither is better, and the p-value is the probability of a split at least as uneven.
- `paired_bootstrap(correct_a, correct_b)`: over several seeds, how large is the difference
  in accuracy, with a confidence interval? Resampling both the seeds and the digits (with
  replacement, keeping each digit's pair together) puts both sources of noise in the interval.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


def accuracy_se(acc: float, n: int) -> float:
    """Binomial standard error of an accuracy `acc` measured on `n` examples."""
    if not 0.0 <= acc <= 1.0:
        raise ValueError(f"acc must be in [0, 1], got {acc}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return math.sqrt(acc * (1.0 - acc) / n)


def _correctness(name: str, values) -> np.ndarray:
    """A boolean array from 0/1 or True/False values; rejects anything else."""
    array = np.asarray(values)
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if array.dtype != bool:
        if array.dtype.kind not in "iuf" or not np.isin(array, (0, 1)).all():
            raise ValueError(f"{name} must hold only True/False (or 0/1), one per test digit")
        array = array.astype(bool)
    return array


def _pair(correct_a, correct_b) -> tuple[np.ndarray, np.ndarray]:
    a, b = _correctness("correct_a", correct_a), _correctness("correct_b", correct_b)
    if a.shape != b.shape:
        raise ValueError(
            f"correct_a and correct_b must have the same shape (the same digits), "
            f"got {a.shape} and {b.shape}"
        )
    return a, b


class McNemarResult(NamedTuple):
    """`only_a`: digits only A gets right; `only_b`: only B; `p_value`: exact, two-sided."""

    only_a: int
    only_b: int
    p_value: float


def mcnemar(correct_a, correct_b) -> McNemarResult:
    """Exact two-sided McNemar test for two classifiers on the same examples.

    Args:
        correct_a, correct_b: `(N,)` booleans, whether each classifier got each example right.

    Returns:
        The two discordant counts and `p = min(1, 2 P(X <= min(b, c)))` with
        `X ~ Binomial(b + c, 1/2)`; `p = 1` when the two never disagree.
    """
    a, b = _pair(correct_a, correct_b)
    if a.ndim != 1:
        raise ValueError(
            f"mcnemar compares one pair of classifiers: give (N,) arrays, got {a.shape}; "
            "for several seeds use paired_bootstrap"
        )
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n, k = only_a + only_b, min(only_a, only_b)
    # P(X <= k) for X ~ Binomial(n, 1/2), exactly in integers, then one division.
    tail = sum(math.comb(n, i) for i in range(k + 1))
    p_value = min(1.0, 2 * tail / 2**n) if n else 1.0
    return McNemarResult(only_a, only_b, p_value)


class BootstrapCI(NamedTuple):
    """Mean accuracy difference A - B and its percentile confidence interval."""

    diff: float
    low: float
    high: float
    level: float

    @property
    def sign(self) -> int:
        """+1 if the whole interval is above 0 (A better), -1 if below, 0 if it contains 0."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0


def paired_bootstrap(
    correct_a,
    correct_b,
    n_boot: int = 10_000,
    level: float = 0.95,
    rng: np.random.Generator | None = None,
) -> BootstrapCI:
    """Confidence interval of the accuracy difference A - B, resampling seeds and digits.

    Args:
        correct_a, correct_b: `(seeds, N)` booleans (or `(N,)` for one seed): whether
            network A (B) of each seed got each test digit right. Row `s` of both must come
            from the same seed (paired runs), and column `i` from the same digit.
        n_boot: bootstrap replicates.
        level: coverage of the interval, e.g. 0.95.
        rng: generator for the resampling (a fixed default, so results repeat).

    Each replicate draws `seeds` rows and `N` columns with replacement and averages the
    per-digit differences over the drawn cells; the interval is the central `level` part of
    those averages. With one seed only the digits are resampled.
    """
    a, b = _pair(correct_a, correct_b)
    if a.ndim not in (1, 2):
        raise ValueError(f"give (seeds, N) or (N,) arrays, got shape {a.shape}")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 100:
        raise ValueError(f"n_boot must be an integer >= 100, got {n_boot!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = np.random.default_rng(0) if rng is None else rng
    diff = np.atleast_2d(a.astype(np.int8) - b.astype(np.int8)).astype(np.float64)
    seeds, n = diff.shape
    replicates = np.empty(n_boot)
    chunk = 1000
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        # How often each seed and each digit is drawn in each replicate.
        seed_counts = _counts(rng, m, seeds)
        digit_counts = _counts(rng, m, n)
        replicates[start : start + m] = np.sum((seed_counts @ diff) * digit_counts, axis=1)
    replicates /= seeds * n
    tail = (1.0 - level) / 2
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return BootstrapCI(float(diff.mean()), float(low), float(high), level)


def _counts(rng: np.random.Generator, replicates: int, size: int) -> np.ndarray:
    """`(replicates, size)`: how many times each of `size` items is drawn in `size` draws
    with replacement, independently per replicate."""
    draws = rng.integers(0, size, (replicates, size)) + size * np.arange(replicates)[:, None]
    return np.bincount(draws.ravel(), minlength=replicates * size).reshape(replicates, size)
