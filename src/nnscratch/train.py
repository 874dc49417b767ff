"""The training loop: `fit` runs epochs of mini-batch SGD and records a `History`.

Accuracy on the training set is measured in eval mode (dropout off) after each epoch, the
same way test accuracy is, so the two numbers are comparable. The loss reported per epoch is
the mean of the mini-batch losses seen while training (dropout on), as in most frameworks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from .data import batches
from .functional import member_generators
from .losses import member_losses
from .module import Module
from .optim import SGD
from .stack import stack_size
from .tensor import Tensor


class TrainingDiverged(FloatingPointError):
    """A run's loss or output stopped being a finite number: its learning rate is too high for
    it (or its data holds NaN). The message names the run and the epoch."""


@dataclass
class History:
    """Per-epoch records of one training run (index 0 is after the first epoch).

    Attributes:
        train_loss: mean mini-batch loss during the epoch (training mode).
        train_acc: accuracy on the whole training set, eval mode, after the epoch.
        test_acc: accuracy on the test set, eval mode, after the epoch.
        train_acc_running: accuracy on the mini-batches as they were trained on
            (training mode, dropout on), averaged over the epoch.
        best_epoch: the epoch (counted from 1) with the highest test accuracy, the first such
            (early stopping on the `test` set, which is the validation split where `fit` is
            given one); None without a test set.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    train_acc_running: list[float] = field(default_factory=list)
    best_epoch: int | None = None

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


def _state(model: Module) -> list[tuple[object, str]]:
    """Where early stopping finds what it keeps: `(holder, attribute)` of every parameter's
    array and every running statistic (`BatchNorm1d`'s `running_mean`, `running_var`)."""
    found, todo = [], [model]
    while todo:
        module = todo.pop()
        for name, value in vars(module).items():
            if isinstance(value, Tensor) and value.requires_grad:
                found.append((value, "data"))
            elif name.startswith("running_") and isinstance(value, np.ndarray):
                found.append((module, name))
        todo.extend(module.children())
    return found


class _Best:
    """The state of each member at its best epoch so far (one network: a stack of one).

    `update(acc, epoch)` notes every member whose accuracy beats its best (strictly: the first
    best epoch wins) and, if `keep`, copies its state; `restore()` writes the copies back in
    place.
    """

    def __init__(self, model: Module, size: int | None, keep: bool) -> None:
        self.places = _state(model) if keep else []
        self.stacked = size is not None
        self.acc = np.full(size or 1, -np.inf)
        self.epoch = np.zeros(size or 1, dtype=int)
        self.kept = [self._get(place).copy() for place in self.places]

    def _get(self, place) -> np.ndarray:
        array = getattr(*place)
        return array if self.stacked else array[None]  # a member axis of one

    def update(self, acc, epoch: int) -> None:
        better = np.atleast_1d(acc) > self.acc
        if better.any():
            self.acc[better], self.epoch[better] = np.atleast_1d(acc)[better], epoch
            for kept, place in zip(self.kept, self.places, strict=True):
                kept[better] = self._get(place)[better]

    def restore(self) -> None:
        for kept, place in zip(self.kept, self.places, strict=True):
            self._get(place)[...] = kept


def _labels(y: np.ndarray, stacked: bool = False) -> np.ndarray:
    """Class labels from integer labels or from one-hot rows (with a member axis if stacked)."""
    y = np.asarray(y)
    return y.argmax(axis=-1) if y.ndim == 2 + stacked else y


