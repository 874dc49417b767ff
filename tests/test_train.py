"""fit and evaluate: learning on real digits, histories, modes and reproducibility."""

import numpy as np
import pytest

from nnscratch.data import load_tinymnist, one_hot, to_float
from nnscratch.losses import CrossEntropyLoss, MSELoss
from nnscratch.nn import Dropout, Flatten, Linear, ReLU, Sequential
from nnscratch.optim import SGD
from nnscratch.train import History, TrainingDiverged, evaluate, fit


def source_network(rng):
    """The source tutorial's network: Flatten-Linear(784,64)-ReLU-Dropout(0.2)-Linear(64,10)."""
    return Sequential(
        [
            Flatten(),
            Linear(784, 64, rng=rng),
            ReLU(),
            Dropout(0.2, rng=rng),
            Linear(64, 10, rng=rng),
        ]
    )


@pytest.fixture(scope="module")
def digits():
    d = load_tinymnist()
    return to_float(d.x_train), d.y_train, to_float(d.x_test), d.y_test


def test_source_network_learns_tinymnist(digits):
    # The source tutorial's settings: MSE on one-hot targets, SGD lr 0.01, batch 2, 10 epochs.
    X, y, X_test, y_test = digits
    rng = np.random.default_rng(0)
    model = source_network(rng)
    history = fit(
        model,
        MSELoss(),
        SGD(model.parameters(), lr=0.01),
        (X, one_hot(y)),
        (X_test, y_test),
        epochs=10,
        batch_size=2,
        rng=rng,
        progress=False,
    )
    assert history.test_acc[-1] >= 0.88
    assert history.train_loss[-1] < history.train_loss[0]


def small_run(digits, seed, epochs=2, **kwargs):
    X, y, X_test, y_test = digits
    rng = np.random.default_rng(seed)
    model = source_network(rng)
    opt = SGD(model.parameters(), lr=0.1)
    history = fit(
        model,
        CrossEntropyLoss(),
        opt,
        (X[:500], y[:500]),
        (X_test, y_test),
        epochs=epochs,
        batch_size=50,
        rng=rng,
        progress=False,
        **kwargs,
    )
    return model, history


def test_history_has_one_entry_per_epoch(digits):
    model, history = small_run(digits, seed=1, epochs=3)
    assert isinstance(history, History) and history.epochs == 3
    for values in (
        history.train_loss,
        history.train_acc,
        history.test_acc,
        history.train_acc_running,
    ):
        assert len(values) == 3 and all(0 <= v for v in values)
    assert model.training  # fit leaves the model in training mode


def test_train_accuracy_is_measured_in_eval_mode(digits):
    X, y, _, _ = digits
    model, history = small_run(digits, seed=2)
    assert history.train_acc[-1] == evaluate(model, X[:500], y[:500])


def test_same_seed_same_history(digits):
    _, a = small_run(digits, seed=3)
    _, b = small_run(digits, seed=3)
    _, c = small_run(digits, seed=4)
    assert a == b
    assert a != c


def test_evaluate_restores_mode_and_accepts_one_hot(digits):
    X, y, _, _ = digits
    model, _ = small_run(digits, seed=5, epochs=1)
    model.train()
    acc_labels = evaluate(model, X[:200], y[:200])
    assert model.training
    model.eval()
    assert evaluate(model, X[:200], one_hot(y[:200])) == acc_labels
    assert not model.training


def test_eval_train_off_and_no_test_set(digits):
    _, history = small_run(digits, seed=6, epochs=1, eval_train=False)
    assert history.train_acc == [] and len(history.train_loss) == 1
    X, y, _, _ = digits
    model = source_network(np.random.default_rng(0))
    h = fit(
        model,
        CrossEntropyLoss(),
        SGD(model.parameters(), lr=0.1),
        (X[:100], y[:100]),
        epochs=1,
        progress=False,
    )
    assert h.test_acc == []


def test_bad_epochs(digits):
    X, y, _, _ = digits
    model = source_network(np.random.default_rng(0))
    with pytest.raises(ValueError, match="epochs"):
        fit(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), (X, y), epochs=-1)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's overflow, on the way to inf
def test_a_diverging_run_names_the_epoch(digits):
    X, y, _, _ = digits
    model = source_network(np.random.default_rng(0))
    with pytest.raises(TrainingDiverged, match=r"not finite in epoch \d+ of 5 \(lr=100.0\)"):
        fit(
            model,
            MSELoss(),
            SGD(model.parameters(), lr=100.0),
            (X[:200], one_hot(y[:200], 10)),
            epochs=5,
            progress=False,
        )


def test_non_finite_targets_are_a_data_error_not_a_divergence(digits):
    X, y, _, _ = digits
    model = source_network(np.random.default_rng(0))
    targets = one_hot(y[:64], 10)
    targets[3, 2] = np.nan
    with pytest.raises(ValueError, match="target contains NaN"):
        fit(
            model,
            MSELoss(),
            SGD(model.parameters(), lr=0.1),
            (X[:64], targets),
            epochs=1,
            progress=False,
        )
