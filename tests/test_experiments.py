"""experiments: configs, digit selection, train_runs and RunResult."""

from dataclasses import replace

import numpy as np
import pytest

from nnscratch.experiments import (
    MLPConfig,
    build_mlp,
    digits,
    first_per_class,
    initial_model,
    pooled,
    train_mlp,
    train_runs,
)
from nnscratch.nn import Dropout, GaussianDropout, Linear, UnscaledDropout
from nnscratch.train import TrainingDiverged, evaluate

# Small enough that a run takes a fraction of a second: 7x7 digits, 16 hidden units.
TINY = dict(hidden=(16,), pool=4, n_train=100, epochs=2, batch_size=10)


def test_config_validates_its_fields():
    with pytest.raises(ValueError, match="loss"):
        MLPConfig(loss="hinge")
    with pytest.raises(ValueError, match="dropout"):
        MLPConfig(dropout="bernoulli")
    with pytest.raises(ValueError, match="max_norm"):
        MLPConfig(max_norm=0.0)
    with pytest.raises(ValueError, match="max_norm"):
        MLPConfig(max_norm=float("inf"))
    with pytest.raises(ValueError, match="weight_decay"):
        MLPConfig(weight_decay=-0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        MLPConfig(weight_decay=float("nan"))
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        MLPConfig(p=1.0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        MLPConfig(p_input=-0.1)
    with pytest.raises(ValueError, match="momentum"):
        MLPConfig(momentum=1.0)
    with pytest.raises(ValueError, match="lr"):
        MLPConfig(lr=0.0)
    with pytest.raises(ValueError, match="hidden"):
        MLPConfig(hidden=())
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
    gaussian = make(p=0.5, dropout="gaussian")
    assert isinstance(gaussian[2], GaussianDropout) and gaussian[2].p == 0.5
    uniform = make(init="uniform")
    assert all((m.weight.data >= 0).all() for m in uniform if isinstance(m, Linear))


def test_train_mlp_records_and_is_deterministic():
    config = MLPConfig(p=0.5, **TINY)
    first, second = train_mlp(config), train_mlp(config)
    assert first.config == config
    assert len(first.train_loss) == len(first.train_acc_running) == TINY["epochs"]
    assert first.eval_epochs.tolist() == [1, 2] and len(first.test_acc) == 2
    assert first.val_acc.size == 0 and first.best_epoch == 2  # no validation: the last epoch
    for a, b in zip(first.weights, second.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(first.test_correct, second.test_correct)
    assert 0.15 < first.test_acc[-1] <= 1.0  # 2 epochs on 100 tiny digits: above chance
    other_seed = train_mlp(MLPConfig(p=0.5, seed=1, **TINY))
    assert not np.array_equal(first.train_loss, other_seed.train_loss)


def test_evaluating_sparsely_does_not_change_the_training():
    config = dict(TINY, epochs=5)
    full = train_mlp(MLPConfig(p=0.5, **config))
    end = train_mlp(MLPConfig(p=0.5, eval_every=0, **config))
    sparse = train_mlp(MLPConfig(p=0.5, eval_every=2, **config))
    assert end.eval_epochs.tolist() == [5] and sparse.eval_epochs.tolist() == [2, 4, 5]
    for run in (end, sparse):
        np.testing.assert_array_equal(run.train_loss, full.train_loss)
        np.testing.assert_array_equal(run.test_acc, full.test_acc[run.eval_epochs - 1])
        np.testing.assert_array_equal(run.train_acc, full.train_acc[run.eval_epochs - 1])


def test_early_stopping_keeps_the_best_validation_epoch():
    run = train_mlp(MLPConfig(p=0.3, n_val=200, **dict(TINY, epochs=8)))
    assert len(run.val_acc) == 8
    best = int(np.argmax(run.val_acc))  # the first epoch with the highest validation score
    assert run.best_epoch == run.eval_epochs[best]
    assert run.best_test_acc == pytest.approx(run.test_acc[best])
    assert run.test_correct_final.mean() == pytest.approx(run.test_acc[-1])
    # The model rebuilt from the best weights scores what was recorded at that epoch.
    data = digits(TINY["n_train"], 200, TINY["pool"])
    assert evaluate(run.model(best=True), data.X_test, data.y_test) == run.best_test_acc
    assert evaluate(run.model(best=False), data.X_test, data.y_test) == run.test_acc[-1]


def test_validation_digits_are_carved_from_the_training_split_and_disjoint():
    data = digits(300, 200, 4)
    assert data.X.shape == (300, 49) and data.X_val.shape == (200, 49)
    assert np.bincount(data.y_val).tolist() == [20] * 10
    train_rows = {row.tobytes() for row in data.X}
    assert not any(row.tobytes() in train_rows for row in data.X_val)


def test_train_runs_keeps_config_order_and_pairs_runs_by_seed():
    configs = [MLPConfig(p=p, seed=s, **TINY) for s in (0, 1) for p in (0.0, 0.5)]
    configs.append(MLPConfig(p=0.2, seed=2, **dict(TINY, epochs=3)))  # another stack
    # Members of one stack with their own step sizes and weight decay: each trains as alone.
    configs += [
        MLPConfig(p=0.5, seed=3, lr=0.02, **TINY),
        MLPConfig(p=0.0, seed=4, lr=0.3, weight_decay=0.01, momentum=0.0, **TINY),
    ]
    parallel = train_runs(configs, processes=2)
    serial = [train_mlp(c) for c in configs]
    one_stack = train_runs(configs[-2:] + configs[:1], processes=1)  # lr 0.1, 0.02 and 0.3
    for got, want in zip(one_stack, [serial[-2], serial[-1], serial[0]], strict=True):
        np.testing.assert_array_equal(got.train_loss, want.train_loss)
    assert len({tuple(r.train_loss) for r in parallel[-2:]}) == 2
    for got, want in zip(parallel, serial, strict=True):
        assert got.config == want.config
        np.testing.assert_array_equal(got.train_loss, want.train_loss)
        for a, b in zip(got.weights, want.weights, strict=True):
            np.testing.assert_array_equal(a, b)
    # Same seed, different p: the same initial weights (a p = 0 run draws no masks).
    init = [build_mlp(c, np.random.default_rng(c.seed), np.random.default_rng(0)) for c in configs]
    np.testing.assert_array_equal(init[0][0].weight.data, init[1][0].weight.data)
    assert not np.array_equal(init[0][0].weight.data, init[2][0].weight.data)


def test_train_runs_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        train_runs([])
    with pytest.raises(TypeError, match="MLPConfig"):
        train_runs([dict(p=0.5)])


def test_mse_unscaled_uniform_and_unshuffled_runs():
    config = MLPConfig(loss="mse", dropout="unscaled", init="uniform", p=0.2, shuffle=False, **TINY)
    result = train_mlp(config)
    assert np.isfinite(result.train_loss).all() and np.isfinite(result.test_loss).all()


def test_initial_model_is_where_the_runner_starts():
    # A learning rate of 1e-12 leaves the weights where they started (to float32 rounding).
    config = MLPConfig(p=0.5, **dict(TINY, lr=1e-12, epochs=1))
    start = [p.data for p in initial_model(config).parameters()]
    for trained, initial in zip(train_mlp(config).weights, start, strict=True):
        np.testing.assert_allclose(trained, initial, atol=1e-6)
    other = initial_model(MLPConfig(p=0.5, **dict(TINY, seed=1)))
    assert not np.array_equal(other.parameters()[0].data, start[0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow, on the way to inf
def test_a_diverging_run_is_an_error_that_names_it_and_its_epoch():
    good = MLPConfig(hidden=(32,), pool=4, n_train=100, epochs=4, lr=0.1, loss="mse", seed=0)
    bad = replace(good, p=0.5, lr=100.0, seed=1)  # a stack of its own (another lr)
    named = r"epoch \d of 4.*MLPConfig\(.*p=0\.5.*lr=100\.0.*seed=1"
    with pytest.raises(TrainingDiverged, match=named):
        train_runs([good, bad], processes=1)
    train_runs([good], processes=1)  # the good run alone trains
