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
- `paired_interval(correct_a, correct_b)`: over several seeds, how large is the difference
  in accuracy, with a confidence interval? Both the seeds and the test digits are samples, and
  the interval's width comes from both: how much the seeds disagree, and how much the digits
  do. It uses the t distribution with the degrees of freedom the seeds allow (about 4 at 5
  seeds), so that it keeps its 95% coverage with the few seeds the book trains.
- `paired_interval_mean(values_a, values_b)`: the same for any per-digit number (a log-loss,
  a confidence, "flagged as unusual"), and for a mean over some of the digits only (the
  accuracy of the digits a network keeps, the share of its mistakes made with high confidence)
  through per-digit weights.
- `holm(p_values)` and `family_signs(cis)`: several comparisons against one baseline are a
  family; Holm's method keeps the chance of any false finding in the family at 5%.

The book first used a percentile bootstrap over seeds and digits. At 5 seeds it divides the
seeds' spread by S instead of S - 1 and uses normal quantiles where a t with 4 degrees of freedom
applies, so its "95%" intervals covered the true difference less often than promised (the
coverage test in tests/test_stats.py measures both).
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
            "for several seeds use paired_interval"
        )
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    n, k = only_a + only_b, min(only_a, only_b)
    # P(X <= k) for X ~ Binomial(n, 1/2), exactly in integers, then one division.
    tail = sum(math.comb(n, i) for i in range(k + 1))
    p_value = min(1.0, 2 * tail / 2**n) if n else 1.0
    return McNemarResult(only_a, only_b, p_value)


