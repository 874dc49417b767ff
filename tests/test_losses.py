"""Losses: gradients match forwards, stability, and errors on bad input."""

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.gradcheck import grad_check
from nnscratch.losses import CrossEntropyLoss, MSELoss


def test_mse_value_and_gradient(rng):
    y_hat = Tensor(rng.standard_normal((4, 10)), requires_grad=True)
    target = rng.standard_normal((4, 10))
    loss = MSELoss()(y_hat, target)
    assert float(loss.data) == pytest.approx(np.mean((y_hat.data - target) ** 2))
    assert grad_check(lambda: MSELoss()(y_hat, target), [y_hat]) < 1e-7


def test_mse_gradient_divides_by_element_count_not_batch_size(rng):
    # The source series divided by the batch size in backward: 10x too large for 10 outputs.
    y_hat = Tensor(np.zeros((4, 10)), requires_grad=True)
    target = np.eye(10)[[1, 2, 3, 4]]
    MSELoss()(y_hat, target).backward()
    np.testing.assert_allclose(y_hat.grad, 2 * (y_hat.data - target) / 40)


def test_cross_entropy_value_and_gradient(rng):
    logits = Tensor(rng.standard_normal((6, 4)), requires_grad=True)
    labels = np.array([0, 3, 1, 1, 2, 0])
    z = logits.data
    expected = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(6), labels])
    assert float(CrossEntropyLoss()(logits, labels).data) == pytest.approx(expected)
    assert grad_check(lambda: CrossEntropyLoss()(logits, labels), [logits]) < 1e-7


def test_cross_entropy_is_stable_for_huge_logits():
    logits = Tensor(np.array([[1000.0, 0.0, -1000.0], [0.0, 1000.0, 0.0]]), requires_grad=True)
    loss = CrossEntropyLoss()(logits, np.array([0, 0]))
    loss.backward()
    assert np.isfinite(loss.data) and np.isfinite(logits.grad).all()
    assert float(loss.data) == pytest.approx(500.0)  # (0 + 1000) / 2


def test_cross_entropy_keeps_float32():
    logits = Tensor(np.zeros((2, 3), dtype=np.float32), requires_grad=True)
    loss = CrossEntropyLoss()(logits, np.array([0, 1]))
    loss.backward()
    assert loss.data.dtype == np.float32 and logits.grad.dtype == np.float32


def test_shape_mismatches_name_the_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 4\)"):
        MSELoss()(Tensor(np.zeros((2, 3))), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        CrossEntropyLoss()(Tensor(np.zeros((2, 3))), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\(batch, classes\)"):
        CrossEntropyLoss()(Tensor(np.zeros(3)), np.array([0]))


def test_bad_labels_raise():
    logits = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        CrossEntropyLoss()(logits, np.array([0, 3]))
    # Negative labels too, whatever their integer type (one unsigned pass checks both ends).
    for dtype in (np.int8, np.int32, np.int64):
        with pytest.raises(ValueError, match=r"\[0, 2\], got \[-1, 1\]"):
            CrossEntropyLoss()(logits, np.array([1, -1], dtype=dtype))
    assert np.isfinite(CrossEntropyLoss()(logits, np.array([0, 2], dtype=np.uint8)).data)
    with pytest.raises(ValueError, match="integer"):
        CrossEntropyLoss()(logits, np.array([0.5, 1.0]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_raise(bad):
    values = np.zeros((2, 3))
    values[1, 1] = bad
    with pytest.raises(ValueError, match="prediction"):
        MSELoss()(Tensor(values), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="target"):
        MSELoss()(Tensor(np.zeros((2, 3))), values)
    with pytest.raises(ValueError, match="logits"):
        CrossEntropyLoss()(Tensor(values), np.array([0, 1]))
