"""K networks side by side: one network of the same modules with a leading member axis.

    net = stack_modules([build(seed) for seed in seeds])   # K networks, one architecture
    histories = fit(net, loss_fn, SGD(net.parameters(), lr=0.1), train, rng=order_rngs)
    first = unstack(net, 0)                                 # member 0 as an ordinary network

PyTorch's `torch.func.stack_module_state` + `vmap` do this for its modules; here the modules
themselves accept the axis. Each parameter of the stack is the K members' parameters stacked
along a new first axis (a `Linear` weight `(K, out, in)`, a bias `(K, out)`; `BatchNorm1d`'s
parameters and running statistics `(K, features)`), every activation is `(K, batch, ...)`,
and each noise layer holds the K members' own generators, so member k draws its masks in the
same shapes and order as it would alone. Losses add the members' means, so member k's
gradient is its own, and K networks trained by `fit` are K networks trained side by side.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .layers import Flatten
from .module import Module
from .tensor import Tensor

__all__ = ["stack_modules", "stack_size", "unstack"]


def stack_modules(nets: Sequence[Module]) -> Module:
    """One network whose parameters hold the K `nets` along a new first axis.

    Args:
        nets: K >= 1 networks of one architecture: the same classes, settings (`p`, sizes,
            modes) and parameter shapes, each with its own generators (a network built alone
            from its own seed, so its initial weights are what they would be alone).

    Returns:
        A network of the same classes. Its parameters are new arrays (the `nets` are left as
        they are); its noise layers use the members' generators themselves, in member order.
    """
    nets = list(nets)
    if not nets:
        raise ValueError("stack_modules needs at least one network in nets, got none")
    for i, net in enumerate(nets):
        if not isinstance(net, Module):
            raise TypeError(f"nets[{i}] must be a Module, got {type(net).__name__}")
        if stack_size(net) is not None:
            raise ValueError(f"nets[{i}] is already a stack; pass ordinary networks")
    return _stack(nets, "nets[k]")


def _stack(values: list, path: str):
    """Stack one attribute across the members (`path` names it in errors)."""
    first = values[0]
    if isinstance(first, Module):
        _same(values, path, lambda v: type(v), "class")
        stacked = object.__new__(type(first))
        names = list(vars(first))
        _same(values, path, lambda v: sorted(vars(v)), "attributes")
        for name in names:
            member_values = [vars(v)[name] for v in values]
            vars(stacked)[name] = _stack(member_values, f"{path}.{name}")
        if isinstance(stacked, Flatten):
            stacked.start_dim += 1  # keep the member axis too
        return stacked
    if isinstance(first, Tensor):
        _same(values, path, lambda v: (type(v), v.data.shape, v.data.dtype), "shape or dtype")
        out = Tensor(np.stack([v.data for v in values]), requires_grad=first.requires_grad)
        out.stacked = True
        return out
    if isinstance(first, np.ndarray):  # buffers (running statistics), last masks
        _same(values, path, lambda v: (type(v), v.shape, v.dtype), "shape or dtype")
        return np.stack(values)
    if isinstance(first, np.random.Generator):
        _same(values, path, lambda v: type(v), "type")
        if len({id(v) for v in values}) != len(values):
            raise ValueError(
                f"{path} is one generator shared by several of nets; each network needs its "
                "own (build each from its own seed), or its masks would depend on its neighbours"
            )
        return tuple(values)
    if isinstance(first, (list, tuple)):
        _same(values, path, lambda v: (type(v), len(v)), "length")
        items = [_stack([v[i] for v in values], f"{path}[{i}]") for i in range(len(first))]
        return type(first)(items)
    # settings: sizes, rates, flags, dtypes, None
    _same(values, path, lambda v: v, "value")
    return first


def _same(values: list, path: str, key, what: str) -> None:
    """Raise if the members differ in `key(value)`: they are not one architecture."""
    keys = [key(v) for v in values]
    for k, other in enumerate(keys[1:], start=1):
        if not _equal(other, keys[0]):
            raise ValueError(
                f"nets are not one architecture: {path.replace('[k]', '[0]')} and "
                f"{path.replace('[k]', f'[{k}]')} differ in {what} ({keys[0]!r} vs {other!r})"
            )


def _equal(a, b) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays compared elementwise
        return a is b


def unstack(net: Module, k: int) -> Module:
    """Member `k` of a stack as an ordinary network.

    Args:
        net: a network made by `stack_modules`.
        k: the member, in `[0, K)`.

    Returns:
        A network of the same classes with copies of member k's parameters and buffers (its
        last masks too); its noise layers use member k's own generator (the same object as in
        the stack, so drawing from one advances the other).
    """
    size = stack_size(net)
    if size is None:
        raise ValueError("unstack needs a stack made by stack_modules, got an ordinary network")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < size:
        raise ValueError(f"member k must be an integer in [0, {size}), got {k!r}")
    return _member(net, int(k))


def _member(value, k: int):
    if isinstance(value, Module):
        member = object.__new__(type(value))
        for name, v in vars(value).items():
            vars(member)[name] = _member(v, k)
        if isinstance(member, Flatten):
            member.start_dim -= 1
        return member
    if isinstance(value, Tensor):
        return Tensor(value.data[k].copy(), requires_grad=value.requires_grad)
    if isinstance(value, np.ndarray):
        return value[k].copy()
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, np.random.Generator) for v in value):
            return value[k]
        return type(value)(_member(v, k) for v in value)
    return value


def stack_size(net: Module) -> int | None:
    """K for a network made by `stack_modules`, None for an ordinary network."""
    for p in net.parameters():
        if p.stacked:
            return p.data.shape[0]
    return None
