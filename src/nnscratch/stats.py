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
- `paired_bootstrap_mean(values_a, values_b)`: the same for any per-digit number (a log-loss,
  a confidence, "flagged as unusual"), and for a mean over some of the digits only (the
  accuracy of the digits a network keeps, the share of its mistakes made with high confidence)
  through per-digit weights.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .seeds import book_rng


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


def verdict(
    ci: BootstrapCI, above: str, below: str, neither: str = "no difference we can detect"
) -> str:
    """The words for what an interval shows, for a verdict glued into the text.

    Where the evidence is weak (an interval whose sign can change with the seeds), the text
    does not fix the verdict in advance: it glues the words this function picks, beside the
    interval they come from.

    Args:
        ci: the interval of a difference A - B.
        above: the words when the whole interval is above 0 (e.g. "a gain").
        below: the words when it is below 0 (e.g. "a loss").
        neither: the words when it contains 0.
    """
    return above if ci.sign == 1 else below if ci.sign == -1 else neither


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
        rng: generator for the resampling (default: a fixed one of the book's seed set, so
            results repeat).

    Each replicate draws `seeds` rows and `N` columns with replacement and averages the
    per-digit differences over the drawn cells; the interval is the central `level` part of
    those averages. With one seed only the digits are resampled.
    """
    a, b = _pair(correct_a, correct_b)
    if a.ndim not in (1, 2):
        raise ValueError(f"give (seeds, N) or (N,) arrays, got shape {a.shape}")
    return paired_bootstrap_mean(a, b, n_boot, level, rng)


def _counts(rng: np.random.Generator, replicates: int, size: int) -> np.ndarray:
    """`(replicates, size)`: how many times each of `size` items is drawn in `size` draws
    with replacement, independently per replicate."""
    draws = rng.integers(0, size, (replicates, size)) + size * np.arange(replicates)[:, None]
    return np.bincount(draws.ravel(), minlength=replicates * size).reshape(replicates, size)


def _real(name: str, values) -> np.ndarray:
    """A finite float64 array of per-digit values; rejects anything else."""
    array = np.asarray(values)
    if array.size == 0:
        raise ValueError(f"{name} is empty")
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold numbers, one per seed and test digit")
    array = array.astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite (no NaN or infinity)")
    return np.atleast_2d(array)


def paired_bootstrap_mean(
    values_a,
    values_b,
    n_boot: int = 10_000,
    level: float = 0.95,
    rng: np.random.Generator | None = None,
    *,
    weights_a=None,
    weights_b=None,
) -> BootstrapCI:
    """Confidence interval of a difference of (weighted) per-digit means, A - B.

    Args:
        values_a, values_b: `(seeds, N)` numbers (or `(N,)` for one seed), one per seed and
            test digit, e.g. each digit's log-loss under network A and network B. Row `s` of
            both comes from the same seed and column `i` from the same digit.
        weights_a, weights_b: optional `(seeds, N)` non-negative weights. Each side's
            statistic is `sum(w * v) / sum(w)`, so 0/1 weights average over a subset of the
            digits that may differ between A and B: `values` = correct and `weights` = kept
            gives the accuracy on the digits each method keeps. None: every digit counts once.
        n_boot: bootstrap replicates.
        level: coverage of the interval, e.g. 0.95.
        rng: generator for the resampling (default: a fixed one of the book's seed set, so
            results repeat).

    Each replicate draws `seeds` rows and `N` columns with replacement (the same draws for A
    and B, which keeps the pairs together) and recomputes both statistics on the drawn cells;
    the interval is the central `level` part of the differences. `paired_bootstrap` is this
    function on 0/1 values without weights.

    Raises:
        ValueError: shapes differ, values or weights are not finite numbers, a weight is
            negative, a side's weights sum to 0, or more than 1% of the replicates drew
            only zero weights on one side (too few weighted digits for an interval).
    """
    a, b = _real("values_a", values_a), _real("values_b", values_b)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(
            f"values_a and values_b must have the same (seeds, N) or (N,) shape, "
            f"got {np.shape(values_a)} and {np.shape(values_b)}"
        )
    weights = []
    for name, w in (("weights_a", weights_a), ("weights_b", weights_b)):
        w = np.ones_like(a) if w is None else _real(name, w)
        if w.shape != a.shape:
            raise ValueError(f"{name} must have the shape of the values {a.shape}, got {w.shape}")
        if (w < 0).any() or w.sum() == 0:
            raise ValueError(f"{name} must be >= 0 with a positive sum")
        weights.append(w)
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 100:
        raise ValueError(f"n_boot must be an integer >= 100, got {n_boot!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    rng = book_rng(0) if rng is None else rng
    (w_a, w_b), (seeds, n) = weights, a.shape
    # Numerators and denominators of both sides; a replicate weights cell (s, i) by how often
    # seed s and digit i were drawn.
    sums = np.stack([w_a * a, w_a, w_b * b, w_b])  # (4, seeds, N)
    stats = np.empty((n_boot, 4))
    # Replicates in chunks, to bound memory (4 * chunk * N floats).
    chunk = max(10, min(1000, 4_000_000 // (4 * n)))
    for start in range(0, n_boot, chunk):
        m = min(chunk, n_boot - start)
        seed_counts = _counts(rng, m, seeds)  # (m, seeds)
        digit_counts = _counts(rng, m, n)  # (m, N)
        drawn = np.einsum("ms,ksn->mkn", seed_counts, sums)
        stats[start : start + m] = np.einsum("mkn,mn->mk", drawn, digit_counts)
    empty = (stats[:, 1] == 0) | (stats[:, 3] == 0)
    if empty.mean() > 0.01:
        raise ValueError(
            f"{empty.mean():.0%} of the replicates drew no digit with a positive weight on one "
            "side: too few weighted digits for a bootstrap interval"
        )
    stats = stats[~empty]
    replicates = stats[:, 0] / stats[:, 1] - stats[:, 2] / stats[:, 3]
    diff = float(sums[0].sum() / sums[1].sum() - sums[2].sum() / sums[3].sum())
    tail = (1.0 - level) / 2
    low, high = np.quantile(replicates, [tail, 1.0 - tail])
    return BootstrapCI(diff, float(low), float(high), level)
