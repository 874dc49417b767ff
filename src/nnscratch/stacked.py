"""Many paired copies of one multilayer perceptron, trained at once in one NumPy loop.

The book's experiments train the same network many times: once per dropout rate and seed.
Trained one at a time with `fit`, each step of each run pays Python's overhead for building a
graph of `Tensor` objects, and a batch of 16 digits keeps the matrix products small. Here the
K runs of a comparison are stacked along a new first axis: the weights of layer l are one
array `(K, in, out)`, a mini-batch is `(K, B, in)`, and each step of all K runs is a handful
of batched matrix products (`np.matmul` on stacks).

The maths is exactly that of the package's layers and `fit` (a test trains the same configs
both ways and compares the weights), written out by hand for a fixed architecture:

    forward   h_0 = d_0(x),  z_l = h_{l-1} W_l + b_l,  h_l = d_l(relu(z_l)),  logits z_L
    backward  dz_L = dloss/dz_L,  dW_l = h_{l-1}^T dz_l,  db_l = sum_batch dz_l,
              dh_{l-1} = dz_l W_l^T,  then through d_{l-1} (same mask and scale) and relu'

where `d_l` multiplies by the layer's keep mask and its training scale (or, for Gaussian dropout,
by the layer's Gaussian multipliers), and SGD's optional max-norm constraint projects each unit's
incoming weights after every step. Each run keeps its own
three generators (initial weights, batch order, masks), drawn in the same order as the
package's modules draw them, so a run's numbers do not depend on which other runs share its
stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .functional import gaussian_noise, inverted_scale, keep_mask
from .nn import Linear, Sequential
from .optim import max_norm_

# How each dropout variant scales a layer: (training scale of survivors, eval-mode scale).
VARIANT_SCALES = {
    "inverted": lambda p, t: (inverted_scale(p, t), t(1.0)),
    "unscaled": lambda p, t: (t(1.0), t(1.0)),
    "test_time": lambda p, t: (t(1.0), t(1.0 - p)),
    "gaussian": lambda p, t: (t(1.0), t(1.0)),  # the noise itself has mean 1
}


@dataclass
class Member:
    """One run in a stack: its model (for the initial weights), generators and dropout."""

    model: Sequential
    order_rng: np.random.Generator | None  # None keeps the stored order (no shuffling)
    mask_rng: np.random.Generator
    rates: Sequence[float]  # drop probability before each weight layer (input first)
    variant: str


class StackedMLP:
    """K MLPs of the same widths, trained in lockstep on their own batches and masks.

    Args:
        members: the runs. Their models must be `Sequential`s of `Linear` layers (any other
            layers are ignored: the architecture is Linear-ReLU-...-Linear with dropout
            where `rates` says) with the same widths.
        lr: SGD learning rate: one for all members, or one per member.
        momentum: SGD momentum (PyTorch's form, as `nnscratch.optim.SGD`), shared.
        loss: "cross_entropy" on labels or "mse" on one-hot targets, shared.
        dtype: float type of the weights and activations.
        max_norm: if given, after each step every unit's incoming weights are projected into
            the ball of that radius (as `optim.SGD(max_norm=...)`), shared.
        weight_decay: L2 coefficient added to every parameter's gradient before momentum
            (as `optim.SGD(weight_decay=...)`): one for all members, or one per member.
    """

    def __init__(
        self,
        members: Sequence[Member],
        lr: float | Sequence[float],
        momentum: float = 0.0,
        loss: str = "cross_entropy",
        dtype=np.float32,
        max_norm: float | None = None,
        weight_decay: float | Sequence[float] = 0.0,
    ) -> None:
        if not members:
            raise ValueError("StackedMLP needs at least one member")
        if loss not in ("cross_entropy", "mse"):
            raise ValueError(f"loss must be 'cross_entropy' or 'mse', got {loss!r}")
        self.members = list(members)
        self.dtype = np.dtype(dtype).type
        self.momentum, self.loss = float(momentum), loss
        # (K, 1, 1): each member's own step size and decay, broadcast over its parameters
        self.lr = self._per_member(lr, "lr")
        self.max_norm = None if max_norm is None else float(max_norm)
        self.weight_decay = self._per_member(weight_decay, "weight_decay")
        linears = [[m for m in member.model.layers if isinstance(m, Linear)] for member in members]
        shapes = {tuple((layer.in_features, layer.out_features) for layer in ls) for ls in linears}
        if len(shapes) != 1:
            raise ValueError(f"all members need the same layer widths, got {sorted(shapes)}")
        n_layers = len(linears[0])
        # W_l as (K, in, out): x @ W is the product each step takes, with W contiguous.
        self.W = [
            np.ascontiguousarray(np.stack([ls[i].weight.data.T for ls in linears]), self.dtype)
            for i in range(n_layers)
        ]
        self.b = [
            np.stack([ls[i].bias.data[None, :] for ls in linears]).astype(self.dtype)
            for i in range(n_layers)
        ]
        self.velocity = [np.zeros_like(w) for w in self.W + self.b] if self.momentum else None
        for member in members:
            if len(member.rates) != n_layers:
                raise ValueError(f"need one rate per weight layer ({n_layers}), got {member.rates}")
            if member.variant not in VARIANT_SCALES:
                raise ValueError(f"dropout variant must be one of {list(VARIANT_SCALES)}")
        # Per layer: the training and eval scales, (K, 1, 1), and who draws a mask.
        self.rates = np.array([m.rates for m in members], dtype=np.float64)  # (K, layers)
        scales = [[VARIANT_SCALES[m.variant](p, self.dtype) for p in m.rates] for m in self.members]
        self.train_scale = [
            np.array([s[i][0] for s in scales], self.dtype)[:, None, None] for i in range(n_layers)
        ]
        self.eval_scale = [
            np.array([s[i][1] for s in scales], self.dtype)[:, None, None] for i in range(n_layers)
        ]

    def _per_member(self, value, name: str) -> np.ndarray:
        """`value` (one number, or one per member) as a `(K, 1, 1)` array."""
        k = len(self.members)
        try:
            values = np.broadcast_to(np.asarray(value, dtype=np.float64), (k,))
        except ValueError:
            raise ValueError(
                f"{name} must be one number or one per member ({k}), got {value!r}"
            ) from None
        return values.astype(self.dtype)[:, None, None]

    @property
    def size(self) -> int:
        return len(self.members)

    def _masks(self, layer: int, shape: tuple[int, int]) -> np.ndarray | None:
        """Keep masks `(K, *shape)` for one layer, each drawn from its member's generator in
        the order the package's `Dropout` draws them (Gaussian multipliers for a member with
        Gaussian dropout, as `GaussianDropout` draws them); None if no member drops here."""
        rates = self.rates[:, layer]
        if not rates.any():
            return None
        return np.stack(
            [
                gaussian_noise(shape, p, m.mask_rng, self.dtype)
                if m.variant == "gaussian"
                else keep_mask(shape, p, m.mask_rng, self.dtype)
                for p, m in zip(rates, self.members, strict=True)
            ]
        )

    def step(self, X: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One SGD step of every member on its own batch.

        Args:
            X: `(K, B, in)` inputs.
            target: `(K, B)` labels (cross-entropy) or `(K, B, classes)` one-hot rows (MSE).

        Returns:
            Each member's mini-batch loss `(K,)` and its training-mode logits `(K, B, C)`.
        """
        last = len(self.W) - 1
        hs, masks, pre = [], [], []  # layer inputs, their masks, pre-activations
        h = X
        for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            mask = self._masks(i, h.shape[1:])
            if mask is not None:  # h * scale, then * mask: the package's apply_mask (Gaussian:
                # scale 1, then * noise: GaussianDropout's x * noise, bit for bit)
                h = h * self.train_scale[i]
                h *= mask
            masks.append(mask)
            hs.append(h)
            z = np.matmul(h, W)
            z += b
            if i < last:
                pre.append(z)
                h = np.maximum(z, 0)
        losses, dz = self._loss_and_grad(z, target)

        # Backward, last layer first; each dW_l = h_{l-1}^T dz_l, summed over the batch.
        grads_W, grads_b = [None] * len(self.W), [None] * len(self.W)
        for i in reversed(range(len(self.W))):
            grads_W[i] = np.matmul(hs[i].transpose(0, 2, 1), dz)
            grads_b[i] = dz.sum(axis=1, keepdims=True)
            if i == 0:
                break
            dh = np.matmul(dz, self.W[i].transpose(0, 2, 1))
            if masks[i] is not None:
                dh *= self.train_scale[i]
                dh *= masks[i]
            dz = dh * (pre[i - 1] > 0)
        self._update(grads_W + grads_b)
        return losses, z

    def _loss_and_grad(self, z: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean mini-batch loss per member and its gradient with respect to the logits."""
        batch = z.shape[1]
        if self.loss == "mse":
            diff = z - target.astype(self.dtype, copy=False)
            n = diff.shape[1] * diff.shape[2]
            # dL/dz = 2 (z - y) / n, n = elements per member (MSELoss's mean)
            return np.mean(diff * diff, axis=(1, 2)), diff * self.dtype(2.0 / n)
        shifted = z - z.max(axis=2, keepdims=True)
        exp = np.exp(shifted)
        sum_exp = exp.sum(axis=2)
        k_idx, b_idx = np.indices(target.shape)
        losses = np.mean(np.log(sum_exp) - shifted[k_idx, b_idx, target], axis=1)
        grad = exp / sum_exp[:, :, None]  # softmax - onehot, over the batch size
        grad[k_idx, b_idx, target] -= 1
        return losses, grad * self.dtype(1.0 / batch)

    def _update(self, grads: list[np.ndarray]) -> None:
        params = self.W + self.b
        if self.weight_decay.any():  # g <- g + lam w, before momentum (PyTorch's weight_decay)
            for w, g in zip(params, grads, strict=True):
                g += self.weight_decay * w
        if self.velocity is None:
            for w, g in zip(params, grads, strict=True):
                g *= self.lr
                w -= g
        else:
            for w, v, g in zip(params, self.velocity, grads, strict=True):
                v *= self.dtype(self.momentum)  # v <- mu v + g, then w <- w - lr v
                v += g
                w -= self.lr * v
        if self.max_norm is not None:
            for W in self.W:  # (K, in, out): unit j's incoming weights are W[k, :, j]
                max_norm_(W, self.max_norm, axis=1)

    def logits(self, X: np.ndarray, chunk: int = 1000) -> np.ndarray:
        """Eval-mode outputs of every member on the same inputs `(N, in)`: `(K, N, C)`."""
        out = []
        for start in range(0, len(X), chunk):
            h = X[start : start + chunk]  # (n, in); matmul broadcasts it over the members
            for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
                if self.rates[:, i].any():
                    h = h * self.eval_scale[i]
                h = np.matmul(h, W)
                h += b
                if i < len(self.W) - 1:
                    h = np.maximum(h, 0)
            out.append(h)
        return np.concatenate(out, axis=1)

    def weights(self, k: int) -> list[np.ndarray]:
        """Member `k`'s parameters in the package's layout: `[W_1 (out, in), b_1, W_2, ...]`."""
        params = []
        for W, b in zip(self.W, self.b, strict=True):
            params += [W[k].T.copy(), b[k, 0].copy()]
        return params
