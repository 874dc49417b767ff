"""Dropout: statistics against theory, modes, edge rates, errors, and the historical variants."""

import warnings

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.nn import Dropout, TestTimeScaledDropout, UnscaledDropout

N = 1_000_000  # elements per statistical test: binomial std of a fraction is <= 5e-4


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.8])
def test_zero_fraction_mean_and_survivor_scale(p, rng):
    drop = Dropout(p, rng=rng)
    out = drop(Tensor(np.ones(N, dtype=np.float32))).data
    zero_fraction = np.mean(out == 0)
    sigma = np.sqrt(p * (1 - p) / N)
    assert abs(zero_fraction - p) < 5 * sigma
    # Each output is scale * Bernoulli(keep), whose std is sqrt(p / (1 - p)).
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / N)
    survivors = out[out != 0]
    np.testing.assert_allclose(survivors, 1 / (1 - p), rtol=1e-4)
    np.testing.assert_array_equal(out != 0, drop.mask)


@pytest.mark.parametrize("p", [0.3, 0.123456, 1e-7, 1 - 1e-7])
def test_quantised_keep_probability_stays_unbiased(p):
    drop = Dropout(p)
    q = drop.keep_prob
    assert abs(q - (1 - p)) <= 2**-16  # quantised to a multiple of 2**-16
    assert 0 < q < 1  # 0 < p < 1 never turns into keep-all or drop-all
    assert (q * 2**16).is_integer()
    # E[mask * scale] = q * (1 / q): exactly unbiased for the probability actually used.
    assert drop.train_scale() * q == pytest.approx(1.0, abs=1e-15)


def test_empirical_keep_rate_matches_quantised_probability(rng):
    drop = Dropout(0.3, rng=rng)
    mask = drop.sample_mask((N,))
    q = drop.keep_prob
    assert abs(mask.mean() - q) < 5 * np.sqrt(q * (1 - q) / N)


def test_backward_uses_the_same_scaled_mask(rng):
    drop = Dropout(0.4, rng=rng)
    x = Tensor(rng.standard_normal((64, 32)), requires_grad=True)
    out = drop(x)
    g = rng.standard_normal((64, 32))
    out.backward(g)
    np.testing.assert_allclose(x.grad, g * drop.mask / drop.keep_prob)
    assert np.all(x.grad[~drop.mask] == 0)


def test_eval_mode_is_identity(rng):
    drop = Dropout(0.5, rng=rng).eval()
    x = Tensor(rng.standard_normal((10, 10)))
    assert drop(x) is x


def test_p_zero_is_identity_in_training(rng):
    drop = Dropout(0.0, rng=rng)
    x = Tensor(rng.standard_normal((10, 10)), requires_grad=True)
    out = drop(x)
    np.testing.assert_array_equal(out.data, x.data)
    assert drop.mask.all()


def test_p_one_gives_zeros_and_zero_gradient_without_nan(rng):
    drop = Dropout(1.0, rng=rng)
    x = Tensor(rng.standard_normal((10, 10)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a division by zero would warn
        out = drop(x)
        out.backward(np.ones((10, 10)))
    assert np.all(out.data == 0) and not np.isnan(out.data).any()
    assert np.all(x.grad == 0) and not np.isnan(x.grad).any()


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf"), "0.5", None, True, [0.5]])
def test_invalid_p_raises_naming_the_range(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Dropout(bad)


def test_same_seed_same_mask_and_rng_is_public():
    a = Dropout(0.5, rng=np.random.default_rng(7))
    b = Dropout(0.5, rng=np.random.default_rng(7))
    x = Tensor(np.ones((32, 32)))
    a(x), b(x)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert isinstance(a.rng, np.random.Generator)
    a(x)
    assert not np.array_equal(a.mask, b.mask)  # a new mask on every forward pass


def test_output_keeps_float32(rng):
    out = Dropout(0.5, rng=rng)(Tensor(np.ones((4, 4), dtype=np.float32)))
    assert out.data.dtype == np.float32


def test_unscaled_variant_never_rescales(rng):
    drop = UnscaledDropout(0.5, rng=rng)
    x = Tensor(np.full(N, 2.0))
    out = drop(x).data
    assert set(np.unique(out)) == {0.0, 2.0}
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(0.25 * 4 / N)  # train mean is (1-p) x
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x.data)  # eval mean is x: the mismatch


def test_test_time_scaled_variant(rng):
    drop = TestTimeScaledDropout(0.25, rng=rng)
    x = Tensor(np.full(N, 2.0))
    assert set(np.unique(drop(x).data)) == {0.0, 2.0}
    drop.eval()
    np.testing.assert_allclose(drop(x).data, 2.0 * drop.keep_prob)
    assert drop.keep_prob == 0.75
