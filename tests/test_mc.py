"""mc: MC dropout passes, their summary, and the train/eval flags around them."""

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.mc import (
    MCPrediction,
    dropout_on,
    entropy,
    mc_passes,
    mc_predict,
    softmax,
    summarize,
)
from nnscratch.nn import (
    Dropout,
    Linear,
    Module,
    ReLU,
    Sequential,
    TestTimeScaledDropout,
    UnscaledDropout,
)


class ModeSpy(Module):
    """Identity that records its `training` flag at every forward call."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[bool] = []

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append(self.training)
        return x


def mlp(rng, p=0.5, dropout=Dropout, spy=None):
    layers = [Linear(6, 16, rng=rng), ReLU(), dropout(p, rng=rng)]
    layers += [spy] if spy is not None else []
    layers += [Linear(16, 4, rng=rng)]
    return Sequential(layers)


def test_shapes_and_probabilities(rng):
    X = rng.standard_normal((7, 6)).astype(np.float32)
    result = mc_predict(mlp(rng), X, T=5, keep_passes=True)
    assert isinstance(result, MCPrediction)
    assert result.passes.shape == (5, 7, 4)
    assert result.probs.shape == (7, 4)
    assert result.entropy.shape == result.mutual_info.shape == (7,)
    np.testing.assert_allclose(result.passes.sum(axis=-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(result.probs, result.passes.mean(axis=0))
    np.testing.assert_array_equal(result.prediction, result.probs.argmax(axis=1))
    assert np.all((result.entropy >= 0) & (result.entropy <= np.log(4) + 1e-12))
    assert np.all((result.mutual_info >= 0) & (result.mutual_info <= result.entropy + 1e-12))
    assert mc_predict(mlp(rng), X, T=3).passes is None


def test_passes_differ_and_repeat_with_the_same_seed():
    X = np.random.default_rng(1).standard_normal((10, 6))
    a = mc_passes(mlp(np.random.default_rng(0)), X, T=4)
    b = mc_passes(mlp(np.random.default_rng(0)), X, T=4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[0], a[1])  # fresh masks on every pass


def test_batch_size_does_not_change_single_pass_shapes(rng):
    X = rng.standard_normal((10, 6))
    assert mc_passes(mlp(rng), X, T=2, batch_size=3).shape == (2, 10, 4)


@pytest.mark.parametrize("model_training", [True, False])
def test_only_dropout_is_in_training_mode_and_flags_are_restored(rng, model_training):
    spy = ModeSpy()
    model = mlp(rng, spy=spy).train(model_training)
    mc_passes(model, rng.standard_normal((3, 6)), T=2)
    assert spy.seen == [False, False]  # non-dropout modules run in eval mode
    assert model.training == model_training
    assert all(layer.training == model_training for layer in model.layers)


def test_mixed_flags_are_restored_exactly(rng):
    model = mlp(rng).eval()
    model.layers[0].training = True  # an unusual mix must come back unchanged
    flags = [model.training] + [layer.training for layer in model.layers]
    with dropout_on(model):
        assert [layer.training for layer in model.layers] == [False, False, True, False]
        assert model.training is False
    assert [model.training] + [layer.training for layer in model.layers] == flags


def test_flags_are_restored_after_an_error(rng):
    model = mlp(rng).eval()
    with pytest.raises(ValueError, match="expects input of shape"):
        mc_passes(model, np.zeros((2, 5)), T=1)  # wrong width
    assert not model.training
    assert not any(layer.training for layer in model.layers)


def test_dropout_subclasses_count_as_dropout(rng):
    for variant in (UnscaledDropout, TestTimeScaledDropout):
        model = mlp(rng, dropout=variant)
        with dropout_on(model):
            assert model.layers[2].training


def test_without_dropout_every_pass_is_the_eval_pass(rng):
    X = rng.standard_normal((5, 6))
    model = mlp(rng, p=0.0)
    result = mc_predict(model, X, T=3, keep_passes=True)
    model.eval()
    expected = softmax(model(Tensor(X)).data)
    for single in result.passes:
        np.testing.assert_allclose(single, expected)
    np.testing.assert_allclose(result.mutual_info, 0.0, atol=1e-12)
    np.testing.assert_allclose(result.entropy, entropy(expected))


def test_mean_logits_of_a_linear_model_approach_the_eval_pass():
    # With inverted dropout right before a linear layer, E[logits] is the eval-mode logits.
    rng = np.random.default_rng(3)
    model = Sequential([Dropout(0.5, rng=rng), Linear(6, 3, rng=rng)])
    X = rng.standard_normal((4, 6))
    with dropout_on(model):  # one pass over 20,000 copies of X: a fresh mask per copy
        logits = model(Tensor(np.tile(X, (20_000, 1)))).data
    mean_logits = logits.reshape(20_000, len(X), 3).mean(axis=0)
    model.eval()
    np.testing.assert_allclose(mean_logits, model(Tensor(X)).data, atol=0.05)


def test_softmax_is_stable_and_entropy_has_known_values():
    probs = softmax(np.array([[1000.0, 1000.0], [0.0, -1000.0]]))
    np.testing.assert_allclose(probs, [[0.5, 0.5], [1.0, 0.0]])
    np.testing.assert_allclose(entropy(probs), [np.log(2), 0.0], atol=1e-12)
    np.testing.assert_allclose(entropy(np.full(10, 0.1)), np.log(10))


def test_summary_of_disagreeing_confident_passes():
    # Two passes, each certain, of different classes: entropy log 2, all of it disagreement.
    passes = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    result = summarize(passes)
    np.testing.assert_allclose(result.probs, [[0.5, 0.5]])
    np.testing.assert_allclose(result.entropy, [np.log(2)])
    np.testing.assert_allclose(result.mutual_info, [np.log(2)])


@pytest.mark.parametrize("T", [0, -1, 2.5, True, None])
def test_bad_number_of_passes_raises(rng, T):
    with pytest.raises(ValueError, match="positive integer"):
        mc_passes(mlp(rng), np.zeros((2, 6)), T=T)


def test_bad_passes_shape_raises():
    with pytest.raises(ValueError, match=r"\(T, N, C\)"):
        summarize(np.zeros((3, 4)))
