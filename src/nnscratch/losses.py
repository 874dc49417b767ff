"""Loss functions: a prediction and a target in, a scalar `Tensor` out.

Both losses are means, and their backward passes divide by the same count as their forward
passes, so the gradient is the derivative of the number that is reported.

For a stack of K networks (`nnscratch.stack`: predictions with a leading member axis) the loss
is the *sum* over members of each member's own mean, so that member k's gradient is exactly
the gradient of its own loss; `member_losses` gives the K means themselves.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor


def _check_finite(name: str, values: np.ndarray) -> None:
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or infinite values")


class MSELoss:
    """Mean squared error over all elements: `L = mean((y_hat - y)**2)`.

    Args (call):
        y_hat: `Tensor` of shape `(batch, k)`, or `(K, batch, k)` for a stack of K networks.
        y: array or `Tensor` of the same shape (a one-hot target or real values).

    Backward: `dL/dy_hat = 2 (y_hat - y) / N`, with N the number of elements (of one member,
    for a stack), the same N that the forward mean divides by.
    """

    def __call__(self, y_hat: Tensor, y) -> Tensor:
        target = np.asarray(y.data if isinstance(y, Tensor) else y)
        if target.shape != y_hat.data.shape:
            raise ValueError(
                f"MSELoss needs prediction and target of the same shape, got prediction "
                f"{y_hat.data.shape} and target {target.shape}"
            )
        _check_finite("prediction", y_hat.data)
        _check_finite("target", target)
        if y_hat.data.ndim > 3:
            raise ValueError(
                f"MSELoss expects a prediction y_hat of shape (batch, k) or, for a stack, "
                f"(K, batch, k), got {y_hat.data.shape}"
            )
        diff = y_hat.data - target.astype(y_hat.data.dtype, copy=False)
        n = diff[0].size if diff.ndim == 3 else diff.size  # a stack: one member's elements

        def backward(g: np.ndarray) -> None:
            y_hat.accumulate(g * (2.0 / n) * diff)

        loss = (diff * diff).sum() / n  # the mean over all N elements (summed over members)
        return Tensor.from_op(np.asarray(loss), (y_hat,), backward)

    def __repr__(self) -> str:
        return "MSELoss()"


class CrossEntropyLoss:
    """Softmax followed by negative log-likelihood, averaged over the batch.

    Args (call):
        logits: `Tensor` of shape `(batch, classes)`, unnormalised scores; for a stack of K
            networks `(K, batch, classes)`.
        y: integer class labels of shape `(batch,)` (a stack: `(K, batch)`), in `[0, classes)`.

    `L = mean_i( logsumexp(z_i) - z_i[y_i] )`, computed after subtracting each row's maximum
    so that large logits cannot overflow. Backward: `dL/dz = (softmax(z) - onehot(y)) / batch`.
    """

    def __call__(self, logits: Tensor, y) -> Tensor:
        z = logits.data
        labels = np.asarray(y.data if isinstance(y, Tensor) else y)
        if z.ndim not in (2, 3):
            raise ValueError(
                f"CrossEntropyLoss expects logits (batch, classes) or, for a stack, "
                f"(K, batch, classes), got {z.shape}"
            )
        if labels.shape != z.shape[:-1]:
            raise ValueError(
                f"CrossEntropyLoss needs labels y of shape {z.shape[:-1]} for logits {z.shape}, "
                f"got labels {labels.shape}"
            )
        if labels.dtype.kind not in "iu" and not (
            labels.dtype.kind == "f" and np.array_equal(labels, np.round(labels))
        ):
            raise ValueError(f"CrossEntropyLoss needs integer labels, got dtype {labels.dtype}")
        labels = labels.astype(np.intp, copy=False)
        # One pass for both ends: seen as unsigned, a negative label is a huge number.
        if labels.size and labels.view(np.uintp).max() >= z.shape[-1]:
            raise ValueError(
                f"labels must be in [0, {z.shape[-1] - 1}], got [{labels.min()}, {labels.max()}]"
            )
        _check_finite("logits", z)
        n = z.shape[-2]  # the batch size
        # where each row's label is: (row, label), or (member, row, label) for a stack
        target = (np.arange(n), labels) if z.ndim == 2 else (*np.ogrid[: len(z), :n], labels)
        shifted = z - z.max(axis=-1, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=-1)
        # the mean over the batch (for a stack: each member's mean, summed over members)
        loss = (np.log(sum_exp) - shifted[target]).sum() / n

        def backward(g: np.ndarray) -> None:
            grad = exp / sum_exp[..., None]
            grad[target] -= 1.0
            grad *= g / n
            logits.accumulate(grad)

        return Tensor.from_op(np.asarray(loss, dtype=z.dtype), (logits,), backward)

    def __repr__(self) -> str:
        return "CrossEntropyLoss()"


def member_losses(loss_fn, y_hat: np.ndarray, y) -> np.ndarray:
    """Each member's own loss in a stack: `loss_fn` on `(y_hat[k], y[k])` for every k, `(K,)`.

    The stacked loss is their sum; this is the breakdown a training history records. No graph
    is built (`y_hat` is an array).
    """
    y = np.asarray(y.data if isinstance(y, Tensor) else y)
    return np.array([float(loss_fn(Tensor(out), t).data) for out, t in zip(y_hat, y, strict=True)])
