"""A stack of K networks through the package's own modules (`nnscratch.stack`): gradients of
every layer with a member axis, member k of a trained stack equal to the same network trained
alone, and errors on bad input."""

import numpy as np
import pytest

from nnscratch import Tensor
from nnscratch.data import batches, one_hot
from nnscratch.gradcheck import grad_check
from nnscratch.losses import CrossEntropyLoss, MSELoss, member_losses
from nnscratch.nn import (
    BatchNorm1d,
    DropConnect,
    Dropout,
    DropPath,
    Flatten,
    GaussianDropout,
    Linear,
    ReLU,
    Residual,
    Sequential,
    TestTimeScaledDropout,
    UnscaledDropout,
)
from nnscratch.optim import SGD
from nnscratch.stack import stack_modules, stack_size, unstack
from nnscratch.train import History, evaluate, evaluate_stack, fit, predict

K = 3
F64 = np.float64


def gens(*seeds):
    return [np.random.default_rng(s) for s in seeds]


# --- gradient checks, float64, K = 3 ---------------------------------------------------------


def stacked(build, seeds=(0, 1, 2)):
    return stack_modules([build(np.random.default_rng(s)) for s in seeds])


def check_layer(layer, x, reseed=None):
    """grad_check of `sum(layer(x) * upstream)` over x and every parameter of the stack.

    `reseed()` gives the noise layers fresh copies of fixed generators before each call, so
    every evaluation draws the same masks (a fixed mask, as central differences need).
    """
    upstream = np.random.default_rng(7).standard_normal(layer(x).data.shape)

    def loss():
        if reseed is not None:
            reseed()
        return (layer(x) * upstream).sum()

    return grad_check(loss, [x, *layer.parameters()])


@pytest.fixture
def x3(rng):
    return Tensor(rng.standard_normal((K, 4, 5)), requires_grad=True)


def randomise(layer, rng):
    for p in layer.parameters():
        p.data[...] = rng.standard_normal(p.data.shape)
    return layer


def test_stacked_linear_gradients(rng, x3):
    layer = randomise(stacked(lambda r: Linear(5, 3, rng=r, dtype=F64)), rng)
    assert layer.weight.data.shape == (K, 3, 5) and layer.bias.data.shape == (K, 3)
    assert check_layer(layer, x3) < 1e-7


def test_stacked_relu_flatten_sequential_gradients(rng):
    net = randomise(
        stacked(lambda r: Sequential([Flatten(), Linear(6, 4, rng=r, dtype=F64), ReLU()])), rng
    )
    assert net[0].start_dim == 2
    x = Tensor(rng.standard_normal((K, 5, 2, 3)), requires_grad=True)
    assert net(x).data.shape == (K, 5, 4)
    assert check_layer(net, x) < 1e-7


@pytest.mark.parametrize("training", [True, False])
def test_stacked_batchnorm_gradients_and_statistics(rng, x3, training):
    layer = randomise(stacked(lambda r: BatchNorm1d(5, dtype=F64)), rng)
    layer.running_mean[...] = rng.standard_normal((K, 5))
    layer.running_var[...] = rng.uniform(0.5, 2.0, (K, 5))
    layer.train(training)
    before = layer.running_mean.copy()
    assert check_layer(layer, x3) < 1e-7
    # each member normalises by its own batch's statistics, as it would alone
    layer.running_mean[...] = before
    out = layer(x3).data
    for k in range(K):
        alone = unstack(layer, k)
        alone.running_mean[...] = before[k]
        np.testing.assert_allclose(out[k], alone(Tensor(x3.data[k])).data, rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda r: Dropout(0.4, rng=r),
        lambda r: UnscaledDropout(0.4, rng=r),
        lambda r: TestTimeScaledDropout(0.4, rng=r),
        lambda r: GaussianDropout(0.4, rng=r),
        lambda r: DropPath(0.4, rng=r),
        lambda r: DropConnect(Linear(5, 3, rng=r, dtype=F64), 0.4, rng=r),
        lambda r: Residual(Sequential([Linear(5, 5, rng=r, dtype=F64), DropPath(0.4, rng=r)])),
    ],
    ids=["dropout", "unscaled", "test_time", "gaussian", "drop_path", "drop_connect", "residual"],
)
def test_stacked_noise_layer_gradients_with_fixed_masks(rng, x3, make):
    layer = randomise(stacked(make), rng)
    noisy = [m for m in _modules(layer) if isinstance(getattr(m, "rng", None), tuple)]
    assert noisy and all(len(m.rng) == K for m in noisy)

    def reseed():
        for m in noisy:
            m.rng = tuple(gens(11, 12, 13))

    assert check_layer(layer, x3, reseed) < 1e-7


