"""The benchmark's network three times: with nnscratch, in raw NumPy, and in PyTorch.

All three train the same 784-256-10 MLP (Linear, ReLU, inverted Dropout, Linear) with
softmax cross-entropy and plain SGD in float32, starting from the same initial weights.

The raw NumPy version (`NumpyMLP`) is the floor: the fastest version of the same maths we
could write by hand, with no graph, no checks and nothing kept between steps but the weights.
Each choice below was measured on the benchmark machine (one OpenBLAS thread):
- below 8 rows a product runs as one vector-matrix product per row (`np.vecmat`): OpenBLAS's
  matrix-matrix kernel costs 2-3x as much at those sizes (at batch 2, 15 us instead of 41 us
  for the first layer);
- the weights' memory layout follows the batch size: `(in, out)` in memory from 8 rows up,
  so the forward products are `X @ W` on two C-contiguous arrays; PyTorch's `(out, in)`
  below 8 rows, where `dL/dW` as `dh^T X` is the faster product (over whole epochs, 3%
  faster at batch 2 and 1% slower at 64 and 256). Either way `W` is used as an `(in, out)`
  array, and each update is computed in the weights' own memory order;
- every intermediate is updated in place (bias, ReLU, dropout, softmax);
- the learning rate multiplies the small output gradient `dL/dz` once, so that the weights
  are updated as `W -= X^T (lr dL/dh)` with no gradient-sized temporary (the gradient of a
  weight matrix is never stored: a framework that keeps `.grad` cannot do this);
- ReLU's and dropout's backward passes are one multiplication by `scale * (h > 0)`: after
  dropout, `h > 0` exactly where the unit was kept and its input was positive.

`NumpyMLP(keep_grads=True)` is the same code with the update a framework has to do: every
gradient is stored, then `w -= lr * dw` (shown for reference; it is not the floor).

Both NumPy versions draw their dropout masks exactly as `nnscratch.functional.keep_mask`
does (a float32 uniform compared with `float32(1 - p)`), so with the same seed and no
shuffling they use the same masks as `nnscratch.nn.Dropout`; `step_losses` uses that to show
that the implementations compute the same losses.

PyTorch is imported lazily, so the NumPy-side worker never loads its thread pool.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from nnscratch.data import load_tinymnist, to_float
from nnscratch.losses import CrossEntropyLoss
from nnscratch.nn import Dropout, Linear, ReLU, Sequential
from nnscratch.optim import SGD
from nnscratch.stack import stack_modules
from nnscratch.train import fit

SIZES = (784, 256, 10)
LR = 0.1
FEW_ROWS = 8  # below this many rows, a product runs row by row (see the module docstring)


def load_data() -> tuple[np.ndarray, np.ndarray]:
    """The 4,000 training digits as float32 rows `(4000, 784)` and int64 labels `(4000,)`."""
    data = load_tinymnist()
    return to_float(data.x_train).reshape(len(data.x_train), -1), data.y_train


def init_weights(seed: int) -> list[np.ndarray]:
    """He-normal weights and zero biases `[W1, b1, W2, b2]`, float32, PyTorch layout."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        w = rng.standard_normal((n_out, n_in)) * math.sqrt(2.0 / n_in)
        params += [w.astype(np.float32), np.zeros(n_out, dtype=np.float32)]
    return params


def keep_mask(rng: np.random.Generator, shape: tuple[int, ...], p: float) -> np.ndarray:
    """The boolean keep mask, drawn as `nnscratch.functional.keep_mask` draws it (float32)."""
    return rng.random(shape, dtype=np.float32) < np.float32(1.0 - p)


