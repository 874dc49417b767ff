"""The primer's table of networks matches the chapters' code.

`chapters/a2_comparing_networks.md` lists every network the chapters train: layer sizes, digits,
epochs, SGD settings and seeds. Those are settings, not results, so the page does not compute
them; this test reads each chapter's code cells instead and fails when a row stops matching.

How the settings are read: each chapter's top-level assignments and function definitions are
evaluated in order in a small namespace that holds the package's config and data functions
(`MLPConfig`, `replace`, `digits`, `load_tinymnist`, `to_float`) but no NumPy and no training:
`train_runs` hands back the configs it was given. Whatever needs more (training, NumPy, a
result) fails and is skipped, so the configs that reach `train_runs` and the constants around
them are what the test sees. Networks built by hand are read from their `Linear(in, out)` calls
and their `fit`/`SGD` arguments.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

from nnscratch.data import load_tinymnist, to_float
from nnscratch.experiments import MLPConfig, digits

ROOT = Path(__file__).resolve().parents[1]
PRIMER = ROOT / "chapters" / "a2_comparing_networks.md"
CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
COLUMNS = ("network", "digits", "epochs", "sgd", "seeds")

# Rates the chapters choose on validation are results; where a later config uses one, the test
# stands in a fixed rate (it changes no column of the table).
CHOSEN_STANDINS = {"chosen_p": 0.5, "chosen": {"inverted": 0.5, "gaussian": 0.5}}


# --- Reading the chapters ------------------------------------------------------------------------


@cache
def labels() -> dict[str, Path]:
    """Each chapter's `(label)=` anchor (its first line that is one) -> its source."""
    found = {}
    for path in sorted((ROOT / "chapters").glob("*.md")):
        match = re.search(r"^\((\S+)\)=$", path.read_text("utf8"), re.MULTILINE)
        if match:
            found[match.group(1)] = path
    return found


def cells(path: Path) -> list[ast.Module]:
    """The chapter's code cells, parsed (cell options such as `:tags:` dropped)."""
    parsed = []
    for body in CELL.findall(path.read_text("utf8")):
        lines = body.splitlines()
        while lines and lines[0].startswith(":"):
            lines.pop(0)
        parsed.append(ast.parse("\n".join(lines)))
    return parsed


def _train_runs(configs, **_):
    return list(configs)


@cache
def namespace(label: str) -> dict:
    """The chapter's settings: its top-level assignments and functions that evaluate here."""
    space: dict = {
        "SEED": 0,
        "MLPConfig": MLPConfig,
        "replace": replace,
        "digits": digits,
        "load_tinymnist": load_tinymnist,
        "to_float": to_float,
        "train_runs": _train_runs,
        **CHOSEN_STANDINS,
    }
    for module in cells(labels()[label]):
        for node in module.body:
            if isinstance(node, (ast.Assign, ast.FunctionDef)):
                try:
                    exec(compile(ast.Module([node], []), "<chapter>", "exec"), space)
                except Exception:  # needs training, NumPy or a result: not a setting
                    continue
    return space


def calls(node: ast.AST, name: str) -> list[ast.Call]:
    """The calls of `name(...)` inside `node`, in source order."""
    found = [
        child
        for child in ast.walk(node)
        if isinstance(child, ast.Call)
        and isinstance(child.func, ast.Name)
        and child.func.id == name
    ]
    return sorted(found, key=lambda call: (call.lineno, call.col_offset))


def value(node: ast.expr, space: dict):
    return eval(compile(ast.Expression(node), "<chapter>", "eval"), space)


def keywords(call: ast.Call, space: dict, *names: str) -> dict:
    """The values of the call's keyword arguments `names` (those it passes)."""
    return {k.arg: value(k.value, space) for k in call.keywords if k.arg in names}


def function(label: str, name: str) -> tuple[ast.FunctionDef, dict]:
    """A function the chapter defines, and the namespace with its defaults bound."""
    for module in cells(labels()[label]):
        for node in module.body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                space = dict(namespace(label))
                args = node.args.args[len(node.args.args) - len(node.args.defaults) :]
                for arg, default in zip(args, node.args.defaults, strict=True):
                    space[arg.arg] = value(default, space)
                return node, space
    raise LookupError(f"{labels()[label].name} defines no function {name}")


