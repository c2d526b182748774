"""Speed of gdlens.langevin.overdamped against the same update written in PyTorch (CPU).

200 000 chains x 100 steps of the 2-D tilted double well, x <- x - step grad E(x) + sqrt(2 step T) xi.
Prints a Markdown table: implementation, seconds (median of 5 runs), ratio to torch.
PyTorch is a benchmark-only dependency: without it, the script says so and exits 0.

    python benchmarks/bench_langevin.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from gdlens.landscapes import TiltedDoubleWell
from gdlens.langevin import overdamped

CHAINS, DIM, STEPS, STEP, TEMPERATURE, REPEATS = 200_000, 2, 100, 0.01, 0.5, 5


def _median_time(fn) -> float:
    fn()  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_gdlens() -> np.ndarray:
    well = TiltedDoubleWell(dim=DIM)
    x0 = np.full((CHAINS, DIM), -1.0)
    return overdamped(well.grad, x0, step=STEP, temperature=TEMPERATURE, steps=STEPS, rng=np.random.default_rng(0))


def run_numpy_naive() -> np.ndarray:
    """The textbook one-liner, for reference: new arrays at every operation."""
    well = TiltedDoubleWell(dim=DIM)
    rng = np.random.default_rng(0)
    x = np.full((CHAINS, DIM), -1.0)
    sigma = np.sqrt(2 * STEP * TEMPERATURE)
    for _ in range(STEPS):
        x = x - STEP * well.grad(x) + sigma * rng.standard_normal(x.shape)
    return x


def make_torch_runner(torch):
    tilt, stiffness = TiltedDoubleWell().tilt, TiltedDoubleWell(dim=DIM).stiffness

    def grad(x):
        g = stiffness * x.clone()
        g[:, 0] = 4 * x[:, 0] * (x[:, 0] ** 2 - 1) - tilt
        return g

    def run():
        gen = torch.Generator().manual_seed(0)
        x = torch.full((CHAINS, DIM), -1.0, dtype=torch.float64)
        sigma = float(np.sqrt(2 * STEP * TEMPERATURE))
        with torch.no_grad():
            for _ in range(STEPS):
                x = x - STEP * grad(x) + sigma * torch.randn(x.shape, generator=gen, dtype=torch.float64)
        return x

    return run


def main() -> None:
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: this benchmark compares against it, so there is nothing to measure.")
        print("Install it (pip install torch) to run the comparison.")
        return
    threads = torch.get_num_threads()
    rows = [(f"torch (CPU, float64, {threads} threads)", _median_time(make_torch_runner(torch)))]
    if threads > 1:  # on a small shared machine torch's thread pool can be slower than one thread
        torch.set_num_threads(1)
        rows.append(("torch (CPU, float64, 1 thread)", _median_time(make_torch_runner(torch))))
        torch.set_num_threads(threads)
    rows += [
        ("gdlens.langevin.overdamped", _median_time(run_gdlens)),
        ("numpy, naive one-liner", _median_time(run_numpy_naive)),
    ]
    ref = min(t for name, t in rows if name.startswith("torch"))
    print(
        f"{CHAINS} chains x {STEPS} steps, 2-D tilted double well; torch {torch.__version__}, numpy {np.__version__}."
    )
    print("Ratio to the faster torch variant.\n")
    print("| implementation | seconds (median of 5) | ratio to torch |")
    print("|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t:.3f} | {t / ref:.2f} |")


if __name__ == "__main__":
    main()
