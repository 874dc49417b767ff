"""SGD: plain, momentum and weight-decay updates, skipping missing gradients, argument checks,
max-norm."""

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


def test_weight_decay_matches_pytorch_formula():
    # PyTorch: g <- grad + wd w, then v <- mu v + g, then w <- w - lr v.
    w = Tensor(np.array([2.0, -1.0]), requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.5, weight_decay=0.2)
    w.grad = np.array([1.0, 0.0])
    opt.step()  # g = [1.4, -0.2], v = g, w = [2 - 0.14, -1 + 0.02]
    np.testing.assert_allclose(w.data, [1.86, -0.98])
    w.grad = np.array([1.0, 0.0])
    opt.step()  # g = [1 + 0.372, -0.196], v = [0.7 + 1.372, -0.1 - 0.196]
    np.testing.assert_allclose(w.data, [1.86 - 0.2072, -0.98 + 0.0296])
    assert repr(opt) == "SGD(lr=0.1, momentum=0.5, weight_decay=0.2)"


def test_weight_decay_is_the_gradient_of_an_l2_penalty(rng):
    # One step with weight_decay = lam equals one step on loss + lam / 2 ||w||^2 by autograd.
    x = rng.standard_normal((4, 3))
    start = rng.standard_normal((3, 2))
    decayed = Tensor(start.copy(), requires_grad=True)
    penalised = Tensor(start.copy(), requires_grad=True)
    out = Tensor(x) @ decayed
    (out * out).sum().backward()
    out = Tensor(x) @ penalised
    ((out * out).sum() + (penalised * penalised).sum() * (0.5 * 0.3)).backward()
    SGD([decayed], lr=0.05, weight_decay=0.3).step()
    SGD([penalised], lr=0.05).step()
    np.testing.assert_allclose(decayed.data, penalised.data, rtol=1e-12)


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
        ({"lr": 0.1, "weight_decay": -0.01}, "weight_decay"),
        ({"lr": 0.1, "weight_decay": float("inf")}, "weight_decay"),
        ({"lr": 0.1, "weight_decay": "0.1"}, "weight_decay"),
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
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_step_leaves_the_gradient_as_it_was(rng, momentum, weight_decay):
    w = Tensor(rng.standard_normal((300, 200)).astype(np.float32), requires_grad=True)
    w.grad = rng.standard_normal((300, 200)).astype(np.float32)
    before, grad = w.data.copy(), w.grad.copy()
    SGD([w], lr=0.1, momentum=momentum, weight_decay=weight_decay).step()
    np.testing.assert_array_equal(w.grad, grad)
    update = grad + np.float32(weight_decay) * before if weight_decay else grad
    np.testing.assert_array_equal(w.data, before - np.float32(0.1) * update)
