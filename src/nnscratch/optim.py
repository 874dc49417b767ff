"""Stochastic gradient descent, optionally with momentum."""

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
    """

    def __init__(self, parameters: Iterable[Tensor], lr: float, momentum: float = 0.0) -> None:
        self.parameters = list(parameters)
        if not self.parameters:
            raise ValueError("SGD got an empty parameter list")
        if not (isinstance(lr, (int, float)) and lr > 0 and np.isfinite(lr)):
            raise ValueError(f"lr must be a positive finite number, got {lr!r}")
        if not (isinstance(momentum, (int, float)) and 0.0 <= momentum < 1.0):
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.lr = float(lr)
        self.momentum = float(momentum)
        self._velocity: list[np.ndarray | None] = [None] * len(self.parameters)

    def step(self) -> None:
        """Apply one update to every parameter that has a gradient."""
        for i, p in enumerate(self.parameters):
            if p.grad is None:
                continue
            update = p.grad
            if self.momentum:
                v = self._velocity[i]
                v = update.copy() if v is None else self.momentum * v + update
                self._velocity[i] = update = v
            p.data -= self.lr * update

    def zero_grad(self) -> None:
        """Forget the gradients of the last backward pass."""
        for p in self.parameters:
            p.grad = None

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum})"