def cell_with(label: str, text: str) -> ast.Module:
    """The first code cell of the chapter whose source contains `text`."""
    for module in cells(labels()[label]):
        if text in ast.unparse(module):
            return module
    raise LookupError(f"{labels()[label].name} has no code cell with {text!r}")


def linear_chain(node: ast.AST, space: dict) -> list[int]:
    """The widths of the `Linear(in, out)` calls in `node`, checked to chain."""
    sizes = [(value(c.args[0], space), value(c.args[1], space)) for c in calls(node, "Linear")]
    for (_, out), (n_in, _) in pairwise(sizes):
        assert out == n_in, f"the Linear layers do not chain: {sizes}"
    return [sizes[0][0], *(out for _, out in sizes)]


# --- How a row writes settings -------------------------------------------------------------------


def number(n: int) -> str:
    return f"{n:,}"


def either(values) -> str:
    """Distinct values in order of first appearance, joined with "or"."""
    return " or ".join(dict.fromkeys(values))


N_TEST = number(len(load_tinymnist().y_test))  # every chapter tests on the whole test split


def sgd(lrs, momentum, batch) -> str:
    parts = [f"lr {either(f'{lr:g}' for lr in lrs)}"]
    if momentum:
        parts.append(f"momentum {momentum:g}")
    return ", ".join([*parts, f"batch {batch}"])


def single(configs, field: str):
    values = {getattr(c, field) for c in configs}
    assert len(values) == 1, f"the configs differ in {field}: {values}"
    return values.pop()


