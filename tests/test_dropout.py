"""Dropout (the module): statistics against theory, modes, edge rates, errors, the variants."""

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
    # Each output is scale * Bernoulli(1 - p), whose std is sqrt(p / (1 - p)).
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / N)
    survivors = out[out != 0]
    assert np.all(survivors == np.float32(1) / np.float32(1 - p))
    assert drop.scale == pytest.approx(1 / (1 - p), rel=1e-7)
    np.testing.assert_array_equal(out != 0, drop.mask)


def test_variance_of_inverted_dropout_is_p_over_1_minus_p(rng):
    # Var[m / (1 - p)] with m ~ Bernoulli(1 - p) is p / (1 - p): 1 at p = 0.5, 0.25 at 0.2.
    for p in (0.2, 0.5):
        out = Dropout(p, rng=rng)(Tensor(np.ones(N))).data
        var = p / (1 - p)
        # the sample variance of N draws has std about var * sqrt(2 / N) and more for skew
        assert abs(out.var() - var) < 10 * var * np.sqrt(2 / N) + 0.01 * var


def test_backward_uses_the_same_scaled_mask(rng):
    drop = Dropout(0.4, rng=rng)
    x = Tensor(rng.standard_normal((64, 32)), requires_grad=True)
    out = drop(x)
    g = rng.standard_normal((64, 32))
    out.backward(g)
    np.testing.assert_array_equal(x.grad, g * drop.mask * (1 / 0.6))
    assert np.all(x.grad[~drop.mask] == 0)


def test_eval_mode_is_identity(rng):
    drop = Dropout(0.5, rng=rng).eval()
    x = Tensor(rng.standard_normal((10, 10)))
    assert drop(x) is x


def test_p_zero_is_identity_in_training(rng):
    drop = Dropout(0.0, rng=rng)
    x = Tensor(rng.standard_normal((10, 10)), requires_grad=True)
    assert drop(x) is x
    assert drop.mask.all() and drop.mask.shape == (10, 10)


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


def test_every_example_gets_its_own_mask(rng):
    # One draw per element: rows of the same batch are not dropped alike.
    drop = Dropout(0.5, rng=rng)
    drop(Tensor(np.ones((64, 100))))
    assert len({row.tobytes() for row in drop.mask}) == 64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_keeps_the_input_dtype(dtype, rng):
    out = Dropout(0.5, rng=rng)(Tensor(np.ones((4, 4), dtype=dtype)))
    assert out.data.dtype == dtype


def test_repr():
    assert repr(Dropout(0.2)) == "Dropout(p=0.2)"


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
    x = Tensor(np.full(N, 2.0, dtype=np.float32))
    assert set(np.unique(drop(x).data)) == {0.0, 2.0}
    drop.eval()
    out = drop(x).data
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 2.0 * 0.75)


def test_variants_draw_the_same_mask_as_dropout_from_the_same_seed(rng):
    x = Tensor(np.ones((20, 30), dtype=np.float32))
    layers = [cls(0.3, rng=np.random.default_rng(4)) for cls in (Dropout, UnscaledDropout)]
    layers.append(TestTimeScaledDropout(0.3, rng=np.random.default_rng(4)))
    for layer in layers:
        layer(x)
    for layer in layers[1:]:
        np.testing.assert_array_equal(layer.mask, layers[0].mask)
