"""stats: McNemar against hand-computed binomial tails, the bootstrap against theory."""

import math

import numpy as np
import pytest

from nnscratch.stats import (
    BootstrapCI,
    accuracy_se,
    mcnemar,
    paired_bootstrap,
    paired_bootstrap_mean,
    verdict,
)


def pair(only_a: int, only_b: int, both: int = 50, neither: int = 10):
    """Correctness vectors with the given discordant and concordant counts."""
    a = [True] * only_a + [False] * only_b + [True] * both + [False] * neither
    b = [False] * only_a + [True] * only_b + [True] * both + [False] * neither
    return np.array(a), np.array(b)


@pytest.mark.parametrize(
    "only_a, only_b, expected",
    [
        (1, 5, 14 / 64),  # 2 (C(6,0) + C(6,1)) / 2^6
        (0, 6, 2 / 64),  # 2 / 2^6
        (10, 0, 2 / 1024),
        (3, 3, 1.0),  # 2 P(X <= 3) > 1: capped
        (0, 0, 1.0),  # no disagreement at all
        (2, 7, 2 * (1 + 9 + 36) / 512),
    ],
)
def test_mcnemar_matches_hand_computed_exact_p_values(only_a, only_b, expected):
    result = mcnemar(*pair(only_a, only_b))
    assert (result.only_a, result.only_b) == (only_a, only_b)
    assert result.p_value == pytest.approx(expected, rel=1e-12)


def test_mcnemar_is_symmetric_and_ignores_concordant_digits():
    a, b = pair(4, 11, both=5, neither=0)
    a2, b2 = pair(4, 11, both=500, neither=300)
    assert mcnemar(a, b).p_value == mcnemar(b, a).p_value == mcnemar(a2, b2).p_value


def test_mcnemar_large_counts_agree_with_the_normal_approximation():
    # b = 300, c = 240: with the continuity correction z = (|b - c| - 1) / sqrt(b + c) = 2.539
    # and the two-sided normal p-value is 0.0111, close to the exact tail.
    result = mcnemar(*pair(300, 240))
    z = (60 - 1) / math.sqrt(540)
    normal = math.erfc(z / math.sqrt(2))
    assert result.p_value == pytest.approx(normal, rel=0.02)


def test_mcnemar_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        mcnemar([1, 0, 1], [1, 0])
    with pytest.raises(ValueError, match="True/False"):
        mcnemar([0.5, 1], [1, 1])
    with pytest.raises(ValueError, match="empty"):
        mcnemar([], [])
    with pytest.raises(ValueError, match="paired_bootstrap"):
        mcnemar(np.ones((2, 3)), np.ones((2, 3)))


def test_accuracy_se():
    assert accuracy_se(0.9, 1000) == pytest.approx(math.sqrt(0.09 / 1000))
    assert accuracy_se(1.0, 10) == 0.0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        accuracy_se(1.2, 10)
    with pytest.raises(ValueError, match="positive integer"):
        accuracy_se(0.5, 0)


def test_bootstrap_of_identical_classifiers_is_exactly_zero():
    a = np.random.default_rng(1).random((5, 200)) < 0.9
    ci = paired_bootstrap(a, a.copy(), n_boot=500)
    assert ci.diff == ci.low == ci.high == 0.0 and ci.sign == 0