def _modules(m):
    yield m
    for child in m.children():
        yield from _modules(child)


def state_of(net):
    """What early stopping keeps: every parameter's array, then every running statistic."""
    return [p.data for p in net.parameters()] + [
        getattr(m, b)
        for m in _modules(net)
        for b in ("running_mean", "running_var")
        if hasattr(m, b)
    ]


def test_stacked_losses_are_sums_of_member_means_with_gradients(rng):
    logits = Tensor(rng.standard_normal((K, 4, 3)), requires_grad=True)
    labels = rng.integers(0, 3, (K, 4))
    ce = CrossEntropyLoss()
    assert grad_check(lambda: ce(logits, labels), [logits]) < 1e-7
    pred = Tensor(rng.standard_normal((K, 4, 3)), requires_grad=True)
    target = rng.standard_normal((K, 4, 3))
    mse = MSELoss()
    assert grad_check(lambda: mse(pred, target), [pred]) < 1e-7
    for loss_fn, out, y in [(ce, logits, labels), (mse, pred, target)]:
        own = [float(loss_fn(Tensor(out.data[k]), y[k]).data) for k in range(K)]
        np.testing.assert_allclose(float(loss_fn(out, y).data), sum(own), rtol=1e-12)
        np.testing.assert_allclose(member_losses(loss_fn, out.data, y), own, rtol=0)
        # member k's gradient is the gradient of its own loss alone
        out.grad = None
        loss_fn(out, y).backward()
        for k in range(K):
            alone = Tensor(out.data[k].copy(), requires_grad=True)
            loss_fn(alone, y[k]).backward()
            np.testing.assert_allclose(out.grad[k], alone.grad, rtol=1e-12)


# --- member k of a trained stack equals the same network trained alone ------------------------


def mlp(noise):
    def build(r):
        return Sequential(
            [
                Flatten(),
                Linear(6, 8, rng=r, dtype=F64),
                ReLU(),
                noise(r),
                Linear(8, 3, rng=r, dtype=F64),
            ]
        )

    return build


def batchnorm_net(r):
    return Sequential(
        [
            Linear(6, 8, rng=r, dtype=F64),
            BatchNorm1d(8, dtype=F64),
            ReLU(),
            Linear(8, 3, rng=r, dtype=F64),
        ]
    )


def drop_connect_net(r):
    return Sequential(
        [
            DropConnect(Linear(6, 8, rng=r, dtype=F64), 0.3, rng=r),
            ReLU(),
            Linear(8, 3, rng=r, dtype=F64),
        ]
    )


def drop_path_net(r):
    block = Sequential([Linear(8, 8, rng=r, dtype=F64), ReLU(), DropPath(0.3, rng=r)])
    return Sequential(
        [Linear(6, 8, rng=r, dtype=F64), ReLU(), Residual(block), Linear(8, 3, rng=r, dtype=F64)]
    )


# (build, loss, SGD settings)
KINDS = {
    "dropout": (mlp(lambda r: Dropout(0.5, rng=r)), "ce", dict(momentum=0.9, max_norm=0.8)),
    "unscaled": (mlp(lambda r: UnscaledDropout(0.5, rng=r)), "ce", dict()),
    "test_time": (mlp(lambda r: TestTimeScaledDropout(0.5, rng=r)), "ce", dict(momentum=0.5)),
    "gaussian": (mlp(lambda r: GaussianDropout(0.3, rng=r)), "mse", dict(momentum=0.9)),
    "drop_connect": (drop_connect_net, "ce", dict(momentum=0.9, max_norm=0.8)),
    "batchnorm": (batchnorm_net, "ce", dict(momentum=0.9)),
    "drop_path": (drop_path_net, "ce", dict(max_norm=1.0)),
}
SEEDS = (10, 11, 12)


