"""calibration: the fitted temperature minimises the loss, recovers a known one, keeps the
predicted classes, and rejects bad input."""

import numpy as np
import pytest

from nnscratch.calibration import fit_temperature, tempered


def sampled(rng, n=20_000, temperature=2.5):
    """Logits whose labels are drawn from softmax(logits / temperature): the true T."""
    logits = 3.0 * rng.standard_normal((n, 10))
    probs = tempered(logits, temperature)
    labels = (probs.cumsum(axis=1) < rng.random((n, 1))).sum(axis=1)
    return logits, np.minimum(labels, 9)


def test_recovers_the_temperature_that_drew_the_labels(rng):
    logits, labels = sampled(rng)
    assert fit_temperature(logits, labels) == pytest.approx(2.5, rel=0.05)


def test_fitted_temperature_is_the_minimum_of_the_loss(rng):
    logits, labels = sampled(rng, n=3000, temperature=0.7)
    fitted = fit_temperature(logits, labels)

    def loss(t):
        p = tempered(logits, t)
        return -np.mean(np.log(p[np.arange(len(labels)), labels]))

    grid = np.linspace(0.3, 2.0, 400)
    assert loss(fitted) <= min(loss(t) for t in grid) + 1e-12
    assert loss(fitted) < loss(fitted * 1.01) and loss(fitted) < loss(fitted / 1.01)


def test_log_probabilities_work_as_logits_and_classes_do_not_change(rng):
    logits, labels = sampled(rng, n=2000)
    probs = tempered(logits, 1.0)
    assert fit_temperature(np.log(probs), labels) == pytest.approx(
        fit_temperature(logits, labels), rel=1e-6
    )
    np.testing.assert_array_equal(tempered(logits, 3.0).argmax(1), logits.argmax(1))


def test_bad_input():
    z = np.zeros((4, 3))
    with pytest.raises(ValueError, match="logits"):
        fit_temperature(np.zeros(4), [0, 1, 2, 0])
    with pytest.raises(ValueError, match="finite"):
        fit_temperature(np.full((4, 3), -np.inf), [0, 1, 2, 0])
    with pytest.raises(ValueError, match="labels"):
        fit_temperature(z, [0, 1, 2])
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        fit_temperature(z, [0, 1, 2, 3])
    with pytest.raises(ValueError, match="low"):
        fit_temperature(z, [0, 1, 2, 0], low=2.0, high=1.0)
    with pytest.raises(ValueError, match="temperature"):
        tempered(z, 0.0)
