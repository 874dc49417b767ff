"""The ensemble behind dropout, computed exactly: every thinned network of one dropout layer.

A dropout layer over `n` units can draw `2^n` masks `m`; each mask keeps the units where
`m_j = 1` and gives one *thinned network* `f_m`. Training with dropout trains all of them at
once, with shared weights, and mask `m` is drawn with probability

    pi(m) = (1 - p)^(kept) * p^(n - kept).

For a small layer (`n` up to about 16) we can run every thinned network and combine their
softmax outputs `P_m(x)` in the two ways the literature discusses:

- the arithmetic mean `A(x) = sum_m pi(m) P_m(x)`, the usual ensemble average, which MC
  dropout estimates by sampling masks;
- the normalised geometric mean `G(x) ∝ prod_m P_m(x)^pi(m)`, renormalised over the classes.
  In log space it is a weighted average of log-probabilities:
  `log G = sum_m pi(m) log P_m + const`.

When the dropout layer feeds the output layer directly, the logits `z_m = W (m * h) / (1-p) + b`
are linear in `m`, and `sum_m pi(m) log softmax(z_m) = softmax-normalise(E[z_m])` up to a
constant per input, so `G` equals `softmax(W h + b)`: the eval-mode network of inverted dropout.
With a nonlinearity between the dropout layer and the logits that identity is lost, and the
eval-mode pass is only an approximation of `G`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .dropout import Dropout, TestTimeScaledDropout, UnscaledDropout
from .functional import check_p, inverted_scale
from .mc import _modules, softmax
from .nn import Module, Sequential
from .tensor import Tensor

__all__ = [
    "EnsemblePrediction",
    "all_masks",
    "exact_ensemble",
    "mask_probabilities",
    "split_at_dropout",
]


def all_masks(n: int) -> np.ndarray:
    """Every keep mask of `n` units, `(2**n, n)` booleans; row `k` is `k` written in binary.

    Row 0 drops every unit, the last row keeps them all.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= 24:
        raise ValueError(f"n (the number of units) must be an integer in [1, 24], got {n!r}")
    codes = np.arange(2**n)[:, None]
    return (codes >> np.arange(n)[None, :]) & 1 == 1


def mask_probabilities(masks: np.ndarray, p: float) -> np.ndarray:
    """The probability of drawing each mask, `(1 - p)^kept * p^dropped`, `(M,)` float64.

    Args:
        masks: `(M, n)` booleans, True where the unit is kept.
        p: the drop probability, in [0, 1].

    Over `all_masks(n)` the probabilities sum to 1.
    """
    p = check_p(p)
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 2:
        raise ValueError(f"masks must be (M, n) booleans, got shape {masks.shape}")
    kept = masks.sum(axis=1)
    return (1.0 - p) ** kept * p ** (masks.shape[1] - kept)


@dataclass(frozen=True)
class EnsemblePrediction:
    """Both averages of all `2**n` thinned networks, for `N` inputs and `C` classes.

    Attributes:
        arithmetic: `(N, C)`, `sum_m pi(m) softmax(z_m)`.
        geometric: `(N, C)`, the normalised geometric mean `∝ prod_m softmax(z_m)^pi(m)`.
        n_units: `n`, the units of the dropout layer; `2**n` networks were run.
    """

    arithmetic: np.ndarray
    geometric: np.ndarray
    n_units: int


def split_at_dropout(model: Sequential) -> tuple[Sequential, Dropout, Sequential]:
    """The layers below the model's one dropout layer, that layer, and the layers above.

    Raises:
        ValueError: if `model` is not a `Sequential` or does not hold exactly one `Dropout`
            (the subclasses count) at its top level, or holds one inside a nested module.
    """
    if not isinstance(model, Sequential):
        raise ValueError(f"model must be a Sequential, got {type(model).__name__}")
    layers = list(model.layers)
    found = [i for i, layer in enumerate(layers) if isinstance(layer, Dropout)]
    nested = [
        m
        for layer in layers
        if not isinstance(layer, Dropout)
        for m in _modules(layer)
        if isinstance(m, Dropout)
    ]
    if len(found) != 1 or nested:
        raise ValueError(
            "exact_ensemble needs a Sequential with exactly one Dropout layer at its top level, "
            f"found {len(found)} there and {len(nested)} nested"
        )
    k = found[0]
    return Sequential(layers[:k]), layers[k], Sequential(layers[k + 1 :])


@contextmanager
def _eval_mode(model: Module) -> Iterator[None]:
    """Every module in eval mode inside the block; the previous flags are restored after."""
    modules = _modules(model)
    saved = [module.training for module in modules]
    try:
        model.eval()
        yield
    finally:
        for module, mode in zip(modules, saved, strict=True):
            module.training = mode


def _train_scale(layer: Dropout) -> float:
    """What the layer multiplies kept units by in training: 1/(1-p) for inverted dropout."""
    if isinstance(layer, (UnscaledDropout, TestTimeScaledDropout)):
        return 1.0
    return float(inverted_scale(layer.p, np.float64))


def exact_ensemble(
    model: Sequential, X: np.ndarray, max_units: int = 16, rows_per_chunk: int = 2**18
) -> EnsemblePrediction:
    """Run all `2**n` thinned networks of the model's dropout layer and average them.

    Args:
        model: a `Sequential` of any layers with exactly one `Dropout` layer (of `n` units),
            ending in logits `(batch, C)`. Each thinned network is the model in training mode
            with that dropout layer's mask fixed to one of the `2**n` masks; the other layers
            run in eval mode.
        X: inputs `(N, ...)`, computed in float64.
        max_units: refuse layers wider than this (the cost doubles with every unit).
        rows_per_chunk: how many (mask, input) rows go through the layers above at once
            (memory only; the result does not depend on it).

    Returns:
        The arithmetic and the normalised geometric mean of the thinned networks' softmax
        outputs, each weighted by the probability of its mask. The model's flags are as
        before the call.
    """
    below, dropout, above = split_at_dropout(model)
    if not isinstance(max_units, (int, np.integer)) or not 1 <= max_units <= 24:
        raise ValueError(f"max_units must be an integer in [1, 24], got {max_units!r}")
    X = np.asarray(X, dtype=np.float64)
    with _eval_mode(model):
        h = below(Tensor(X)).data if below.layers else X  # the dropout layer's input, (N, n)
        if h.ndim != 2:
            raise ValueError(f"the dropout layer's input must be (N, n), got shape {h.shape}")
        n_inputs, n = h.shape
        if n > max_units:
            raise ValueError(
                f"the dropout layer has {n} units: 2**{n} thinned networks is too many "
                f"(max_units={max_units})"
            )
        masks = all_masks(n)
        weights = mask_probabilities(masks, dropout.p)
        scaled = h * _train_scale(dropout)
        arithmetic = 0.0
        log_geometric = 0.0
        step = max(1, rows_per_chunk // max(n_inputs, 1))
        for start in range(0, len(masks), step):
            chunk, pi = masks[start : start + step], weights[start : start + step]
            thinned = (chunk[:, None, :] * scaled[None, :, :]).reshape(-1, n)  # (M*N, n)
            z = above(Tensor(thinned)).data if above.layers else thinned
            z = z.reshape(len(chunk), n_inputs, -1)  # (M, N, C) logits
            shifted = z - z.max(axis=2, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
            arithmetic = arithmetic + np.einsum("m,mnc->nc", pi, np.exp(log_probs))
            log_geometric = log_geometric + np.einsum("m,mnc->nc", pi, log_probs)
    return EnsemblePrediction(np.asarray(arithmetic), softmax(log_geometric), n)
