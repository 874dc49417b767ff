"""Temperature scaling: the cheap calibration baseline (Guo et al., 2017).

An overconfident classifier's probabilities can often be repaired after training by one number:
divide the logits by a temperature `T` before the softmax. `T > 1` softens every prediction,
`T < 1` sharpens it, and the predicted class never changes (so accuracy does not either). `T`
is fitted on validation digits by minimising their cross-entropy, never on the test digits.
Log-probabilities serve as logits: the softmax ignores a constant added to a row.
"""

from __future__ import annotations

import math

import numpy as np

from .mc import softmax


def _logits_and_labels(logits, labels) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels)
    if z.ndim != 2 or z.shape[0] == 0:
        raise ValueError(f"logits must have shape (N, classes) with N > 0, got {z.shape}")
    if not np.isfinite(z).all():
        raise ValueError("logits must be finite (clip log-probabilities of 0 first)")
    if y.shape != (z.shape[0],) or y.dtype.kind not in "iu":
        raise ValueError(f"labels must be {z.shape[0]} integers, got shape {y.shape}")
    if y.min() < 0 or y.max() >= z.shape[1]:
        raise ValueError(f"labels must be in [0, {z.shape[1] - 1}]")
    return z, y


def _loss(z: np.ndarray, y: np.ndarray, inverse_t: float) -> float:
    """Mean cross-entropy of softmax(z / T) at 1 / T = `inverse_t`."""
    scaled = z * inverse_t
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scaled).sum(axis=1))
    return float(np.mean(log_norm - scaled[np.arange(len(y)), y]))


def fit_temperature(logits, labels, low: float = 0.05, high: float = 20.0) -> float:
    """The temperature that minimises the cross-entropy of `softmax(logits / T)` on `labels`.

    Args:
        logits: `(N, classes)` scores of the validation examples (or their log-probabilities).
        labels: `(N,)` their true classes.
        low, high: the search range of `T`.

    The loss is convex in `1 / T` (a log-sum-exp of a linear function of it, minus a linear
    term), so a golden-section search on `1 / T` finds its minimum to about 1e-10.
    """
    z, y = _logits_and_labels(logits, labels)
    if not 0 < low < high:
        raise ValueError(f"need 0 < low < high, got low={low}, high={high}")
    a, b = 1.0 / high, 1.0 / low
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    loss_c, loss_d = _loss(z, y, c), _loss(z, y, d)
    while b - a > 1e-10 * (1.0 + abs(a)):
        if loss_c <= loss_d:
            b, d, loss_d = d, c, loss_c
            c = b - ratio * (b - a)
            loss_c = _loss(z, y, c)
        else:
            a, c, loss_c = c, d, loss_d
            d = a + ratio * (b - a)
            loss_d = _loss(z, y, d)
    return 1.0 / (0.5 * (a + b))


def tempered(logits, temperature: float) -> np.ndarray:
    """`softmax(logits / temperature)`: probabilities at the fitted temperature."""
    if not (temperature > 0 and math.isfinite(temperature)):
        raise ValueError(f"temperature must be a positive finite number, got {temperature!r}")
    return softmax(np.asarray(logits, dtype=np.float64) / temperature)