def toy_data(loss):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 2, 3))  # Flatten-able; the other nets take it flat
    y = rng.integers(0, 3, 40)
    X_test, y_test = rng.standard_normal((20, 2, 3)), rng.integers(0, 3, 20)
    if loss == "mse":
        y, y_test = one_hot(y, 3), one_hot(y_test, 3)
    return (X, y), (X_test, y_test)


def flat_if_needed(net, data):
    X, y = data
    return (X if isinstance(net[0], Flatten) else X.reshape(len(X), -1)), y


def train_for_three_epochs(net, loss, sgd, rng):
    """`fit` on the toy data as every equality test trains: one network or a stack."""
    train, test = (flat_if_needed(net, d) for d in toy_data(loss))
    loss_fn = CrossEntropyLoss() if loss == "ce" else MSELoss()
    optimizer = SGD(net.parameters(), lr=0.1, **sgd)
    return fit(
        net, loss_fn, optimizer, train, test, epochs=3, batch_size=6, rng=rng, progress=False
    )


def train_alone(build, loss, sgd, seed, order_seed):
    net = build(np.random.default_rng(seed))
    order = np.random.default_rng(order_seed)
    return net, train_for_three_epochs(net, loss, sgd, order), order


def train_stack(build, loss, sgd, seeds, order_seeds):
    net = stack_modules([build(np.random.default_rng(s)) for s in seeds])
    orders = gens(*order_seeds)
    return net, train_for_three_epochs(net, loss, sgd, orders), orders


def noise_layers(net):
    return [m for m in _modules(net) if hasattr(m, "rng")]


def assert_member_equals_alone(stack, histories, orders, k, alone, history, order):
    member = unstack(stack, k)
    for p, q in zip(member.parameters(), alone.parameters(), strict=True):
        # atol: a Linear bias just before BatchNorm1d has gradient 0 in exact arithmetic, so it
        # holds rounding noise near 1e-18 (in both runs; every other value agrees to ~1e-13)
        np.testing.assert_allclose(p.data, q.data, rtol=1e-10, atol=1e-14)
    for m, a in zip(_modules(member), _modules(alone), strict=True):
        for buffer in ("running_mean", "running_var"):
            if hasattr(a, buffer):
                np.testing.assert_allclose(getattr(m, buffer), getattr(a, buffer), rtol=1e-10)
    for name in ("train_loss", "train_acc", "test_acc", "train_acc_running"):
        np.testing.assert_allclose(getattr(histories[k], name), getattr(history, name), rtol=1e-10)
    # the same masks: the last ones are equal, and every generator has drawn exactly as much
    for m, a in zip(noise_layers(member), noise_layers(alone), strict=True):
        for mask in ("mask", "bias_mask", "noise"):
            if hasattr(a, mask):
                np.testing.assert_array_equal(getattr(m, mask), getattr(a, mask))
        assert m.rng.bit_generator.state == a.rng.bit_generator.state
    assert orders[k].bit_generator.state == order.bit_generator.state


@pytest.mark.parametrize("kind", list(KINDS))
def test_member_of_a_trained_stack_equals_the_network_trained_alone(kind):
    build, loss, sgd = KINDS[kind]
    stack, histories, orders = train_stack(build, loss, sgd, SEEDS, (20, 21, 22))
    assert stack_size(stack) == K and len(histories) == K
    assert all(isinstance(h, History) and h.epochs == 3 for h in histories)
    for k in range(K):
        alone, history, order = train_alone(build, loss, sgd, SEEDS[k], 20 + k)
        assert_member_equals_alone(stack, histories, orders, k, alone, history, order)
    # the members really differ (else equality would prove little)
    assert not np.allclose(
        unstack(stack, 0).parameters()[0].data, unstack(stack, 1).parameters()[0].data
    )


def test_max_norm_binds_in_the_stack_on_weights_and_leaves_stacked_biases():
    build, loss, sgd = KINDS["dropout"]
    stack, _, _ = train_stack(build, loss, dict(momentum=0.9, max_norm=0.3), SEEDS, (1, 2, 3))
    linears = [m for m in _modules(stack) if isinstance(m, Linear)]
    for lin in linears:
        norms = np.linalg.norm(lin.weight.data, axis=-1)  # (K, out): each unit of each member
        assert norms.max() <= 0.3 + 1e-12
        assert np.isclose(norms, 0.3).mean() > 0.5  # the constraint binds
    assert max(np.linalg.norm(lin.bias.data, axis=-1).max() for lin in linears) > 0.3


