"""Modules made of modules: `Sequential` (layers in order) and `Residual` (a skip connection)."""

from __future__ import annotations

from collections.abc import Sequence

from .module import Module
from .tensor import Tensor


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
