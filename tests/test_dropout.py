"""Dropout (the module) and its family: statistics against theory, modes, edge rates, errors,
gradient checks, the variants."""

import math
import warnings

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.gradcheck import grad_check
from nnscratch.nn import (
    DropConnect,
    Dropout,
    DropPath,
    GaussianDropout,
    Linear,
    ReLU,
    Residual,
    Sequential,
    TestTimeScaledDropout,
    UnscaledDropout,
)

N = 1_000_000  # elements per statistical test: binomial std of a fraction is <= 5e-4


@pytest.mark.parametrize("p", [0.1, 0.2, 0.5, 0.8])
def test_zero_fraction_mean_and_survivor_scale(p, rng):
    drop = Dropout(p, rng=rng)
    out = drop(Tensor(np.ones(N, dtype=np.float32))).data
    zero_fraction = np.mean(out == 0)
    sigma = np.sqrt(p * (1 - p) / N)
    assert abs(zero_fraction - p) < 5 * sigma
    # Each output is scale * Bernoulli(1 - p), whose std is sqrt(p / (1 - p)).
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / N)
    survivors = out[out != 0]
    assert np.all(survivors == np.float32(1) / np.float32(1 - p))
    assert drop.scale == pytest.approx(1 / (1 - p), rel=1e-7)
    np.testing.assert_array_equal(out != 0, drop.mask)


def test_variance_of_inverted_dropout_is_p_over_1_minus_p(rng):
    # Var[m / (1 - p)] with m ~ Bernoulli(1 - p) is p / (1 - p): 1 at p = 0.5, 0.25 at 0.2.
    for p in (0.2, 0.5):
        out = Dropout(p, rng=rng)(Tensor(np.ones(N))).data
        var = p / (1 - p)
        # the sample variance of N draws has std about var * sqrt(2 / N) and more for skew
        assert abs(out.var() - var) < 10 * var * np.sqrt(2 / N) + 0.01 * var


def test_backward_uses_the_same_scaled_mask(rng):
    drop = Dropout(0.4, rng=rng)
    x = Tensor(rng.standard_normal((64, 32)), requires_grad=True)
    out = drop(x)
    g = rng.standard_normal((64, 32))
    out.backward(g)
    np.testing.assert_array_equal(x.grad, g * drop.mask * (1 / 0.6))
    assert np.all(x.grad[~drop.mask] == 0)


def test_eval_mode_is_identity(rng):
    drop = Dropout(0.5, rng=rng).eval()
    x = Tensor(rng.standard_normal((10, 10)))
    assert drop(x) is x


def test_p_zero_is_identity_in_training(rng):
    drop = Dropout(0.0, rng=rng)
    x = Tensor(rng.standard_normal((10, 10)), requires_grad=True)
    assert drop(x) is x
    assert drop.mask.all() and drop.mask.shape == (10, 10)


