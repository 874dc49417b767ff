"""experiments: configs, the digit runs, and run_many's parallel map (order, determinism,
errors, one BLAS thread per worker)."""

import math
import os

import numpy as np
import pytest

from nnscratch.data import two_moons
from nnscratch.experiments import (
    SINGLE_THREAD_ENV,
    FitJob,
    MLPConfig,
    build_mlp,
    first_per_class,
    fit_job,
    pooled,
    run_many,
    stop_workers,
    train_mlp,
)
from nnscratch.losses import CrossEntropyLoss
from nnscratch.nn import Dropout, Linear, ReLU, Sequential, UnscaledDropout

# Small enough that a run takes a fraction of a second: 7x7 digits, 16 hidden units.
TINY = dict(hidden=(16,), pool=4, n_train=100, epochs=2, batch_size=10)


def test_config_validates_its_fields():
    with pytest.raises(ValueError, match="loss"):
        MLPConfig(loss="hinge")
    with pytest.raises(ValueError, match="dropout"):
        MLPConfig(dropout="gaussian")
    with pytest.raises(ValueError, match="init"):
        MLPConfig(init="zeros")
    with pytest.raises(ValueError, match="eval_every"):
        MLPConfig(eval_every=-1)
    with pytest.raises(ValueError, match="pool"):
        MLPConfig(pool=3)
    with pytest.raises(ValueError, match="n_train"):
        MLPConfig(n_train=5000)
    with pytest.raises(ValueError, match="n_val"):
        MLPConfig(n_train=3500, n_val=1000)
    assert MLPConfig(hidden=[8, 8]).hidden == (8, 8)  # stored as a tuple: hashable
    hash(MLPConfig(hidden=[8, 8]))


def test_first_per_class_is_balanced_disjoint_and_nested():
    y = np.repeat(np.arange(10), 40)[np.random.default_rng(0).permutation(400)]
    idx = first_per_class(y, 105)
    assert len(idx) == 105 and np.all(np.diff(idx) > 0)
    counts = np.bincount(y[idx], minlength=10)
    assert counts.tolist() == [11] * 5 + [10] * 5
    assert set(first_per_class(y, 50)) <= set(idx)  # more digits only add digits
    last = first_per_class(y, 100, last=True)
    assert not set(last) & set(first_per_class(y, 300))
    with pytest.raises(ValueError, match="not enough"):
        first_per_class(y, 410)


def test_pooled_averages_blocks():
    images = np.arange(2 * 28 * 28, dtype=np.float32).reshape(2, 28, 28)
    out = pooled(images, 2)
    assert out.shape == (2, 196)
    assert out[0, 0] == pytest.approx(images[0, :2, :2].mean())
    assert pooled(images, 1).shape == (2, 784)


def test_build_mlp_layers_and_shared_initial_weights():
    def make(**kw):
        config = MLPConfig(hidden=(32, 16), **kw)
        return build_mlp(config, np.random.default_rng(0), np.random.default_rng(1))

    plain, dropped = make(p=0.0), make(p=0.5, p_input=0.2)
    assert [type(m).__name__ for m in plain] == ["Linear", "ReLU"] * 2 + ["Linear"]
    assert isinstance(dropped[0], Dropout) and dropped[0].p == 0.2
    assert sum(isinstance(m, Dropout) for m in dropped) == 3
    # Dropout layers draw from their own generator: the weights do not depend on p.
    w_plain = [m.weight.data for m in plain if isinstance(m, Linear)]
    w_dropped = [m.weight.data for m in dropped if isinstance(m, Linear)]
    for a, b in zip(w_plain, w_dropped, strict=True):
        np.testing.assert_array_equal(a, b)
    unscaled = make(p=0.5, dropout="unscaled")
    assert isinstance(unscaled[2], UnscaledDropout)
    uniform = make(init="uniform")
    assert all((m.weight.data >= 0).all() for m in uniform if isinstance(m, Linear))


def test_train_mlp_records_and_is_deterministic():
    config = MLPConfig(p=0.5, **TINY)
    first, second = train_mlp(config), train_mlp(config)
    keys = {"train_loss", "train_acc_running", "eval_epochs", "train_acc", "test_acc"}
    assert set(first) == keys
    assert all(len(v) == TINY["epochs"] for v in first.values())
    assert first["eval_epochs"].tolist() == [1, 2]
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])
    assert 0.15 < first["test_acc"][-1] <= 1.0  # 2 epochs on 100 tiny digits: above chance
    other_seed = train_mlp(MLPConfig(p=0.5, seed=1, **TINY))
    assert not np.array_equal(first["train_loss"], other_seed["train_loss"])


def test_train_mlp_evaluates_when_asked_and_reports_validation():
    config = dict(TINY, epochs=5)
    full = train_mlp(MLPConfig(p=0.5, **config))
    end = train_mlp(MLPConfig(p=0.5, eval_every=0, n_val=200, **config))
    sparse = train_mlp(MLPConfig(p=0.5, eval_every=2, **config))
    assert end["eval_epochs"].tolist() == [5] and sparse["eval_epochs"].tolist() == [2, 4, 5]
    assert len(end["train_loss"]) == 5 and len(end["val_acc"]) == 1
    # Evaluating does not change the training: the same numbers at the same epochs.
    for run in (end, sparse):
        np.testing.assert_array_equal(run["train_loss"], full["train_loss"])
        np.testing.assert_array_equal(run["test_acc"], full["test_acc"][run["eval_epochs"] - 1])
        np.testing.assert_array_equal(run["train_acc"], full["train_acc"][run["eval_epochs"] - 1])


def test_train_mlp_mse_variant_runs():
    result = train_mlp(MLPConfig(loss="mse", dropout="unscaled", init="uniform", p=0.2, **TINY))
    assert np.isfinite(result["train_loss"]).all()


def test_run_many_matches_serial_runs_in_config_order():
    # Different costs, so the runs finish out of order; results must still follow configs.
    configs = [MLPConfig(p=p, seed=s, **TINY) for p, s in ((0.5, 0), (0.0, 1), (0.2, 2))]
    configs[0] = MLPConfig(p=0.5, seed=0, **{**TINY, "epochs": 6})
    parallel = run_many(train_mlp, configs, processes=2)
    serial = [train_mlp(c) for c in configs]
    assert len(parallel) == len(configs)
    for got, want in zip(parallel, serial, strict=True):
        assert got.keys() == want.keys()
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])


def worker_pid(_: object) -> int:
    return os.getpid()


def test_run_many_keeps_its_workers_between_calls():
    first = set(run_many(worker_pid, range(8), processes=2))
    second = set(run_many(worker_pid, range(8), processes=2))
    assert os.getpid() not in first and len(first) <= 2
    assert second <= first  # the same processes: no second start-up cost
    stop_workers()
    assert not set(run_many(worker_pid, range(4), processes=2)) & first


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
