"""Many independent runs, spread over the machine's cores.

`run_many(fn, configs)` is `[fn(c) for c in configs]` computed by a pool of worker processes,
with the results in the order of `configs`. Each run is fully described by its config, seed
included, so a run gives the same numbers whichever process executes it, in whatever order.

Three details make this fast rather than slow:
- Workers are started with `spawn` and with BLAS limited to one thread (the environment
  variables below are set before a worker imports NumPy). Two workers with one BLAS thread
  each keep two cores busy; a BLAS that starts its own threads inside each worker would
  fight the other worker for the same cores (on a busy machine, measured 7-10x slower).
- The workers stay up between calls, so a notebook pays their start-up (a fresh
  interpreter importing NumPy and this package, about a second) once. They end with the
  process that started them, however it ends (a kernel shut down, restarted or killed).
- The function a worker runs must be importable by name, because a spawned worker starts a
  fresh interpreter and cannot see functions defined in a notebook. For a network built in a
  notebook, send it over in a `FitJob`: the model, its data and its generator are pickled,
  `fit_job` trains it in the worker and sends back the trained model.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .nn import Module
from .optim import SGD
from .train import History, TrainingDiverged, fit

# Each of these caps one BLAS/OpenMP implementation at one thread in the workers.
SINGLE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "BLIS_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}


@dataclass
class FitJob:
    """Everything `fit` needs, as one picklable object, so a worker process can train a
    model built here.

    Attributes:
        model: the network, untrained or partly trained.
        loss_fn: e.g. `CrossEntropyLoss()`.
        train: `(X, y)` training data.
        lr, momentum, max_norm, weight_decay: settings of the `SGD` optimizer created in
            the worker.
        test: optional `(X, y)` evaluated after each epoch (the validation split, for
            early stopping).
        epochs, batch_size, eval_train, restore_best: as in `fit`.
        rng: shuffles the mini-batches; None keeps the stored order. For a stack of K
            networks (`stack_modules`), a list of the K members' generators. The model's
            dropout layers carry their own generators.

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
    rng: np.random.Generator | list[np.random.Generator] | None = field(default=None, repr=False)
    max_norm: float | None = None
    weight_decay: float = 0.0
    restore_best: bool = False


def fit_job(job: FitJob) -> tuple[Module, History | list[History]]:
    """Train `job.model` as `job` says (plain `fit`, no progress bar); return the trained
    model and its `History` (one per member for a stack)."""
    if multiprocessing.parent_process() is None:
        # In this process: work on copies, so the result does not depend on where it ran.
        job = pickle.loads(pickle.dumps(job))
    optimizer = SGD(
        job.model.parameters(),
        lr=job.lr,
        momentum=job.momentum,
        max_norm=job.max_norm,
        weight_decay=job.weight_decay,
    )
    try:
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
            restore_best=job.restore_best,
        )
    except TrainingDiverged as error:
        raise TrainingDiverged(f"{error}. The run: {job!r}") from None
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
    # A worker waits for tasks on a queue that its siblings also hold open, so it would never
    # notice a parent that died without shutting the pool down (a kernel killed on restart, or
    # after its shutdown timed out): it would live on, orphaned, holding its memory. Watch the
    # parent instead, and leave with it.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(
            target=_exit_with, args=(parent,), name="nnscratch-parent-watch", daemon=True
        ).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    """Block until `parent` has exited, however it ended, then end this worker at once."""
    parent.join()  # waits on a pipe that the parent's end closes when the parent dies
    os._exit(0)


def stop_workers() -> None:
    """Shut down the worker processes that `run_many` keeps between calls (if any)."""
    global _pool, _pool_size
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
    _pool, _pool_size = None, 0


def _call(fn: Callable[[Any], Any], i: int, config: Any) -> Any:
    try:
        return fn(config)
    except TrainingDiverged:
        raise  # its message already names the run, its config and the epoch
    except Exception as err:
        raise RuntimeError(f"run {i} failed with config {config!r}: {err!r}") from err


def _result(future, i: int, config: Any) -> Any:
    try:
        return future.result()
    except TrainingDiverged:
        raise  # its message already names the run, its config and the epoch
    except Exception as err:
        raise RuntimeError(f"run {i} failed with config {config!r}: {err!r}") from err


def _report(progress: bool, done: int, total: int) -> None:
    if progress:
        print(f"run_many: {done}/{total} runs done", file=sys.stderr, flush=True)
