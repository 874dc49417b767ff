"""Linear regression with inverted dropout on its inputs, averaged over the masks in closed form.

A linear model `y_hat = x . w + b` trained with inverted dropout on its `D` inputs sees
`x~_j = m_j x_j / (1 - p)` with `m_j ~ Bernoulli(1 - p)`, so `E[x~_j] = x_j` and
`Var[x~_j] = x_j^2 p / (1 - p)`. The squared error of one example, averaged over its mask, is

    E_m[(y - x~ . w - b)^2] = (y - x . w - b)^2 + p / (1 - p) * sum_j w_j^2 x_j^2

(the mean of the prediction is the mask-free one; its variance adds the second term). Summed
over the `N` training examples, dropout's expected loss is the plain squared loss plus the
penalty `p / (1 - p) * sum_j w_j^2 sum_i x_ij^2`: a ridge penalty whose strength for weight
`j` grows with the energy `sum_i x_ij^2` of input `j` (Srivastava et al., 2014, §9, there
written with the keep probability; Wager et al., 2013). The bias is never dropped, so it is
not penalised.

Minimising the expected mean loss is a linear system,

    (A^T A + diag(lam * sum_i x_ij^2, 0)) theta = A^T y,   A = [X, 1],  theta = (w, b),

with `lam = p / (1 - p)`; `ridge` solves the same system with `alpha` on every weight instead.
"""

from __future__ import annotations

import numpy as np

from .functional import check_p

__all__ = ["dropout_penalty", "dropout_regression", "expected_dropout_mse", "ridge"]


def _data(X: np.ndarray, y: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must be (N, D) with N, D >= 1, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values")
    if y is None:
        return X, None
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) for X {X.shape}, got {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("y contains NaN or infinite values")
    return X, y


def _train_p(p: float) -> float:
    p = check_p(p)
    if p >= 1.0:
        raise ValueError(f"p must be in [0, 1) for regression with dropout, got {p}")
    return p


def _weights(w: np.ndarray, d: int) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)
    if w.shape != (d,):
        raise ValueError(f"w must have shape ({d},), one weight per input, got {w.shape}")
    return w


def dropout_penalty(w: np.ndarray, X: np.ndarray, p: float) -> float:
    """`p / (1 - p) * sum_j w_j^2 * sum_i x_ij^2`: what dropout adds to the summed squared loss.

    Args:
        w: weights `(D,)`.
        X: inputs `(N, D)`.
        p: drop probability of every input, in [0, 1).
    """
    X, _ = _data(X)
    p = _train_p(p)
    w = _weights(w, X.shape[1])
    return float(p / (1.0 - p) * np.sum(w**2 * np.sum(X**2, axis=0)))


def expected_dropout_mse(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray, p: float) -> float:
    """The mean squared error of `x~ . w + b` averaged over all dropout masks of the inputs.

    Args:
        w: weights `(D,)`; b: the bias (never dropped).
        X: inputs `(N, D)`; y: targets `(N,)`.
        p: drop probability of every input, in [0, 1).

    Returns:
        `(||y - X w - b||^2 + dropout_penalty(w, X, p)) / N`, exactly what `MSELoss` on a
        `Dropout(p)` -> `Linear(D, 1)` model gives on average over the masks.
    """
    X, y = _data(X, y)
    w = _weights(w, X.shape[1])
    residual = y - X @ w - float(b)
    return float((residual @ residual + dropout_penalty(w, X, p)) / len(y))


def _solve(X: np.ndarray, y: np.ndarray, penalties: np.ndarray) -> tuple[np.ndarray, float]:
    """Minimise `||y - X w - b||^2 + sum_j penalties_j w_j^2` over `w` and an unpenalised `b`."""
    A = np.column_stack([X, np.ones(len(X))])
    gram = A.T @ A
    gram[np.arange(X.shape[1]), np.arange(X.shape[1])] += penalties
    theta = np.linalg.solve(gram, A.T @ y)
    return theta[:-1], float(theta[-1])


def dropout_regression(X: np.ndarray, y: np.ndarray, p: float) -> tuple[np.ndarray, float]:
    """The weights and bias that minimise `expected_dropout_mse`, in closed form.

    Args:
        X: inputs `(N, D)`; y: targets `(N,)`.
        p: drop probability of every input, in [0, 1); 0 gives least squares.

    Returns:
        `(w, b)`: `w` `(D,)` and the bias, solving
        `(A^T A + diag(p/(1-p) * sum_i x_ij^2, 0)) (w, b) = A^T y` with `A = [X, 1]`.
    """
    X, y = _data(X, y)
    p = _train_p(p)
    return _solve(X, y, p / (1.0 - p) * np.sum(X**2, axis=0))


def ridge(X: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge regression with an unpenalised bias: minimise `||y - X w - b||^2 + alpha ||w||^2`.

    Args:
        X: inputs `(N, D)`; y: targets `(N,)`.
        alpha: the same penalty on every weight, >= 0.

    Returns:
        `(w, b)`, `w` of shape `(D,)`.
    """
    X, y = _data(X, y)
    if not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    return _solve(X, y, np.full(X.shape[1], float(alpha)))
