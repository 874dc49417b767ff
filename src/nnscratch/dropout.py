"""The dropout layer as a module, and its two historical variants.

`Dropout` is a graph node over `functional.dropout_forward` / `dropout_backward`: the forward
pass draws a keep mask and scales the survivors, the backward closure multiplies the incoming
gradient by the same mask and scale. `nnscratch.nn` re-exports everything here, so
`from nnscratch.nn import Dropout` works too.
"""

from __future__ import annotations

import numpy as np

from . import functional as F
from .functional import check_p
from .nn import Module
from .tensor import Tensor

__all__ = ["Dropout", "TestTimeScaledDropout", "UnscaledDropout", "check_p"]


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
