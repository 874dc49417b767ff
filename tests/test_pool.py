"""pool: run_many's parallel map (order, determinism, errors, one BLAS thread per worker)
and FitJob for networks built in a notebook."""

import math
import os
import pickle
import uuid
from pathlib import Path

import numpy as np
import pytest

from nnscratch.data import two_moons
from nnscratch.losses import CrossEntropyLoss
from nnscratch.nn import Dropout, Linear, ReLU, Sequential
from nnscratch.optim import SGD
from nnscratch.pool import SINGLE_THREAD_ENV, FitJob, fit_job, run_many, stop_workers
from nnscratch.stack import stack_modules
from nnscratch.train import TrainingDiverged, fit


def square(x: float) -> float:
    return x * x


def slow_square(x: float) -> float:
    # Later items finish first (less work), so results arrive out of order.
    total = sum(range(int(2e5 * (5 - x))))
    return x * x + 0 * total


def test_run_many_returns_results_in_config_order():
    values = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert run_many(slow_square, values, processes=2) == [square(v) for v in values]


# Drawn once per process: a spawned worker imports this module afresh and gets its own. A
# process id alone could not tell a new worker from an old one (the OS reuses ids).
PROCESS_TOKEN = uuid.uuid4().hex


def worker_token(_: object) -> tuple[int, str]:
    return os.getpid(), PROCESS_TOKEN


def worker_token_once_all_started(folder: str) -> tuple[int, str]:
    """This worker's token, returned once two workers have checked in (so that a fast worker
    cannot take every task of a call while the other is still starting)."""
    import time

    Path(folder, f"{os.getpid()}-{PROCESS_TOKEN}").touch()
    deadline = time.monotonic() + 60
    while len(os.listdir(folder)) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    return os.getpid(), PROCESS_TOKEN


def test_run_many_keeps_its_workers_between_calls(tmp_path):
    stop_workers()
    first = set(run_many(worker_token_once_all_started, [str(tmp_path)] * 4, processes=2))
    second = set(run_many(worker_token, range(8), processes=2))
    assert (os.getpid(), PROCESS_TOKEN) not in first and len(first) == 2
    assert second <= first  # the same processes: no second start-up cost
    stop_workers()
    assert not set(run_many(worker_token, range(4), processes=2)) & first


def test_run_many_serial_path_and_empty_input():
    assert run_many(math.sqrt, [4.0, 9.0], processes=1) == [2.0, 3.0]
    assert run_many(math.sqrt, []) == []
    with pytest.raises(ValueError, match="processes"):
        run_many(math.sqrt, [1.0], processes=0)


@pytest.mark.parametrize("processes", [1, 2])
def test_run_many_names_the_failing_run(processes):
    with pytest.raises(RuntimeError, match=r"run 1 failed with config -1\.0") as info:
        run_many(math.sqrt, [4.0, -1.0, 9.0], processes=processes)
    assert isinstance(info.value.__cause__, ValueError)  # the worker's own exception


def test_workers_use_one_blas_thread_and_the_parent_env_is_restored():
    before = {key: os.environ.get(key) for key in SINGLE_THREAD_ENV}
    seen = run_many(os.getenv, ["OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"], processes=2)
    assert seen == ["1", "1"]
    assert {key: os.environ.get(key) for key in SINGLE_THREAD_ENV} == before


def test_run_many_progress_is_plain_text(capsys):
    run_many(math.sqrt, [1.0, 4.0], processes=1, progress=True)
    err = capsys.readouterr().err
    assert "2/2 runs done" in err


def moons_job(p: float, seed: int) -> FitJob:
    rng = np.random.default_rng(seed)
    X, y = two_moons(40, noise=0.3, rng=rng)
    model = Sequential(
        [Linear(2, 16, rng=rng), ReLU(), Dropout(p, rng=rng), Linear(16, 2, rng=rng)]
    )
    return FitJob(
        model,
        CrossEntropyLoss(),
        (X, y),
        lr=0.1,
        momentum=0.9,
        test=(X, y),
        epochs=20,
        batch_size=10,
        rng=rng,
    )


def test_fit_job_trains_a_copy_the_same_way_here_and_in_a_worker():
    jobs = [moons_job(0.5, 0), moons_job(0.0, 1)]
    before = [j.model[0].weight.data.copy() for j in jobs]
    here = [fit_job(j) for j in jobs]
    there = run_many(fit_job, jobs, processes=2)
    for (m_here, h_here), (m_there, h_there), job, w0 in zip(
        here, there, jobs, before, strict=True
    ):
        np.testing.assert_array_equal(job.model[0].weight.data, w0)  # the job is not touched
        assert m_here is not job.model and not np.array_equal(m_here[0].weight.data, w0)
        for a, b in zip(m_here.parameters(), m_there.parameters(), strict=True):
            np.testing.assert_array_equal(a.data, b.data)
        assert h_here.train_loss == h_there.train_loss and h_here.test_acc == h_there.test_acc
    assert here[0][1].epochs == 20 and here[0][1].test_acc[-1] > 0.7


