"""Layers: `Module` and the handful of modules the book needs.

A `Module` has a `training` flag. `train()` and `eval()` set it on the module and on every
module inside it, which is how a `Sequential` switches its `Dropout` layers off for testing.
Each layer's `forward` computes its output in NumPy and attaches a closure that applies the
layer's derivative on the way back.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

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


class Module:
    """Base class: a `training` flag, child modules and parameters found by attribute."""

    def __init__(self) -> None:
        self.training = True

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def children(self) -> Iterator[Module]:
        """Modules held directly in attributes, or in list/tuple attributes."""
        for value in vars(self).values():
            if isinstance(value, Module):
                yield value
            elif isinstance(value, (list, tuple)):
                yield from (v for v in value if isinstance(v, Module))

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all its children; returns self."""
        self.training = bool(mode)
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: `train(False)`."""
        return self.train(False)

    def parameters(self) -> list[Tensor]:
        """All tensors that require a gradient, this module's first, then its children's."""
        own = [v for v in vars(self).values() if isinstance(v, Tensor) and v.requires_grad]
        return own + [p for child in self.children() for p in child.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Linear(Module):
    """An affine map `y = x W^T + b`.

    Args:
        in_features: size of each input row.
        out_features: size of each output row.
        rng: generator for the initial weights (a fresh unseeded one if None).
        dtype: float dtype of the parameters (float32 for training, float64 for checks).

    Shapes: x `(batch, in_features)` -> y `(batch, out_features)`; `weight` is
    `(out_features, in_features)` as in PyTorch.

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


class ReLU(Module):
    """`max(0, x)` elementwise; its derivative is 1 where x > 0 and 0 elsewhere."""

    def forward(self, x: Tensor) -> Tensor:
        out = np.maximum(x.data, 0)

        def backward(g: np.ndarray) -> None:
            x.accumulate(g * (out > 0))

        return Tensor.from_op(out, (x,), backward)


class Flatten(Module):
    """Reshape `(batch, *dims)` to `(batch, prod(dims))`, e.g. 28x28 images to 784."""

    def forward(self, x: Tensor) -> Tensor:
        shape = x.data.shape

        def backward(g: np.ndarray) -> None:
            x.accumulate(g.reshape(shape))

        return Tensor.from_op(x.data.reshape(shape[0], -1), (x,), backward)


class Sequential(Module):
    """Apply `layers` in order. `train()`/`eval()` reach every layer."""

    def __init__(self, layers: Sequence[Module]) -> None:
        super().__init__()
        self.layers = list(layers)
        bad = [type(layer).__name__ for layer in self.layers if not isinstance(layer, Module)]
        if bad:
            raise TypeError(f"Sequential takes Modules, got {', '.join(bad)}")

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index: int) -> Module:
        return self.layers[index]

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential({inner}\n)"


class BatchNorm1d(Module):
    """Batch normalisation over the batch axis, with running statistics as in PyTorch.

    Args:
        num_features: size of each input row.
        eps: added to the variance before the square root, > 0.
        momentum: weight of the newest batch in the running statistics, in [0, 1].
        dtype: float dtype of the parameters and running statistics.

    Shapes: x `(batch, num_features)` -> y of the same shape.

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
        if x.data.ndim != 2 or x.data.shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d({self.num_features}) expects input of shape "
                f"(batch, {self.num_features}), got {x.data.shape}"
            )
        n = x.data.shape[0]
        w, b = self.weight, self.bias
        if self.training:
            if n < 2:
                raise ValueError(
                    f"BatchNorm1d needs more than 1 example per batch in training mode "
                    f"(the batch variance is undefined), got input of shape {x.data.shape}"
                )
            mean = x.data.mean(axis=0)
            var = x.data.var(axis=0)  # biased: divides by n, as the normalisation does
            m = self.momentum
            self.running_mean *= 1 - m
            self.running_mean += m * mean
            self.running_var *= 1 - m
            self.running_var += m * var * (n / (n - 1))  # unbiased
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x.data - mean) * inv_std
        training = self.training

        def backward(g: np.ndarray) -> None:
            w.accumulate((g * x_hat).sum(axis=0))
            b.accumulate(g.sum(axis=0))
            if not x.requires_grad:
                return
            g_hat = g * w.data  # dL/dx_hat
            if training:
                # mean and var depend on x too:
                # dL/dx = inv_std / n (n g_hat - sum g_hat - x_hat sum(g_hat x_hat))
                x.accumulate(
                    inv_std
                    / n
                    * (n * g_hat - g_hat.sum(axis=0) - x_hat * (g_hat * x_hat).sum(axis=0))
                )
            else:
                x.accumulate(g_hat * inv_std)

        return Tensor.from_op(x_hat * w.data + b.data, (x, w, b), backward)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class Residual(Module):
    """`y = x + branch(x)`: a skip connection around `branch`, whose output keeps x's shape.

    With a `DropPath` as the branch's last layer this is a block of a network with stochastic
    depth: for a dropped example the block passes `x` through unchanged.
    """

    def __init__(self, branch: Module) -> None:
        super().__init__()
        if not isinstance(branch, Module):
            raise TypeError(f"Residual takes a Module, got {type(branch).__name__}")
        self.branch = branch

    def forward(self, x: Tensor) -> Tensor:
        out = self.branch(x)
        if out.data.shape != x.data.shape:
            raise ValueError(
                f"Residual's branch must keep the input's shape {x.data.shape}, "
                f"got {out.data.shape}"
            )
        return x + out

    def __repr__(self) -> str:
        inner = repr(self.branch).replace("\n", "\n  ")
        return f"Residual(\n  (branch): {inner}\n)"


# The dropout family lives in its own module, `nnscratch.dropout`, which imports `Module` from
# here; these names are looked up there on first use (PEP 562), so that
# `from nnscratch.nn import Dropout` keeps working without a circular import.
_DROPOUT_NAMES = (
    "Dropout",
    "UnscaledDropout",
    "TestTimeScaledDropout",
    "GaussianDropout",
    "DropConnect",
    "DropPath",
    "check_p",
)


def __getattr__(name: str):
    if name in _DROPOUT_NAMES:
        from . import dropout

        return getattr(dropout, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BatchNorm1d",
    "Flatten",
    "Linear",
    "Module",
    "ReLU",
    "Residual",
    "Sequential",
    *_DROPOUT_NAMES,
]
