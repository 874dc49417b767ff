"""SGD: plain and momentum updates, skipping missing gradients, argument checks, max-norm."""

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.optim import SGD, max_norm_


def test_plain_step():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w.grad = np.array([0.5, -1.0])
    SGD([w], lr=0.1).step()
    np.testing.assert_allclose(w.data, [0.95, 2.1])


def test_momentum_matches_pytorch_formula():
    w = Tensor(np.array([1.0]), requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    w.grad = np.array([1.0])
    opt.step()  # v = 1, w = 1 - 0.1
    w.grad = np.array([1.0])
    opt.step()  # v = 0.9 + 1 = 1.9, w = 0.9 - 0.19
    np.testing.assert_allclose(w.data, [0.71])


def test_parameters_without_grad_are_left_alone_and_zero_grad_clears():
    a = Tensor(np.array([1.0]), requires_grad=True)
    b = Tensor(np.array([1.0]), requires_grad=True)
    a.grad = np.array([1.0])
    opt = SGD([a, b], lr=1.0)
    opt.step()
    assert a.data[0] == 0.0 and b.data[0] == 1.0
    opt.zero_grad()
    assert a.grad is None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"lr": 0}, "lr"),
        ({"lr": -1}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"lr": 0.1, "momentum": 1.0}, "momentum"),
        ({"lr": 0.1, "momentum": -0.1}, "momentum"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SGD([Tensor(np.zeros(1), requires_grad=True)], **kwargs)


def test_empty_parameter_list():
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)


def test_max_norm_projects_only_the_rows_outside_the_ball(rng):
    w = rng.standard_normal((6, 10))
    w[2] *= 0.01  # well inside
    before = w.copy()
    norms = np.linalg.norm(before, axis=1)
    max_norm_(w, 1.5)
    after = np.linalg.norm(w, axis=1)
    outside = norms > 1.5
    assert outside.any() and (~outside).any()
    np.testing.assert_allclose(after[outside], 1.5, rtol=1e-12)
    np.testing.assert_array_equal(w[~outside], before[~outside])  # untouched, bit for bit
    np.testing.assert_allclose(
        w[outside] / after[outside, None], before[outside] / norms[outside, None], rtol=1e-12
    )
    # axis=1 on a stack (K, in, out): the columns are the units' incoming weights
    stack = np.stack([before.T, before.T])
    max_norm_(stack, 1.5, axis=1)
    np.testing.assert_allclose(stack[1].T, w, rtol=1e-12)
    with pytest.raises(ValueError, match="max_norm"):
        max_norm_(w, 0.0)


def test_sgd_max_norm_constrains_weights_after_each_step_and_leaves_biases(rng):
    w = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = Tensor(np.full(4, 10.0), requires_grad=True)
    opt = SGD([w, b], lr=1.0, momentum=0.5, max_norm=0.5)
    w.grad, b.grad = rng.standard_normal((4, 3)), np.zeros(4)
    opt.step()
    assert np.all(np.linalg.norm(w.data, axis=1) <= 0.5 * (1 + 1e-12))
    assert np.all(b.data == 10.0)  # a 1-D parameter is not constrained
    assert repr(opt) == "SGD(lr=1.0, momentum=0.5, max_norm=0.5)"
    for bad in (0, -1.0, float("inf"), "3"):
        with pytest.raises(ValueError, match="max_norm"):
            SGD([w], lr=0.1, max_norm=bad)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_step_leaves_the_gradient_as_it_was(rng, momentum):
    w = Tensor(rng.standard_normal((300, 200)).astype(np.float32), requires_grad=True)
    w.grad = rng.standard_normal((300, 200)).astype(np.float32)
    before, grad = w.data.copy(), w.grad.copy()
    SGD([w], lr=0.1, momentum=momentum).step()
    np.testing.assert_array_equal(w.grad, grad)
    np.testing.assert_array_equal(w.data, before - np.float32(0.1) * grad)
