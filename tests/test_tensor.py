"""Tensor: backward order, accumulation, branching graphs, and which tensors get gradients."""

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.gradcheck import grad_check


def test_add_and_mul_gradients_match_central_differences(rng):
    a = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    b = Tensor(rng.standard_normal((4,)), requires_grad=True)  # broadcast over rows
    c = Tensor(rng.standard_normal((3, 4)), requires_grad=True)
    assert grad_check(lambda: ((a + b) * c - a).sum(), [a, b, c]) < 1e-7


def test_matmul_gradient_matches_central_differences(rng):
    a = Tensor(rng.standard_normal((3, 5)), requires_grad=True)
    b = Tensor(rng.standard_normal((5, 2)), requires_grad=True)
    assert grad_check(lambda: (a @ b).sum(), [a, b]) < 1e-7


def test_shared_node_gets_gradient_once_per_path():
    # z = y + y with y = 3x: dz/dx = 6, and y itself receives 1 from each path.
    x = Tensor(np.array([2.0]), requires_grad=True)
    y = x * 3.0
    z = y + y
    z.backward(np.ones(1))
    np.testing.assert_allclose(y.grad, [2.0])
    np.testing.assert_allclose(x.grad, [6.0])


def test_diamond_graph_runs_each_backward_once():
    # w -> u = 2w, v = 5w -> z = u * v = 10 w^2, dz/dw = 20 w.
    w = Tensor(np.array([1.5]), requires_grad=True)
    u, v = w * 2.0, w * 5.0
    (u * v).backward(np.ones(1))
    np.testing.assert_allclose(w.grad, [20 * 1.5])


def test_gradients_accumulate_across_backward_calls():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, [5.0, 5.0])


def test_deep_graph_has_no_recursion_limit():
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 1.0
    y.backward(np.ones(1))
    np.testing.assert_allclose(x.grad, [1.0])


def test_inputs_without_requires_grad_get_no_gradient_and_no_graph():
    x = Tensor(np.ones((2, 2)))
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    out = x @ w
    out.sum().backward()
    assert x.grad is None
    assert w.grad is not None
    constant = x @ x
    assert not constant.requires_grad and constant._parents == ()


def test_backward_seeds_scalar_with_one_and_needs_grad_otherwise():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    s = x.sum()
    s.backward()
    np.testing.assert_allclose(x.grad, [1.0, 1.0])
    with pytest.raises(ValueError, match="non-scalar"):
        (x * 2.0).backward()
    with pytest.raises(ValueError, match="shape"):
        (x * 2.0).backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(2)).backward(np.ones(2))


def test_integer_data_becomes_float_and_floats_keep_dtype():
    assert Tensor([1, 2]).data.dtype == np.float64
    assert Tensor(np.ones(2, dtype=np.float32)).data.dtype == np.float32
