"""Many independent training runs, spread over the machine's cores.

A chapter that compares dropout rates trains the same network many times: one run per rate
and seed. The runs share nothing, so they can go to separate processes. `run_many(fn,
configs)` does that with a `ProcessPoolExecutor` and returns the results in the order of
`configs`. Each run is fully described by its config, seed included, so a run gives the same
numbers whichever process executes it, in whatever order.

Three details make this fast rather than slow:
- Workers are started with `spawn` and with BLAS limited to one thread (the environment
  variables below are set before a worker imports NumPy). Two workers with one BLAS thread
  each keep two cores busy; a BLAS that starts its own threads inside each worker would
  fight the other worker for the same cores (on a busy machine, measured 7-10x slower).
- The workers stay up between calls, so a notebook pays their start-up (a fresh
  interpreter importing NumPy and this package, about a second) once.
- The function a worker runs must be importable by name, because a spawned worker starts a
  fresh interpreter and cannot see functions defined in a notebook. `train_mlp` is that
  function for the book's digit experiments, described by an `MLPConfig`. For any other
  network, build it in the notebook and send it over in a `FitJob`: the model, its data and
  its generator are pickled, `fit_job` trains it in the worker and sends back the trained model.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import numpy as np

from .data import load_tinymnist, to_float
from .losses import CrossEntropyLoss, MSELoss
from .nn import Dropout, Linear, Module, ReLU, Sequential, TestTimeScaledDropout, UnscaledDropout
from .optim import SGD
from .train import History, evaluate, fit

# Each of these caps one BLAS/OpenMP implementation at one thread in the workers.
SINGLE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}

DROPOUT_VARIANTS = {
    "inverted": Dropout,
    "unscaled": UnscaledDropout,
    "test_time": TestTimeScaledDropout,
}


@dataclass(frozen=True)
class MLPConfig:
    """One training run of a multilayer perceptron on tinymnist.

    Attributes:
        hidden: widths of the hidden layers, e.g. `(512, 512)` for 784-512-512-10.
        pool: average the 28x28 pixels in `pool` x `pool` blocks first; 2 gives 14x14
            digits, 196 inputs (a cheaper first layer).
        p: dropout rate (probability of zeroing) after each hidden ReLU.
        p_input: dropout rate on the input pixels; 0 means no input dropout layer.
        n_train: training digits, the first `n_train / 10` of each class (see `first_per_class`).
        n_val: validation digits held out from the training split, the last `n_val / 10` of
            each class (never among the training digits); 0 for none.
        epochs: passes over the training digits.
        batch_size: digits per SGD step.
        lr: SGD learning rate (no momentum).
        seed: the run's only source of randomness. It is split into three independent streams,
            for the initial weights, the mini-batch order and the dropout masks, so two runs
            with the same seed and different `p` start from the same weights and see the
            batches in the same order: only the masks differ.
        loss: `"cross_entropy"` on labels, or `"mse"` on one-hot targets.
        dropout: `"inverted"` (the package's `Dropout`), `"unscaled"` or `"test_time"`.
        init: `"he"` (the package's `Linear`), or `"uniform"`: weights `U(0, 1) / in_features`
            and biases `U(0, 1)`, the all-positive start of one of the source tutorials.
        eval_every: measure train and test accuracy (eval mode) after every `eval_every`
            epochs and after the last one; 0 means after the last one only. Each
            measurement costs about as much computing as half an epoch of training.
    """

    hidden: tuple[int, ...] = (512, 512)
    pool: int = 1
    p: float = 0.0
    p_input: float = 0.0
    n_train: int = 1000
    n_val: int = 0
    epochs: int = 30
    batch_size: int = 16
    lr: float = 0.1
    seed: int = 0
    loss: Literal["cross_entropy", "mse"] = "cross_entropy"
    dropout: Literal["inverted", "unscaled", "test_time"] = "inverted"
    init: Literal["he", "uniform"] = "he"
    eval_every: int = 1

    def __post_init__(self) -> None:
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
        # Accept a list for `hidden` but store a tuple, so configs stay hashable.
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))


def build_mlp(
    config: MLPConfig, rng: np.random.Generator, dropout_rng: np.random.Generator
) -> Sequential:
    """inputs -> hidden... -> 10 with ReLU and dropout after each hidden layer.

    Args:
        config: widths, dropout rates, dropout variant and initialisation.
        rng: draws the initial weights.
        dropout_rng: draws every dropout mask of the network.

    A dropout layer is only added where its rate is above 0 (with p = 0 it would be the
    identity anyway).
    """
    variant = DROPOUT_VARIANTS[config.dropout]
    layers: list[Module] = []
    if config.p_input > 0:
        layers.append(variant(config.p_input, rng=dropout_rng))
    widths = (input_size(config), *config.hidden)
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [Linear(n_in, n_out, rng=rng), ReLU()]
        if config.p > 0:
            layers.append(variant(config.p, rng=dropout_rng))
    layers.append(Linear(widths[-1], 10, rng=rng))
    if config.init == "uniform":
        for layer in layers:
            if isinstance(layer, Linear):
                w, b = layer.weight.data, layer.bias.data
                w[...] = rng.random(w.shape) / layer.in_features
                b[...] = rng.random(b.shape)
    return Sequential(layers)


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


@cache
def _digits(n_train: int, n_val: int, pool: int) -> tuple[np.ndarray, ...]:
    """(X_train, y_train, X_val, y_val, X_test, y_test) as flat float32 rows, cached per
    process."""
    data = load_tinymnist()
    idx = first_per_class(data.y_train, n_train)
    val = first_per_class(data.y_train, n_val, last=True) if n_val else idx[:0]
    if np.intersect1d(idx, val).size:
        raise ValueError(f"n_train={n_train} and n_val={n_val} overlap in some class")
    X, X_val, X_test = (
        pooled(to_float(x), pool) for x in (data.x_train[idx], data.x_train[val], data.x_test)
    )
    return X, data.y_train[idx], X_val, data.y_train[val], X_test, data.y_test


def train_mlp(config: MLPConfig) -> dict[str, np.ndarray]:
    """Train the network `config` describes on tinymnist; return what happened.

    Returns:
        `train_loss` (mean mini-batch loss, training mode) and `train_acc_running` (accuracy
        on the mini-batches while training, dropout on), one value per epoch;
        `eval_epochs`, the epochs (counted from 1) after which the network was evaluated, and
        at each of them `train_acc` and `test_acc` (eval mode, dropout off); with
        `config.n_val`, also `val_acc` after the last epoch.
    """
    init_ss, order_ss, mask_ss = np.random.SeedSequence(config.seed).spawn(3)
    model = build_mlp(config, np.random.default_rng(init_ss), np.random.default_rng(mask_ss))
    X, y, X_val, y_val, X_test, y_test = _digits(config.n_train, config.n_val, config.pool)
    if config.loss == "mse":
        loss_fn, target = MSELoss(), np.eye(10, dtype=np.float32)[y]
    else:
        loss_fn, target = CrossEntropyLoss(), y
    optimizer, order_rng = SGD(model.parameters(), lr=config.lr), np.random.default_rng(order_ss)
    every = config.eval_every or config.epochs
    records: dict[str, list[float]] = {
        k: [] for k in ("train_loss", "train_acc_running", "eval_epochs", "train_acc", "test_acc")
    }
    done = 0
    while done < config.epochs:
        # fit in stretches of `every` epochs, evaluating in between (same run as one fit call)
        stretch = min(every, config.epochs - done)
        history = fit(
            model,
            loss_fn,
            optimizer,
            (X, target),
            epochs=stretch,
            batch_size=config.batch_size,
            rng=order_rng,
            progress=False,
            eval_train=False,
        )
        done += stretch
        records["train_loss"] += history.train_loss
        records["train_acc_running"] += history.train_acc_running
        records["eval_epochs"].append(done)
        records["train_acc"].append(evaluate(model, X, y))
        records["test_acc"].append(evaluate(model, X_test, y_test))
    result = {key: np.array(values) for key, values in records.items()}
    if config.n_val:
        result["val_acc"] = np.array([evaluate(model, X_val, y_val)])
    return result


@dataclass
class FitJob:
    """Everything `fit` needs, as one picklable object, so a worker process can train a
    model built here.

    Attributes:
        model: the network, untrained or partly trained.
        loss_fn: e.g. `CrossEntropyLoss()`.
        train: `(X, y)` training data.
        lr, momentum: settings of the `SGD` optimizer created in the worker.
        test: optional `(X, y)` evaluated after each epoch.
        epochs, batch_size, eval_train: as in `fit`.
        rng: shuffles the mini-batches; None keeps the stored order. The model's dropout
            layers carry their own generators.

    The worker trains a copy of `model` and of every generator in the job (they travel by
    pickling), so the same job gives the same trained model wherever it runs. The objects
    in this process are left as they are; use the model that `fit_job` returns.
    """

    model: Module
    loss_fn: Any
    train: tuple[np.ndarray, np.ndarray]
    lr: float
    momentum: float = 0.0
    test: tuple[np.ndarray, np.ndarray] | None = None
    epochs: int = 10
    batch_size: int = 64
    eval_train: bool = True
    rng: np.random.Generator | None = field(default=None, repr=False)


def fit_job(job: FitJob) -> tuple[Module, History]:
    """Train `job.model` as `job` says (plain `fit`, no progress bar); return the trained
    model and its `History`."""
    if multiprocessing.parent_process() is None:
        # In this process: work on copies, so the result does not depend on where it ran.
        job = pickle.loads(pickle.dumps(job))
    optimizer = SGD(job.model.parameters(), lr=job.lr, momentum=job.momentum)
    history = fit(
        job.model,
        job.loss_fn,
        optimizer,
        job.train,
        job.test,
        epochs=job.epochs,
        batch_size=job.batch_size,
        rng=job.rng,
        progress=False,
        eval_train=job.eval_train,
    )
    return job.model, history


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block (spawned children inherit
    them), then restore the previous values."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_many(
    fn: Callable[[Any], Any],
    configs: Iterable[Any],
    processes: int | None = None,
    progress: bool = False,
) -> list[Any]:
    """`[fn(c) for c in configs]`, computed in parallel worker processes.

    Args:
        fn: a module-level function (workers import it by name), e.g. `train_mlp`.
        configs: picklable arguments, one per run; each should carry its own seed.
        processes: number of worker processes; all cores if None. With 1 the runs happen
            here, one after the other, with no worker processes.
        progress: print a line to stderr as each run finishes (plain text, no widget).

    Returns:
        The results in the order of `configs`.

    Raises:
        RuntimeError: a run failed; the message names the run and its config, and the
            worker's exception (with its traceback) is chained as the cause. Runs not yet
            started are cancelled.

    The workers are started on first use and kept for later calls with the same number of
    processes (starting one and importing NumPy costs about a second), until this process
    exits or `stop_workers()` is called.
    """
    configs = list(configs)
    processes = (os.cpu_count() or 1) if processes is None else int(processes)
    if processes < 1:
        raise ValueError(f"processes must be >= 1, got {processes}")
    if processes == 1 or not configs:
        results = []
        for i, config in enumerate(configs):
            results.append(_call(fn, i, config))
            _report(progress, i + 1, len(configs))
        return results

    # A worker starts when a task is submitted and no idle worker is left, and it inherits
    # the environment of that moment: one BLAS thread.
    with _environment(SINGLE_THREAD_ENV):
        try:
            futures = {_workers(processes).submit(fn, c): i for i, c in enumerate(configs)}
        except BrokenProcessPool:  # a worker of an earlier call died: start afresh
            stop_workers()
            futures = {_workers(processes).submit(fn, c): i for i, c in enumerate(configs)}
    results: list[Any] = [None] * len(configs)
    try:
        for done, future in enumerate(as_completed(futures), start=1):
            i = futures[future]
            results[i] = _result(future, i, configs[i])
            _report(progress, done, len(configs))
    except BaseException as err:
        for future in futures:
            future.cancel()
        if isinstance(err.__cause__, BrokenProcessPool):
            stop_workers()
        raise
    return results


_pool: ProcessPoolExecutor | None = None
_pool_size = 0


def _workers(processes: int) -> ProcessPoolExecutor:
    """The shared pool of `processes` spawned workers (a new one if the size changed)."""
    global _pool, _pool_size
    if _pool is None or _pool_size != processes:
        stop_workers()
        _pool = ProcessPoolExecutor(
            processes, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_setup
        )
        _pool_size = processes
    return _pool


def _worker_setup() -> None:
    # Jupyter interrupts or shuts down a kernel by signalling its whole process group, workers
    # included. Leave Ctrl-C to the parent (which cancels what has not started), so that a
    # worker never dies mid-task or prints a KeyboardInterrupt traceback into the page.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_workers() -> None:
    """Shut down the worker processes that `run_many` keeps between calls (if any)."""
    global _pool, _pool_size
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
    _pool, _pool_size = None, 0


def _call(fn: Callable[[Any], Any], i: int, config: Any) -> Any:
    try:
        return fn(config)
    except Exception as err:
        raise RuntimeError(f"run {i} failed with config {config!r}: {err!r}") from err


def _result(future, i: int, config: Any) -> Any:
    try:
        return future.result()
    except Exception as err:
        raise RuntimeError(f"run {i} failed with config {config!r}: {err!r}") from err


def _report(progress: bool, done: int, total: int) -> None:
    if progress:
        print(f"run_many: {done}/{total} runs done", file=sys.stderr, flush=True)
