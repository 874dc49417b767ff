"""The dropout layer as a module, its two historical variants, and its family.

`Dropout` is a graph node over `functional.dropout_forward` / `dropout_backward`: the forward
pass draws a keep mask and scales the survivors, the backward closure multiplies the incoming
gradient by the same mask and scale. `nnscratch.nn` re-exports everything here, so
`from nnscratch.nn import Dropout` works too.

The relatives keep the same contract (noise in training mode only, mean preserved, the noise
of the last forward pass inspectable, the backward pass reusing it) and change what is noisy:
- `GaussianDropout`: every element multiplied by `N(1, p / (1 - p))` noise instead of a mask;
- `DropConnect`: a linear layer whose *weights* are dropped, a new mask for every example;
- `DropPath`: a whole example's input (a residual branch's output) dropped at once.
"""

from __future__ import annotations

import numpy as np

from . import functional as F
from .functional import check_p
from .layers import Linear
from .module import Module
from .tensor import Tensor

__all__ = [
    "DropConnect",
    "DropPath",
    "Dropout",
    "GaussianDropout",
    "TestTimeScaledDropout",
    "UnscaledDropout",
    "check_p",
]


class Dropout(Module):
    """Inverted dropout: zero each element with probability `p` while training.

    Args:
        p: probability of zeroing an element (PyTorch's `p`, Keras's `rate`), in [0, 1].
        rng: generator for the masks (a fresh unseeded one if None); public as `rng`.

    In training mode each element is kept with probability `1 - p` and survivors are
    multiplied by `1 / (1 - p)`, so `E[output] = input`; the same mask gives the same numbers
    as `torch.nn.Dropout(p)`. In eval mode the layer is the identity. The backward pass
    multiplies the gradient by the same scaled mask. `p = 0` is the identity; `p = 1` gives
    zeros (and zero gradient).

    After a training-mode forward pass, `mask` holds the boolean keep mask (True = kept) and
    `scale` the factor applied to survivors.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.p = check_p(p)
        self.rng = np.random.default_rng() if rng is None else rng
        self.mask: np.ndarray | None = None
        self.scale: float = 1.0

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        out, cache = F.dropout_forward(x.data, self.p, True, self.rng)
        self.scale = float(cache.scale)
        if cache.mask is None:  # p = 0: every element kept, the input passes through
            self.mask = np.ones(x.data.shape, dtype=bool)
            return x

        self.mask = cache.mask

        def backward(g: np.ndarray) -> None:
            x.accumulate(F.dropout_backward(g, cache))

        return Tensor.from_op(out, (x,), backward)

    @staticmethod
    def apply_mask(x: Tensor, mask: np.ndarray, scale: float) -> Tensor:
        """`x * mask * scale` as a graph node with a mask you choose (for checks and variants).

        Backward multiplies the gradient by the same mask and scale.
        """
        cache = F.DropoutCache(np.asarray(mask, dtype=bool), scale)
        out = F.apply_mask(x.data, cache.mask, scale)

        def backward(g: np.ndarray) -> None:
            x.accumulate(F.dropout_backward(g, cache))

        return Tensor.from_op(out, (x,), backward)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class UnscaledDropout(Dropout):
    """Historical variant: drop with probability p, but never rescale.

    This is what both of the book's source tutorials implemented. Training activations have
    mean `(1 - p) x`, evaluation activations have mean `x`: the two modes disagree.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        self.mask = F.keep_mask(x.data.shape, self.p, self.rng, x.data.dtype)
        self.scale = 1.0
        return self.apply_mask(x, self.mask, self.scale)


class TestTimeScaledDropout(Dropout):
    """The 2014 paper's variant: no scaling while training; multiply by 1 - p at test time.

    Expectations match between modes, like inverted dropout, but the work moves to inference.
    """

    __test__ = False  # not a pytest test class, despite the name

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x * (1.0 - self.p)
        self.mask = F.keep_mask(x.data.shape, self.p, self.rng, x.data.dtype)
        self.scale = 1.0
        return self.apply_mask(x, self.mask, self.scale)