def test_p_one_gives_zeros_and_zero_gradient_without_nan(rng):
    drop = Dropout(1.0, rng=rng)
    x = Tensor(rng.standard_normal((10, 10)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a division by zero would warn
        out = drop(x)
        out.backward(np.ones((10, 10)))
    assert np.all(out.data == 0) and not np.isnan(out.data).any()
    assert np.all(x.grad == 0) and not np.isnan(x.grad).any()


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan"), float("inf"), "0.5", None, True, [0.5]])
def test_invalid_p_raises_naming_the_range(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Dropout(bad)


def test_same_seed_same_mask_and_rng_is_public():
    a = Dropout(0.5, rng=np.random.default_rng(7))
    b = Dropout(0.5, rng=np.random.default_rng(7))
    x = Tensor(np.ones((32, 32)))
    a(x), b(x)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert isinstance(a.rng, np.random.Generator)
    a(x)
    assert not np.array_equal(a.mask, b.mask)  # a new mask on every forward pass


def test_every_example_gets_its_own_mask(rng):
    # One draw per element: rows of the same batch are not dropped alike.
    drop = Dropout(0.5, rng=rng)
    drop(Tensor(np.ones((64, 100))))
    assert len({row.tobytes() for row in drop.mask}) == 64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_output_keeps_the_input_dtype(dtype, rng):
    out = Dropout(0.5, rng=rng)(Tensor(np.ones((4, 4), dtype=dtype)))
    assert out.data.dtype == dtype


def test_repr():
    assert repr(Dropout(0.2)) == "Dropout(p=0.2)"


def test_unscaled_variant_never_rescales(rng):
    drop = UnscaledDropout(0.5, rng=rng)
    x = Tensor(np.full(N, 2.0))
    out = drop(x).data
    assert set(np.unique(out)) == {0.0, 2.0}
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(0.25 * 4 / N)  # train mean is (1-p) x
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x.data)  # eval mean is x: the mismatch


def test_test_time_scaled_variant(rng):
    drop = TestTimeScaledDropout(0.25, rng=rng)
    x = Tensor(np.full(N, 2.0, dtype=np.float32))
    assert set(np.unique(drop(x).data)) == {0.0, 2.0}
    drop.eval()
    out = drop(x).data
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 2.0 * 0.75)


def test_variants_draw_the_same_mask_as_dropout_from_the_same_seed(rng):
    x = Tensor(np.ones((20, 30), dtype=np.float32))
    layers = [cls(0.3, rng=np.random.default_rng(4)) for cls in (Dropout, UnscaledDropout)]
    layers.append(TestTimeScaledDropout(0.3, rng=np.random.default_rng(4)))
    for layer in layers:
        layer(x)
    for layer in layers[1:]:
        np.testing.assert_array_equal(layer.mask, layers[0].mask)


# --- the family: Gaussian dropout, DropConnect, DropPath ---------------------------------


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_gaussian_dropout_matches_the_first_two_moments_of_dropout(p, rng):
    out = GaussianDropout(p, rng=rng)(Tensor(np.ones(N))).data
    var = p / (1 - p)
    assert abs(out.mean() - 1.0) < 5 * np.sqrt(var / N)
    # the sample variance of N normal draws has std var * sqrt(2 / N)
    assert abs(out.var() - var) < 5 * var * np.sqrt(2 / N)
    # ... and it is normal, not a mask: the share of negative multipliers is Phi(-1 / sigma)
    negative = 0.5 * math.erfc(1 / np.sqrt(2 * var))
    assert abs(np.mean(out < 0) - negative) < 5 * np.sqrt(negative * (1 - negative) / N)
    assert len(np.unique(out)) > N // 2


def test_gaussian_dropout_backward_eval_and_edge_rates(rng):
    drop = GaussianDropout(0.5, rng=rng)
    x = Tensor(rng.standard_normal((16, 8)), requires_grad=True)
    out = drop(x)
    g = rng.standard_normal((16, 8))
    out.backward(g)
    np.testing.assert_array_equal(out.data, x.data * drop.noise)
    np.testing.assert_array_equal(x.grad, g * drop.noise)
    assert drop.eval()(x) is x
    zero = GaussianDropout(0.0, rng=rng)
    assert zero(x) is x and np.all(zero.noise == 1)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        GaussianDropout(1.0)
    for bad in (-0.1, 1.5, float("nan"), "0.5"):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            GaussianDropout(bad)
    assert repr(GaussianDropout(0.3)) == "GaussianDropout(p=0.3)"
    out32 = GaussianDropout(0.3, rng=rng)(Tensor(np.ones((4, 4), dtype=np.float32)))
    assert out32.data.dtype == np.float32


def test_gaussian_dropout_gradient_with_fixed_noise(rng):
    x = Tensor(rng.standard_normal((6, 5)), requires_grad=True)
    up = rng.standard_normal((6, 5))

    def loss():  # a fresh layer with the same seed draws the same noise every call
        return (GaussianDropout(0.4, rng=np.random.default_rng(3))(x) * up).sum()

    assert grad_check(loss, [x]) < 1e-7


def dropconnect_f64(rng, n_in=5, n_out=3, p=0.4):
    linear = Linear(n_in, n_out, rng=rng, dtype=np.float64)
    linear.bias.data[:] = rng.standard_normal(n_out)
    return DropConnect(linear, p, rng=np.random.default_rng(11))


def test_dropconnect_forward_is_a_masked_weight_matrix_per_example(rng):
    layer = dropconnect_f64(rng)
    x = Tensor(rng.standard_normal((4, 5)))
    y = layer(x).data
    W, b = layer.linear.weight.data, layer.linear.bias.data
    assert layer.mask.shape == (4, 3, 5) and layer.bias_mask.shape == (4, 3)
    for n in range(4):  # y_n = ((M_n * W) x_n + m_n * b) / (1 - p)
        expected = ((layer.mask[n] * W) @ x.data[n] + layer.bias_mask[n] * b) / 0.6
        np.testing.assert_allclose(y[n], expected, rtol=1e-12)
    assert len({m.tobytes() for m in layer.mask}) == 4  # a new connectivity per example
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer.linear(x).data)


