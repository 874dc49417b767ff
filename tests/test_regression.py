"""regression: dropout on the inputs of a linear model, averaged over the masks exactly."""

import itertools

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.losses import MSELoss
from nnscratch.nn import Dropout, Linear, Sequential
from nnscratch.regression import (
    dropout_penalty,
    dropout_regression,
    expected_dropout_mse,
    ridge,
)


def data(rng, n=30, scales=(0.5, 1.0, 4.0)):
    X = rng.standard_normal((n, len(scales))) * np.array(scales)
    y = X @ np.array([2.0, -1.0, 0.3]) + 0.5 + 0.3 * rng.standard_normal(n)
    return X, y


@pytest.mark.parametrize("p", [0.2, 0.5, 0.75])
def test_expected_mse_equals_the_average_over_every_mask(rng, p):
    # Two examples with three inputs each: 2**6 joint masks, enumerated.
    X, y = data(rng, n=2)
    w, b = rng.standard_normal(3), 0.7
    total = 0.0
    for bits in itertools.product([0, 1], repeat=6):
        mask = np.array(bits, dtype=float).reshape(2, 3)
        prob = np.prod(np.where(mask == 1, 1 - p, p))
        residual = y - (X * mask / (1 - p)) @ w - b
        total += prob * np.mean(residual**2)
    assert expected_dropout_mse(w, b, X, y, p) == pytest.approx(total, rel=1e-12)


def test_expected_mse_is_what_the_package_dropout_layer_gives_on_average(rng):
    X, y = data(rng, n=40)
    model = Sequential([Dropout(0.4, rng=rng), Linear(3, 1, rng=rng, dtype=np.float64)])
    w, b = model[1].weight.data[0], float(model[1].bias.data[0])
    losses = [float(MSELoss()(model(Tensor(X)), y[:, None]).data) for _ in range(20_000)]
    expected = expected_dropout_mse(w, b, X, y, 0.4)
    assert np.mean(losses) == pytest.approx(expected, rel=0.01)


def test_penalty_formula():
    X = np.array([[1.0, 2.0], [3.0, -1.0]])
    # p/(1-p) = 1/3; sum_i x_i1^2 = 10, sum_i x_i2^2 = 5
    assert dropout_penalty(np.array([2.0, 3.0]), X, 0.25) == pytest.approx((4 * 10 + 9 * 5) / 3)
    assert dropout_penalty(np.array([2.0, 3.0]), X, 0.0) == 0.0


def test_closed_form_minimises_the_expected_loss(rng):
    X, y = data(rng)
    w, b = dropout_regression(X, y, 0.5)
    best = expected_dropout_mse(w, b, X, y, 0.5)
    # The gradient vanishes (central differences) ...
    eps = 1e-6
    theta = np.append(w, b)
    for j in range(4):
        step = np.zeros(4)
        step[j] = eps
        up = expected_dropout_mse((theta + step)[:3], (theta + step)[3], X, y, 0.5)
        down = expected_dropout_mse((theta - step)[:3], (theta - step)[3], X, y, 0.5)
        assert abs(up - down) / (2 * eps) < 1e-6
    # ... and every nearby point is worse (the loss is a convex quadratic).
    for _ in range(20):
        other = theta + 0.01 * rng.standard_normal(4)
        assert expected_dropout_mse(other[:3], other[3], X, y, 0.5) > best


def test_p_zero_and_alpha_zero_are_least_squares(rng):
    X, y = data(rng)
    A = np.column_stack([X, np.ones(len(X))])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    for w, b in (dropout_regression(X, y, 0.0), ridge(X, y, 0.0)):
        np.testing.assert_allclose(np.append(w, b), theta, rtol=1e-10)


def test_ridge_matches_its_normal_equations(rng):
    X, y = data(rng)
    w, b = ridge(X, y, 3.0)
    # The gradient of ||y - Xw - b||^2 + 3 ||w||^2 vanishes.
    residual = y - X @ w - b
    np.testing.assert_allclose(-2 * X.T @ residual + 6 * w, 0, atol=1e-9)
    assert abs(residual.sum()) < 1e-9


def test_dropout_fit_ignores_the_scale_of_an_input_but_ridge_does_not(rng):
    X, y = data(rng)
    X_scaled = X * np.array([10.0, 1.0, 0.1])
    for p in (0.3, 0.6):
        w, b = dropout_regression(X, y, p)
        w2, b2 = dropout_regression(X_scaled, y, p)
        np.testing.assert_allclose(X @ w + b, X_scaled @ w2 + b2, rtol=1e-10)
    w, b = ridge(X, y, 5.0)
    w2, b2 = ridge(X_scaled, y, 5.0)
    assert np.abs((X @ w + b) - (X_scaled @ w2 + b2)).max() > 1e-2


def test_bad_input_is_refused(rng):
    X, y = data(rng)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        dropout_regression(X, y, 1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dropout_penalty(np.ones(3), X, -0.1)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        dropout_regression(X[:, 0], y, 0.5)
    with pytest.raises(ValueError, match="y must have shape"):
        dropout_regression(X, y[:-1], 0.5)
    with pytest.raises(ValueError, match="w must have shape"):
        expected_dropout_mse(np.ones(2), 0.0, X, y, 0.5)
    with pytest.raises(ValueError, match="NaN"):
        dropout_regression(X * np.nan, y, 0.5)
    with pytest.raises(ValueError, match="alpha"):
        ridge(X, y, -1.0)
