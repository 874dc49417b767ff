"""stacked: K runs trained at once compute what the package's layers and `fit` compute.

Each config is trained twice in float64: by `StackedMLP` (inside a stack with other runs) and
by `fit` on the package's own modules, with the same three generators. After a few epochs
their weights agree to rounding, for every dropout variant (Gaussian included), both losses,
momentum, max-norm and input dropout; so the fast runner is a faithful stand-in for the
teaching code.
"""

import numpy as np
import pytest

from nnscratch.experiments import MLPConfig, _train_stack, build_mlp, digits
from nnscratch.losses import CrossEntropyLoss, MSELoss
from nnscratch.optim import SGD
from nnscratch.stacked import Member, StackedMLP
from nnscratch.train import fit

TINY = dict(hidden=(12, 8), pool=4, n_train=60, epochs=3, batch_size=7, lr=0.05)


def library_run(config: MLPConfig) -> list[np.ndarray]:
    """Train `config` with build_mlp + fit in float64, the way the runner splits its seed."""
    init_ss, order_ss, mask_ss = np.random.SeedSequence(config.seed).spawn(3)
    model = build_mlp(
        config, np.random.default_rng(init_ss), np.random.default_rng(mask_ss), np.float64
    )
    data = digits(config.n_train, 0, config.pool)
    X = data.X.astype(np.float64)
    if config.loss == "mse":
        loss_fn, target = MSELoss(), np.eye(10)[data.y]
    else:
        loss_fn, target = CrossEntropyLoss(), data.y
    fit(
        model,
        loss_fn,
        SGD(
            model.parameters(),
            lr=config.lr,
            momentum=config.momentum,
            max_norm=config.max_norm,
            weight_decay=config.weight_decay,
        ),
        (X, target),
        epochs=config.epochs,
        batch_size=config.batch_size,
        rng=np.random.default_rng(order_ss) if config.shuffle else None,
        progress=False,
        eval_train=False,
    )
    return [p.data for p in model.parameters()]


CASES = [
    dict(p=0.5),
    dict(p=0.3, p_input=0.2, momentum=0.9),
    dict(p=0.4, dropout="unscaled", loss="mse", init="uniform", shuffle=False),
    dict(p=0.4, dropout="test_time"),
    dict(p=0.0),
    dict(p=0.5, dropout="gaussian"),
    dict(p=0.3, p_input=0.2, dropout="gaussian", momentum=0.9, max_norm=1.0),
    dict(p=0.3, momentum=0.9, max_norm=1.0),
    dict(p=0.3, momentum=0.9, weight_decay=0.01),
    dict(p=0.0, momentum=0.9, weight_decay=0.01),
    dict(p=0.5, weight_decay=0.003),
]
STACKS = (
    [0, 3, 4, 5],
    [1],
    [2],
    [6, 7],
    [8, 9],
    [10],
)  # cases that share training settings share a stack


def test_stacked_runs_match_fit_on_the_package_modules_in_float64():
    # Cases that share training settings go in one stack, with different seeds and rates.
    assert sorted(i for stack in STACKS for i in stack) == list(range(len(CASES)))
    for stack in STACKS:
        configs = [MLPConfig(seed=10 + i, **TINY, **CASES[i]) for i in stack]
        results = _train_stack(configs, dtype=np.float64)
        for config, result in zip(configs, results, strict=True):
            want = library_run(config)
            for got, expected in zip(result.weights, want, strict=True):
                np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_max_norm_binds_in_the_runner():
    # He-initialised rows have norm about sqrt(2), so a radius of 1 is active from the start.
    config = MLPConfig(seed=1, **TINY, **CASES[7])
    (result,) = _train_stack([config], dtype=np.float64)
    norms = np.concatenate([np.linalg.norm(w, axis=1) for w in result.weights[::2]])
    assert norms.max() <= 1.0 + 1e-12
    assert np.mean(np.isclose(norms, 1.0)) > 0.5


def test_a_run_gives_the_same_numbers_alone_and_in_a_stack():
    configs = [MLPConfig(seed=s, p=p, **TINY) for s in (1, 2) for p in (0.0, 0.5)]
    together = _train_stack(configs)
    for config, result in zip(configs, together, strict=True):
        (alone,) = _train_stack([config])
        np.testing.assert_array_equal(alone.train_loss, result.train_loss)
        for a, b in zip(alone.weights, result.weights, strict=True):
            np.testing.assert_array_equal(a, b)


def test_eval_mode_scales_match_each_variant():
    # One forward pass in eval mode: test-time scaling multiplies by 1 - p, the others do not.
    configs = [MLPConfig(seed=0, p=0.4, dropout=v, **TINY) for v in ("inverted", "test_time")]
    members = []
    for config in configs:
        rng = np.random.default_rng(0)
        model = build_mlp(config, np.random.default_rng(3), rng, np.float64)
        members.append(Member(model, None, rng, config.rates, config.dropout))
    stack = StackedMLP(members, lr=0.1, dtype=np.float64)
    X = digits(60, 0, 4).X.astype(np.float64)
    from nnscratch import Tensor

    for k, member in enumerate(members):
        expected = member.model.eval()(Tensor(X)).data
        np.testing.assert_allclose(stack.logits(X)[k], expected, rtol=1e-12)


def test_stack_rejects_members_of_different_widths():
    def member(hidden):
        config = MLPConfig(hidden=hidden, pool=4)
        rng = np.random.default_rng(0)
        return Member(build_mlp(config, rng, rng), None, rng, config.rates, "inverted")

    with pytest.raises(ValueError, match="same layer widths"):
        StackedMLP([member((8,)), member((9,))], lr=0.1)
    with pytest.raises(ValueError, match="at least one"):
        StackedMLP([], lr=0.1)
    with pytest.raises(ValueError, match="loss"):
        StackedMLP([member((8,))], lr=0.1, loss="hinge")
    with pytest.raises(ValueError, match=r"lr must be one number or one per member \(2\)"):
        StackedMLP([member((8,)), member((8,))], lr=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="weight_decay must be one number or one per member"):
        StackedMLP([member((8,))], lr=0.1, weight_decay=[0.0, 0.1])