def test_sgd_max_norm_skips_stacked_vectors():
    stack = stack_modules([BatchNorm1d(4, dtype=F64), BatchNorm1d(4, dtype=F64)])
    for p in stack.parameters():
        p.data[...] = 5.0
        p.grad = np.zeros_like(p.data)
    SGD(stack.parameters(), lr=0.1, max_norm=1.0).step()
    assert all((p.data == 5.0).all() for p in stack.parameters())  # (K, features): vectors


def test_one_shared_order_or_stored_order_gives_every_member_the_same_batches():
    build, loss, sgd = KINDS["unscaled"]
    net = stack_modules([build(np.random.default_rng(s)) for s in SEEDS])
    train, test = (flat_if_needed(net, d) for d in toy_data(loss))
    histories = fit(
        net,
        CrossEntropyLoss(),
        SGD(net.parameters(), lr=0.1),
        train,
        test,
        epochs=2,
        batch_size=6,
        rng=np.random.default_rng(3),
        progress=False,
    )
    for k in range(K):
        alone = build(np.random.default_rng(SEEDS[k]))
        h = fit(
            alone,
            CrossEntropyLoss(),
            SGD(alone.parameters(), lr=0.1),
            train,
            test,
            epochs=2,
            batch_size=6,
            rng=np.random.default_rng(3),
            progress=False,
        )
        np.testing.assert_allclose(histories[k].train_loss, h.train_loss, rtol=1e-10)
        np.testing.assert_allclose(
            predict(unstack(net, k).eval(), test[0]), predict(alone.eval(), test[0]), rtol=1e-10
        )
        assert evaluate(unstack(net, k), *test) == pytest.approx(h.test_acc[-1], abs=0)
    member_accs = evaluate_stack(net, *test)
    np.testing.assert_array_equal(member_accs, [h.test_acc[-1] for h in histories])
    assert evaluate(net, *test) == pytest.approx(member_accs.mean(), abs=1e-15)


def test_stacked_batches_follow_each_members_own_order():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    stacked_batches = list(batches(X, y, 4, gens(1, 2)))
    for k, seed in enumerate((1, 2)):
        alone = list(batches(X, y, 4, np.random.default_rng(seed)))
        for (Xs, ys), (Xa, ya) in zip(stacked_batches, alone, strict=True):
            np.testing.assert_array_equal(Xs[k], Xa)
            np.testing.assert_array_equal(ys[k], ya)


def test_stack_and_unstack_round_trip_and_keep_the_members_untouched():
    nets = [mlp(lambda r: Dropout(0.5, rng=r))(np.random.default_rng(s)) for s in SEEDS]
    weights = [n.parameters()[0].data.copy() for n in nets]
    stack = stack_modules(nets)
    assert stack.parameters()[0].stacked and not nets[0].parameters()[0].stacked
    stack.parameters()[0].data += 1.0
    for net, w in zip(nets, weights, strict=True):
        np.testing.assert_array_equal(net.parameters()[0].data, w)  # copies, not views
    for k in range(K):
        member = unstack(stack, k)
        assert repr(member) == repr(nets[k])
        np.testing.assert_array_equal(member.parameters()[0].data, weights[k] + 1.0)
        assert member[3].rng is nets[k][3].rng  # the member's own generator
        assert stack_size(member) is None and member[0].start_dim == 1


# --- bad input ---------------------------------------------------------------------------------


