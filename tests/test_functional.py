"""functional: dropout_forward / dropout_backward on plain arrays, the CS231n way to test them."""

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.functional import (
    DropoutCache,
    apply_mask,
    dropout_backward,
    dropout_forward,
    inverted_scale,
    keep_mask,
)
from nnscratch.gradcheck import numerical_grad_array, relative_error
from nnscratch.nn import Dropout


@pytest.mark.parametrize("p", [0.25, 0.4, 0.7])
def test_cs231n_checks_train_mean_matches_test_mean_and_zero_fraction_is_p(p, rng):
    # The assignment's own check: x = randn(500, 500) + 10, compare the two modes.
    x = rng.standard_normal((500, 500)) + 10
    out_train, _ = dropout_forward(x, p, True, rng)
    out_test, _ = dropout_forward(x, p, False, rng)
    sigma = np.sqrt(p * (1 - p) / x.size)
    assert abs(np.mean(out_train == 0) - p) < 5 * sigma
    assert np.mean(out_test == 0) == 0
    # mean of x * m / (1 - p): its std over 250,000 elements is about 10 sqrt(p/(1-p)) / 500
    assert abs(out_train.mean() - out_test.mean()) < 5 * 10 * np.sqrt(p / (1 - p)) / 500


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("p", [0.2, 0.3, 0.5, 0.9])
def test_survivors_are_scaled_by_exactly_one_over_one_minus_p(p, dtype, rng):
    x = rng.standard_normal((64, 128)).astype(dtype)
    out, (mask, scale) = dropout_forward(x, p, True, rng)
    assert out.dtype == dtype and scale.dtype == dtype
    # The reciprocal in the input's type, as torch computes `noise.div_(1 - p)`.
    assert scale == dtype(1) / dtype(1 - p)
    np.testing.assert_array_equal(out[mask], x[mask] * scale)
    np.testing.assert_array_equal(out[~mask], 0)
    # CS231n's check, out = x / (1 - p) on survivors: one rounding apart at most.
    np.testing.assert_allclose(out[mask], x[mask] / (1 - p), rtol=2 * np.finfo(dtype).eps)


def test_dropout_0_2_of_ones_is_exactly_1_25():
    out, _ = dropout_forward(np.ones(1000, dtype=np.float32), 0.2, True, np.random.default_rng(0))
    assert set(np.unique(out)) == {np.float32(0), np.float32(1.25)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_mask_is_a_uniform_draw_in_the_input_type_compared_with_1_minus_p(dtype):
    p, shape = 0.3, (200, 300)
    mask = keep_mask(shape, p, np.random.default_rng(5), dtype)
    u = np.random.default_rng(5).random(shape, dtype=dtype)
    np.testing.assert_array_equal(mask, u < dtype(1 - p))


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_keep_rate_matches_1_minus_p(p, rng):
    n = 1_000_000
    kept = keep_mask((n,), p, rng).mean()
    assert abs(kept - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)


def test_backward_passes_the_forward_mask_and_scale(rng):
    x = rng.standard_normal((32, 16))
    out, cache = dropout_forward(x, 0.4, True, rng)
    dout = rng.standard_normal(x.shape)
    dx = dropout_backward(dout, cache)
    np.testing.assert_array_equal(dx, dout * cache.mask * cache.scale)
    np.testing.assert_array_equal(dx == 0, ~cache.mask)


def test_numerical_gradient_of_dropout_backward_below_1e_10():
    # The homework's check: a fixed seed makes the forward pass a fixed function of x.
    x = np.random.default_rng(231).standard_normal((10, 10)) + 10
    dout = np.random.default_rng(232).standard_normal((10, 10))

    def forward(x):
        return dropout_forward(x, 0.2, True, np.random.default_rng(123))[0]

    _, cache = dropout_forward(x, 0.2, True, np.random.default_rng(123))
    dx = dropout_backward(dout, cache)
    assert relative_error(dx, numerical_grad_array(forward, x, dout, h=1e-5)) < 1e-10


def test_module_and_functions_give_the_same_numbers_from_the_same_seed(rng):
    x = rng.standard_normal((50, 40)).astype(np.float32)
    layer = Dropout(0.35, rng=np.random.default_rng(9))
    t = Tensor(x, requires_grad=True)
    y = layer(t)
    out, cache = dropout_forward(x, 0.35, True, np.random.default_rng(9))
    np.testing.assert_array_equal(y.data, out)
    np.testing.assert_array_equal(layer.mask, cache.mask)
    g = rng.standard_normal(x.shape).astype(np.float32)
    y.backward(g)
    np.testing.assert_array_equal(t.grad, dropout_backward(g, cache))


def test_identity_cases_return_the_input_itself(rng):
    x = rng.standard_normal((4, 4))
    for p, training in ((0.5, False), (0.0, True)):
        out, cache = dropout_forward(x, p, training, rng)
        assert out is x and cache.mask is None
        assert dropout_backward(x, cache) is x
    empty = np.zeros((0, 3))
    assert dropout_forward(empty, 0.5, True, rng)[0] is empty


def test_p_one_gives_zeros_and_zero_gradient_without_warnings(rng):
    x = rng.standard_normal((5, 5))
    with np.errstate(all="raise"):
        out, cache = dropout_forward(x, 1.0, True, rng)
        dx = dropout_backward(np.ones_like(x), cache)
    assert not out.any() and not dx.any()
    assert inverted_scale(1.0) == 0


@pytest.mark.parametrize("bad", [-0.1, 1.01, float("nan"), "0.5", None, True])
def test_invalid_p_raises_naming_the_range(bad, rng):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dropout_forward(np.ones(3), bad, True, rng)


def test_mask_of_the_wrong_shape_raises_naming_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 2\)"):
        apply_mask(np.ones((2, 2)), np.ones(3, dtype=bool), 2.0)
    with pytest.raises(ValueError, match="shape"):
        dropout_backward(np.ones((2, 2)), DropoutCache(np.ones(4, dtype=bool), 2.0))