def test_fit_job_passes_max_norm_to_sgd():
    job = moons_job(0.5, 0)
    job.max_norm = 0.5
    model, _ = fit_job(job)
    norms = np.concatenate([np.linalg.norm(m.weight.data, axis=1) for m in model[::3]])
    assert norms.max() <= 0.5 * (1 + 1e-6) and np.isclose(norms, 0.5, rtol=1e-5).any()


def test_a_stack_in_a_fit_job_trains_as_fit_trains_it_here():
    """A stack of networks (one generator per member), early stopping and weight decay travel
    to a worker and come back as `fit` would have left them in this process."""
    jobs = [moons_job(0.5, seed) for seed in (0, 1, 2)]
    stack = stack_modules([job.model for job in jobs])
    job = FitJob(
        stack,
        CrossEntropyLoss(),
        jobs[0].train,
        lr=0.1,
        momentum=0.9,
        test=jobs[0].test,
        epochs=15,
        batch_size=10,
        rng=[j.rng for j in jobs],
        weight_decay=0.01,
        restore_best=True,
    )
    ((there_model, there_hist),) = run_many(fit_job, [job], processes=2)
    # one pickle, as the job travels: each member's masks and batch order share a generator
    here_model, here_rngs = pickle.loads(pickle.dumps((stack, [j.rng for j in jobs])))
    here_hist = fit(
        here_model,
        CrossEntropyLoss(),
        SGD(here_model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.01),
        jobs[0].train,
        jobs[0].test,
        epochs=15,
        batch_size=10,
        rng=here_rngs,
        progress=False,
        restore_best=True,
    )
    assert len(there_hist) == 3 and [h.best_epoch for h in there_hist] == [
        h.best_epoch for h in here_hist
    ]
    assert any(h.best_epoch < 15 for h in here_hist)  # restore_best had something to do
    for a, b in zip(here_model.parameters(), there_model.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow, on the way to inf
def test_a_diverging_fit_job_names_the_job():
    X, y = two_moons(64, noise=0.1, rng=np.random.default_rng(0))
    model = Sequential([Linear(2, 16, rng=np.random.default_rng(1)), ReLU(), Linear(16, 2)])
    job = FitJob(model, CrossEntropyLoss(), (X, y), lr=1e8, epochs=5, batch_size=8)
    with pytest.raises(TrainingDiverged, match=r"epoch \d of 5.*The run: FitJob\("):
        fit_job(job)


ORPHAN_SCRIPT = """
import os, signal, sys
from nnscratch.pool import run_many

def pid(_):
    return os.getpid()

if __name__ == "__main__":
    print(sorted(set(run_many(pid, range(8), processes=2))), flush=True)
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))
"""


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie waiting to be reaped has ended)."""
    import psutil  # installed with ipykernel, a test dependency

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_workers_end_with_a_parent_that_dies_without_shutting_them_down(tmp_path, how):
    # A kernel killed on restart (or after its shutdown timed out) never runs the pool's
    # shutdown; its workers used to live on, orphaned.
    import json
    import subprocess
    import sys
    import time

    script = tmp_path / "parent.py"
    script.write_text(ORPHAN_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), how], capture_output=True, text=True, timeout=120
    )
    workers = json.loads(done.stdout.splitlines()[0])
    assert workers, done.stdout
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # do not leave them to the next test
        os.kill(pid, 9)
    assert not left, f"worker processes {left} outlived their parent ({how})"


START_WORKERS = """
import math, psutil
from nnscratch.pool import run_many
run_many(math.sqrt, [float(i) for i in range(8)], processes=2)
print(sorted(c.pid for c in psutil.Process().children(recursive=True)))
"""


def _children_of_a_cell(kc) -> list[int]:
    """Run START_WORKERS in the kernel; the process ids of the kernel's children it prints."""
    import json

    messages: list[dict] = []
    reply = kc.execute_interactive(START_WORKERS, timeout=120, output_hook=messages.append)
    assert reply["content"]["status"] == "ok", reply["content"]
    text = "".join(m["content"].get("text", "") for m in messages)
    return json.loads(text.strip().splitlines()[-1])


def test_a_kernel_restarted_then_killed_leaves_no_process_behind():
    # A reader runs a chapter (which starts the pool), restarts the kernel, runs it again, and
    # then the kernel is killed (by the system running out of memory, say: no shutdown code
    # runs, and nothing signals its process group). Every process the kernels started must be
    # gone. Before the workers watched their parent, the last kernel's three were left.
    import signal
    import time

    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=120)
    seen: set[int] = set()
    try:
        seen.update(_children_of_a_cell(kc))
        km.restart_kernel()  # graceful, as the notebook's Restart does
        kc.wait_for_ready(timeout=120)
        seen.update(_children_of_a_cell(kc))
        os.kill(km.provisioner.process.pid, signal.SIGKILL)  # the kernel alone dies
    finally:
        kc.stop_channels()
        km.shutdown_kernel()
    assert len(seen) >= 2 * 2  # two workers (and a resource tracker) per kernel
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in seen if _alive(pid)]
    for pid in left:
        os.kill(pid, 9)
    assert not left, f"processes {left} outlived the kernels that started them"
