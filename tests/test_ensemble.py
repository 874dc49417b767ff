"""ensemble: every thinned network of one dropout layer, against brute force and theory."""

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.ensemble import (
    all_masks,
    exact_ensemble,
    mask_probabilities,
    split_at_dropout,
)
from nnscratch.mc import mc_passes, softmax
from nnscratch.nn import (
    Dropout,
    Linear,
    ReLU,
    Sequential,
    TestTimeScaledDropout,
    UnscaledDropout,
)


def shallow(rng, n=5, p=0.5, dropout=Dropout):
    """inputs -> n ReLU units -> dropout -> 3 logits: the dropout layer feeds the output."""
    return Sequential(
        [
            Linear(4, n, rng=rng, dtype=np.float64),
            ReLU(),
            dropout(p, rng=rng),
            Linear(n, 3, rng=rng, dtype=np.float64),
        ]
    )


def deep(rng, n=5, p=0.5):
    """The same, with a ReLU layer between the dropout layer and the logits."""
    return Sequential(
        [
            Linear(4, n, rng=rng, dtype=np.float64),
            ReLU(),
            Dropout(p, rng=rng),
            Linear(n, 6, rng=rng, dtype=np.float64),
            ReLU(),
            Linear(6, 3, rng=rng, dtype=np.float64),
        ]
    )


def eval_softmax(model, X):
    model.eval()
    out = softmax(model(Tensor(X)).data)
    model.train()
    return out


def brute_force(model, X, p, scale):
    """Loop over the masks one by one, through the model's own layers."""
    below, above = Sequential(model.layers[:2]), Sequential(model.layers[3:])
    h = below(Tensor(X)).data
    arithmetic, log_geometric = 0.0, 0.0
    for mask in all_masks(h.shape[1]):
        weight = (1 - p) ** mask.sum() * p ** (~mask).sum()
        probs = softmax(above(Tensor(h * mask * scale)).data)
        arithmetic = arithmetic + weight * probs
        log_geometric = log_geometric + weight * np.log(probs)
    return arithmetic, softmax(log_geometric)


def test_all_masks_lists_every_mask_once():
    masks = all_masks(4)
    assert masks.shape == (16, 4) and masks.dtype == bool
    assert len({tuple(row) for row in masks}) == 16
    assert not masks[0].any() and masks[-1].all()
    np.testing.assert_array_equal(masks[5], [True, False, True, False])  # 5 = 0b0101


@pytest.mark.parametrize("bad", [0, 25, 2.0, True, "3"])
def test_all_masks_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match=r"n \(the number of units\)"):
        all_masks(bad)


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.9, 1.0])
def test_mask_probabilities_are_a_distribution(p):
    masks = all_masks(6)
    probs = mask_probabilities(masks, p)
    assert probs.sum() == pytest.approx(1.0, abs=1e-12)
    # The number of kept units is Binomial(6, 1 - p).
    kept = masks.sum(axis=1)
    assert np.sum(probs * kept) == pytest.approx(6 * (1 - p), abs=1e-12)


def test_mask_probabilities_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        mask_probabilities(all_masks(2), 1.5)
    with pytest.raises(ValueError, match=r"\(M, n\)"):
        mask_probabilities(np.ones(3, dtype=bool), 0.5)


