"""Worker: time one dropout forward pass (p = 0.5, float32) in nanoseconds per element.

Contenders, each producing a fresh output array of the input's size:
- `nnscratch`: `Dropout(0.5)(Tensor(x))` in training mode;
- `naive`: `x * (rng.random(x.shape) < keep) / keep`, the textbook one-liner;
- `copy`: `x.copy()`, the memory-bandwidth floor for any out-of-place elementwise op;
- `torch`: `torch.nn.functional.dropout(x, 0.5, training=True)` (run in its own process).

    python benchmarks/bench_dropout.py --impl nnscratch naive copy
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import numpy as np

from nnscratch import Tensor
from nnscratch.nn import Dropout

P = 0.5
SHAPES = [(64, 256), (256, 1024), (4096, 4096)]


def contenders(impls: list[str], x: np.ndarray) -> dict[str, Callable[[], object]]:
    rng = np.random.default_rng(0)
    keep = 1.0 - P
    layer = Dropout(P, rng=rng)
    fns: dict[str, Callable[[], object]] = {
        "nnscratch": lambda: layer(Tensor(x)),
        "naive": lambda: x * (rng.random(x.shape) < keep) / keep,
        "copy": x.copy,
    }
    if "torch" in impls:
        import torch

        xt = torch.from_numpy(x)
        fns["torch"] = lambda: torch.nn.functional.dropout(xt, P, training=True)
    return {impl: fns[impl] for impl in impls}


def time_calls(fns: dict[str, Callable[[], object]], size: int, repeats: int) -> dict:
    """Nanoseconds per element, wall and CPU, per contender; the contenders take turns."""
    number = max(1, 4_000_000 // size)  # a few milliseconds per timing at least
    times = {impl: {"wall": [], "cpu": []} for impl in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(repeats):
        for impl, fn in fns.items():
            wall, cpu = time.perf_counter_ns(), time.process_time_ns()
            for _ in range(number):
                fn()
            times[impl]["cpu"].append((time.process_time_ns() - cpu) / number / size)
            times[impl]["wall"].append((time.perf_counter_ns() - wall) / number / size)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", nargs="+", choices=["nnscratch", "naive", "copy", "torch"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    if "torch" in args.impl and args.threads:
        import torch

        torch.set_num_threads(args.threads)
    results: dict[str, dict] = {impl: {} for impl in args.impl}
    for shape in SHAPES:
        x = np.random.default_rng(1).standard_normal(shape, dtype=np.float32)
        key = "x".join(map(str, shape))
        for impl, times in time_calls(contenders(args.impl, x), x.size, args.repeats).items():
            results[impl][key] = times
    print(json.dumps({"ns_per_element": results}))


if __name__ == "__main__":
    main()
