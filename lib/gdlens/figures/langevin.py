"""Figures of the chapter *From Brownian motion to SGD*: the annealing explorer."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from gdlens import langevin as lv
from gdlens.landscapes import TiltedDoubleWell
from gdlens.plotting import PALETTE, Choice, Explorer, Slider

WELL = TiltedDoubleWell()
STEP = 0.02
BUDGET = 1500
CHAINS = 300
SEED = 2026
SCHEDULES = ("logarithmic", "geometric", "linear", "constant", "none (GD)")


def make_schedule(name: str, t0: float, budget: int = BUDGET):
    """The cooling schedule ``name`` started at temperature ``t0``, over a budget of ``budget`` steps.

    logarithmic: c / log(k + 2) with c = t0 log 2 (so T_0 = t0); geometric: t0 r^k with r such that
    T_budget = t0 / 100; linear: t0 (1 - k / budget); constant: t0; none (GD): 0.
    """
    if name == "logarithmic":
        return lv.logarithmic(t0 * np.log(2.0), k0=2.0)
    if name == "geometric":
        return lv.geometric(t0, 0.01 ** (1 / budget))
    if name == "linear":
        return lv.linear(t0, budget)
    if name == "constant":
        return lv.constant(t0)
    if name == "none (GD)":
        return lv.constant(0.0)
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {name!r}")


def annealing(schedule: str, t0: float):
    """Annealing on the tilted double well: every chain starts in the left (local) minimum.

    Left: the temperature T_k and the fraction of chains in the global (right) well against the step.
    Right: the energy and the histogram of the chains' final positions.
    """
    sched = make_schedule(schedule, t0)
    x0 = np.tile(WELL.local_minimum, (CHAINS, 1))
    xs = lv.overdamped(
        WELL.grad, x0, step=STEP, temperature=sched, steps=BUDGET, rng=np.random.default_rng(SEED), trace=True
    )
    k = np.arange(BUDGET + 1)
    right = np.mean(xs[:, :, 0] > WELL.saddle[0], axis=1)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8, 3.2), layout="none")
    fig.subplots_adjust(left=0.08, right=0.91, bottom=0.15, top=0.9, wspace=0.62)
    ax.plot(k, right, color=PALETTE[0], label="fraction in global well")
    ax.set_xlabel("step $k$")
    ax.set_ylabel("fraction of chains")
    ax.set_ylim(-0.02, 1.02)
    tx = ax.twinx()
    tx.plot(k, sched(k), color=PALETTE[1], ls="--", label="temperature $T_k$")
    tx.set_ylabel("temperature $T_k$", color=PALETTE[1])
    tx.set_ylim(0, 2.1)
    tx.grid(False)
    ax.set_title(f"{schedule}, $T_0$ = {t0:.2f}: {right[-1]:.0%} in the global well")
    grid = np.linspace(-1.8, 1.8, 300)
    bx.plot(grid, WELL.value(grid[:, None]), color="0.3", label="energy $E(x)$")
    bx.set_ylim(-0.6, 2.0)
    bx.set_xlabel("position $x$")
    bx.set_ylabel("energy $E(x)$")
    hx = bx.twinx()
    counts, edges = np.histogram(xs[-1, :, 0], bins=np.linspace(-1.8, 1.8, 61))
    hx.stairs(counts, edges, fill=True, color=PALETTE[2], alpha=0.6)
    hx.set_ylim(0, CHAINS)
    hx.set_ylabel("chains at the end", color=PALETTE[2])
    hx.grid(False)
    return fig


annealing_explorer = Explorer(
    draw=annealing,
    controls={
        "t0": Slider(0.05, 2.0, 0.05, 0.6, "starting temperature T₀"),
        "schedule": Choice(SCHEDULES, "linear", "schedule"),
    },
    main="t0",
    fmt="{:.2f}",
)