def test_bootstrap_interval_matches_the_binomial_standard_error_on_one_seed():
    # A right everywhere, B right on 80% of 2000 digits: the difference is 0.2 and the
    # per-digit difference is Bernoulli(0.2), so the 95% interval is 0.2 +- 1.96 sqrt(.16/n).
    n = 2000
    b = np.ones(n, dtype=bool)
    b[: n // 5] = False
    ci = paired_bootstrap(np.ones(n, dtype=bool), b, n_boot=20_000, rng=np.random.default_rng(3))
    half = 1.96 * math.sqrt(0.16 / n)
    assert ci.diff == pytest.approx(0.2)
    assert ci.low == pytest.approx(0.2 - half, abs=0.15 * half)
    assert ci.high == pytest.approx(0.2 + half, abs=0.15 * half)
    assert ci.sign == 1 and ci.level == 0.95


def test_bootstrap_widens_when_seeds_disagree():
    # B is the same network on every seed, right on about 90% of the digits. A fixes about a
    # tenth of B's mistakes: on the same digits for every seed (steady), or half of them on
    # seed 0 only (varied). Both gain about 1 point on average; only the seeds differ.
    rng = np.random.default_rng(7)
    b = np.tile(rng.random(1000) < 0.9, (5, 1))
    steady = b | (rng.random(1000) < 0.1)[None, :]
    varied = b.copy()
    varied[0] |= rng.random(1000) < 0.5
    wide = paired_bootstrap(varied, b, rng=np.random.default_rng(0))
    narrow = paired_bootstrap(steady, b, rng=np.random.default_rng(0))
    assert abs(wide.diff - narrow.diff) < 0.005
    assert wide.high - wide.low > 2 * (narrow.high - narrow.low)


def test_bootstrap_detects_a_consistent_loss_and_repeats_with_a_seed():
    rng = np.random.default_rng(11)
    a = rng.random((5, 1000)) < 0.85
    b = a | (rng.random((5, 1000)) < 0.2)  # B fixes some of A's mistakes on every seed
    ci = paired_bootstrap(a, b, rng=np.random.default_rng(5))
    assert ci.sign == -1 and ci.high < 0
    assert ci == paired_bootstrap(a, b, rng=np.random.default_rng(5))


def test_bootstrap_rejects_bad_input():
    ones = np.ones((2, 10), dtype=bool)
    with pytest.raises(ValueError, match="same shape"):
        paired_bootstrap(ones, ones[:, :5])
    with pytest.raises(ValueError, match="n_boot"):
        paired_bootstrap(ones, ones, n_boot=10)
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap(ones, ones, level=1.5)
    with pytest.raises(ValueError, match="shape"):
        paired_bootstrap(np.ones((2, 2, 2)), np.ones((2, 2, 2)))


def test_mean_bootstrap_of_real_values_matches_the_standard_error_on_one_seed():
    # One seed, per-digit differences N(0.3, 1): the interval is 0.3 +- 1.96 / sqrt(n).
    n = 4000
    rng = np.random.default_rng(4)
    b = rng.standard_normal(n)
    a = b + 0.3 + rng.standard_normal(n)
    ci = paired_bootstrap_mean(a, b, n_boot=4000, rng=np.random.default_rng(1))
    assert ci.diff == pytest.approx(float(np.mean(a - b)))
    half = 1.96 * np.std(a - b) / math.sqrt(n)
    assert ci.high - ci.low == pytest.approx(2 * half, rel=0.08)
    assert ci.sign == 1


def test_mean_bootstrap_weights_select_the_digits_each_side_averages_over():
    # A keeps the first half of the digits, B all of them: the statistic is each side's
    # accuracy on the digits it keeps, computed by hand.
    rng = np.random.default_rng(6)
    correct = rng.random((3, 400)) < 0.8
    kept_a = np.zeros((3, 400))
    kept_a[:, :200] = 1
    correct[:, :200] = True  # A keeps only digits that are right
    ci = paired_bootstrap_mean(correct, correct, weights_a=kept_a, n_boot=500)
    assert ci.diff == pytest.approx(1.0 - correct.mean())
    assert ci.low > 0


def test_mean_bootstrap_rejects_bad_input():
    x = np.ones((2, 10))
    with pytest.raises(ValueError, match="same"):
        paired_bootstrap_mean(x, x[:, :5])
    with pytest.raises(ValueError, match="finite"):
        paired_bootstrap_mean(np.full((2, 10), np.nan), x)
    with pytest.raises(ValueError, match="numbers"):
        paired_bootstrap_mean(np.full((2, 10), "a"), x)
    with pytest.raises(ValueError, match="weights_a"):
        paired_bootstrap_mean(x, x, weights_a=-x)
    with pytest.raises(ValueError, match="weights_b"):
        paired_bootstrap_mean(x, x, weights_b=np.zeros((2, 10)))
    with pytest.raises(ValueError, match="shape"):
        paired_bootstrap_mean(x, x, weights_a=np.ones(10))
    one = np.zeros(100)
    one[0] = 1  # one weighted digit in 100: about a third of the replicates miss it
    with pytest.raises(ValueError, match="too few"):
        paired_bootstrap_mean(np.ones(100), np.ones(100), weights_a=one)
    with pytest.raises(ValueError, match="n_boot"):
        paired_bootstrap_mean(x, x, n_boot=10)
    with pytest.raises(ValueError, match="level"):
        paired_bootstrap_mean(x, x, level=0.0)


def test_verdict_words_follow_the_interval():
    words = dict(above="a gain", below="a loss")
    assert verdict(BootstrapCI(0.02, 0.01, 0.03, 0.95), **words) == "a gain"
    assert verdict(BootstrapCI(-0.02, -0.03, -0.01, 0.95), **words) == "a loss"
    assert verdict(BootstrapCI(0.01, -0.01, 0.03, 0.95), **words) == "no difference we can detect"
    assert verdict(BootstrapCI(0.0, 0.0, 0.01, 0.95), **words, neither="none") == "none"
