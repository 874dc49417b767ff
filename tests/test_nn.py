"""Modules: modes, parameters, reprs, shapes, and gradient checks for every layer."""

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.gradcheck import grad_check
from nnscratch.losses import CrossEntropyLoss
from nnscratch.nn import Dropout, Flatten, Linear, Module, ReLU, Sequential


def f64_linear(rng, n_in, n_out):
    return Linear(n_in, n_out, rng=rng, dtype=np.float64)


def test_linear_gradients(rng):
    layer = f64_linear(rng, 5, 3)
    layer.bias.data[:] = rng.standard_normal(3)
    x = Tensor(rng.standard_normal((4, 5)), requires_grad=True)
    upstream = rng.standard_normal((4, 3))  # a random weighting makes every output matter
    err = grad_check(lambda: (layer(x) * upstream).sum(), [x, layer.weight, layer.bias])
    assert err < 1e-7


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
