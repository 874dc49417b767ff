"""Modules: modes, parameters, reprs, shapes, and gradient checks for every layer."""

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.gradcheck import grad_check
from nnscratch.losses import CrossEntropyLoss
from nnscratch.nn import (
    FEW_ROWS,
    BatchNorm1d,
    Dropout,
    Flatten,
    Linear,
    Module,
    ReLU,
    Residual,
    Sequential,
    matmul,
)


def f64_linear(rng, n_in, n_out):
    return Linear(n_in, n_out, rng=rng, dtype=np.float64)


def test_linear_gradients(rng):
    layer = f64_linear(rng, 5, 3)
    layer.bias.data[:] = rng.standard_normal(3)
    x = Tensor(rng.standard_normal((4, 5)), requires_grad=True)
    upstream = rng.standard_normal((4, 3))  # a random weighting makes every output matter
    err = grad_check(lambda: (layer(x) * upstream).sum(), [x, layer.weight, layer.bias])
    assert err < 1e-7


@pytest.mark.parametrize("rows", [1, 2, FEW_ROWS - 1, FEW_ROWS, 3 * FEW_ROWS])
@pytest.mark.parametrize("transposed", [False, True])
def test_matmul_is_the_matrix_product_row_by_row_or_not(rng, rows, transposed):
    a = rng.standard_normal((rows, 7))
    b = rng.standard_normal((5, 7)).T if transposed else rng.standard_normal((7, 5))
    out = matmul(a, b)
    assert out.shape == (rows, 5) and out.dtype == a.dtype
    np.testing.assert_allclose(out, a @ b, rtol=1e-13, atol=1e-13)
    assert matmul(a.astype(np.float32), b.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("batch", [2, FEW_ROWS + 1])  # row by row, and one matrix product
def test_linear_gradients_on_both_product_paths(rng, batch):
    first, second = f64_linear(rng, 5, 4), f64_linear(rng, 4, 3)
    x = Tensor(rng.standard_normal((batch, 5)), requires_grad=True)
    upstream = rng.standard_normal((batch, 3))
    np.testing.assert_allclose(
        second(first(x)).data,
        (x.data @ first.weight.data.T + first.bias.data) @ second.weight.data.T,
        rtol=1e-12,
    )
    params = [x, first.weight, first.bias, second.weight, second.bias]
    assert grad_check(lambda: (second(first(x)) * upstream).sum(), params) < 1e-7


def test_relu_gradient(rng):
    x = Tensor(rng.standard_normal((6, 4)), requires_grad=True)
    x.data[np.abs(x.data) < 1e-3] = 0.5  # keep away from the kink, where h would straddle 0
    upstream = rng.standard_normal((6, 4))
    assert grad_check(lambda: (ReLU()(x) * upstream).sum(), [x]) < 1e-7


def test_flatten_gradient_and_shape(rng):
    x = Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    assert Flatten()(x).shape == (2, 12)
    upstream = rng.standard_normal((2, 12))
    assert grad_check(lambda: (Flatten()(x) * upstream).sum(), [x]) < 1e-7


def test_dropout_gradient_with_fixed_mask(rng):
    x = Tensor(rng.standard_normal((8, 5)), requires_grad=True)
    mask = rng.random((8, 5)) < 0.7
    upstream = rng.standard_normal((8, 5))
    err = grad_check(lambda: (Dropout.apply_mask(x, mask, 1 / 0.7) * upstream).sum(), [x])
    assert err < 1e-7


def test_whole_network_gradient_with_fixed_mask(rng):
    l1, l2 = f64_linear(rng, 6, 8), f64_linear(rng, 8, 3)
    x = Tensor(rng.standard_normal((5, 6)), requires_grad=True)
    y = np.array([0, 2, 1, 1, 0])
    mask = rng.random((5, 8)) < 0.5

    def loss():
        hidden = Dropout.apply_mask(ReLU()(l1(x)), mask, 2.0)
        return CrossEntropyLoss()(l2(hidden), y)

    params = [x, l1.weight, l1.bias, l2.weight, l2.bias]
    assert grad_check(loss, params) < 1e-7


def test_linear_init_is_he_normal_with_zero_bias(rng):
    layer = Linear(1000, 400, rng=rng)
    assert layer.weight.shape == (400, 1000) and layer.bias.shape == (400,)
    assert abs(layer.weight.data.std() - np.sqrt(2 / 1000)) < 0.002
    assert abs(layer.weight.data.mean()) < 0.001  # centred, not all-positive
    assert not layer.bias.data.any()


def test_linear_rejects_wrong_input_shape(rng):
    layer = Linear(4, 2, rng=rng)
    with pytest.raises(ValueError, match=r"\(batch, 4\).*\(3, 5\)"):
        layer(Tensor(np.ones((3, 5))))


def test_train_eval_propagate_and_return_self(rng):
    drop = Dropout(0.5, rng=rng)
    model = Sequential([Linear(3, 3, rng=rng), ReLU(), drop])
    assert model.eval() is model
    assert not model.training and not drop.training
    assert model.train() is model and drop.training
    assert model.train(False) is model and not drop.training


def test_parameters_in_order_and_zero_grad(rng):
    l1, l2 = Linear(3, 4, rng=rng), Linear(4, 2, rng=rng)
    model = Sequential([Flatten(), l1, ReLU(), l2])
    params = model.parameters()
    assert [id(p) for p in params] == [id(l1.weight), id(l1.bias), id(l2.weight), id(l2.bias)]
    model(Tensor(np.ones((2, 3)))).sum().backward()
    assert all(p.grad is not None for p in params)
    model.zero_grad()
    assert all(p.grad is None for p in params)


def test_sequential_exposes_layers_and_rejects_non_modules(rng):
    layers = [Linear(2, 2, rng=rng), ReLU()]
    model = Sequential(layers)
    assert model.layers == layers and model[1] is layers[1] and len(model) == 2
    with pytest.raises(TypeError, match="ufunc"):
        Sequential([np.tanh])


def test_reprs():
    assert repr(Dropout(0.2)) == "Dropout(p=0.2)"
    assert repr(Linear(3, 4)) == "Linear(in_features=3, out_features=4)"
    assert repr(ReLU()) == "ReLU()"
    assert "(1): ReLU()" in repr(Sequential([Flatten(), ReLU()]))


def test_module_forward_must_be_overridden():
    with pytest.raises(NotImplementedError):
        Module()(Tensor(np.ones(1)))


# --- BatchNorm1d and Residual -------------------------------------------------------------


def test_batchnorm_training_normalises_with_the_biased_batch_variance(rng):
    bn = BatchNorm1d(4, dtype=np.float64)
    x = rng.standard_normal((32, 4)) * [1.0, 2.0, 5.0, 0.1] + [0.0, 3.0, -1.0, 10.0]
    y = bn(Tensor(x)).data
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    var = x.var(axis=0)  # biased
    np.testing.assert_allclose(y.var(axis=0), var / (var + 1e-5), rtol=1e-12)
    bn.weight.data[:] = [1.0, 2.0, 3.0, 4.0]
    bn.bias.data[:] = [0.5, 0.0, -0.5, 1.0]
    y2 = bn(Tensor(x)).data
    np.testing.assert_allclose(y2, y * bn.weight.data + bn.bias.data, rtol=1e-12)


def test_batchnorm_running_statistics_follow_pytorch(rng):
    # PyTorch: running <- (1 - momentum) running + momentum batch_stat, unbiased variance.
    bn = BatchNorm1d(3, momentum=0.1, dtype=np.float64)
    batches = [rng.standard_normal((8, 3)) * 2 + 1 for _ in range(3)]
    mean, var = np.zeros(3), np.ones(3)
    for x in batches:
        bn(Tensor(x))
        mean = 0.9 * mean + 0.1 * x.mean(axis=0)
        var = 0.9 * var + 0.1 * x.var(axis=0, ddof=1)
    np.testing.assert_allclose(bn.running_mean, mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
    # eval mode normalises with them, and leaves them alone
    bn.eval()
    x = rng.standard_normal((5, 3))
    y = bn(Tensor(x)).data
    np.testing.assert_allclose(y, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, var, rtol=1e-12)
    assert bn(Tensor(x[:1])).shape == (1, 3)  # one example is fine in eval mode


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(training, rng):
    bn = BatchNorm1d(3, dtype=np.float64)
    bn.weight.data[:] = rng.standard_normal(3)
    bn.bias.data[:] = rng.standard_normal(3)
    bn.running_mean[:] = rng.standard_normal(3)
    bn.running_var[:] = rng.random(3) + 0.5
    bn.train(training)
    x = Tensor(rng.standard_normal((6, 3)) * 3 + 1, requires_grad=True)
    up = rng.standard_normal((6, 3))
    assert grad_check(lambda: (bn(x) * up).sum(), [x, bn.weight, bn.bias]) < 1e-7


def test_batchnorm_bad_input(rng):
    bn = BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 example"):
        bn(Tensor(np.ones((1, 3))))
    with pytest.raises(ValueError, match=r"\(batch, 3\).*\(4, 2\)"):
        bn(Tensor(np.ones((4, 2))))
    for kwargs, match in [
        ({"num_features": 0}, "num_features"),
        ({"num_features": 3, "eps": 0}, "eps"),
        ({"num_features": 3, "momentum": 1.5}, "momentum"),
        ({"num_features": 3, "momentum": -0.1}, r"\[0, 1\]"),
    ]:
        with pytest.raises(ValueError, match=match):
            BatchNorm1d(**kwargs)
    # a constant feature has variance 0: eps keeps the output finite (0), not NaN
    out = bn(Tensor(np.ones((4, 3), dtype=np.float32))).data
    assert np.all(out == 0)


def test_batchnorm_parameters_repr_and_modes(rng):
    bn = BatchNorm1d(5)
    assert bn.parameters() == [bn.weight, bn.bias]  # the running statistics are buffers
    assert repr(bn) == "BatchNorm1d(5, eps=1e-05, momentum=0.1)"
    model = Sequential([Linear(3, 5, rng=rng), bn, ReLU()])
    model.eval()
    assert not bn.training


def test_residual_adds_its_input_and_checks_shapes(rng):
    lin = f64_linear(rng, 4, 4)
    block = Residual(Sequential([lin, ReLU()]))
    x = Tensor(rng.standard_normal((5, 4)), requires_grad=True)
    np.testing.assert_allclose(block(x).data, x.data + np.maximum(lin(x).data, 0))
    up = rng.standard_normal((5, 4))
    assert grad_check(lambda: (block(x) * up).sum(), [x, lin.weight, lin.bias]) < 1e-7
    assert block.parameters() == [lin.weight, lin.bias]
    with pytest.raises(ValueError, match="shape"):
        Residual(f64_linear(rng, 4, 3))(x)
    with pytest.raises(TypeError, match="Module"):
        Residual(np.tanh)
    assert repr(block).startswith("Residual(\n  (branch): Sequential(")
