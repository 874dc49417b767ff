"""Stochastic gradient descent, optionally with momentum, weight decay and a max-norm constraint."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .tensor import Tensor


class SGD:
    """Update each parameter against its gradient.

    Args:
        parameters: the tensors to update (usually `model.parameters()`).
        lr: learning rate, > 0.
        momentum: in [0, 1). With momentum `mu`, `v <- mu v + grad` and `w <- w - lr v`
            (PyTorch's form); with 0 this is plain `w <- w - lr grad`.
        weight_decay: >= 0, the L2 penalty's coefficient `lam`: `lam w` is added to the
            gradient before momentum, which is the gradient of `lam / 2 ||w||^2` added to the
            loss (PyTorch's `weight_decay`, applied like PyTorch to every parameter given,
            biases included; pass two groups as two optimizers to spare the biases).
        max_norm: if given (> 0), after every step each row of every 2-D parameter is
            projected back into the ball of radius `max_norm` (`max_norm_`): for a `Linear`
            weight `(out, in)` that bounds the norm of each unit's incoming weights, the
            max-norm constraint of Srivastava et al. (2014, section 5.1). Biases are free.
            A stacked parameter (`Tensor.stacked`) counts as 2-D if each member's is:
            weights `(K, out, in)` are constrained, biases `(K, out)` are not.
    """

    def __init__(
        self,
        parameters: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        max_norm: float | None = None,
        weight_decay: float = 0.0,
    ) -> None:
        self.parameters = list(parameters)
        if not self.parameters:
            raise ValueError("SGD got an empty parameter list")
        if not (isinstance(lr, (int, float)) and lr > 0 and np.isfinite(lr)):
            raise ValueError(f"lr must be a positive finite number, got {lr!r}")
        if not (isinstance(momentum, (int, float)) and 0.0 <= momentum < 1.0):
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        if not (
            isinstance(weight_decay, (int, float))
            and weight_decay >= 0
            and np.isfinite(weight_decay)
        ):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
        if max_norm is not None and not (
            isinstance(max_norm, (int, float)) and max_norm > 0 and np.isfinite(max_norm)
        ):
            raise ValueError(f"max_norm must be None or a positive finite number, got {max_norm!r}")
        self.lr = float(lr)
        self.momentum = float(momentum)
        self.max_norm = None if max_norm is None else float(max_norm)
        self.weight_decay = float(weight_decay)
        self._velocity: list[np.ndarray | None] = [None] * len(self.parameters)

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        for i, p in enumerate(self.parameters):
            if p.grad is None:
                continue
            update = p.grad
            if self.weight_decay:  # a new array: the gradient itself is left as backward made it
                update = update + self.weight_decay * p.data
            if self.momentum:
                v = self._velocity[i]
                if v is None:
                    v = self._velocity[i] = update.copy()
                else:  # v <- mu v + grad, in place: the velocity belongs to the optimizer
                    v *= self.momentum
                    v += update
                update = v
            p.data -= self.lr * update
            if self.max_norm is not None and p.data.ndim - p.stacked == 2:  # a matrix
                max_norm_(p.data, self.max_norm)

    def zero_grad(self) -> None:
        """Forget the gradients of the last backward pass."""
        for p in self.parameters:
            p.grad = None

    def __repr__(self) -> str:
        extra = "" if self.max_norm is None else f", max_norm={self.max_norm}"
        extra += f", weight_decay={self.weight_decay}" if self.weight_decay else ""
        return f"SGD(lr={self.lr}, momentum={self.momentum}{extra})"


def max_norm_(weight: np.ndarray, max_norm: float, axis: int = -1) -> np.ndarray:
    """Project each row of `weight` into the ball of radius `max_norm`, in place.

    Args:
        weight: e.g. a `Linear` weight `(out, in)`: row `j` holds unit `j`'s incoming weights.
        max_norm: the largest allowed L2 norm of a row, > 0.
        axis: the axis the norm is taken over (`-1`, the last: rows; `1` for a stack
            `(K, in, out)` of transposed weights).

    Returns:
        `weight`, with every row whose norm exceeds `max_norm` rescaled to norm `max_norm`
        (`w <- w * c / ||w||`) and the other rows untouched (multiplied by exactly 1).
    """
    if not (max_norm > 0 and np.isfinite(max_norm)):
        raise ValueError(f"max_norm must be a positive finite number, got {max_norm!r}")
    norms = np.sqrt(np.sum(weight * weight, axis=axis, keepdims=True))
    # c / max(norm, c) is 1 inside the ball and c / norm outside; never a division by 0
    weight *= (max_norm / np.maximum(norms, max_norm)).astype(weight.dtype, copy=False)
    return weight