def test_input_with_another_number_of_members_is_rejected_naming_x():
    lin = stacked(lambda r: Linear(5, 3, rng=r, dtype=F64))
    with pytest.raises(
        ValueError,
        match=r"stack of 3 Linear\(5, 3\).*input x of shape \(3, batch, 5\).*\(2, 4, 5\)",
    ):
        lin(Tensor(np.zeros((2, 4, 5))))
    with pytest.raises(ValueError, match=r"input x of shape \(3, batch, 5\).*\(4, 5\)"):
        lin(Tensor(np.zeros((4, 5))))
    bn = stacked(lambda r: BatchNorm1d(5, dtype=F64))
    with pytest.raises(ValueError, match=r"input x of shape \(3, batch, 5\), got \(2, 4, 5\)"):
        bn(Tensor(np.zeros((2, 4, 5))))
    dc = stacked(lambda r: DropConnect(Linear(5, 3, rng=r, dtype=F64), 0.5, rng=r))
    with pytest.raises(ValueError, match=r"input x of shape \(3, batch, 5\), got \(2, 4, 5\)"):
        dc(Tensor(np.zeros((2, 4, 5))))
    for make in (
        lambda r: Dropout(0.5, rng=r),
        lambda r: GaussianDropout(0.5, rng=r),
        lambda r: DropPath(0.5, rng=r),
    ):
        with pytest.raises(ValueError, match=r"rng holds 3 generators.*first axis has 2 members"):
            stacked(make)(Tensor(np.zeros((2, 4, 5))))
    with pytest.raises(ValueError, match=r"labels y of shape \(3, 4\)"):
        CrossEntropyLoss()(Tensor(np.zeros((3, 4, 2))), np.zeros((2, 4), dtype=int))


@pytest.mark.parametrize(
    "builds, match",
    [
        (
            [lambda r: Linear(5, 3, rng=r), lambda r: Linear(5, 4, rng=r)],
            r"nets\[0\]\.out_features and nets\[1\]\.out_features differ in value \(3 vs 4\)",
        ),
        (
            [lambda r: Dropout(0.5, rng=r), lambda r: Dropout(0.2, rng=r)],
            r"nets\[0\]\.p and nets\[1\]\.p differ in value \(0\.5 vs 0\.2\)",
        ),
        ([lambda r: Dropout(0.5, rng=r), lambda r: UnscaledDropout(0.5, rng=r)], "differ in class"),
        (
            [lambda r: Sequential([ReLU()]), lambda r: Sequential([ReLU(), ReLU()])],
            r"nets\[0\]\.layers and nets\[1\]\.layers differ in length",
        ),
        (
            [lambda r: Linear(2, 2, rng=r), lambda r: Linear(2, 2, rng=r, dtype=F64)],
            "differ in shape or dtype",
        ),
        (
            [lambda r: Linear(2, 2, rng=r), lambda r: Linear(2, 2, rng=r).eval()],
            r"training differ in value",
        ),
    ],
)
def test_networks_of_different_architectures_are_rejected(builds, match):
    with pytest.raises(ValueError, match=match):
        stack_modules([b(np.random.default_rng(i)) for i, b in enumerate(builds)])


def test_stack_modules_rejects_shared_generators_empty_lists_and_stacks():
    shared = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"nets\[k\]\.rng is one generator shared"):
        stack_modules([Dropout(0.5, rng=shared), Dropout(0.5, rng=shared)])
    with pytest.raises(ValueError, match="at least one network in nets"):
        stack_modules([])
    with pytest.raises(TypeError, match=r"nets\[1\] must be a Module"):
        stack_modules([ReLU(), "relu"])
    stack = stacked(lambda r: Linear(2, 2, rng=r))
    with pytest.raises(ValueError, match="already a stack"):
        stack_modules([stack])
    with pytest.raises(ValueError, match=r"member k must be an integer in \[0, 3\), got 3"):
        unstack(stack, 3)
    with pytest.raises(ValueError, match="ordinary network"):
        unstack(Linear(2, 2, rng=shared), 0)


def test_flatten_start_dim_must_keep_the_batch_axis():
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=r"start_dim must be an integer >= 1"):
            Flatten(start_dim=bad)
    assert repr(Flatten()) == "Flatten()" and repr(Flatten(2)) == "Flatten(start_dim=2)"


def test_fit_needs_one_generator_per_member():
    build, loss, sgd = KINDS["dropout"]
    net = stack_modules([build(np.random.default_rng(s)) for s in SEEDS])
    train, _ = (flat_if_needed(net, d) for d in toy_data(loss))
    opt = SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="rng holds 2 generators but the model is a stack of 3"):
        fit(net, CrossEntropyLoss(), opt, train, epochs=1, rng=gens(1, 2), progress=False)
    order = np.random.default_rng(1)
    with pytest.raises(ValueError, match="rng holds one generator twice"):
        fit(net, CrossEntropyLoss(), opt, train, epochs=1, rng=[order] * 3, progress=False)
    with pytest.raises(TypeError, match="rng must be a np.random.Generator or a sequence"):
        fit(net, CrossEntropyLoss(), opt, train, epochs=1, rng=[1, 2, 3], progress=False)