class GaussianDropout(Module):
    """Multiplicative Gaussian noise: `y = x * e`, `e ~ N(1, p / (1 - p))` per element, in training.

    Args:
        p: the dropout rate whose mean and variance the noise matches, in [0, 1) (Keras's
            `GaussianDropout(rate)`); `p = 0` is the identity.
        rng: generator for the noise (a fresh unseeded one if None); public as `rng`.

    Inverted dropout multiplies each element by `m / (1 - p)` with `m ~ Bernoulli(1 - p)`: mean
    1, variance `p / (1 - p)`. This layer draws its multiplier from the normal distribution with
    those two moments instead (section 10 of Srivastava et al., 2014). Eval mode is the
    identity, as for `Dropout`. After a training-mode forward pass `noise` holds the
    multipliers; the backward pass multiplies the gradient by the same ones.
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.p = check_p(p)
        self.std = F.gaussian_std(self.p)  # raises for p = 1
        self.rng = np.random.default_rng() if rng is None else rng
        self.noise: np.ndarray | None = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        noise = F.gaussian_noise(x.data.shape, self.p, self.rng, x.data.dtype)
        self.noise = noise
        if self.p == 0.0:
            return x

        def backward(g: np.ndarray) -> None:
            x.accumulate(g * noise)  # y = x e, so dL/dx = dL/dy e

        return Tensor.from_op(x.data * noise, (x,), backward)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class DropConnect(Module):
    """A linear layer whose weights, not its inputs, are dropped while training.

    Args:
        linear: the layer to wrap; its `weight` and `bias` stay its own parameters.
        p: probability of zeroing each weight (and each bias), in [0, 1].
        rng: generator for the masks (a fresh unseeded one if None); public as `rng`.

    Shapes: x `(batch, in_features)` -> y `(batch, out_features)`.

    In training mode every example `n` gets its own mask `M_n` of the weight's shape and its
    own mask `m_n` over the biases, each entry kept with probability `1 - p` (Wan et al., 2013:
    a different connectivity for every example seen), and the kept entries are scaled by
    `1 / (1 - p)` as in inverted dropout:

        y_n = ((M_n * W) x_n + m_n * b) / (1 - p)

    Eval mode uses the plain layer, `y = x W^T + b` (the mean network; the paper's own
    inference samples from a Gaussian fitted to each unit's input instead). After a training
    forward pass, `mask` holds the weight masks `(batch, out_features, in_features)` and
    `bias_mask` `(batch, out_features)` (True = kept). Unit dropout on this layer's inputs is
    the special case where every column of `M_n` is all kept or all dropped.

    A stack of K layers (`nnscratch.stack`) maps `(K, batch, in)` to `(K, batch, out)` with masks
    `(K, batch, out, in)` and `(K, batch, out)`, member k's drawn from its own generator.

    One weight matrix per example makes a step cost `batch` matrix-vector products and
    `batch * out * in` random numbers, instead of one matrix product.
    """

    def __init__(self, linear: Linear, p: float = 0.5, rng: np.random.Generator | None = None):
        super().__init__()
        if not isinstance(linear, Linear):
            raise TypeError(f"DropConnect wraps a Linear layer, got {type(linear).__name__}")
        self.linear = linear
        self.p = check_p(p)
        self.rng = np.random.default_rng() if rng is None else rng
        self.mask: np.ndarray | None = None
        self.bias_mask: np.ndarray | None = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return self.linear(x)
        lin = self.linear
        w, b = lin.weight, lin.bias
        members = w.data.shape[:-2]  # () for one network, (K,) for a stack of K
        if (
            x.data.ndim != 2 + len(members)
            or x.data.shape[: len(members)] != members
            or x.data.shape[-1] != lin.in_features
        ):
            expected = ", ".join([*map(str, members), "batch", str(lin.in_features)])
            raise ValueError(
                f"DropConnect({lin.in_features}, {lin.out_features}) expects input x of shape "
                f"({expected}), got {x.data.shape}"
            )
        lead = x.data.shape[:-1]  # (batch,), or (K, batch) for a stack
        dtype = w.data.dtype
        mask = F.keep_mask((*lead, *w.data.shape[-2:]), self.p, self.rng, dtype)
        bias_mask = F.keep_mask((*lead, lin.out_features), self.p, self.rng, dtype)
        self.mask, self.bias_mask = mask, bias_mask
        scale = F.inverted_scale(self.p, dtype)
        # one weight matrix per example: w_n (..., batch, out, in), b_n (..., batch, out)
        w_n = F.apply_mask(np.broadcast_to(w.data[..., None, :, :], mask.shape), mask, scale)
        b_n = F.apply_mask(np.broadcast_to(b.data[..., None, :], bias_mask.shape), bias_mask, scale)
        y = np.matmul(w_n, x.data[..., None])[..., 0] + b_n

        def backward(g: np.ndarray) -> None:
            # y_n = W_n x_n + b_n with W_n = M_n * W * s:  dL/dW = s sum_n M_n * (g_n x_n^T),
            # dL/db = s sum_n m_n * g_n,  dL/dx_n = W_n^T g_n  (n: the batch axis)
            outer = g[..., :, None] * x.data[..., None, :]
            w.accumulate(F.apply_mask(outer, mask, scale).sum(axis=-3))
            b.accumulate(F.apply_mask(g, bias_mask, scale).sum(axis=-2))
            if x.requires_grad:
                x.accumulate(np.matmul(g[..., None, :], w_n)[..., 0, :])

        return Tensor.from_op(y, (x, w, b), backward)

    def extra_repr(self) -> str:
        return f"{self.linear!r}, p={self.p}"


class DropPath(Module):
    """Stochastic depth: drop a whole example's input with probability `p` while training.

    Args:
        p: probability of dropping an example's path, in [0, 1].
        rng: generator for the masks (a fresh unseeded one if None); public as `rng`.

    Shapes: x `(batch, ...)` -> the same shape. Placed at the end of a residual branch,
    `x + DropPath(p)(f(x))` skips the branch `f` for a random subset of the examples, so each
    example trains a network of random depth (Huang et al., 2016). One keep decision per
    example (not per element), survivors scaled by `1 / (1 - p)`: the definition of `drop_path`
    in timm (`scale_by_keep=True`). Eval mode is the identity. After a training forward pass,
    `mask` holds the `(batch,)` keep decisions and `scale` the survivors' factor. A stack of
    K layers (`nnscratch.stack`) takes `(K, batch, ...)` and decides `(K, batch)`.
    """

    def __init__(self, p: float = 0.0, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        self.p = check_p(p)
        self.rng = np.random.default_rng() if rng is None else rng
        self.mask: np.ndarray | None = None
        self.scale: float = 1.0

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return x
        # one decision per example: axis 0 is the batch, or (K, batch) for a stack of K
        n_lead = 1 if isinstance(self.rng, np.random.Generator) else 2
        if x.data.ndim < n_lead:
            raise ValueError(
                "DropPath needs a batch axis: input x of shape (batch, ...), "
                f"or (K, batch, ...) for a stack; got {x.data.shape}"
            )
        lead = x.data.shape[:n_lead]
        if self.p == 0.0:
            self.mask, self.scale = np.ones(lead, dtype=bool), 1.0
            return x
        dtype = x.data.dtype
        mask = F.keep_mask(lead, self.p, self.rng, dtype)
        scale = F.inverted_scale(self.p, dtype)
        self.mask, self.scale = mask, float(scale)
        # one multiplier per example, broadcast over its features: 0 or 1 / (1 - p)
        per_example = (mask * scale).astype(dtype).reshape(lead + (1,) * (x.data.ndim - n_lead))

        def backward(g: np.ndarray) -> None:
            x.accumulate(g * per_example)

        return Tensor.from_op(x.data * per_example, (x,), backward)

    def extra_repr(self) -> str:
        return f"p={self.p}"