class PairedCI(NamedTuple):
    """A paired difference A - B, its confidence interval and its test.

    `se` is the standard error of `diff`, `df` the degrees of freedom of the t quantile the
    interval uses, and `p_value` the two-sided p-value of "no difference" from the same t
    statistic (so the interval excludes 0 exactly when `p_value < 1 - level`).
    """

    diff: float
    low: float
    high: float
    level: float
    se: float = math.nan
    df: float = math.nan
    p_value: float = math.nan

    @property
    def sign(self) -> int:
        """+1 if the whole interval is above 0 (A better), -1 if below, 0 if it contains 0."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0


def verdict(
    result: PairedCI | int,
    above: str = "a gain",
    below: str = "a loss",
    neither: str = "no difference we can detect",
) -> str:
    """The words for what an interval shows, for a verdict glued into the text.

    Where the evidence is weak (an interval whose sign can change with the seeds), the text
    does not fix the verdict in advance: it glues the words this function picks, beside the
    interval they come from.

    Args:
        result: the interval of a difference A - B, or its sign after a family correction
            (1, -1 or 0, from `family_signs`).
        above: the words when the whole interval is above 0.
        below: the words when it is below 0.
        neither: the words when it contains 0.
    """
    sign = result.sign if isinstance(result, PairedCI) else result
    if isinstance(sign, bool) or sign not in (-1, 0, 1):
        raise ValueError(f"result must be a PairedCI or a sign in (-1, 0, 1), got {result!r}")
    return above if sign == 1 else below if sign == -1 else neither


def paired_interval(correct_a, correct_b, level: float = 0.95) -> PairedCI:
    """Confidence interval of the accuracy difference A - B over seeds and test digits.

    Args:
        correct_a, correct_b: `(seeds, N)` booleans (or `(N,)` for one seed): whether
            network A (B) of each seed got each test digit right. Row `s` of both must come
            from the same seed (paired runs), and column `i` from the same digit.
        level: coverage of the interval, e.g. 0.95.

    This is `paired_interval_mean` on 0/1 values; see there for the method.
    """
    a, b = _pair(correct_a, correct_b)
    if a.ndim not in (1, 2):
        raise ValueError(f"give (seeds, N) or (N,) arrays, got shape {a.shape}")
    return paired_interval_mean(a, b, level)


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


def paired_interval_mean(
    values_a,
    values_b,
    level: float = 0.95,
    *,
    weights_a=None,
    weights_b=None,
) -> PairedCI:
    """Confidence interval of a difference of (weighted) per-digit means, A - B.

    Args:
        values_a, values_b: `(seeds, N)` numbers (or `(N,)` for one seed), one per seed and
            test digit, e.g. each digit's log-loss under network A and network B. Row `s` of
            both comes from the same seed and column `i` from the same digit.
        level: coverage of the interval, e.g. 0.95.
        weights_a, weights_b: optional `(seeds, N)` non-negative weights. Each side's
            statistic is `sum(w * v) / sum(w)`, so 0/1 weights average over a subset of the
            digits that may differ between A and B: `values` = correct and `weights` = kept
            gives the accuracy on the digits each method keeps. None: every digit counts once.

    The method. Both the seeds and the test digits are samples: other seeds, or other digits
    drawn from the same source, would give another difference. Each cell's difference
    `d[s, i]` is modelled as an overall difference plus a seed effect, a digit effect and a
    remainder (a two-way crossed design), so the variance of the mean difference is
    `var_seed / S + var_digit / N + var_rest / (S N)`. The two-way analysis of variance
    estimates it without bias as `(MS_seeds + MS_digits - MS_rest) / (S N)` from the mean
    squares (sums of squares divided by their degrees of freedom, S - 1 and not S), and the
    interval is `diff +- t * se` with the t quantile of Satterthwaite's degrees of freedom:
    close to S - 1 when seeds disagree more than digits do (a t with 4 degrees of freedom at
    5 seeds, 2.78 where a normal quantile says 1.96), large when digit noise dominates. With
    one seed it is the paired t interval over digits; with one value per seed, the t
    interval over seeds. Weighted means enter through their linearisation (delta method):
    cell `(s, i)` contributes `w (v - mean) / mean(w)` on each side.

    Raises:
        ValueError: shapes differ, values or weights are not finite numbers, a weight is
            negative, a side's weights sum to 0, or `level` is outside (0, 1).
    """
    a, b = _real("values_a", values_a), _real("values_b", values_b)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(
            f"values_a and values_b must have the same (seeds, N) or (N,) shape, "
            f"got {np.shape(values_a)} and {np.shape(values_b)}"
        )
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    cells = []
    for name, v, w in (("weights_a", a, weights_a), ("weights_b", b, weights_b)):
        w = np.ones_like(a) if w is None else _real(name, w)
        if w.shape != a.shape:
            raise ValueError(f"{name} must have the shape of the values {a.shape}, got {w.shape}")
        if (w < 0).any() or w.sum() == 0:
            raise ValueError(f"{name} must be >= 0 with a positive sum")
        mean = float((w * v).sum() / w.sum())
        cells.append((mean, w * (v - mean) / w.mean()))
    (mean_a, z_a), (mean_b, z_b) = cells
    variance, df = _mean_variance(z_a - z_b)
    return _t_interval(mean_a - mean_b, math.sqrt(variance), df, level)


def _mean_variance(d: np.ndarray) -> tuple[float, float]:
    """Unbiased variance of the mean of a `(S, N)` two-way table and its Satterthwaite
    degrees of freedom, from the mean squares of seeds (rows), digits (columns) and the
    remainder."""
    seeds, n = d.shape
    if seeds * n < 2:
        raise ValueError("need at least two values (seeds x digits) for an interval")
    if seeds == 1 or n == 1:  # one-way: the t interval over the only axis that varies
        return float(d.var(ddof=1) / d.size), float(d.size - 1)
    grand = d.mean()
    row, col = d.mean(axis=1), d.mean(axis=0)
    ms_seed = n * np.sum((row - grand) ** 2) / (seeds - 1)
    ms_digit = seeds * np.sum((col - grand) ** 2) / (n - 1)
    df_rest = (seeds - 1) * (n - 1)
    ms_rest = np.sum((d - row[:, None] - col[None, :] + grand) ** 2) / df_rest
    total = ms_seed + ms_digit - ms_rest
    if total <= ms_rest:  # seeds and digits add nothing we can see: only the remainder
        return float(ms_rest / d.size), float(df_rest)
    spread = ms_seed**2 / (seeds - 1) + ms_digit**2 / (n - 1) + ms_rest**2 / df_rest
    return float(total / d.size), float(max(1.0, total**2 / spread))


def _t_interval(diff: float, se: float, df: float, level: float) -> PairedCI:
    if se == 0.0:
        return PairedCI(diff, diff, diff, level, 0.0, df, 1.0 if diff == 0 else 0.0)
    half = t_quantile(0.5 + level / 2, df) * se
    p_value = min(1.0, 2 * t_sf(abs(diff) / se, df))
    return PairedCI(diff, diff - half, diff + half, level, se, df, p_value)


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values.

    Comparing m settings against one baseline, each at level alpha, finds a difference that is
    not there with probability up to m alpha. Holm's method keeps the chance of any false
    finding in the family at most alpha: sort the p-values, multiply the k-th smallest by
    m - k + 1, and keep the adjusted values in order (each at least the one before it). A
    comparison holds for the family when its adjusted p-value is below alpha.

    Args:
        p_values: the family's p-values, any order (a sequence or an array).

    Returns:
        The adjusted p-values, in the order given, each in [0, 1].
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"p_values must be a non-empty sequence of numbers, got shape {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ValueError("p_values must be finite and in [0, 1]")
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, stepped)
    return adjusted


def family_signs(cis, alpha: float = 0.05) -> list[int]:
    """The signs of a family of intervals after Holm's correction.

    Args:
        cis: the family's `PairedCI`s (e.g. every rate against no dropout).
        alpha: the family's error rate.

    Returns:
        For each interval, +1 or -1 (the sign of its difference) where its Holm-adjusted
        p-value is below `alpha`, else 0.
    """
    cis = list(cis)
    adjusted = holm([ci.p_value for ci in cis])
    return [int(np.sign(ci.diff)) if q < alpha else 0 for ci, q in zip(cis, adjusted, strict=True)]


# The t distribution, for the intervals' quantiles and p-values (the package needs no scipy;
# the tests check both functions against scipy.stats.t).


def _beta_fraction(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 100_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < 1e-15:
            return result
    raise ArithmeticError(f"incomplete beta: no convergence for a={a}, b={b}, x={x}")


def _incomplete_beta(a: float, b: float, x: float, y: float) -> float:
    """Regularised incomplete beta function I_x(a, b) for 0 <= x <= 1, given `y` = 1 - x
    computed without cancellation (the t tails need x within 1e-14 of 1)."""
    if x <= 0.0 or y <= 0.0:
        return 0.0 if x <= 0.0 else 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, y) / b


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` degrees of freedom (`df` may be fractional or inf)."""
    if not df > 0:
        raise ValueError(f"df must be > 0, got {df}")
    if math.isinf(df) or df > 1e7:
        return 0.5 * math.erfc(t / math.sqrt(2.0))
    tail = 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + t * t), t * t / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_quantile(q: float, df: float) -> float:
    """The t with P(T <= t) = q, for Student's t with `df` degrees of freedom."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), got {q}")
    if q < 0.5:
        return -t_quantile(1.0 - q, df)
    low, high = 0.0, 1.0
    while t_sf(high, df) > 1.0 - q:  # widen until the quantile is inside [low, high]
        low, high = high, 2.0 * high
    # Newton's method on the density, kept inside the bracket (bisecting when a step leaves it).
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    t = 0.5 * (low + high)
    for _ in range(100):
        excess = t_sf(t, df) - (1.0 - q)  # > 0: t is below the quantile
        low, high = (t, high) if excess > 0 else (low, t)
        if math.isinf(df) or df > 1e7:
            density = math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
        else:
            density = math.exp(log_norm - (df + 1) / 2 * math.log1p(t * t / df))
        step = excess / density
        new = t + step if low < t + step < high else 0.5 * (low + high)
        if abs(new - t) <= 1e-15 * max(1.0, t):
            return new
        t = new
    return t
