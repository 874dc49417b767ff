"""Worker: nnscratch against PyTorch, float64, same weights and PyTorch's own dropout masks.

Builds Linear(784, 256) - ReLU - Dropout(p) - Linear(256, 10) in both libraries from the same
float64 He-normal weights and feeds both the same 32 digits. PyTorch's `nn.Dropout` draws its
mask in training mode as usual; nnscratch is handed that mask through `Dropout.apply_mask`,
with its own scale `functional.inverted_scale(p, float64)`. The mask is read from PyTorch's
dropout path itself: just before the forward pass the generator state is saved, PyTorch's
`F.dropout` is run on a tensor of ones of the activations' shape (its output is the scaled
mask, `bernoulli(1 - p) / (1 - p)`), the state is restored, and a hook on the model's dropout
layer checks that the layer's output is exactly its input times that scaled mask. Only the
mask is passed on; the scale is each library's own.

Compared, for cross-entropy and for MSE against one-hot targets, at p = 0.2, 0.3 and 0.5:
the dropout layer's output, the loss, the gradient with respect to the input and to every
weight and bias, and then five steps of SGD with momentum and weight decay (lr 0.1, momentum
0.9, weight decay 0.01, PyTorch's `weight_decay`), each on
the next 32 digits with a fresh PyTorch mask: the five losses and the weights and biases
after every step. Each comparison is a relative difference, max |nnscratch - torch| /
max |torch| over the array; the worst over the rates and steps is reported per quantity.
Prints one JSON object.

    python benchmarks/bench_parity.py
"""

from __future__ import annotations

import json
import math

import numpy as np

from nnscratch import Tensor
from nnscratch.data import load_tinymnist, one_hot, to_float
from nnscratch.dropout import Dropout
from nnscratch.functional import inverted_scale
from nnscratch.losses import CrossEntropyLoss, MSELoss
from nnscratch.nn import Linear, ReLU
from nnscratch.optim import SGD

SIZES = (784, 256, 10)
RATES = (0.2, 0.3, 0.5)
BATCH = 32
STEPS = 5
LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 0.01
SEED = 0
LOSSES = ("cross-entropy", "MSE")
# Table rows, in order: (key, what is compared)
QUANTITIES = [
    ("dropout_output", "dropout layer output (same mask)"),
    ("loss", "loss"),
    ("grad_x", "dL/dx (the input)"),
    ("grad_W1", "dL/dW1"),
    ("grad_b1", "dL/db1"),
    ("grad_W2", "dL/dW2"),
    ("grad_b2", "dL/db2"),
    ("sgd_losses", f"losses of {STEPS} SGD steps (momentum, weight decay)"),
    ("sgd_params", f"weights and biases after each of {STEPS} steps"),
]


def relative_difference(ours: np.ndarray, theirs: np.ndarray) -> float:
    """max |ours - theirs| / max |theirs| (0 if both are all zeros)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    if ours.shape != theirs.shape:
        raise ValueError(f"shapes differ: {ours.shape} and {theirs.shape}")
    scale = np.abs(theirs).max()
    diff = np.abs(ours - theirs).max()
    return float(diff / scale) if scale else float(diff)


class Pair:
    """The same network in nnscratch and in PyTorch, float64, from the same weights."""

    def __init__(self, torch, weights: list[np.ndarray], p: float) -> None:
        self.torch = torch
        self.p = p
        self.first = Linear(SIZES[0], SIZES[1], dtype=np.float64)
        self.second = Linear(SIZES[1], SIZES[2], dtype=np.float64)
        params = [self.first.weight, self.first.bias, self.second.weight, self.second.bias]
        for param, value in zip(params, weights, strict=True):
            param.data[...] = value
        self.params = params
        self.scale = inverted_scale(p, np.float64)

        nn = torch.nn
        self.model = nn.Sequential(
            nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(), nn.Dropout(p), nn.Linear(SIZES[1], SIZES[2])
        ).double()
        with torch.no_grad():
            for param, value in zip(self.model.parameters(), weights, strict=True):
                param.copy_(torch.from_numpy(value))
        self.model.train()
        self.seen: dict[str, np.ndarray] = {}
        self.model[2].register_forward_hook(self._record_dropout)

    def _record_dropout(self, module, inputs, output) -> None:
        self.seen["input"] = inputs[0].detach().numpy().copy()
        self.seen["output"] = output.detach().numpy().copy()

    def torch_mask(self, rows: int) -> np.ndarray:
        """The boolean mask PyTorch's dropout will draw next, without consuming the draw."""
        torch = self.torch
        state = torch.get_rng_state()
        noise = torch.nn.functional.dropout(
            torch.ones(rows, SIZES[1], dtype=torch.float64), self.p, training=True
        ).numpy()
        torch.set_rng_state(state)
        self.seen["noise"] = noise
        return noise != 0

    def torch_forward(self, X: np.ndarray, target: np.ndarray, loss: str):
        torch = self.torch
        x = torch.from_numpy(X).requires_grad_(True)
        out = self.model(x)
        if loss == "cross-entropy":
            value = torch.nn.functional.cross_entropy(out, torch.from_numpy(target))
        else:
            value = torch.nn.functional.mse_loss(out, torch.from_numpy(one_hot(target, 10, float)))
        # The layer's output is exactly input * (mask / (1 - p)): the mask we read is its mask.
        if not np.array_equal(self.seen["output"], self.seen["input"] * self.seen["noise"]):
            raise RuntimeError("PyTorch's dropout did not use the mask read before the pass")
        return x, value

    def ours_forward(self, X: np.ndarray, target: np.ndarray, loss: str, mask: np.ndarray):
        x = Tensor(X, requires_grad=True)
        dropped = Dropout.apply_mask(ReLU()(self.first(x)), mask, self.scale)
        out = self.second(dropped)
        if loss == "cross-entropy":
            value = CrossEntropyLoss()(out, target)
        else:
            value = MSELoss()(out, one_hot(target, 10, float))
        return x, dropped, value


