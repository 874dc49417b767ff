"""Dropout on plain arrays: the CS231n shape of the layer, `*_forward` and `*_backward`.

    out, cache = dropout_forward(x, p, training, rng)
    dx = dropout_backward(dout, cache)

`nnscratch.dropout.Dropout` is a thin graph node over these two functions, as PyTorch's
`nn.Dropout.forward` calls `nn.functional.dropout`: one implementation, two ways to read it.

The definition is PyTorch's, to the bit. In training mode each element is kept with
probability `1 - p`: a uniform number `u` in [0, 1), drawn in the input's float type, is
compared with `1 - p` (`keep = u < 1 - p`). Survivors are multiplied by `1 / (1 - p)`, that
reciprocal computed in the input's float type (inverted dropout), so `E[out] = x`. Evaluation
mode, `p = 0` and an empty input return `x` itself; `p = 1` returns zeros and zero gradient.

`gaussian_noise` draws the multipliers of Gaussian dropout, the relative that replaces the
Bernoulli mask by continuous noise with the same mean and variance.

For a stack of K networks (`nnscratch.stack`), `rng` is a sequence of K generators, one per
member, and the first axis of every shape is the member axis: member k's slice is drawn from
`rng[k]` with the shape it has alone, so its masks are bit for bit those of training it alone.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


def check_p(p: float) -> float:
    """Return `p` as a float if it is a valid dropout rate in [0, 1], else raise ValueError."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise ValueError(f"dropout probability p must be a number in [0, 1], got {p!r}")
    p = float(p)
    if not 0.0 <= p <= 1.0:  # also rejects NaN
        raise ValueError(f"dropout probability p must be in [0, 1], got {p}")
    return p


def _float_type(dtype: np.dtype | type) -> type[np.floating]:
    """The float type masks and scales are computed in: the input's, float64 for non-floats."""
    dtype = np.dtype(dtype)
    return dtype.type if dtype.kind == "f" else np.float64


def keep_mask(
    shape: tuple[int, ...], p: float, rng: np.random.Generator, dtype=np.float32
) -> np.ndarray:
    """A boolean mask of `shape`, True (kept) with probability `1 - p` for each element.

    Args:
        shape: the mask's shape, that of the input it will multiply.
        p: drop probability in [0, 1].
        rng: the generator the uniform numbers come from, or one per member of a stack
            (then `shape[0]` is the number of members; see the module's docstring).
        dtype: the input's dtype; float32 input draws float32 uniforms (half the cost of
            float64), float64 input draws float64 ones.

    `p = 0` keeps everything and `p = 1` drops everything, without drawing.
    """
    return _keep_mask(shape, check_p(p), rng, _float_type(dtype))


def _keep_mask(shape, p: float, rng, ftype: type) -> np.ndarray:
    """`keep_mask` for a `p` already checked and a float type (no checks: called per step)."""
    if p == 0.0:
        return np.ones(shape, dtype=bool)
    if p == 1.0:
        return np.zeros(shape, dtype=bool)
    if ftype not in (np.float32, np.float64):  # float16: rng.random has no such dtype
        ftype = np.float32
    if isinstance(rng, np.random.Generator):
        return rng.random(shape, dtype=ftype) < ftype(1.0 - p)
    uniforms = [r.random(shape[1:], dtype=ftype) for r in member_generators(rng, shape)]
    return np.stack(uniforms) < ftype(1.0 - p)


def member_generators(rng, shape: tuple[int, ...] | None = None) -> tuple[np.random.Generator, ...]:
    """`rng`, one generator per member of a stack, checked against the stacked `shape`."""
    rng = tuple(rng) if isinstance(rng, (list, tuple)) else (rng,)
    if not rng or not all(isinstance(r, np.random.Generator) for r in rng):
        raise TypeError(
            "rng must be a np.random.Generator or a sequence of them (one per stacked network), "
            f"got {[type(r).__name__ for r in rng]}"
        )
    if shape is not None and (len(shape) == 0 or shape[0] != len(rng)):
        raise ValueError(
            f"rng holds {len(rng)} generators, one per stacked network, but the input's first "
            f"axis has {shape[0] if shape else 'no'} members (input shape {shape})"
        )
    return rng


def inverted_scale(p: float, dtype=np.float32) -> np.floating:
    """`1 / (1 - p)` in `dtype`, the factor on survivors; 0 for `p = 1` (nothing survives)."""
    return _inverted_scale(check_p(p), _float_type(dtype))


