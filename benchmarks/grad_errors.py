"""Print the float64 gradient-check error of every layer and loss, and of a whole network.

    .venv/bin/python benchmarks/grad_errors.py

The unit tests assert each error is below 1e-7; this prints the values themselves.
"""

import numpy as np

from nnscratch import Tensor
from nnscratch.gradcheck import grad_check
from nnscratch.losses import CrossEntropyLoss, MSELoss
from nnscratch.nn import (
    BatchNorm1d,
    DropConnect,
    Dropout,
    DropPath,
    Flatten,
    GaussianDropout,
    Linear,
    ReLU,
)


def main() -> None:
    rng = np.random.default_rng(0)
    lin = Linear(5, 3, rng=rng, dtype=np.float64)
    lin.bias.data[:] = rng.standard_normal(3)
    x = Tensor(rng.standard_normal((4, 5)), requires_grad=True)
    up = rng.standard_normal((4, 3))  # a random upstream gradient
    h = Tensor(rng.standard_normal((6, 4)) + 0.01, requires_grad=True)
    up_h = rng.standard_normal((6, 4))
    img = Tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    up_img = rng.standard_normal((2, 12))
    mask = rng.random((6, 4)) < 0.7
    y_hat = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    target, labels = rng.standard_normal((4, 3)), np.array([0, 2, 1, 1])
    l1 = Linear(6, 8, rng=rng, dtype=np.float64)
    l2 = Linear(8, 3, rng=rng, dtype=np.float64)
    x_net = Tensor(rng.standard_normal((5, 6)), requires_grad=True)
    y_net, mask_net = np.array([0, 2, 1, 1, 0]), rng.random((5, 8)) < 0.5

    def network() -> Tensor:
        hidden = Dropout.apply_mask(ReLU()(l1(x_net)), mask_net, 2.0)
        return CrossEntropyLoss()(l2(hidden), y_net)

    checks = {
        "Linear": (lambda: (lin(x) * up).sum(), [x, lin.weight, lin.bias]),
        "ReLU": (lambda: (ReLU()(h) * up_h).sum(), [h]),
        "Flatten": (lambda: (Flatten()(img) * up_img).sum(), [img]),
        "Dropout (fixed mask)": (lambda: (Dropout.apply_mask(h, mask, 1 / 0.7) * up_h).sum(), [h]),
        "MSELoss": (lambda: MSELoss()(y_hat, target), [y_hat]),
        "CrossEntropyLoss": (lambda: CrossEntropyLoss()(y_hat, labels), [y_hat]),
        "Linear-ReLU-Dropout-Linear + CE": (
            network,
            [x_net, l1.weight, l1.bias, l2.weight, l2.bias],
        ),
    }
    # The dropout family and batch norm; a fresh generator per call repeats the same noise.
    x_bn = Tensor(rng.standard_normal((6, 4)) * 3 + 1, requires_grad=True)
    bn_train, bn_eval = BatchNorm1d(4, dtype=np.float64), BatchNorm1d(4, dtype=np.float64)
    for bn in (bn_train, bn_eval):
        bn.weight.data[:], bn.bias.data[:] = rng.standard_normal(4), rng.standard_normal(4)
    bn_eval.running_mean[:], bn_eval.running_var[:] = rng.standard_normal(4), rng.random(4) + 0.5
    bn_eval.eval()
    dc = DropConnect(Linear(5, 3, rng=rng, dtype=np.float64), 0.4)
    dc.linear.bias.data[:] = rng.standard_normal(3)

    def seeded(layer, seed=3):
        layer.rng = np.random.default_rng(seed)
        return layer

    gd, dp = GaussianDropout(0.4), DropPath(0.5)
    checks |= {
        "GaussianDropout (fixed noise)": (lambda: (seeded(gd)(h) * up_h).sum(), [h]),
        "DropConnect (fixed masks)": (
            lambda: (seeded(dc)(x) * up).sum(),
            [x, dc.linear.weight, dc.linear.bias],
        ),
        "DropPath (fixed mask)": (lambda: (seeded(dp)(h) * up_h).sum(), [h]),
        "BatchNorm1d (training)": (
            lambda: (bn_train(x_bn) * up_h).sum(),
            [x_bn, bn_train.weight, bn_train.bias],
        ),
        "BatchNorm1d (eval)": (
            lambda: (bn_eval(x_bn) * up_h).sum(),
            [x_bn, bn_eval.weight, bn_eval.bias],
        ),
    }
    for name, (loss, tensors) in checks.items():
        print(f"{name:34s} {grad_check(loss, tensors):.1e}")


if __name__ == "__main__":
    main()