def compare(torch, X: np.ndarray, y: np.ndarray, weights: list[np.ndarray], p: float, loss: str):
    """Worst relative difference per quantity for one rate and one loss."""
    pair = Pair(torch, weights, p)
    worst = {key: 0.0 for key, _ in QUANTITIES}

    def note(key: str, ours, theirs) -> None:
        worst[key] = max(worst[key], relative_difference(ours, theirs))

    # One forward and backward pass on the first batch: outputs and every gradient.
    X0, y0 = X[:BATCH], y[:BATCH]
    mask = pair.torch_mask(BATCH)
    x_t, loss_t = pair.torch_forward(X0, y0, loss)
    loss_t.backward()
    x_o, dropped, loss_o = pair.ours_forward(X0, y0, loss, mask)
    loss_o.backward()
    note("dropout_output", dropped.data, pair.seen["output"])
    note("loss", loss_o.data, loss_t.item())
    note("grad_x", x_o.grad, x_t.grad.numpy())
    torch_params = list(pair.model.parameters())
    for key, ours, theirs in zip(
        ("grad_W1", "grad_b1", "grad_W2", "grad_b2"), pair.params, torch_params, strict=True
    ):
        note(key, ours.grad, theirs.grad.numpy())

    # Five SGD steps with momentum and weight decay, each on the next batch with a fresh mask.
    ours_sgd = SGD(pair.params, lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    torch_sgd = torch.optim.SGD(
        pair.model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY
    )
    for step in range(STEPS):
        rows = slice((step + 1) * BATCH, (step + 2) * BATCH)
        X_b, y_b = X[rows], y[rows]
        mask = pair.torch_mask(BATCH)
        torch_sgd.zero_grad()
        _, loss_t = pair.torch_forward(X_b, y_b, loss)
        loss_t.backward()
        torch_sgd.step()
        ours_sgd.zero_grad()
        _, _, loss_o = pair.ours_forward(X_b, y_b, loss, mask)
        loss_o.backward()
        ours_sgd.step()
        note("sgd_losses", loss_o.data, loss_t.item())
        for ours, theirs in zip(pair.params, torch_params, strict=True):
            note("sgd_params", ours.data, theirs.detach().numpy())
    return worst


def main() -> None:
    import torch

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    data = load_tinymnist()
    n = BATCH * (STEPS + 1)
    X = to_float(data.x_train[:n], np.float64).reshape(n, -1)
    y = data.y_train[:n]
    rng = np.random.default_rng(SEED)
    weights = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:], strict=True):
        weights += [
            rng.standard_normal((n_out, n_in)) * math.sqrt(2.0 / n_in),
            rng.standard_normal(n_out) * 0.1,  # non-zero biases, so their gradients matter
        ]
    worst: dict[str, dict[str, float]] = {key: {} for key, _ in QUANTITIES}
    for loss in LOSSES:
        for p in RATES:
            for key, value in compare(torch, X, y, weights, p, loss).items():
                worst[key][loss] = max(worst[key].get(loss, 0.0), value)
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "rates": list(RATES),
                "batch": BATCH,
                "steps": STEPS,
                "quantities": {key: label for key, label in QUANTITIES},
                "worst": worst,
            }
        )
    )


if __name__ == "__main__":
    main()
