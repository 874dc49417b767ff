"""Monte Carlo dropout: keep dropout on at test time and average many stochastic passes.

A network trained with dropout is, in effect, a whole family of thinned networks. The usual
eval pass switches dropout off and uses one deterministic network. MC dropout (Gal and
Ghahramani, 2016) instead samples `T` thinned networks by leaving every `Dropout` layer in
training mode, runs the input through each, and averages the softmax outputs:

    p_bar(y | x) = 1/T sum_t softmax(f_t(x))

How much the passes disagree is a measure of the model's uncertainty about `x`:
- predictive entropy `H[p_bar] = -sum_c p_bar_c log p_bar_c` (in nats; at most log C) is high
  when the averaged prediction is spread over several classes, for whatever reason;
- mutual information `H[p_bar] - 1/T sum_t H[p_t]` (BALD) is the part of that entropy that
  comes from the passes disagreeing with each other, the model's own uncertainty.

Only the `Dropout` modules are put in training mode; every other module is in eval mode
during the passes, and every module's flag is restored afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .nn import Dropout, Module
from .tensor import Tensor


@dataclass(frozen=True)
class MCPrediction:
    """The summary of `T` stochastic passes over `N` inputs with `C` classes.

    Attributes:
        probs: predictive mean `(N, C)`, the average of the passes' softmax outputs.
        entropy: predictive entropy of `probs`, `(N,)`, in nats.
        mutual_info: entropy minus the mean entropy of the single passes, `(N,)`, >= 0.
        passes: the per-pass probabilities `(T, N, C)` if they were kept, else None.
    """

    probs: np.ndarray
    entropy: np.ndarray
    mutual_info: np.ndarray
    passes: np.ndarray | None = None

    @property
    def prediction(self) -> np.ndarray:
        """The class with the highest mean probability, `(N,)`."""
        return self.probs.argmax(axis=1)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float64, after subtracting each row's maximum."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def entropy(probs: np.ndarray) -> np.ndarray:
    """`-sum_c p_c log p_c` over the last axis, in nats (0 log 0 counts as 0)."""
    p = np.asarray(probs, dtype=np.float64)
    tiny = np.finfo(np.float64).tiny
    return -np.sum(p * np.log(np.maximum(p, tiny)), axis=-1)


def _modules(model: Module) -> list[Module]:
    """`model` and every module inside it, each once."""
    found: list[Module] = []
    seen: set[int] = set()
    stack = [model]
    while stack:
        module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        found.append(module)
        stack.extend(module.children())
    return found


@contextmanager
def dropout_on(model: Module) -> Iterator[Module]:
    """Inside the block, `Dropout` modules are in training mode and all others in eval mode.

    Every module's previous `training` flag is restored on exit, also after an exception.
    The flags are set one module at a time (not with `train()`, which would push one mode
    down to all children).
    """
    modules = _modules(model)
    saved = [module.training for module in modules]
    try:
        for module in modules:
            module.training = isinstance(module, Dropout)
        yield model
    finally:
        for module, mode in zip(modules, saved, strict=True):
            module.training = mode


def mc_passes(model: Module, X: np.ndarray, T: int, batch_size: int = 1000) -> np.ndarray:
    """Softmax outputs of `T` stochastic passes with dropout on, `(T, N, C)`.

    Args:
        model: a network whose last layer outputs logits `(batch, C)`.
        X: inputs, `(N, ...)`, whatever the model takes.
        T: number of passes, >= 1. Each pass draws fresh masks from the dropout layers' own
            generators, so a seeded model gives the same passes every time it is rebuilt.
        batch_size: inputs per forward call (memory only; results do not depend on it
            beyond the order in which masks are drawn).
    """
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T (the number of passes) must be a positive integer, got {T!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    X = np.asarray(X)
    passes = []
    with dropout_on(model):
        for _ in range(T):
            logits = [
                model(Tensor(X[i : i + batch_size])).data for i in range(0, len(X), batch_size)
            ]
            passes.append(softmax(np.concatenate(logits)))
    return np.stack(passes)


def summarize(passes: np.ndarray, keep_passes: bool = False) -> MCPrediction:
    """Predictive mean, entropy and mutual information from per-pass probabilities.

    Args:
        passes: `(T, N, C)` probabilities, e.g. from `mc_passes` (or its first `t` passes,
            to see how the estimates settle as `T` grows).
        keep_passes: store `passes` in the result.
    """
    passes = np.asarray(passes, dtype=np.float64)
    if passes.ndim != 3 or passes.shape[0] < 1:
        raise ValueError(f"passes must have shape (T, N, C) with T >= 1, got {passes.shape}")
    probs = passes.mean(axis=0)
    total = entropy(probs)
    # H[mean] >= mean H (entropy is concave); clip the rounding error at exactly 0.
    mutual_info = np.maximum(total - entropy(passes).mean(axis=0), 0.0)
    return MCPrediction(probs, total, mutual_info, passes if keep_passes else None)


def mc_predict(
    model: Module,
    X: np.ndarray,
    T: int = 50,
    batch_size: int = 1000,
    keep_passes: bool = False,
) -> MCPrediction:
    """MC dropout prediction: `T` passes with dropout on, summarised.

    Args:
        model: a network with `Dropout` layers, returning logits `(batch, C)`.
        X: inputs `(N, ...)`.
        T: number of stochastic passes.
        batch_size: inputs per forward call.
        keep_passes: also return the per-pass probabilities `(T, N, C)`.

    Returns:
        An `MCPrediction` with `probs (N, C)`, `entropy (N,)`, `mutual_info (N,)` and,
        if asked, `passes`. The model's train/eval flags are as before the call.
    """
    return summarize(mc_passes(model, X, T, batch_size), keep_passes=keep_passes)
