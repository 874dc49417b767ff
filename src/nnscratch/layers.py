"""The layers an MLP is made of: `Linear`, `ReLU` and `Flatten`."""

from __future__ import annotations

import math

import numpy as np

from .module import Module
from .tensor import Tensor

# Below this many rows, `matmul` multiplies row by row (see there).
FEW_ROWS = 8


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a @ b` for a 2-D `a` of shape `(rows, k)` and `b` of shape `(k, n)`.

    With fewer than `FEW_ROWS` rows it computes one vector-matrix product per row
    (`np.vecmat`): the same numbers up to rounding, but OpenBLAS's matrix-matrix kernel is
    2-3x slower at those sizes (a batch of 2 through a 784-256 layer: 41 us, row by row
    15 us), and chapter 5 reproduces a tutorial that trains at batch 2.
    """
    return np.vecmat(a, b) if len(a) < FEW_ROWS else a @ b


class Linear(Module):
    """An affine map `y = x W^T + b`.

    Args:
        in_features: size of each input row.
        out_features: size of each output row.
        rng: generator for the initial weights (a fresh unseeded one if None).
        dtype: float dtype of the parameters (float32 for training, float64 for checks).

    Shapes: x `(batch, in_features)` -> y `(batch, out_features)`; `weight` is
    `(out_features, in_features)` as in PyTorch. A stack of K layers (`nnscratch.stack`) has
    weight `(K, out, in)` and bias `(K, out)`, and maps `(K, batch, in)` to `(K, batch, out)`.

    Weights start as He (Kaiming) normal, std `sqrt(2 / in_features)`, which keeps the
    variance of ReLU activations roughly constant from layer to layer; biases start at zero.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        rng: np.random.Generator | None = None,
        dtype: np.dtype | type = np.float32,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"in_features and out_features must be >= 1, got {in_features}, {out_features}"
            )
        rng = np.random.default_rng() if rng is None else rng
        self.in_features = in_features
        self.out_features = out_features
        std = math.sqrt(2.0 / in_features)
        w = rng.standard_normal((out_features, in_features)) * std
        self.weight = Tensor(w.astype(dtype), requires_grad=True)
        self.bias = Tensor(np.zeros(out_features, dtype=dtype), requires_grad=True)

    def forward(self, x: Tensor) -> Tensor:
        if self.weight.data.ndim == 3:  # K networks side by side (see `nnscratch.stack`)
            return stacked_linear(x, self.weight, self.bias)
        if x.data.ndim != 2 or x.data.shape[1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) expects input of shape "
                f"(batch, {self.in_features}), got {x.data.shape}"
            )
        w, b = self.weight, self.bias

        def backward(g: np.ndarray) -> None:
            # y = x W^T + b:  dL/dW = g^T x,  dL/db = sum_batch g,  dL/dx = g W
            w.accumulate(g.T @ x.data)
            b.accumulate(g.sum(axis=0))
            if x.requires_grad:
                x.accumulate(matmul(g, w.data))

        y = matmul(x.data, w.data.T)  # x W^T (`matmul` is `@`, faster for a few rows)
        y += b.data  # in place: the product is a fresh array, so no second one is needed
        return Tensor.from_op(y, (x, w, b), backward)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


def stacked_linear(x: Tensor, w: Tensor, b: Tensor) -> Tensor:
    """`Linear` for K members at once: `y[k] = x[k] W[k]^T + b[k]` for every member k.

    Args:
        x: `(K, batch, in)`, member k's batch in `x[k]`.
        w: `(K, out, in)` weights; b: `(K, out)` biases.
    """
    k, n_out, n_in = w.data.shape
    if x.data.ndim != 3 or x.data.shape[0] != k or x.data.shape[2] != n_in:
        raise ValueError(
            f"a stack of {k} Linear({n_in}, {n_out}) layers expects input x of shape "
            f"({k}, batch, {n_in}), got {x.data.shape}"
        )

    def backward(g: np.ndarray) -> None:
        # per member, as in `Linear`: dL/dW = g^T x, dL/db = sum_batch g, dL/dx = g W
        w.accumulate(np.matmul(g.swapaxes(1, 2), x.data))
        b.accumulate(g.sum(axis=1))
        if x.requires_grad:
            x.accumulate(np.matmul(g, w.data))

    y = np.matmul(x.data, w.data.swapaxes(1, 2))
    y += b.data[:, None, :]
    return Tensor.from_op(y, (x, w, b), backward)


class ReLU(Module):
    """`max(0, x)` elementwise; its derivative is 1 where x > 0 and 0 elsewhere."""

    def forward(self, x: Tensor) -> Tensor:
        out = np.maximum(x.data, 0)

        def backward(g: np.ndarray) -> None:
            x.accumulate(g * (out > 0))

        return Tensor.from_op(out, (x,), backward)


class Flatten(Module):
    """Reshape `(batch, *dims)` to `(batch, prod(dims))`, e.g. 28x28 images to 784.

    Args:
        start_dim: the first axis to flatten; the ones before it are kept (1: the batch axis;
            a stack of K networks keeps two, `(K, batch)`).
    """

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        if (
            isinstance(start_dim, bool)
            or not isinstance(start_dim, (int, np.integer))
            or start_dim < 1
        ):
            raise ValueError(f"start_dim must be an integer >= 1, got {start_dim!r}")
        self.start_dim = int(start_dim)

    def forward(self, x: Tensor) -> Tensor:
        shape = x.data.shape

        def backward(g: np.ndarray) -> None:
            x.accumulate(g.reshape(shape))

        return Tensor.from_op(x.data.reshape(*shape[: self.start_dim], -1), (x,), backward)

    def extra_repr(self) -> str:
        return "" if self.start_dim == 1 else f"start_dim={self.start_dim}"
