"""Digit experiments: one `MLPConfig` per training run, many runs trained at once.

A chapter that compares dropout rates trains the same network many times, once per rate and
seed. Each run is described by an `MLPConfig` (widths, rates, data, training settings and a
seed); `train_runs(configs)` trains them all and returns one `RunResult` per config, in order.

Runs are paired through their seed. The seed is split into three independent streams, for the
initial weights, the mini-batch order and the dropout masks, so two configs that differ only
in their rates start from the same weights and see the same batches: only the masks differ.

How it is fast: configs that share their architecture and training settings are trained
together by `stacked.StackedMLP` (the same maths as the package's layers and `fit`, batched
over runs), and the stacks are spread over the machine's cores by `pool.run_many`.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Literal, NamedTuple

import numpy as np

from .data import load_tinymnist, to_float
from .dropout import Dropout, GaussianDropout, TestTimeScaledDropout, UnscaledDropout
from .functional import check_p
from .nn import Linear, Module, ReLU, Sequential
from .pool import SINGLE_THREAD_ENV, FitJob, fit_job, run_many, stop_workers
from .seeds import seed_sequence
from .stacked import Member, StackedMLP
from .train import TrainingDiverged

__all__ = [
    "SINGLE_THREAD_ENV",
    "Digits",
    "FitJob",
    "MLPConfig",
    "RunResult",
    "build_mlp",
    "digits",
    "first_per_class",
    "initial_model",
    "fit_job",
    "input_size",
    "pooled",
    "run_generators",
    "run_many",
    "stop_workers",
    "train_mlp",
    "train_runs",
    "TrainingDiverged",
]

DROPOUT_VARIANTS = {
    "inverted": Dropout,
    "unscaled": UnscaledDropout,
    "test_time": TestTimeScaledDropout,
    "gaussian": GaussianDropout,
}


@dataclass(frozen=True)
class MLPConfig:
    """One training run of a multilayer perceptron on the tinymnist digits.

    Attributes:
        hidden: widths of the hidden layers, e.g. `(512, 512)` for 784-512-512-10.
        pool: average the 28x28 pixels in `pool` x `pool` blocks first; 2 gives 14x14
            digits, 196 inputs (a cheaper first layer).
        p: dropout rate (probability of zeroing) after each hidden ReLU, in [0, 1).
        p_input: dropout rate on the input pixels, in [0, 1); 0 means no input dropout.
        n_train: training digits, the first `n_train / 10` of each class (`first_per_class`).
        n_val: validation digits carved from the training split, the last `n_val / 10` of
            each class (never among the training digits); 0 for none.
        epochs: passes over the training digits.
        batch_size: digits per SGD step.
        lr: SGD learning rate.
        momentum: SGD momentum in [0, 1) (PyTorch's form, as `optim.SGD`).
        seed: the run's only source of randomness, split into three independent streams
            (initial weights, batch order, dropout masks): configs that differ only in their
            rates or dropout variant start from the same weights and see the same batches.
        loss: `"cross_entropy"` on labels, or `"mse"` on one-hot targets.
        dropout: `"inverted"` (the package's `Dropout`), `"unscaled"`, `"test_time"`, or
            `"gaussian"` (`GaussianDropout`: `N(1, p / (1 - p))` multipliers instead of masks).
        init: `"he"` (the package's `Linear`), or `"uniform"`: weights `U(0, 1) / in_features`
            and biases `U(0, 1)`, the all-positive start of one of the source tutorials.
        shuffle: reshuffle the training digits every epoch; False keeps the stored order.
        eval_every: measure accuracies (eval mode) after every `eval_every` epochs and after
            the last one; 0 means after the last one only.
        max_norm: None, or the radius of SGD's max-norm constraint on every unit's incoming
            weights (`optim.SGD(max_norm=...)`, applied after each step).
        weight_decay: >= 0, the L2 penalty's coefficient (`optim.SGD(weight_decay=...)`,
            PyTorch's semantics: added to the gradient of every parameter before momentum).
    """

    hidden: tuple[int, ...] = (256, 256)
    pool: int = 1
    p: float = 0.0
    p_input: float = 0.0
    n_train: int = 1000
    n_val: int = 0
    epochs: int = 30
    batch_size: int = 16
    lr: float = 0.1
    momentum: float = 0.0
    seed: int = 0
    loss: Literal["cross_entropy", "mse"] = "cross_entropy"
    dropout: Literal["inverted", "unscaled", "test_time", "gaussian"] = "inverted"
    init: Literal["he", "uniform"] = "he"
    shuffle: bool = True
    eval_every: int = 1
    max_norm: float | None = None
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        for name in ("p", "p_input"):
            value = check_p(getattr(self, name))
            if value >= 1.0:
                raise ValueError(f"{name} must be in [0, 1) to train, got {value}")
        if self.loss not in ("cross_entropy", "mse"):
            raise ValueError(f"loss must be 'cross_entropy' or 'mse', got {self.loss!r}")
        if self.dropout not in DROPOUT_VARIANTS:
            raise ValueError(
                f"dropout must be one of {list(DROPOUT_VARIANTS)}, got {self.dropout!r}"
            )
        if self.init not in ("he", "uniform"):
            raise ValueError(f"init must be 'he' or 'uniform', got {self.init!r}")
        if self.eval_every < 0:
            raise ValueError(f"eval_every must be >= 0, got {self.eval_every}")
        if self.pool not in (1, 2, 4, 7, 14, 28):
            raise ValueError(f"pool must divide 28, got {self.pool!r}")
        if not 10 <= self.n_train <= 4000:
            raise ValueError(f"n_train must be between 10 and 4000, got {self.n_train}")
        if self.n_val and not 10 <= self.n_val <= 4000 - self.n_train:
            raise ValueError(
                f"n_val must be 0 or between 10 and 4000 - n_train, got {self.n_val} "
                f"with n_train={self.n_train}"
            )
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(
                f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}"
            )
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive finite number, got {self.lr!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if self.max_norm is not None and not (self.max_norm > 0 and math.isfinite(self.max_norm)):
            raise ValueError(
                f"max_norm must be None or a positive finite number, got {self.max_norm!r}"
            )
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise ValueError(
                f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}"
            )
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"hidden must list at least one positive width, got {self.hidden}")
        # Accept a list for `hidden` but store a tuple, so configs stay hashable.
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))

    @property
    def rates(self) -> tuple[float, ...]:
        """The drop probability in front of each weight layer: input first, then hidden."""
        return (self.p_input,) + (self.p,) * len(self.hidden)


def build_mlp(
    config: MLPConfig,
    rng: np.random.Generator,
    dropout_rng: np.random.Generator,
    dtype=np.float32,
) -> Sequential:
    """inputs -> hidden... -> 10 with ReLU and dropout after each hidden layer.

    Args:
        config: widths, dropout rates, dropout variant and initialisation.
        rng: draws the initial weights.
        dropout_rng: draws every dropout mask of the network.
        dtype: float type of the weights.

    A dropout layer is only added where its rate is above 0 (with p = 0 it would be the
    identity anyway).
    """
    variant = DROPOUT_VARIANTS[config.dropout]
    layers: list[Module] = []
    if config.p_input > 0:
        layers.append(variant(config.p_input, rng=dropout_rng))
    widths = (input_size(config), *config.hidden)
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [Linear(n_in, n_out, rng=rng, dtype=dtype), ReLU()]
        if config.p > 0:
            layers.append(variant(config.p, rng=dropout_rng))
    layers.append(Linear(widths[-1], 10, rng=rng, dtype=dtype))
    if config.init == "uniform":
        for layer in layers:
            if isinstance(layer, Linear):
                w, b = layer.weight.data, layer.bias.data
                w[...] = rng.random(w.shape) / layer.in_features
                b[...] = rng.random(b.shape)
    return Sequential(layers)


def run_generators(
    seed: int,
) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """The three independent generators a run with this seed draws from, in this order:
    initial weights, mini-batch order, dropout masks. They come from the book's seed set
    (`seeds.seed_sequence`), so `NNSCRATCH_SEED_SET` redraws every run."""
    init_ss, order_ss, mask_ss = seed_sequence(seed).spawn(3)
    return tuple(np.random.default_rng(s) for s in (init_ss, order_ss, mask_ss))


def initial_model(config: MLPConfig, dtype=np.float32) -> Sequential:
    """The network a run of `config` starts from, before its first step (its dropout layers
    draw from the run's mask generator, as in training)."""
    init_rng, _, mask_rng = run_generators(config.seed)
    return build_mlp(config, init_rng, mask_rng, dtype)


def first_per_class(y: np.ndarray, n: int, num_classes: int = 10, last: bool = False) -> np.ndarray:
    """Indices of the first `n // num_classes` examples of each class (the remainder going
    to the lowest classes), in their stored order; the last ones instead if `last`.

    The stored order is already shuffled, so this is a fixed, balanced sample that grows by
    adding digits, never by replacing them.
    """
    counts = np.full(num_classes, n // num_classes)
    counts[: n % num_classes] += 1
    picked = []
    for c, k in enumerate(counts):
        idx = np.flatnonzero(y == c)
        if len(idx) < k:
            raise ValueError(f"not enough examples for {n} balanced over {num_classes} classes")
        picked.append(idx[len(idx) - k :] if last else idx[:k])
    return np.sort(np.concatenate(picked))


def input_size(config: MLPConfig) -> int:
    """Pixels per digit after pooling: 784, or 196 with `pool=2`."""
    return (28 // config.pool) ** 2


def pooled(images: np.ndarray, pool: int) -> np.ndarray:
    """`(N, 28, 28)` floats -> `(N, (28 // pool)**2)` rows of block averages."""
    n, side = len(images), 28 // pool
    return images.reshape(n, side, pool, side, pool).mean(axis=(2, 4)).reshape(n, side * side)


class Digits(NamedTuple):
    """Flat float32 rows and int64 labels: training, validation (maybe empty) and test."""

    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


@cache
def digits(n_train: int, n_val: int = 0, pool: int = 1) -> Digits:
    """The digits a config trains on (cached per process; treat the arrays as read-only).

    The training digits are the first `n_train / 10` of each class of tinymnist's training
    split, the validation digits the last `n_val / 10` of each class of the same split, and
    the test digits all 1,000 of the test split.
    """
    data = load_tinymnist()
    idx = first_per_class(data.y_train, n_train)
    val = first_per_class(data.y_train, n_val, last=True) if n_val else idx[:0]
    if np.intersect1d(idx, val).size:
        raise ValueError(f"n_train={n_train} and n_val={n_val} overlap in some class")
    X, X_val, X_test = (
        pooled(to_float(x), pool) for x in (data.x_train[idx], data.x_train[val], data.x_test)
    )
    return Digits(X, data.y_train[idx], X_val, data.y_train[val], X_test, data.y_test)


@dataclass
class RunResult:
    """What happened in one run.

    Attributes:
        config: the run's config.
        train_loss: mean mini-batch loss per epoch (training mode), `(epochs,)`.
        train_acc_running: accuracy on the mini-batches as they were trained on (dropout on),
            per epoch.
        eval_epochs: the epochs (counted from 1) after which the network was evaluated.
        train_acc, val_acc, test_acc: eval-mode accuracy at each of `eval_epochs` (`val_acc`
            is empty without a validation split).
        test_loss: the training loss function on the test digits, eval mode, at each of
            `eval_epochs`.
        best_epoch: the evaluated epoch with the highest validation accuracy (the first such,
            early stopping); the last epoch without a validation split.
        test_correct: `(N_test,)` booleans, which test digits the network classifies right at
            `best_epoch`; `test_correct_final` the same after the last epoch.
        weights, best_weights: parameters `[W_1 (out, in), b_1, W_2, ...]` after the last
            epoch and at `best_epoch`.
    """

    config: MLPConfig
    train_loss: np.ndarray
    train_acc_running: np.ndarray
    eval_epochs: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    test_acc: np.ndarray
    test_loss: np.ndarray
    best_epoch: int
    test_correct: np.ndarray
    test_correct_final: np.ndarray
    weights: list[np.ndarray] = field(repr=False)
    best_weights: list[np.ndarray] = field(repr=False)

    @property
    def best_test_acc(self) -> float:
        """Test accuracy at `best_epoch` (early stopping on validation)."""
        return float(self.test_correct.mean())

    def model(self, best: bool = True, rng: np.random.Generator | None = None) -> Sequential:
        """The trained network as package modules (dropout layers drawing from `rng`).

        Args:
            best: the weights of `best_epoch` (True) or of the last epoch.
            rng: generator for the dropout layers' masks (e.g. for MC dropout).
        """
        rng = np.random.default_rng() if rng is None else rng
        model = build_mlp(self.config, np.random.default_rng(0), rng)
        params = model.parameters()
        for param, value in zip(params, self.best_weights if best else self.weights, strict=True):
            param.data[...] = value
        return model


def train_mlp(config: MLPConfig) -> RunResult:
    """Train one config here, in this process (`train_runs` for many)."""
    return _train_stack((config,))[0]


# At most this many runs share one stack (memory grows with it; speed barely does).
MAX_STACK = 24


def train_runs(
    configs: Sequence[MLPConfig], processes: int | None = None, progress: bool = False
) -> list[RunResult]:
    """Train every config; return their `RunResult`s in the order of `configs`.

    Args:
        configs: the runs. Configs that share everything but `seed`, `p`, `p_input`,
            `dropout`, `init`, `lr` and `weight_decay` are trained together in one stack.
        processes: worker processes (all cores if None; 1 trains here, one stack after the
            other). The result of a run does not depend on it.
        progress: print a line to stderr as each stack finishes.
    """
    configs = list(configs)
    if not configs:
        raise ValueError("train_runs needs at least one config")
    if not all(isinstance(c, MLPConfig) for c in configs):
        raise TypeError("train_runs takes MLPConfig objects")
    groups: dict[MLPConfig, list[int]] = defaultdict(list)
    for i, config in enumerate(configs):
        groups[_stack_key(config)].append(i)
    workers = processes or 2
    tasks: list[list[int]] = []
    for members in groups.values():
        # Enough stacks to keep every worker busy, none larger than MAX_STACK.
        pieces = max(min(workers, len(members)), math.ceil(len(members) / MAX_STACK))
        tasks += [list(chunk) for chunk in np.array_split(members, pieces)]
    # Longest first, so that the pool's queue balances the cores.
    tasks.sort(key=lambda idx: -_cost(configs[idx[0]]) * len(idx))
    stacks = run_many(
        _train_stack, [tuple(configs[i] for i in idx) for idx in tasks], processes, progress
    )
    results: list[RunResult | None] = [None] * len(configs)
    for idx, stack in zip(tasks, stacks, strict=True):
        for i, result in zip(idx, stack, strict=True):
            results[i] = result
    return results


def _stack_key(config: MLPConfig) -> MLPConfig:
    """The config with every field that may differ inside a stack set to a fixed value."""
    return replace(
        config, seed=0, p=0.0, p_input=0.0, dropout="inverted", init="he", lr=1.0, weight_decay=0.0
    )


def _cost(config: MLPConfig) -> float:
    widths = (input_size(config), *config.hidden, 10)
    return (
        config.epochs
        * config.n_train
        * sum(a * b for a, b in zip(widths, widths[1:], strict=False))
    )


def _loss_values(logits: np.ndarray, y: np.ndarray, loss: str) -> np.ndarray:
    """Mean loss per member of `(K, N, C)` logits on labels `y`."""
    if loss == "mse":
        return np.mean((logits - np.eye(logits.shape[2], dtype=logits.dtype)[y]) ** 2, axis=(1, 2))
    shifted = logits - logits.max(axis=2, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    return -np.mean(log_probs[:, np.arange(len(y)), y], axis=1)


def _train_stack(configs: Sequence[MLPConfig], dtype=np.float32) -> list[RunResult]:
    """Train configs that share a stack key together; one `RunResult` each."""
    first = configs[0]
    if any(_stack_key(c) != _stack_key(first) for c in configs):
        raise ValueError(
            "configs in one stack must differ only in seed, rates, variant, init, lr, weight decay"
        )
    data = digits(first.n_train, first.n_val, first.pool)
    members = []
    for config in configs:
        init_rng, order_rng, mask_rng = run_generators(config.seed)
        model = build_mlp(config, init_rng, mask_rng, dtype)
        order = order_rng if config.shuffle else None
        members.append(Member(model, order, mask_rng, config.rates, config.dropout))
    stack = StackedMLP(
        members,
        [c.lr for c in configs],
        first.momentum,
        first.loss,
        dtype,
        first.max_norm,
        [c.weight_decay for c in configs],
    )
    X, y = data.X.astype(dtype, copy=False), data.y
    target = np.eye(10, dtype=dtype)[y] if first.loss == "mse" else y
    n, k = len(X), len(configs)
    every = first.eval_every or first.epochs
    log: dict[str, list[np.ndarray]] = defaultdict(list)
    best_val = np.full(k, -1.0)
    best_epoch = np.zeros(k, dtype=int)
    best_correct = np.zeros((k, len(data.y_test)), dtype=bool)
    best_weights: list[list[np.ndarray]] = [[] for _ in range(k)]

    for epoch in range(1, first.epochs + 1):
        orders = np.stack(
            [m.order_rng.permutation(n) if m.order_rng else np.arange(n) for m in members]
        )
        total_loss, correct = np.zeros(k), np.zeros(k)
        for start in range(0, n, first.batch_size):
            idx = orders[:, start : start + first.batch_size]
            losses, logits = stack.step(X[idx], target[idx])
            total_loss += losses * idx.shape[1]
            correct += np.sum(logits.argmax(axis=2) == y[idx], axis=1)
        diverged = np.flatnonzero(~np.isfinite(total_loss))
        if diverged.size:
            i = int(diverged[0])
            raise TrainingDiverged(
                f"run diverged: its training loss is {total_loss[i] / n} in epoch {epoch} of "
                f"{first.epochs}; lower its learning rate. The run: {configs[i]!r}"
            )
        log["train_loss"].append(total_loss / n)
        log["train_acc_running"].append(correct / n)
        if epoch % every and epoch != first.epochs:
            continue
        log["eval_epochs"].append(np.full(k, epoch))
        log["train_acc"].append(_accuracy(stack.logits(X), y))
        test_logits = stack.logits(data.X_test.astype(dtype, copy=False))
        test_correct = test_logits.argmax(axis=2) == data.y_test
        log["test_acc"].append(test_correct.mean(axis=1))
        log["test_loss"].append(_loss_values(test_logits, data.y_test, first.loss))
        val = (
            _accuracy(stack.logits(data.X_val.astype(dtype, copy=False)), data.y_val)
            if first.n_val
            else np.full(k, float(epoch))  # no validation: the last epoch is "best"
        )
        if first.n_val:
            log["val_acc"].append(val)
        for i in np.flatnonzero(val > best_val):
            best_val[i], best_epoch[i], best_correct[i] = val[i], epoch, test_correct[i]
            best_weights[i] = stack.weights(i)

    columns = {key: np.array(values).T for key, values in log.items()}  # (k, records)
    empty = np.zeros((k, 0))
    return [
        RunResult(
            config=config,
            train_loss=columns["train_loss"][i],
            train_acc_running=columns["train_acc_running"][i],
            eval_epochs=columns["eval_epochs"][i].astype(int),
            train_acc=columns["train_acc"][i],
            val_acc=columns.get("val_acc", empty)[i],
            test_acc=columns["test_acc"][i],
            test_loss=columns["test_loss"][i],
            best_epoch=int(best_epoch[i]),
            test_correct=best_correct[i].copy(),
            test_correct_final=test_correct[i].copy(),
            weights=stack.weights(i),
            best_weights=best_weights[i],
        )
        for i, config in enumerate(configs)
    ]


def _accuracy(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.mean(logits.argmax(axis=2) == y, axis=1)
