"""`Module`: the base class of every layer, with a training mode and parameters.

A `Module` has a `training` flag. `train()` and `eval()` set it on the module and on every
module inside it, which is how a `Sequential` switches its `Dropout` layers off for testing.
`parameters()` collects every tensor that needs a gradient, for the optimizer. Each layer's
`forward` computes its output in NumPy and attaches a closure that applies the layer's
derivative on the way back.
"""

from __future__ import annotations

from collections.abc import Iterator

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