def _inverted_scale(p: float, ftype: type) -> np.floating:
    """`inverted_scale` for a `p` already checked and a float type."""
    return ftype(0.0) if p == 1.0 else ftype(1.0) / ftype(1.0 - p)


def gaussian_std(p: float) -> float:
    """`sqrt(p / (1 - p))`: the standard deviation of inverted dropout's multiplier.

    A kept-or-dropped multiplier `m / (1 - p)`, `m ~ Bernoulli(1 - p)`, has mean 1 and variance
    `(1 - p) / (1 - p)**2 - 1 = p / (1 - p)`; Gaussian dropout draws `N(1, p / (1 - p))` to match
    both. Needs `p` in [0, 1): at `p = 1` the variance is infinite.
    """
    p = check_p(p)
    if p == 1.0:
        raise ValueError(
            "Gaussian dropout needs p in [0, 1): its variance p / (1 - p) is infinite at 1"
        )
    return math.sqrt(p / (1.0 - p))


def gaussian_noise(
    shape: tuple[int, ...], p: float, rng: np.random.Generator, dtype=np.float32
) -> np.ndarray:
    """Multipliers `1 + sigma z`, `z ~ N(0, 1)`, `sigma = gaussian_std(p)`, one per element.

    Args:
        shape: the shape of the input the noise multiplies.
        p: the dropout rate whose first two moments the noise matches, in [0, 1).
        rng: the generator the normal numbers come from (or one per member of a stack).
        dtype: the input's dtype; the normals are drawn in it (float32 or float64).

    `p = 0` gives ones without drawing. Unlike a mask, a multiplier can be negative (with
    probability `Phi(-1 / sigma)`, 2.3% at p = 0.5).
    """
    sigma = gaussian_std(p)
    ftype = _float_type(dtype)
    if ftype not in (np.float32, np.float64):
        ftype = np.float32
    if sigma == 0.0:
        return np.ones(shape, dtype=ftype)
    if isinstance(rng, np.random.Generator):
        noise = rng.standard_normal(shape, dtype=ftype)
    else:  # a stack: member k's noise from its own generator, as alone
        noise = np.stack(
            [r.standard_normal(shape[1:], dtype=ftype) for r in member_generators(rng, shape)]
        )
    noise *= ftype(sigma)
    noise += ftype(1.0)
    return noise


def apply_mask(x: np.ndarray, mask: np.ndarray, scale: float) -> np.ndarray:
    """`x * scale * mask` in `x`'s dtype, as a new array.

    Used by the forward pass (on activations) and the backward pass (on gradients): if
    `y = x * m * s` then `dL/dx = dL/dy * m * s`, with the same `m` and `s`.
    """
    x = np.asarray(x)
    if mask.shape != x.shape:
        raise ValueError(f"mask shape {mask.shape} does not match input shape {x.shape}")
    return _apply_mask(x, mask, _float_type(x.dtype)(scale))


def _apply_mask(x: np.ndarray, mask: np.ndarray, scale: np.floating) -> np.ndarray:
    """`apply_mask` for matching shapes and a scale already in `x`'s float type."""
    out = np.multiply(x, scale)
    out *= mask  # a dropped element becomes exactly 0 (finite inputs)
    return out


class DropoutCache(NamedTuple):
    """What `dropout_backward` needs: the keep mask (None for the identity) and the scale."""

    mask: np.ndarray | None
    scale: np.floating | float


def dropout_forward(
    x: np.ndarray, p: float, training: bool, rng: np.random.Generator
) -> tuple[np.ndarray, DropoutCache]:
    """Inverted dropout on an array.

    Args:
        x: input of any shape, e.g. activations `(batch, features)`.
        p: probability of zeroing each element, in [0, 1].
        training: drop and rescale if True; return `x` unchanged if False.
        rng: the generator the mask is drawn from (or one per member of a stack).

    Returns:
        `out`, of `x`'s shape and dtype (`x` itself when nothing is dropped), and the cache
        for `dropout_backward`.
    """
    p = check_p(p)
    x = np.asarray(x)
    if not training or p == 0.0 or x.size == 0:
        return x, DropoutCache(None, 1.0)
    # `p` is checked once, above; the helpers below skip the public functions' checks.
    ftype = _float_type(x.dtype)
    mask = _keep_mask(x.shape, p, rng, ftype)
    scale = _inverted_scale(p, ftype)
    return _apply_mask(x, mask, scale), DropoutCache(mask, scale)


def dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """dL/dx from dL/dout: the same mask and scale as the forward pass (`dout` if identity)."""
    mask, scale = cache
    return dout if mask is None else apply_mask(dout, mask, scale)
