"""stats: McNemar and the intervals against hand-computed values, scipy.stats and simulation."""

import math

import numpy as np
import pytest
import scipy.stats

from nnscratch.stats import (
    PairedCI,
    accuracy_se,
    family_signs,
    holm,
    mcnemar,
    paired_interval,
    paired_interval_mean,
    t_quantile,
    t_sf,
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
    with pytest.raises(ValueError, match="paired_interval"):
        mcnemar(np.ones((2, 3)), np.ones((2, 3)))


def test_accuracy_se():
    assert accuracy_se(0.9, 1000) == pytest.approx(math.sqrt(0.09 / 1000))
    assert accuracy_se(1.0, 10) == 0.0
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        accuracy_se(1.2, 10)
    with pytest.raises(ValueError, match="positive integer"):
        accuracy_se(0.5, 0)


def test_mcnemar_equals_scipys_exact_binomial_test():
    for only_a, only_b in [(0, 1), (3, 9), (17, 4), (40, 60), (250, 205), (12, 12)]:
        expected = scipy.stats.binomtest(only_a, only_a + only_b, 0.5).pvalue
        assert mcnemar(*pair(only_a, only_b)).p_value == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("df", [1, 2, 4, 4.6, 9, 37.5, 998, 4995, 1e5, math.inf])
def test_t_distribution_matches_scipy(df):
    for t in (-4.0, -1.0, 0.0, 0.3, 1.96, 2.776, 8.0, 60.0):
        assert t_sf(t, df) == pytest.approx(scipy.stats.t.sf(t, df), rel=1e-9, abs=1e-300)
    for q in (0.5001, 0.6, 0.9, 0.975, 0.995, 0.9999, 0.025):
        assert t_quantile(q, df) == pytest.approx(scipy.stats.t.ppf(q, df), rel=1e-10, abs=1e-12)
    with pytest.raises(ValueError, match="q must be"):
        t_quantile(1.0, df)


def test_one_seed_is_scipys_paired_t_interval():
    rng = np.random.default_rng(4)
    b = rng.standard_normal(400)
    a = b + 0.2 + rng.standard_normal(400)
    ci = paired_interval_mean(a, b)
    reference = scipy.stats.ttest_rel(a, b)
    low, high = reference.confidence_interval(0.95)
    assert (ci.low, ci.high) == pytest.approx((low, high), rel=1e-10)
    assert ci.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert ci.df == 399 and ci.diff == pytest.approx(float(np.mean(a - b)))


def test_seeds_that_differ_only_by_a_constant_give_the_t_interval_over_seeds():
    # Each seed's difference is the same on every digit: only the seeds vary, and the interval
    # is the one-sample t interval of the 5 seed means with 4 degrees of freedom.
    seed_means = np.array([0.012, 0.004, 0.009, -0.003, 0.015])
    d = np.repeat(seed_means[:, None], 300, axis=1)
    ci = paired_interval_mean(d, np.zeros_like(d))
    reference = scipy.stats.ttest_1samp(seed_means, 0.0)
    assert (ci.low, ci.high) == pytest.approx(tuple(reference.confidence_interval(0.95)))
    assert ci.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert ci.df == pytest.approx(4)


def test_identical_seeds_give_the_t_interval_over_digits():
    # Every seed makes the same per-digit differences: only the digits vary.
    rng = np.random.default_rng(8)
    row_a, row_b = rng.random(500) < 0.9, rng.random(500) < 0.88
    ci = paired_interval(np.tile(row_a, (5, 1)), np.tile(row_b, (5, 1)))
    low, high = scipy.stats.ttest_rel(row_a * 1.0, row_b * 1.0).confidence_interval(0.95)
    assert (ci.low, ci.high) == pytest.approx((low, high), rel=1e-9)


def test_identical_classifiers_give_a_zero_interval():
    a = np.random.default_rng(1).random((5, 200)) < 0.9
    ci = paired_interval(a, a.copy())
    assert ci.diff == ci.low == ci.high == 0.0 and ci.sign == 0 and ci.p_value == 1.0


def test_interval_widens_when_seeds_disagree():
    # B is the same network on every seed, right on about 90% of the digits. A fixes about a
    # tenth of B's mistakes: on the same digits for every seed (steady), or half of them on
    # seed 0 only (varied). Both gain about 1 point on average; only the seeds differ.
    rng = np.random.default_rng(7)
    b = np.tile(rng.random(1000) < 0.9, (5, 1))
    steady = b | (rng.random(1000) < 0.1)[None, :]
    varied = b.copy()
    varied[0] |= rng.random(1000) < 0.5
    wide, narrow = paired_interval(varied, b), paired_interval(steady, b)
    assert abs(wide.diff - narrow.diff) < 0.005
    assert wide.high - wide.low > 2 * (narrow.high - narrow.low)
    assert wide.df < 6 < 100 < narrow.df  # seeds dominate one, digits the other
    assert narrow.sign == 1 and wide.sign == 0


def _paired_runs(rng, seeds, n, seed_spread, digit_spread, shift):
    """Correctness of A and B over `seeds` paired seeds and `n` test digits, with a known
    difference over the populations of seeds and digits: `shift * E[q]`.

    Digit i is contested (exactly one network right) with probability q_i ~ 0.3 Beta(0.3, 3),
    2.7% on average, as the book's pairs of networks disagree on 2-5% of the digits. When
    contested, A is the one right with probability (1 + shift + a_s + g_i) / 2: a seed effect
    a_s ~ U(-seed_spread, seed_spread) and a digit effect g_i ~ U(-digit_spread, digit_spread).
    Otherwise both are right (90%) or both wrong.
    """
    q = 0.3 * rng.beta(0.3, 3.0, n)
    g = rng.uniform(-digit_spread, digit_spread, n)
    a = rng.uniform(-seed_spread, seed_spread, (seeds, 1))
    contested = rng.random((seeds, n)) < q
    a_wins = rng.random((seeds, n)) < (1 + shift + a + g) / 2
    base = rng.random((seeds, n)) < 0.9
    return np.where(contested, a_wins, base), np.where(contested, ~a_wins, base)


@pytest.mark.parametrize("seeds", [5, 10])
@pytest.mark.parametrize(
    "seed_spread, digit_spread",
    [(0.5, 0.3), (0.26, 0.4), (0.0, 0.6)],
    ids=["seeds-vary", "book-like", "digits-vary"],
)
def test_interval_covers_a_known_difference_at_its_nominal_rate(seeds, seed_spread, digit_spread):
    # 2,000 simulated experiments, each with new seeds and new test digits: the 95% interval
    # must contain the true difference in at least 93% of them. (The percentile bootstrap the
    # book used before covered 85-89% at 5 seeds when seeds vary; see the stats module.)
    shift = 0.2
    truth = shift * 0.3 * 0.3 / 3.3  # shift * E[q], E[Beta(0.3, 3)] = 0.3 / 3.3
    rng = np.random.default_rng(2000 + seeds)
    covered = 0
    for _ in range(2000):
        a, b = _paired_runs(rng, seeds, 1000, seed_spread, digit_spread, shift)
        ci = paired_interval(a, b)
        covered += ci.low <= truth <= ci.high
    assert 0.93 <= covered / 2000 <= 0.985


def test_interval_repeats_exactly():
    rng = np.random.default_rng(11)
    a = rng.random((5, 1000)) < 0.85
    b = a | (rng.random((5, 1000)) < 0.2)  # B fixes some of A's mistakes on every seed
    ci = paired_interval(a, b)
    assert ci.sign == -1 and ci.high < 0 and ci.p_value < 0.05
    assert ci == paired_interval(a, b)


def test_interval_p_value_agrees_with_the_interval():
    rng = np.random.default_rng(12)
    for _ in range(50):
        a = rng.random((5, 300)) < 0.9
        b = rng.random((5, 300)) < 0.9
        ci = paired_interval(a, b)
        assert (ci.sign != 0) == (ci.p_value < 0.05)


def test_interval_rejects_bad_input():
    ones = np.ones((2, 10), dtype=bool)
    with pytest.raises(ValueError, match="same shape"):
        paired_interval(ones, ones[:, :5])
    with pytest.raises(ValueError, match="level"):
        paired_interval(ones, ones, level=1.5)
    with pytest.raises(ValueError, match="shape"):
        paired_interval(np.ones((2, 2, 2)), np.ones((2, 2, 2)))


def test_mean_interval_weights_select_the_digits_each_side_averages_over():
    # A keeps the first half of the digits, B all of them: the statistic is each side's
    # accuracy on the digits it keeps, computed by hand.
    rng = np.random.default_rng(6)
    correct = rng.random((3, 400)) < 0.8
    kept_a = np.zeros((3, 400))
    kept_a[:, :200] = 1
    correct[:, :200] = True  # A keeps only digits that are right
    ci = paired_interval_mean(correct, correct, weights_a=kept_a)
    assert ci.diff == pytest.approx(1.0 - correct.mean())
    assert ci.low > 0


def test_mean_interval_weights_match_the_delta_method_on_one_seed():
    # One seed: the linearised ratio is the textbook delta-method standard error of a ratio
    # of means, sum(w (v - R))^2 / (n - 1) / n / mean(w)^2.
    rng = np.random.default_rng(9)
    v, w = rng.random(600), (rng.random(600) < 0.7) * 1.0
    ci = paired_interval_mean(v, np.zeros(600), weights_a=w)
    ratio = np.sum(w * v) / np.sum(w)
    z = w * (v - ratio) / w.mean()
    assert ci.diff == pytest.approx(ratio)
    assert ci.se == pytest.approx(np.std(z, ddof=1) / math.sqrt(600), rel=1e-12)


def test_mean_interval_rejects_bad_input():
    x = np.ones((2, 10))
    with pytest.raises(ValueError, match="same"):
        paired_interval_mean(x, x[:, :5])
    with pytest.raises(ValueError, match="finite"):
        paired_interval_mean(np.full((2, 10), np.nan), x)
    with pytest.raises(ValueError, match="numbers"):
        paired_interval_mean(np.full((2, 10), "a"), x)
    with pytest.raises(ValueError, match="weights_a"):
        paired_interval_mean(x, x, weights_a=-x)
    with pytest.raises(ValueError, match="weights_b"):
        paired_interval_mean(x, x, weights_b=np.zeros((2, 10)))
    with pytest.raises(ValueError, match="shape"):
        paired_interval_mean(x, x, weights_a=np.ones(10))
    with pytest.raises(ValueError, match="level"):
        paired_interval_mean(x, x, level=0.0)
    with pytest.raises(ValueError, match="two values"):
        paired_interval_mean([1.0], [0.0])


def test_holm_matches_the_step_down_by_hand():
    # Sorted 0.01, 0.02, 0.03, 0.04 times 4, 3, 2, 1: 0.04, 0.06, 0.06 (kept >= the one
    # before), 0.06 (kept >= the one before); returned in the order given.
    adjusted = holm([0.03, 0.01, 0.04, 0.02])
    np.testing.assert_allclose(adjusted, [0.06, 0.04, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])
    np.testing.assert_allclose(holm([0.2]), [0.2])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        holm([0.1, 1.5])
    with pytest.raises(ValueError, match="non-empty"):
        holm([])


def test_holm_keeps_the_familys_false_findings_at_five_percent():
    # Five comparisons where nothing differs: uniform p-values. Unadjusted, some test falls
    # under 0.05 in about 1 - 0.95^5 = 23% of families; after Holm, in at most 5%.
    rng = np.random.default_rng(13)
    p = rng.random((20_000, 5))
    raw = (p < 0.05).any(axis=1).mean()
    adjusted = np.array([(holm(row) < 0.05).any() for row in p]).mean()
    assert raw == pytest.approx(1 - 0.95**5, abs=0.01)
    assert adjusted == pytest.approx(0.05, abs=0.006)


def test_family_signs_follow_holm():
    loss = PairedCI(-0.02, -0.03, -0.01, 0.95, 0.005, 4, 0.001)
    weak = PairedCI(0.01, 0.001, 0.02, 0.95, 0.004, 4, 0.03)  # holds alone, not in the family
    none = PairedCI(0.004, -0.01, 0.02, 0.95, 0.006, 4, 0.2)
    # Holm: 0.001 * 3 = 0.003, 0.03 * 2 = 0.06, 0.2 * 1 = 0.2.
    assert family_signs([loss, weak, none]) == [-1, 0, 0]
    assert family_signs([weak]) == [1]
    assert family_signs([weak, loss]) == [1, -1]  # 0.002, then max(0.03, 0.002)


def test_verdict_words_follow_the_interval():
    words = dict(above="a gain", below="a loss")
    assert verdict(PairedCI(0.02, 0.01, 0.03, 0.95), **words) == "a gain"
    assert verdict(PairedCI(-0.02, -0.03, -0.01, 0.95), **words) == "a loss"
    assert verdict(PairedCI(0.01, -0.01, 0.03, 0.95), **words) == "no difference we can detect"
    assert verdict(PairedCI(0.0, 0.0, 0.01, 0.95), **words, neither="none") == "none"


def test_verdict_takes_a_family_sign_and_rejects_anything_else():
    assert [verdict(s) for s in (1, 0, -1)] == [
        "a gain",
        "no difference we can detect",
        "a loss",
    ]
    signs = family_signs([PairedCI(0.02, 0.01, 0.03, 0.95, p_value=0.001)])
    assert verdict(signs[0], above="ahead") == "ahead"
    for bad in (2, True, 0.5, "gain"):
        with pytest.raises(ValueError, match="result must be a PairedCI or a sign"):
            verdict(bad)