def predict(model: Module, X: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Model outputs for `X` in the model's current mode, computed in chunks.

    For a stack of K networks (`nnscratch.stack`) every member sees the same `X`, and the
    outputs are `(K, len(X), ...)`.
    """
    size = stack_size(model)
    chunks = [X[i : i + batch_size] for i in range(0, len(X), batch_size)]
    if size is None:
        return np.concatenate([model(Tensor(x)).data for x in chunks])
    outputs = [model(Tensor(np.broadcast_to(x, (size, *x.shape)))).data for x in chunks]
    return np.concatenate(outputs, axis=1)


def evaluate(model: Module, X: np.ndarray, y: np.ndarray, batch_size: int = 1000) -> float:
    """Accuracy of `model` on `(X, y)` in eval mode; the model's mode is restored after.

    `y` may be integer labels `(N,)` or one-hot rows `(N, classes)`. For a stack of networks
    this is the members' mean accuracy (`evaluate_stack` gives each member's).
    """
    was_training = model.training
    model.eval()
    try:
        y_hat = predict(model, X, batch_size)
    finally:
        model.train(was_training)
    return float(np.mean(y_hat.argmax(axis=-1) == _labels(y)))


def fit(
    model: Module,
    loss_fn,
    optimizer: SGD,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray] | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    rng: np.random.Generator | None = None,
    progress: bool = True,
    eval_train: bool = True,
    restore_best: bool = False,
) -> History | list[History]:
    """Train `model` with mini-batch SGD and return its per-epoch `History`.

    Args:
        model: the network; left in training mode when `fit` returns.
        loss_fn: `loss_fn(y_hat, y) -> scalar Tensor`, e.g. `CrossEntropyLoss()`.
        optimizer: holds the model's parameters.
        train: `(X, y)`; `y` is whatever `loss_fn` takes (labels or one-hot rows).
        test: optional `(X, y)` evaluated after every epoch.
        epochs: passes over the training data.
        batch_size: rows per mini-batch.
        rng: shuffles the training data each epoch; None keeps the stored order.
        progress: show a tqdm progress bar over epochs.
        eval_train: measure eval-mode accuracy on the whole training set each epoch
            (costs one extra forward pass over it).
        restore_best: early stopping: at the end, put back the parameters and running
            statistics of the epoch with the best `test` accuracy (`History.best_epoch`; give
            the validation split as `test`). Needs `test`.

    A stack of K networks (`nnscratch.stack`) trains with `fit_stack`, which returns one
    `History` per member.
    """
    if stack_size(model) is not None:
        return fit_stack(
            model,
            loss_fn,
            optimizer,
            train,
            test,
            epochs,
            batch_size,
            rng,
            progress,
            eval_train,
            restore_best,
        )
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    _check_restore(restore_best, test)
    best = _Best(model, None, restore_best) if test is not None else None
    X_train, y_train = train
    labels_train = _labels(y_train)
    history = History()
    bar = tqdm(range(epochs), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        total_loss = correct = seen = 0.0
        for X_b, y_b in batches(X_train, y_train, batch_size, rng):
            optimizer.zero_grad()
            y_hat = model(Tensor(X_b))
            try:
                loss = loss_fn(y_hat, y_b)  # checks that its inputs are finite
            except ValueError:
                if np.isfinite(y_hat.data).all():
                    raise  # bad targets, not a diverged network
                raise TrainingDiverged(
                    f"training diverged: the network's output is not finite in epoch "
                    f"{epoch + 1} of {epochs} (lr={optimizer.lr}); lower the learning rate"
                ) from None
            loss.backward()
            optimizer.step()
            total_loss += float(loss.data) * len(X_b)
            correct += int(np.count_nonzero(y_hat.data.argmax(axis=1) == _labels(y_b)))
            seen += len(X_b)
            del y_hat, loss  # free this step's graph before the next one is built
        history.train_loss.append(total_loss / seen)
        history.train_acc_running.append(correct / seen)
        if eval_train:
            history.train_acc.append(evaluate(model, X_train, labels_train))
        if test is not None:
            history.test_acc.append(evaluate(model, *test))
            bar.set_postfix(test_acc=f"{history.test_acc[-1]:.3f}")
            best.update(history.test_acc[-1], epoch + 1)
    if best is not None and epochs > 0:
        history.best_epoch = int(best.epoch[0])
        if restore_best:
            best.restore()
    model.train()
    return history


def _check_restore(restore_best: bool, test) -> None:
    if restore_best and test is None:
        raise ValueError("restore_best needs a test (validation) set to pick the best epoch by")


def evaluate_stack(
    model: Module, X: np.ndarray, y: np.ndarray, batch_size: int = 1000
) -> np.ndarray:
    """`evaluate` for a stack of K networks: each member's accuracy on `(X, y)`, shape `(K,)`."""
    was_training = model.training
    model.eval()
    try:
        y_hat = predict(model, X, batch_size)  # (K, N, classes)
    finally:
        model.train(was_training)
    return np.mean(y_hat.argmax(axis=-1) == _labels(y), axis=1)


