"""The benchmark's network three times: with nnscratch, in raw NumPy, and in PyTorch.

All three train the same 784-256-10 MLP (Linear, ReLU, inverted Dropout, Linear) with
softmax cross-entropy and plain SGD in float32, starting from the same initial weights.

The raw NumPy version is the floor: the same maths written by hand, with no graph and no
checks, in place wherever the code owns the array. Its SGD update is CS231n's
`w -= lr * dw`. `NumpyMLP(inplace_sgd=True)` scales the fresh gradient in place instead
(`dw *= lr; w -= dw`), saving a temporary the size of each weight matrix; only code that
throws the gradient away may do that (nnscratch keeps it in `Tensor.grad`).

The raw NumPy dropout mask uses the same 16-bit threshold trick as `nnscratch.nn.Dropout`,
so with the same seed both draw identical masks; `step_losses` uses that to show that the
implementations compute the same losses.

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
from nnscratch.train import fit

SIZES = (784, 256, 10)
LR = 0.1
LEVELS = 1 << 16  # nnscratch.nn.Dropout draws 16-bit integers and compares with a threshold


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


def keep_threshold(p: float) -> int:
    """The integer threshold `nnscratch.nn.Dropout` compares its 16-bit draws with."""
    return min(max(round((1.0 - p) * LEVELS), 1), LEVELS - 1)


def scaled_mask(rng: np.random.Generator, shape: tuple[int, ...], p: float) -> np.ndarray:
    """Inverted-dropout factors: 0 for a dropped unit, 1/keep for a kept one (float32)."""
    if p == 0.0:
        return np.ones(shape, dtype=np.float32)
    threshold = keep_threshold(p)
    keep = rng.integers(0, LEVELS, size=shape, dtype=np.uint16) < threshold
    return keep * np.float32(LEVELS / threshold)


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
    """The same network and training step written directly in NumPy."""

    def __init__(
        self, weights: list[np.ndarray], p: float, seed: int, inplace_sgd: bool = False
    ) -> None:
        self.rng = np.random.default_rng(seed)
        self.W1, self.b1, self.W2, self.b2 = (w.copy() for w in weights)
        self.p = p
        self.inplace_sgd = inplace_sgd

    def step(self, X: np.ndarray, y: np.ndarray) -> tuple[float, int]:
        """One SGD step on a batch; returns (mean loss, correct predictions)."""
        n = len(X)
        rows = np.arange(n)
        # Forward: h = dropout(relu(X W1^T + b1)), z = h W2^T + b2
        a = X @ self.W1.T
        a += self.b1
        np.maximum(a, 0, out=a)
        m = scaled_mask(self.rng, a.shape, self.p)
        h = a * m
        z = h @ self.W2.T
        z += self.b2
        correct = int(np.count_nonzero(z.argmax(axis=1) == y))
        # Softmax cross-entropy, shifted by the row maximum for stability
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1)
        loss = float(np.mean(np.log(s) - z[rows, y]))
        # Backward: dL/dz = (softmax - onehot) / n
        dz = e
        dz /= s[:, None]
        dz[rows, y] -= 1.0
        dz *= np.float32(1.0 / n)
        dW2 = dz.T @ h
        db2 = dz.sum(axis=0)
        dh = dz @ self.W2
        dh *= m  # dropout: the same scaled mask
        dh *= a > 0  # ReLU
        dW1 = dh.T @ X
        db1 = dh.sum(axis=0)
        # SGD
        for w, g in ((self.W1, dW1), (self.b1, db1), (self.W2, dW2), (self.b2, db2)):
            if self.inplace_sgd:
                g *= np.float32(LR)
                w -= g
            else:
                w -= LR * g
        return loss, correct

    def epoch(self, X: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = True) -> float:
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
    from PyTorch's own generator and cannot match NumPy's.
    """
    import torch

    W1, b1, W2, b2 = (torch.tensor(w, requires_grad=True) for w in weights)
    rng = np.random.default_rng(0)
    losses = []
    for start in range(0, steps * batch_size, batch_size):
        X_b = torch.from_numpy(X[start : start + batch_size])
        y_b = torch.from_numpy(y[start : start + batch_size])
        a = torch.relu(X_b @ W1.T + b1)
        m = torch.from_numpy(scaled_mask(rng, tuple(a.shape), p))
        loss = torch.nn.functional.cross_entropy((a * m) @ W2.T + b2, y_b)
        for w in (W1, b1, W2, b2):
            w.grad = None
        loss.backward()
        with torch.no_grad():
            for w in (W1, b1, W2, b2):
                w -= LR * w.grad
        losses.append(loss.item())
    return losses


def step_losses(
    kind: str, weights: list[np.ndarray], X: np.ndarray, y: np.ndarray, steps: int, p: float
) -> list[float]:
    """Losses of the first `steps` in-order batches of 64 for one implementation.

    nnscratch and raw NumPy use their own dropout with generator seed 0 (identical masks);
    PyTorch replays the same masks by hand.
    """
    batch_size = 64
    n = steps * batch_size
    if kind == "torch":
        return torch_losses_with_masks(weights, X, y, batch_size, steps, p)
    net = IMPLEMENTATIONS[kind](weights, p, seed=0)
    # One "epoch" per batch, so that each call returns the loss of exactly one step.
    return [
        net.epoch(X[i : i + batch_size], y[i : i + batch_size], batch_size, shuffle=False)
        for i in range(0, n, batch_size)
    ]


IMPLEMENTATIONS = {
    "nnscratch": NnscratchMLP,
    "numpy": NumpyMLP,
    "numpy_inplace": partial(NumpyMLP, inplace_sgd=True),
    "torch": TorchMLP,
}
