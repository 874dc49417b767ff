"""Worker: time training epochs of the 784-256-10 MLP for one side of the comparison.

Run by `benchmarks/run.py`, once for the NumPy side (nnscratch and raw NumPy, whose
repeats alternate so that load from other processes hits both alike) and once, in a
separate process, for PyTorch (its thread pool and NumPy's would fight if they shared one).
Prints one JSON object on stdout.

    python benchmarks/bench_epoch.py --impl nnscratch numpy numpy_grads --batch-sizes 2 64 256
    python benchmarks/bench_epoch.py --stack 5 --batch-sizes 2 64 256
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial

import numpy as np
from reference import IMPLEMENTATIONS, StackOfMLPs, init_weights, load_data, step_losses

P = 0.5
WEIGHT_SEED = 0
CHECK_STEPS = 5


def alternate(epochs: dict[str, Callable[[], object]], repeats: int) -> dict:
    """Wall-clock and CPU seconds of each epoch function: one warm-up call each (caches,
    allocator, lazy imports), then `repeats` rounds in which they take turns, so that load
    from other processes hits them alike."""
    for epoch in epochs.values():
        epoch()
    times = {name: {"wall": [], "cpu": []} for name in epochs}
    for _ in range(repeats):
        for name, epoch in epochs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            epoch()
            times[name]["cpu"].append(time.process_time() - cpu)
            times[name]["wall"].append(time.perf_counter() - wall)
    return times


def time_epochs(impls: list[str], batch_sizes: list[int], repeats: int) -> dict:
    """Seconds per epoch, wall-clock and process CPU time, for each implementation and batch."""
    X, y = load_data()
    weights = init_weights(WEIGHT_SEED)
    inputs = {impl: (X, y) for impl in impls}
    if "torch" in impls:
        import torch

        inputs["torch"] = (torch.from_numpy(X), torch.from_numpy(y))
    results: dict[str, dict[str, dict[str, list[float]]]] = {impl: {} for impl in impls}
    for batch_size in batch_sizes:
        nets = {impl: IMPLEMENTATIONS[impl](weights, P, seed=1) for impl in impls}
        epochs = {impl: partial(nets[impl].epoch, *inputs[impl], batch_size) for impl in impls}
        for impl, times in alternate(epochs, repeats).items():
            results[impl][str(batch_size)] = times
    return results


def time_stack(k: int, batch_sizes: list[int], repeats: int) -> dict:
    """Seconds for one epoch of K networks: one after the other, and as one stack of K."""
    X, y = load_data()
    weights = init_weights(WEIGHT_SEED)
    results: dict[str, dict[str, dict[str, list[float]]]] = {"one_by_one": {}, "stacked": {}}
    for batch_size in batch_sizes:
        epochs = {
            name: partial(StackOfMLPs(weights, P, k, stacked=stacked).epoch, X, y, batch_size)
            for name, stacked in (("one_by_one", False), ("stacked", True))
        }
        for name, times in alternate(epochs, repeats).items():
            results[name][str(batch_size)] = times
    return results


def check_losses(impls: list[str]) -> dict:
    """Per-step losses from identical weights and masks, p = 0 and 0.5, batch 2 and 64.

    Both batch sizes, because the floor takes other code paths below 8 rows.
    """
    X, y = load_data()
    weights = init_weights(WEIGHT_SEED)
    return {
        impl: {
            f"p={p} batch={b}": step_losses(impl, weights, X, y, CHECK_STEPS, p, b)
            for p in (0.0, P)
            for b in (2, 64)
        }
        for impl in impls
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", nargs="+", choices=list(IMPLEMENTATIONS))
    parser.add_argument("--stack", type=int, default=0, help="time K networks, not --impl")
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[2, 64, 256])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if args.stack:
        times = time_stack(args.stack, args.batch_sizes, args.repeats)
        print(json.dumps({"k": args.stack, "times": times}))
        return
    info = {"numpy": np.__version__}
    if "torch" in args.impl:
        import torch

        if args.threads:
            torch.set_num_threads(args.threads)
        info.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    result = {
        "info": info,
        "check": check_losses(args.impl),
        "times": time_epochs(args.impl, args.batch_sizes, args.repeats),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
