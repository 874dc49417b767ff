"""Numerical gradient checks: compare backward() with central differences.

For a scalar function L of an array x, the central difference
`(L(x + h e_i) - L(x - h e_i)) / 2h` approximates dL/dx_i with error O(h^2). In float64 with
h around 1e-6 the two should agree to about 1e-8 relative error; a wrong backward formula
is usually off by order 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .tensor import Tensor


def numerical_grad(f: Callable[[], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """dF/dx by central differences, perturbing `x` in place one element at a time."""
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = f()
        flat[i] = old - h
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def numerical_grad_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """dL/dx for `L = sum(f(x) * dout)`, by central differences of the whole output array.

    CS231n's `eval_numerical_gradient_array`: the two outputs are subtracted element by
    element before they are weighted by `dout` and summed, so the cancellation happens on
    single elements rather than on a large sum, which keeps the rounding error near 1e-11.
    `x` is perturbed in place and restored.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = np.array(f(x), dtype=np.float64)
        flat[i] = old - h
        minus = np.array(f(x), dtype=np.float64)
        flat[i] = old
        gflat[i] = np.sum((plus - minus) * dout) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(|a|, |b|) over all elements (0 when both are zero)."""
    scale = max(np.abs(a).max(initial=0.0), np.abs(b).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(a - b).max() / scale)


def grad_check(loss: Callable[[], Tensor], tensors: list[Tensor], h: float = 1e-6) -> float:
    """Largest relative error between backward() and central differences.

    Args:
        loss: builds the scalar loss from scratch each call (a fresh graph), reading the
            current values of `tensors`. Anything random in it must repeat exactly (e.g. a
            fixed dropout mask).
        tensors: float64 tensors with `requires_grad=True` whose gradients are checked.
        h: finite-difference step.

    Returns:
        The maximum over `tensors` of `relative_error(analytic, numerical)`.
    """
    for t in tensors:
        if t.data.dtype != np.float64:
            raise ValueError(f"grad_check needs float64 tensors, got {t.data.dtype}")
        t.grad = None
    loss().backward()
    analytic = [np.zeros_like(t.data) if t.grad is None else t.grad.copy() for t in tensors]
    errors = []
    for t, a in zip(tensors, analytic, strict=True):
        numeric = numerical_grad(lambda: float(loss().data), t.data, h)
        errors.append(relative_error(a, numeric))
    return max(errors)