# --- early stopping: each member keeps its own best epoch ------------------------------------


def states_by_epoch(net, loss, sgd, order, epochs):
    """Train one network alone epoch by epoch; its validation accuracy and a copy of its
    parameters and running statistics after each epoch."""
    train, test = (flat_if_needed(net, d) for d in toy_data(loss))
    loss_fn = CrossEntropyLoss() if loss == "ce" else MSELoss()
    optimizer = SGD(net.parameters(), lr=0.1, **sgd)
    accs, states = [], []
    for _ in range(epochs):
        fit(
            net,
            loss_fn,
            optimizer,
            train,
            test,
            epochs=1,
            batch_size=6,
            rng=order,
            progress=False,
            eval_train=False,
        )
        accs.append(evaluate(net, *test))
        states.append([array.copy() for array in state_of(net)])
    return np.array(accs), states


@pytest.mark.parametrize("kind", ["dropout", "batchnorm", "drop_path"])
def test_restore_best_gives_each_member_the_state_of_its_own_best_epoch(kind):
    build, loss, sgd = KINDS[kind]
    epochs, seeds, order_seeds = 8, (10, 11, 12), (20, 21, 22)
    stack = stack_modules([build(np.random.default_rng(s)) for s in seeds])
    train, test = (flat_if_needed(stack, d) for d in toy_data(loss))
    loss_fn = CrossEntropyLoss() if loss == "ce" else MSELoss()
    histories = fit(
        stack,
        loss_fn,
        SGD(stack.parameters(), lr=0.1, **sgd),
        train,
        test,
        epochs=epochs,
        batch_size=6,
        rng=gens(*order_seeds),
        progress=False,
        eval_train=False,
        restore_best=True,
    )
    best_epochs = []
    for k in range(K):
        alone = build(np.random.default_rng(seeds[k]))
        accs, states = states_by_epoch(
            alone, loss, sgd, np.random.default_rng(order_seeds[k]), epochs
        )
        best = int(np.argmax(accs)) + 1  # the first best epoch, counted from 1
        assert histories[k].best_epoch == best
        np.testing.assert_allclose(histories[k].test_acc, accs, rtol=1e-10)
        for got, want in zip(state_of(unstack(stack, k)), states[best - 1], strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
        best_epochs.append(best)
    # the test means something only if the members stop at different epochs, before the last
    assert len(set(best_epochs)) > 1 and min(best_epochs) < epochs, best_epochs


def test_restore_best_for_one_network_and_its_errors():
    build, loss, sgd = KINDS["batchnorm"]
    net = build(np.random.default_rng(11))
    train, test = (flat_if_needed(net, d) for d in toy_data(loss))
    accs, states = states_by_epoch(
        build(np.random.default_rng(11)), loss, sgd, np.random.default_rng(21), 8
    )
    history = fit(
        net,
        CrossEntropyLoss(),
        SGD(net.parameters(), lr=0.1, **sgd),
        train,
        test,
        epochs=8,
        batch_size=6,
        rng=np.random.default_rng(21),
        progress=False,
        restore_best=True,
    )
    best = int(np.argmax(accs)) + 1
    assert history.best_epoch == best < 8
    for got, want in zip(state_of(net), states[best - 1], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-14)
    with pytest.raises(ValueError, match="restore_best needs a test"):
        fit(
            net,
            CrossEntropyLoss(),
            SGD(net.parameters(), lr=0.1),
            train,
            epochs=1,
            progress=False,
            restore_best=True,
        )
    # without restore_best the last epoch's weights stay, and best_epoch is still recorded
    plain = fit(
        net,
        CrossEntropyLoss(),
        SGD(net.parameters(), lr=0.1),
        train,
        test,
        epochs=2,
        progress=False,
    )
    assert plain.best_epoch in (1, 2)
    assert (
        fit(
            net, CrossEntropyLoss(), SGD(net.parameters(), lr=0.1), train, epochs=1, progress=False
        ).best_epoch
        is None
    )