def fit_stack(
    model: Module,
    loss_fn,
    optimizer: SGD,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray] | None = None,
    epochs: int = 10,
    batch_size: int = 64,
    rng=None,
    progress: bool = True,
    eval_train: bool = True,
    restore_best: bool = False,
) -> list[History]:
    """`fit` for a stack of K networks (`nnscratch.stack`); returns one `History` per member.

    Arguments as for `fit`, except `rng`: K generators give each member its own batch order
    (member k's batches are those `fit` draws with `rng[k]` alone), one generator gives every
    member the same order, None the stored order. A step trains every member on its own batch
    `(K, batch, ...)`; the stack's loss is the sum of the members' losses, so each member's
    gradient, and so its training, is exactly its own. With `restore_best` each member gets
    back its own best epoch's parameters and running statistics (`History.best_epoch`, which
    may differ from member to member).
    """
    size = stack_size(model)
    if size is None:
        raise ValueError("fit_stack needs a stack made by stack_modules; use fit for one network")
    if not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if rng is not None and not isinstance(rng, np.random.Generator):
        rng = member_generators(rng)
        if len({id(r) for r in rng}) != len(rng):
            raise ValueError("rng holds one generator twice; each member needs its own")
        if len(rng) != size:
            raise ValueError(
                f"rng holds {len(rng)} generators but the model is a stack of {size} networks: "
                "pass one per member, one shared generator, or None"
            )
    _check_restore(restore_best, test)
    best = _Best(model, size, restore_best) if test is not None else None
    X_train, y_train = train
    histories = [History() for _ in range(size)]
    bar = tqdm(range(epochs), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        total_loss, correct, seen = np.zeros(size), np.zeros(size), 0
        for X_b, y_b in batches(X_train, y_train, batch_size, rng):
            if X_b.ndim == X_train.ndim:  # one order for all: the same batch for every member
                X_b = np.broadcast_to(X_b, (size, *X_b.shape))
                y_b = np.broadcast_to(y_b, (size, *np.shape(y_b)))
            optimizer.zero_grad()
            y_hat = model(Tensor(X_b))
            try:
                loss = loss_fn(y_hat, y_b)  # checks that its inputs are finite
            except ValueError:
                bad = [k for k in range(size) if not np.isfinite(y_hat.data[k]).all()]
                if not bad:
                    raise  # bad targets, not a diverged network
                raise TrainingDiverged(
                    f"training diverged: the output of member(s) {bad} of the stack is not "
                    f"finite in epoch {epoch + 1} of {epochs} (lr={optimizer.lr}); lower the "
                    "learning rate"
                ) from None
            loss.backward()
            optimizer.step()
            n = X_b.shape[1]
            total_loss += member_losses(loss_fn, y_hat.data, y_b) * n
            hits = y_hat.data.argmax(axis=-1) == _labels(y_b, stacked=True)
            correct += np.count_nonzero(hits, axis=1)
            seen += n
            del y_hat, loss  # free this step's graph before the next one is built
        train_acc = evaluate_stack(model, X_train, y_train) if eval_train else None
        test_acc = evaluate_stack(model, *test) if test is not None else None
        for k, history in enumerate(histories):
            history.train_loss.append(float(total_loss[k] / seen))
            history.train_acc_running.append(float(correct[k] / seen))
            if train_acc is not None:
                history.train_acc.append(float(train_acc[k]))
            if test_acc is not None:
                history.test_acc.append(float(test_acc[k]))
        if test_acc is not None:
            bar.set_postfix(test_acc=f"{test_acc.mean():.3f} (mean of {size})")
            best.update(test_acc, epoch + 1)
    if best is not None and epochs > 0:
        for history, epoch in zip(histories, best.epoch, strict=True):
            history.best_epoch = int(epoch)
        if restore_best:
            best.restore()
    model.train()
    return histories
