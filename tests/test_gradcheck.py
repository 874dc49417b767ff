"""The gradient checker itself must catch a wrong backward."""

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.gradcheck import grad_check, numerical_grad, numerical_grad_array, relative_error


def test_numerical_grad_of_a_quadratic():
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(numerical_grad(lambda: float(np.sum(x**2)), x), 2 * x, rtol=1e-8)


def test_detects_a_wrong_backward():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)

    def wrong_square():
        def backward(g):
            x.accumulate(g * x.data)  # should be 2 x

        return Tensor.from_op(np.asarray(np.sum(x.data**2)), (x,), backward)

    assert grad_check(wrong_square, [x]) > 0.4


def test_relative_error_and_dtype_check():
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0
    assert relative_error(np.array([1.0]), np.array([1.1])) == pytest.approx(0.1 / 1.1)
    with pytest.raises(ValueError, match="float64"):
        grad_check(lambda: None, [Tensor(np.ones(2, dtype=np.float32), requires_grad=True)])


def test_numerical_grad_array_of_a_known_function():
    # f(x) = x**2 elementwise, L = sum(f(x) * dout): dL/dx = 2 x dout.
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    before = x.copy()
    grad = numerical_grad_array(lambda v: v**2, x, dout)
    np.testing.assert_allclose(grad, 2 * x * dout, rtol=1e-8)
    np.testing.assert_array_equal(x, before)  # restored after the perturbations