def runner_row(configs: list[MLPConfig], epochs: str | None = None) -> dict[str, str]:
    """A row for runs of the experiment runner (`train_runs`), from their configs."""
    inputs = (28 // single(configs, "pool")) ** 2
    widths = list(dict.fromkeys(c.hidden for c in configs))
    if len(widths) == 1:
        network = "-".join(map(str, (inputs, *widths[0], 10)))
    else:
        assert all(len(set(w)) == 1 for w in widths), widths
        hidden = "-".join("w" * len(widths[0]))
        network = f"{inputs}-{hidden}-10, w = " + ", ".join(str(w[0]) for w in widths)
    n_val = single(configs, "n_val")
    kept = "best" if n_val else "last"  # the runner keeps the best validation epoch
    return {
        "network": network,
        "digits": f"{either(number(c.n_train) for c in configs)} / "
        f"{number(n_val) if n_val else 'none'} / {N_TEST}",
        "epochs": f"{epochs or either(str(c.epochs) for c in configs)}, {kept}",
        "sgd": sgd(
            [c.lr for c in configs], single(configs, "momentum"), single(configs, "batch_size")
        ),
        "seeds": str(len({c.seed for c in configs})),
    }


def fit_row(
    network, n_train, n_val, epochs, lr, momentum, batch, seeds, kept="last"
) -> dict[str, str]:
    """A row for networks built by hand and trained with `fit` (kept after the last epoch, or
    at the best validation epoch with `kept="best"`)."""
    return {
        "network": network if isinstance(network, str) else "-".join(map(str, network)),
        "digits": f"{number(n_train)} / {number(n_val) if n_val else 'none'} / {N_TEST}",
        "epochs": f"{epochs}, {kept}",
        "sgd": sgd([lr], momentum, batch),
        "seeds": str(seeds),
    }


# --- The rows ------------------------------------------------------------------------------------


def ch1_wide():
    space = namespace("overfitting")
    network, _ = function("overfitting", "wide_network")
    cell = cell_with("overfitting", "optimizer = SGD(model.parameters()")
    (fit_call,) = calls(cell, "fit")
    fit_args = keywords(fit_call, space, "epochs", "batch_size")
    assert fit_args["epochs"] == 1  # one epoch per pass of the loop over range(EPOCHS)
    (sgd_call,) = calls(cell, "SGD")
    return fit_row(
        linear_chain(network, space),
        10 * space["N_PER_CLASS"],
        0,
        space["EPOCHS"],
        keywords(sgd_call, space, "lr")["lr"],
        0,
        fit_args["batch_size"],
        1,
    )


def hand_built(label: str, marker: str):
    """Chapters 2 and 3: one network, built and fitted in one cell, tested on the test split."""
    space = namespace(label)
    cell = cell_with(label, marker)
    (fit_call,) = calls(cell, "fit")
    args = keywords(fit_call, space, "train", "epochs", "batch_size")
    tests = [ast.unparse(k.value) for k in fit_call.keywords if k.arg == "test"]
    assert all("x_test" in source for source in tests), tests  # the test split, if any
    sgd_args = keywords(calls(cell, "SGD")[0], space, "lr", "momentum")
    return fit_row(
        linear_chain(cell, space),
        len(args["train"][1]),
        0,
        args["epochs"],
        sgd_args["lr"],
        sgd_args.get("momentum", 0),
        args["batch_size"],
        1,
    )


def ch8_deep():
    node, space = function("why-dropout-works", "deep_net")
    (job,) = calls(node, "FitJob")
    args = keywords(job, space, "lr", "momentum", "epochs", "batch_size")
    train = value(job.args[2], space)
    seeds = namespace("why-dropout-works")["SEEDS"]
    return fit_row(
        linear_chain(node, space),
        len(train[1]),
        0,
        args["epochs"],
        args["lr"],
        args.get("momentum", 0),
        args["batch_size"],
        len(seeds),
    )


def ch9_stacked(builder: str, network=None):
    """Chapter 9's networks trained as stacks from `seed_stack`'s jobs: `fit` with the
    validation digits and `restore_best=True`, so each is kept at its best validation epoch."""
    space = namespace("dropout-family")
    helper, _ = function("dropout-family", "seed_stack")
    (fit_call,) = calls(helper, "FitJob")
    fit_args = {k.arg: k.value for k in fit_call.keywords}
    assert ast.literal_eval(fit_args["restore_best"]) is True
    matches = []
    for module in cells(labels()["dropout-family"]):
        for call in calls(module, "seed_stack"):
            # The networks are built in the call itself, one per seed (chapter 9 also trains
            # single-seed networks for its sliders, which the table leaves out).
            if builder in ast.unparse(call) and "for s in SEEDS" in ast.unparse(call):
                matches.append(call)
    assert len({ast.unparse(m) for m in matches}) == 1, f"{builder}: {len(matches)} calls"
    args = keywords(matches[0], space, "lr", "epochs")
    node, local = function("dropout-family", builder)
    data = space["data"]
    return fit_row(
        network or linear_chain(node, local),
        len(data.y),
        len(data.y_val),
        args["epochs"],
        args["lr"],
        0,
        ast.literal_eval(fit_args["batch_size"]),
        len(space["SEEDS"]),
        kept="best",
    )


def ch9_droppath():
    node, local = function("dropout-family", "residual_net")
    chain = linear_chain(node, local)
    width, blocks = local["width"], local["blocks"]
    # In source order: the input layer, the two layers of the block (built `blocks` times in a
    # loop), the output layer.
    assert chain == [chain[0], width, width, width, 10], chain
    return ch9_stacked(
        "residual_net", f"{chain[0]}-{width}-10, {blocks} residual blocks of {width}"
    )


def ch6_sweep():
    configs = namespace("choosing-p")["sweep"]
    by_epochs = {}
    for c in configs:
        by_epochs.setdefault(c.epochs, set()).add(c.p)
    (short, low), (long, high) = sorted(by_epochs.items())
    assert min(high) > max(low)
    return runner_row(configs, epochs=f"{short} ({long} at p ≥ {min(high):g})")


def ch4_variants():
    # The configs are `replace(base, p=..., dropout=..., seed=...)` over the variants; the
    # variants map to classes, which this namespace does not build.
    space = namespace("scaling")
    source = ast.unparse(cell_with("scaling", "configs = [replace(base"))
    assert "for name, p, seed in keys" in source and "for seed in SEEDS" in source
    return runner_row([replace(space["base"], seed=s) for s in space["SEEDS"]])


def ch9_maxnorm():
    space = namespace("dropout-family")
    return runner_row(space["recipe_configs"] + space["control_configs"])


def ch5_tutorial():
    groups = namespace("training")["groups"]
    return runner_row(groups["as written, p = 0.2"] + groups["as written, p = 0"])


ROWS = {
    ("overfitting", "a wide network overfits"): ch1_wide,
    ("building-blocks", "the first training run"): lambda: hand_built(
        "building-blocks", "history = fit("
    ),
    ("dropout-layer", "hidden units to look at"): lambda: hand_built(
        "dropout-layer", "history = fit("
    ),
    ("scaling", "three ways to scale"): ch4_variants,
    ("training", "the tutorial as written (MSE loss)"): ch5_tutorial,
    ("training", "dropout against none"): lambda: runner_row(namespace("training")["runs"]),
    ("choosing-p", "the sweep over p"): ch6_sweep,
    ("choosing-p", "smaller steps at p = 0.9"): lambda: runner_row(
        namespace("choosing-p")["small_steps"]
    ),
    ("choosing-p", "wider layers"): lambda: runner_row(namespace("choosing-p")["wide"]),
    ("choosing-p", "fewer and more digits"): lambda: runner_row(
        namespace("choosing-p")["size_runs"]
    ),
    ("mc-dropout", "MC dropout"): lambda: runner_row(namespace("mc-dropout")["configs"]),
    ("why-dropout-works", "what the units learn"): lambda: runner_row(
        namespace("why-dropout-works")["paired"] + namespace("why-dropout-works")["extra"]
    ),
    ("why-dropout-works", "the exact ensemble"): lambda: runner_row(
        namespace("why-dropout-works")["ens_runs"]
    ),
    ("why-dropout-works", "a deeper exact ensemble"): ch8_deep,
    ("dropout-family", "Gaussian dropout"): lambda: runner_row(
        namespace("dropout-family")["noise_configs"]
    ),
    ("dropout-family", "DropConnect"): lambda: ch9_stacked("connect_net"),
    ("dropout-family", "max-norm"): ch9_maxnorm,
    ("dropout-family", "batch normalisation"): lambda: ch9_stacked("bn_net"),
    ("dropout-family", "DropPath"): ch9_droppath,
}


# --- The table -----------------------------------------------------------------------------------


def table() -> dict[tuple[str, str], dict[str, str]]:
    """The primer's rows: (chapter label, experiment) -> the setting columns."""
    rows = {}
    for line in PRIMER.read_text("utf8").splitlines():
        match = re.match(r"\| \{ref\}`\d+ <([\w-]+)>` \|(.*)\|$", line)
        if match:
            experiment, *settings = (cell.strip() for cell in match.group(2).split("|"))
            assert len(settings) == len(COLUMNS), line
            rows[match.group(1), experiment] = dict(zip(COLUMNS, settings, strict=True))
    return rows


def test_the_table_has_a_row_for_each_experiment_the_test_knows() -> None:
    assert list(table()) == list(ROWS)


def test_every_chapter_trains_a_network_of_the_table() -> None:
    numbered = {label for label, path in labels().items() if path.name[0].isdigit()}
    assert {label for label, _ in ROWS} == numbered


@pytest.mark.parametrize("row", list(ROWS), ids=[f"{a}/{b}" for a, b in ROWS])
def test_each_row_matches_the_chapter(row) -> None:
    assert table()[row] == ROWS[row](), f"the primer's row {row} no longer matches its chapter"


def test_a_changed_setting_changes_the_row() -> None:
    """The check can fail: had chapter 6 trained these runs 100 epochs, the row would differ."""
    configs = [replace(c, epochs=100) for c in namespace("choosing-p")["small_steps"]]
    assert runner_row(configs) != table()["choosing-p", "smaller steps at p = 0.9"]
