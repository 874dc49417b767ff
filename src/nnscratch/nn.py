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
                x.accumulate(g @ w.data)

        y = x.data @ w.data.T
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


def check_p(p: float) -> float:
    """Return `p` as a float if it is a valid dropout rate in [0, 1], else raise ValueError."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise ValueError(f"dropout probability p must be a number in [0, 1], got {p!r}")
    p = float(p)
    if not 0.0 <= p <= 1.0:  # also rejects NaN
        raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
    return p


# Keep decisions compare 16-bit random integers with a threshold: about 1 ns per element
# instead of several for `rng.random(shape) < keep`. The keep probability becomes a multiple
# of 2**-16, and survivors are scaled by the quantised value, so the output stays unbiased.
_LEVELS = 1 << 16


class Dropout(Module):
    """Inverted dropout: zero each element with probability `p` while training.

    Args:
        p: probability of zeroing an element (PyTorch's `p`, Keras's `rate`), in [0, 1].
        rng: generator for the masks (a fresh unseeded one if None); public as `rng`.

    In training mode each element is kept with probability `q = 1 - p` and survivors are
    multiplied by `1 / q`, so `E[output] = input`. In eval mode the layer is the identity.
    The backward pass multiplies the gradient by the same scaled mask. `p = 0` is the
    identity; `p = 1` gives zeros (and zero gradient).

    After a training-mode forward, `mask` holds the boolean keep mask and `scale` the factor
    applied to survivors; `keep_prob` is the quantised keep probability actually used.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.p = check_p(p)
        self.rng = np.random.default_rng() if rng is None else rng
        self.mask: np.ndarray | None = None
        self.scale = 1.0

    @property
    def keep_prob(self) -> float:
        """The keep probability after quantising to a multiple of 2**-16."""
        if self.p in (0.0, 1.0):
            return 1.0 - self.p
        return self._threshold() / _LEVELS

    def _threshold(self) -> int:
        # Clamped so that 0 < p < 1 never becomes "keep all" or "drop all".
        return min(max(round((1.0 - self.p) * _LEVELS), 1), _LEVELS - 1)

    def sample_mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """Draw a boolean keep mask of `shape` (True = kept) from `self.rng`."""
        if self.p == 0.0:
            return np.ones(shape, dtype=bool)
        if self.p == 1.0:
            return np.zeros(shape, dtype=bool)
        bits = self.rng.integers(0, _LEVELS, size=shape, dtype=np.uint16)
        return bits < self._threshold()

    def train_scale(self) -> float:
        """Factor applied to kept elements in training mode: 1 / keep_prob (0 if p = 1)."""
        q = self.keep_prob
        return 1.0 / q if q > 0 else 0.0

    def eval_scale(self) -> float:
        """Factor applied to every element in eval mode: 1, the identity."""
        return 1.0

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            scale = self.eval_scale()
            return x if scale == 1.0 else x * scale
        if self.p == 0.0:  # nothing to drop; the keep probability and every scale are 1
            self.mask, self.scale = np.ones(x.data.shape, dtype=bool), 1.0
            return x
        self.mask = self.sample_mask(x.data.shape)
        self.scale = self.train_scale()
        return self.apply_mask(x, self.mask, self.scale)

    @staticmethod
    def apply_mask(x: Tensor, mask: np.ndarray, scale: float) -> Tensor:
        """`x * mask * scale` as a graph node; backward multiplies by the same factor."""
        if mask.shape != x.data.shape:
            raise ValueError(f"mask shape {mask.shape} does not match input {x.data.shape}")
        out = np.multiply(x.data, x.data.dtype.type(scale))
        out *= mask

        def backward(g: np.ndarray) -> None:
            # y = x * m * s  =>  dL/dx = g * m * s, with the mask from the forward pass
            dx = np.multiply(g, g.dtype.type(scale))
            dx *= mask
            x.accumulate(dx)

        return Tensor.from_op(out, (x,), backward)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class UnscaledDropout(Dropout):
    """Historical variant: drop with probability p, but never rescale.

    This is what both of the book's source tutorials implemented. Training activations have
    mean `(1 - p) x`, evaluation activations have mean `x`: the two modes disagree.
    """

    def train_scale(self) -> float:
        return 1.0


class TestTimeScaledDropout(Dropout):
    """The 2014 paper's variant: no scaling while training; multiply by 1 - p at test time.

    Expectations match between modes, like inverted dropout, but the work moves to inference.
    """

    __test__ = False  # not a pytest test class, despite the name

    def train_scale(self) -> float:
        return 1.0

    def eval_scale(self) -> float:
        return self.keep_prob