def test_dropconnect_mask_statistics_and_mean_output(rng):
    layer = DropConnect(Linear(50, 20, rng=rng, dtype=np.float64), 0.3, rng=rng)
    x = np.tile(rng.standard_normal(50), (2000, 1))  # one input, 2,000 independent masks
    y = layer(Tensor(x)).data
    kept = layer.mask.mean()
    assert abs(kept - 0.7) < 5 * np.sqrt(0.21 / layer.mask.size)
    # E[y] = W x + b: each output is a sum of 50 terms w_ij x_j m_ij / 0.7
    W = layer.linear.weight.data
    sd = np.sqrt((0.3 / 0.7) * (W**2 @ x[0] ** 2))
    assert np.all(
        np.abs(y.mean(axis=0) - layer.linear(Tensor(x[:1])).data[0]) < 5 * sd / np.sqrt(2000)
    )


def test_dropconnect_gradients_with_fixed_masks(rng):
    layer = dropconnect_f64(rng)
    x = Tensor(rng.standard_normal((4, 5)), requires_grad=True)
    up = rng.standard_normal((4, 3))

    def loss():
        layer.rng = np.random.default_rng(11)  # the same masks on every call
        return (layer(x) * up).sum()

    tensors = [x, layer.linear.weight, layer.linear.bias]
    assert grad_check(loss, tensors) < 1e-7
    assert layer.parameters() == [layer.linear.weight, layer.linear.bias]


def test_dropconnect_edge_rates_and_bad_input(rng):
    x = Tensor(rng.standard_normal((3, 5)), requires_grad=True)
    zero = dropconnect_f64(rng, p=0.0)
    np.testing.assert_array_equal(zero(x).data, zero.linear(x).data)
    one = dropconnect_f64(rng, p=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = one(x)
        out.backward(np.ones((3, 3)))
    assert np.all(out.data == 0) and np.all(x.grad == 0)
    assert np.all(one.linear.weight.grad == 0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        DropConnect(Linear(2, 2), p=1.2)
    with pytest.raises(TypeError, match="Linear"):
        DropConnect(ReLU(), p=0.5)
    with pytest.raises(ValueError, match=r"\(batch, 5\).*\(3, 4\)"):
        dropconnect_f64(rng)(Tensor(np.ones((3, 4))))
    assert repr(DropConnect(Linear(3, 4), 0.5)) == (
        "DropConnect(Linear(in_features=3, out_features=4), p=0.5)"
    )


def test_drop_path_drops_whole_examples_like_timm(rng):
    drop = DropPath(0.25, rng=rng)
    x = Tensor(rng.standard_normal((20_000, 3, 2)) + 5)  # (batch, ...) of any rank
    out = drop(x).data
    assert drop.mask.shape == (20_000,)
    # timm: x * bernoulli(keep_prob) / keep_prob, one draw per example
    scale = np.float64(1) / np.float64(0.75)
    assert drop.scale == scale
    np.testing.assert_array_equal(out[drop.mask], x.data[drop.mask] * scale)
    assert np.all(out[~drop.mask] == 0)
    assert abs(drop.mask.mean() - 0.75) < 5 * np.sqrt(0.75 * 0.25 / 20_000)
    assert abs(out.mean() - x.data.mean()) < 5 * 5 * np.sqrt(0.25 / 0.75 / 20_000)


def test_drop_path_gradient_eval_and_edges(rng):
    x = Tensor(rng.standard_normal((6, 4)), requires_grad=True)
    up = rng.standard_normal((6, 4))

    def loss():
        return (DropPath(0.5, rng=np.random.default_rng(2))(x) * up).sum()

    assert grad_check(loss, [x]) < 1e-7
    drop = DropPath(0.5, rng=rng)
    assert drop.eval()(x) is x
    zero = DropPath(0.0, rng=rng)
    assert zero(x) is x and zero.mask.all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = DropPath(1.0, rng=rng)(x)
    assert np.all(out.data == 0)
    for bad in (-0.5, 2, float("nan"), None):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            DropPath(bad)
    with pytest.raises(ValueError, match="batch"):
        DropPath(0.5, rng=rng)(Tensor(np.float64(1.0)))
    assert repr(DropPath(0.1)) == "DropPath(p=0.1)"


def test_a_dropped_path_passes_the_residual_input_through(rng):
    branch = Sequential([Linear(4, 4, rng=rng), ReLU(), DropPath(0.5, rng=rng)])
    block = Residual(branch)
    x = Tensor(rng.standard_normal((64, 4)).astype(np.float32))
    out = block(x).data
    drop = branch[2]
    np.testing.assert_array_equal(out[~drop.mask], x.data[~drop.mask])
    assert not np.allclose(out[drop.mask], x.data[drop.mask])
