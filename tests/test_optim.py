"""SGD: plain and momentum updates, skipping missing gradients, argument checks."""

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.optim import SGD


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