@pytest.mark.parametrize(
    "dropout, scale",
    [(Dropout, 1 / (1 - 0.3)), (UnscaledDropout, 1.0), (TestTimeScaledDropout, 1.0)],
)
def test_exact_ensemble_matches_a_loop_over_the_masks(rng, dropout, scale):
    model = shallow(rng, n=5, p=0.3, dropout=dropout)
    X = rng.standard_normal((7, 4))
    ens = exact_ensemble(model, X)
    arithmetic, geometric = brute_force(model, X, 0.3, scale)
    np.testing.assert_allclose(ens.arithmetic, arithmetic, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ens.geometric, geometric, rtol=1e-12, atol=1e-14)
    assert ens.n_units == 5
    np.testing.assert_allclose(ens.arithmetic.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_geometric_mean_is_the_eval_pass_when_dropout_feeds_the_output(rng, p):
    # The logits are linear in the mask, so the weighted mean of the log-probabilities is
    # the eval-mode log-softmax up to a constant per input.
    model = shallow(rng, n=6, p=p)
    X = rng.standard_normal((20, 4))
    np.testing.assert_allclose(
        exact_ensemble(model, X).geometric, eval_softmax(model, X), rtol=0, atol=1e-12
    )


def test_test_time_scaling_also_gives_the_geometric_mean_but_unscaled_does_not(rng):
    X = rng.standard_normal((20, 4))
    test_time = shallow(rng, p=0.5, dropout=TestTimeScaledDropout)
    np.testing.assert_allclose(
        exact_ensemble(test_time, X).geometric, eval_softmax(test_time, X), atol=1e-12
    )
    unscaled = shallow(rng, p=0.5, dropout=UnscaledDropout)
    gap = np.abs(exact_ensemble(unscaled, X).geometric - eval_softmax(unscaled, X)).max()
    assert gap > 1e-3


def test_a_relu_above_the_dropout_layer_breaks_the_identity(rng):
    model = deep(rng, n=6)
    X = rng.standard_normal((50, 4))
    gap = np.abs(exact_ensemble(model, X).geometric - eval_softmax(model, X)).max()
    assert gap > 1e-3


def test_arithmetic_mean_is_what_mc_dropout_converges_to(rng):
    model = shallow(rng, n=5, p=0.5)
    X = rng.standard_normal((10, 4))
    mc = mc_passes(model, X, T=20_000).mean(axis=0)
    # Each probability is an average of 20,000 draws in [0, 1]: standard error <= 0.0036.
    np.testing.assert_allclose(mc, exact_ensemble(model, X).arithmetic, atol=0.015)


def test_no_dropout_gives_the_deterministic_network(rng):
    model = shallow(rng, n=5, p=0.0)
    X = rng.standard_normal((6, 4))
    ens = exact_ensemble(model, X)
    np.testing.assert_allclose(ens.arithmetic, eval_softmax(model, X), atol=1e-14)
    np.testing.assert_allclose(ens.geometric, eval_softmax(model, X), atol=1e-14)


def test_result_does_not_depend_on_chunking_and_flags_are_restored(rng):
    model = deep(rng, n=7)
    model.train()
    model[3].training = False  # an unusual mix of flags, to be put back as it was
    before = [layer.training for layer in model.layers]
    X = rng.standard_normal((9, 4))
    a = exact_ensemble(model, X, rows_per_chunk=1)
    b = exact_ensemble(model, X, rows_per_chunk=10_000)
    np.testing.assert_allclose(a.arithmetic, b.arithmetic, rtol=1e-12)
    np.testing.assert_allclose(a.geometric, b.geometric, rtol=1e-12)
    assert [layer.training for layer in model.layers] == before


def test_works_with_float32_weights_in_float64(rng):
    model = Sequential(
        [Linear(4, 5, rng=rng), ReLU(), Dropout(0.5, rng=rng), Linear(5, 3, rng=rng)]
    )
    X = rng.standard_normal((8, 4)).astype(np.float32)
    ens = exact_ensemble(model, X)
    assert ens.geometric.dtype == np.float64
    model.eval()
    expected = softmax(model(Tensor(X.astype(np.float64))).data)
    np.testing.assert_allclose(ens.geometric, expected, atol=1e-12)


def test_split_and_errors(rng):
    model = shallow(rng)
    below, layer, above = split_at_dropout(model)
    assert len(below) == 2 and isinstance(layer, Dropout) and len(above) == 1
    X = rng.standard_normal((3, 4))
    with pytest.raises(ValueError, match="exactly one Dropout"):
        exact_ensemble(Sequential([Linear(4, 3, rng=rng)]), X)
    two = Sequential([Dropout(0.5), Linear(4, 4, rng=rng), Dropout(0.5), Linear(4, 3, rng=rng)])
    with pytest.raises(ValueError, match="found 2"):
        exact_ensemble(two, X)
    nested = Sequential([Dropout(0.5), Sequential([Dropout(0.5)]), Linear(4, 3, rng=rng)])
    with pytest.raises(ValueError, match="1 nested"):
        exact_ensemble(nested, X)
    with pytest.raises(ValueError, match="Sequential"):
        exact_ensemble(Dropout(0.5), X)
    with pytest.raises(ValueError, match="too many"):
        exact_ensemble(shallow(rng, n=9), X, max_units=8)
    with pytest.raises(ValueError, match="max_units"):
        exact_ensemble(model, X, max_units=30)