def inverted_scale(p: float) -> np.float32:
    """`1 / (1 - p)` in float32, as `nnscratch.functional.inverted_scale` computes it."""
    return np.float32(1.0) / np.float32(1.0 - p)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`a @ b`, one vector-matrix product per row when `a` has few rows (faster there)."""
    return np.vecmat(a, b) if len(a) < FEW_ROWS else a @ b


def weight_product(a: np.ndarray, b: np.ndarray, like: np.ndarray) -> np.ndarray:
    """`a^T b` in the memory order of `like`, so that `like -= a^T b` runs contiguously."""
    return (b.T @ a).T if not like.flags.c_contiguous else a.T @ b


# --- nnscratch ------------------------------------------------------------------------------


class NnscratchMLP:
    """The network built from nnscratch layers; one epoch is one call of `fit`."""

    def __init__(self, weights: list[np.ndarray], p: float, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        first, second = Linear(784, 256), Linear(256, 10)
        for layer, (w, b) in ((first, weights[0:2]), (second, weights[2:4])):
            layer.weight.data[...] = w
            layer.bias.data[...] = b
        self.model = Sequential([first, ReLU(), Dropout(p, rng=self.rng), second])
        self.loss_fn = CrossEntropyLoss()
        self.optimizer = SGD(self.model.parameters(), lr=LR)

    def epoch(self, X: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True) -> float:
        history = fit(
            self.model,
            self.loss_fn,
            self.optimizer,
            (X, y),
            epochs=1,
            batch_size=batch_size,
            rng=self.rng if shuffle else None,
            progress=False,
            eval_train=False,
        )
        return history.train_loss[0]


# --- raw NumPy ------------------------------------------------------------------------------


class NumpyMLP:
    """The same network and training step written directly in NumPy (the floor)."""

    def __init__(
        self, weights: list[np.ndarray], p: float, seed: int, keep_grads: bool = False
    ) -> None:
        self.rng = np.random.default_rng(seed)
        W1, b1, W2, b2 = weights
        # W1, W2 are (in, out) arrays; `arrange` picks their memory order for a batch size.
        self.W1, self.W2 = np.ascontiguousarray(W1.T), np.ascontiguousarray(W2.T)
        self.b1, self.b2 = b1.copy(), b2.copy()
        self.p = p
        self.scale = inverted_scale(p) if p else None
        self.keep_grads = keep_grads

    def step(self, X: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """One SGD step on a batch; returns (mean loss, correct predictions)."""
        n = len(X)
        rows = np.arange(n)
        # Forward: h = dropout(relu(X W1 + b1)), z = h W2 + b2, all in place on fresh arrays
        h = matmul(X, self.W1)
        h += self.b1
        np.maximum(h, 0, out=h)
        if self.p:
            keep = keep_mask(self.rng, h.shape, self.p)
            h *= self.scale
            h *= keep
        z = matmul(h, self.W2)
        z += self.b2
        correct = int(np.count_nonzero(z.argmax(axis=1) == y))
        # Softmax cross-entropy, shifted by the row maximum for stability; z becomes exp(z)
        z -= z.max(axis=1, keepdims=True)
        z_y = z[rows, y]
        np.exp(z, out=z)
        s = z.sum(axis=1)
        loss = float(np.mean(np.log(s) - z_y))
        # Backward: dL/dz = (softmax - onehot) / n, in place in z
        dz = z
        dz /= s[:, None]
        dz[rows, y] -= 1.0
        if self.keep_grads:
            self._update_keeping_grads(X, h, dz)
        else:
            self._update(X, h, dz)
        return loss, correct

    def _update(self, X: np.ndarray, h: np.ndarray, dz: np.ndarray) -> None:
        """Backward pass and SGD update in one, with lr folded into dL/dz (the floor)."""
        dz *= np.float32(LR / len(X))  # from here on every gradient is lr * dL/d(.)
        dh = matmul(dz, self.W2.T)  # uses W2 before its update
        self.W2 -= weight_product(h, dz, self.W2)
        self.b2 -= dz.sum(axis=0)
        # ReLU and dropout backward together: h > 0 where the unit was kept and positive
        if self.p:
            dh *= self.scale
        dh *= h > 0
        self.W1 -= weight_product(X, dh, self.W1)
        self.b1 -= dh.sum(axis=0)

    def _update_keeping_grads(self, X: np.ndarray, h: np.ndarray, dz: np.ndarray) -> None:
        """The backward pass and update as a framework does them: store dL/dw, then update."""
        dz *= np.float32(1.0 / len(X))
        dh = matmul(dz, self.W2.T)
        dW2, db2 = weight_product(h, dz, self.W2), dz.sum(axis=0)
        if self.p:
            dh *= self.scale
        dh *= h > 0
        dW1, db1 = weight_product(X, dh, self.W1), dh.sum(axis=0)
        for w, g in ((self.W1, dW1), (self.b1, db1), (self.W2, dW2), (self.b2, db2)):
            w -= LR * g

    def arrange(self, batch_size: int) -> None:
        """Lay the weights out in memory as is fastest for `batch_size` (module docstring)."""
        order = np.asfortranarray if batch_size < FEW_ROWS else np.ascontiguousarray
        self.W1, self.W2 = order(self.W1), order(self.W2)  # no copy if already so

    def epoch(self, X: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True) -> float:
        self.arrange(batch_size)
        order = self.rng.permutation(len(X)) if shuffle else np.arange(len(X))
        total = correct = 0.0
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            loss, right = self.step(X[idx], y[idx])
            total += loss * len(idx)
            correct += right
        return total / len(X)


# --- PyTorch --------------------------------------------------------------------------------


class TorchMLP:
    """The same network in PyTorch (CPU, eager), `torch.nn.Dropout` and `torch.optim.SGD`."""

    def __init__(self, weights: list[np.ndarray], p: float, seed: int) -> None:
        import torch

        self.torch = torch
        torch.manual_seed(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(784, 256),
            torch.nn.ReLU(),
            torch.nn.Dropout(p),
            torch.nn.Linear(256, 10),
        )
        with torch.no_grad():
            for param, value in zip(self.model.parameters(), weights, strict=True):
                param.copy_(torch.from_numpy(value))
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR)

    def epoch(self, X, y, batch_size: int, shuffle: bool = True) -> float:
        """`X`, `y` as torch tensors (convert once with `torch.from_numpy`)."""
        torch = self.torch
        n = len(X)
        order = torch.randperm(n, generator=self.generator) if shuffle else torch.arange(n)
        total = correct = 0.0
        self.model.train()
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            X_b, y_b = X[idx], y[idx]
            y_hat = self.model(X_b)
            loss = self.loss_fn(y_hat, y_b)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(idx)
            correct += (y_hat.argmax(dim=1) == y_b).sum().item()
        return total / n


def torch_losses_with_masks(
    weights: list[np.ndarray], X: np.ndarray, y: np.ndarray, batch_size: int, steps: int, p: float
) -> list[float]:
    """PyTorch losses for `steps` in-order batches, with masks drawn as nnscratch draws them.

    Used only by `check`: the timed PyTorch model uses `torch.nn.Dropout`, whose masks come
    from PyTorch's own generator and cannot match NumPy's. (`bench_parity.py` goes the other
    way: it reads PyTorch's own masks and feeds them to nnscratch.)
    """
    import torch

    W1, b1, W2, b2 = (torch.tensor(w, requires_grad=True) for w in weights)
    rng = np.random.default_rng(0)
    losses = []
    for start in range(0, steps * batch_size, batch_size):
        X_b = torch.from_numpy(X[start : start + batch_size])
        y_b = torch.from_numpy(y[start : start + batch_size])
        a = torch.relu(X_b @ W1.T + b1)
        if p:
            keep = torch.from_numpy(keep_mask(rng, tuple(a.shape), p))
            a = a * inverted_scale(p).item() * keep
        loss = torch.nn.functional.cross_entropy(a @ W2.T + b2, y_b)
        for w in (W1, b1, W2, b2):
            w.grad = None
        loss.backward()
        with torch.no_grad():
            for w in (W1, b1, W2, b2):
                w -= LR * w.grad
        losses.append(loss.item())
    return losses


def step_losses(
    kind: str,
    weights: list[np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    steps: int,
    p: float,
    batch_size: int = 64,
) -> list[float]:
    """Losses of the first `steps` in-order batches for one implementation.

    nnscratch and raw NumPy use their own dropout with generator seed 0 (identical masks);
    PyTorch replays the same masks by hand.
    """
    n = steps * batch_size
    if kind == "torch":
        return torch_losses_with_masks(weights, X, y, batch_size, steps, p)
    net = IMPLEMENTATIONS[kind](weights, p, seed=0)
    # One "epoch" per batch, so that each call returns the loss of exactly one step.
    return [
        net.epoch(X[i : i + batch_size], y[i : i + batch_size], batch_size, shuffle=False)
        for i in range(0, n, batch_size)
    ]


class StackOfMLPs:
    """K copies of `NnscratchMLP`'s network, each with its own masks and batch order: trained
    one after the other (`stacked=False`, K calls of `fit`) or as one stack of K members
    (`stack_modules`, one call of `fit`). Both do the same arithmetic for every member."""

    def __init__(self, weights: list[np.ndarray], p: float, k: int, stacked: bool) -> None:
        self.nets = [NnscratchMLP(weights, p, seed) for seed in range(k)]
        self.stack = None
        if stacked:
            self.stack = stack_modules([net.model for net in self.nets])
            self.optimizer = SGD(self.stack.parameters(), lr=LR)

    def epoch(self, X: np.ndarray, y: np.ndarray, batch_size: int) -> None:
        if self.stack is None:
            for net in self.nets:
                net.epoch(X, y, batch_size)
            return
        fit(
            self.stack,
            CrossEntropyLoss(),
            self.optimizer,
            (X, y),
            epochs=1,
            batch_size=batch_size,
            rng=[net.rng for net in self.nets],
            progress=False,
            eval_train=False,
        )


IMPLEMENTATIONS = {
    "nnscratch": NnscratchMLP,
    "numpy": NumpyMLP,
    "numpy_grads": partial(NumpyMLP, keep_grads=True),
    "torch": TorchMLP,
}
