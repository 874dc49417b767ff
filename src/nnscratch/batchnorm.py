"""Batch normalisation, `BatchNorm1d`: a relative of dropout in chapter 9."""

from __future__ import annotations

import math

import numpy as np

from .module import Module
from .tensor import Tensor


class BatchNorm1d(Module):
    """Batch normalisation over the batch axis, with running statistics as in PyTorch.

    Args:
        num_features: size of each input row.
        eps: added to the variance before the square root, > 0.
        momentum: weight of the newest batch in the running statistics, in [0, 1].
        dtype: float dtype of the parameters and running statistics.

    Shapes: x `(batch, num_features)` -> y of the same shape. A stack of K layers
    (`nnscratch.stack`) holds parameters and statistics `(K, num_features)` and normalises
    each member's batch `x[k]` of `(K, batch, num_features)` by its own statistics.

    Training mode normalises each feature by the mean and the *biased* variance of the batch,
    `x_hat = (x - mean) / sqrt(var + eps)`, returns `y = weight * x_hat + bias`, and updates
    `running_mean <- (1 - momentum) running_mean + momentum mean` and the same for
    `running_var` with the *unbiased* batch variance (`var * n / (n - 1)`). Eval mode
    normalises with the running statistics instead. A batch of one has no variance: in
    training mode it raises rather than returning NaN.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        super().__init__()
        if not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ValueError(f"num_features must be a positive integer, got {num_features!r}")
        if not (isinstance(eps, (int, float)) and eps > 0 and math.isfinite(eps)):
            raise ValueError(f"eps must be a positive finite number, got {eps!r}")
        if not (isinstance(momentum, (int, float)) and 0.0 <= momentum <= 1.0):
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        self.num_features = int(num_features)
        self.eps, self.momentum = float(eps), float(momentum)
        self.weight = Tensor(np.ones(num_features, dtype=dtype), requires_grad=True)
        self.bias = Tensor(np.zeros(num_features, dtype=dtype), requires_grad=True)
        # Buffers, not parameters: the optimizer never sees them.
        self.running_mean = np.zeros(num_features, dtype=dtype)
        self.running_var = np.ones(num_features, dtype=dtype)

    def forward(self, x: Tensor) -> Tensor:
        w, b = self.weight, self.bias
        members = w.data.shape[:-1]  # () for one network, (K,) for a stack of K
        if (
            x.data.ndim != 2 + len(members)
            or x.data.shape[: len(members)] != members
            or x.data.shape[-1] != self.num_features
        ):
            expected = ", ".join([*map(str, members), "batch", str(self.num_features)])
            raise ValueError(
                f"BatchNorm1d({self.num_features}) expects input x of shape ({expected}), "
                f"got {x.data.shape}"
            )
        n = x.data.shape[-2]  # the batch axis: statistics are taken over it
        if self.training:
            if n < 2:
                raise ValueError(
                    f"BatchNorm1d needs more than 1 example per batch in training mode "
                    f"(the batch variance is undefined), got input of shape {x.data.shape}"
                )
            mean = x.data.mean(axis=-2)
            var = x.data.var(axis=-2)  # biased: divides by n, as the normalisation does
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * mean
            self.running_var *= 1 - m
            self.running_var += m * var * (n / (n - 1))  # unbiased
        else:
            mean, var = self.running_mean, self.running_var
        # [..., None, :]: per-feature values broadcast over the batch axis
        inv_std = (1.0 / np.sqrt(var + self.eps))[..., None, :]
        x_hat = (x.data - mean[..., None, :]) * inv_std
        w_row = w.data[..., None, :]
        training = self.training

        def backward(g: np.ndarray) -> None:
            w.accumulate((g * x_hat).sum(axis=-2))
            b.accumulate(g.sum(axis=-2))
            if not x.requires_grad:
                return
            g_hat = g * w_row  # dL/dx_hat
            if training:
                # mean and var depend on x too:
                # dL/dx = inv_std / n (n g_hat - sum g_hat - x_hat sum(g_hat x_hat))
                sum_g = g_hat.sum(axis=-2, keepdims=True)
                sum_gx = (g_hat * x_hat).sum(axis=-2, keepdims=True)
                x.accumulate(inv_std / n * (n * g_hat - sum_g - x_hat * sum_gx))
            else:
                x.accumulate(g_hat * inv_std)

        return Tensor.from_op(x_hat * w_row + b.data[..., None, :], (x, w, b), backward)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
