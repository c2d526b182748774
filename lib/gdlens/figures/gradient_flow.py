"""Explorers of the chapter *Gradient flow: from points to distributions*."""

from __future__ import annotations

from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, NullLocator

from gdlens import flows, langevin
from gdlens import optimizers as opt
from gdlens.landscapes import TiltedDoubleWell
from gdlens.plotting import PALETTE, Explorer, Slider, contour

# --- implicit gradient regularisation: GD, the flow of L and the flow of the modified loss -------------

SHARP_FLAT = flows.SharpFlat(20.0, 1.0, dim=2)
IGR_START = np.array([-1.7, 1.7])
IGR_HORIZON = 6.0


def _outcome(point) -> str:
    if np.linalg.norm(point - SHARP_FLAT.flat_minimum) < 5e-2:
        return "flat"
    if np.linalg.norm(point - SHARP_FLAT.sharp_minimum) < 5e-2:
        return "sharp"
    return "neither"


def igr_paths(lr: float):
    r"""Gradient descent with learning rate ``lr`` against the flows of L and of L̃ = L + (lr/4)|∇L|².

    Left: the three paths over the contours of the sharp/flat landscape. Right: the distance from the
    gradient-descent iterate k to each flow at time k·lr.
    """
    f = SHARP_FLAT
    n = int(np.ceil(IGR_HORIZON / lr))
    gd = opt.gd(f.grad, IGR_START, lr=lr, steps=n)
    stride = int(np.ceil(0.04 / lr))
    ks = np.arange(0, n + 1, stride)
    t = lr * ks
    flow = flows.gradient_flow(f.grad, IGR_START, t=t, max_step=0.04)
    modified = flows.gradient_flow(flows.ModifiedLoss(f, lr).grad, IGR_START, t=t, max_step=0.04)
    # fixed margins instead of the book's constrained layout: a third faster to render, and no jitter between frames
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.4, 3.4), width_ratios=[1.15, 1], layout="none")
    fig.subplots_adjust(left=0.085, right=0.98, bottom=0.14, top=0.92, wspace=0.25)
    contour(ax, f.value, (-2.3, 1.7), (-0.9, 2.1), levels=14, log=True, n=120)
    ax.plot(gd[::stride, 0], gd[::stride, 1], "o", color=PALETTE[0], ms=2.5, label=f"GD → {_outcome(gd[-1])}")
    # titles that change from frame to frame are plain text: mathtext parsing dominates the rendering time
    ax.plot(flow[:, 0], flow[:, 1], "-", color=PALETTE[1], lw=1.6, label=r"flow of $L$ → " + _outcome(flow[-1]))
    ax.plot(modified[:, 0], modified[:, 1], "--", color=PALETTE[2], lw=1.6)
    ax.plot([], [], "--", color=PALETTE[2], label=r"flow of $\tilde L$ → " + _outcome(modified[-1]))
    ax.plot(*f.sharp_minimum, "*", color="k", ms=8)
    ax.plot(*f.flat_minimum, "*", color="k", ms=8)
    ax.annotate("sharp", f.sharp_minimum, xytext=(4, -12), textcoords="offset points", fontsize=8)
    ax.annotate("flat", f.flat_minimum, xytext=(4, -12), textcoords="offset points", fontsize=8)
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.set_title(f"γ = {lr:.2f}   (2/λ_sharp = {2 / f.sharpness:.2f})")
    ax.legend(loc="upper right", fontsize=7)
    d_flow = np.linalg.norm(gd[ks] - flow, axis=-1)
    d_mod = np.linalg.norm(gd[ks] - modified, axis=-1)
    bx.semilogy(t[1:], d_flow[1:], color=PALETTE[1], label=r"$|\theta_k - \theta(k\gamma)|$, flow of $L$")
    bx.semilogy(
        t[1:], d_mod[1:], "--", color=PALETTE[2], label=r"$|\theta_k - \tilde\theta(k\gamma)|$, flow of $\tilde L$"
    )
    bx.set_ylim(1e-6, 10)
    bx.yaxis.set_minor_locator(NullLocator())  # minor log ticks and mathtext labels triple the rendering time
    bx.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")))
    bx.set_xlabel(r"time $t = k\gamma$")
    bx.set_ylabel("distance from GD")
    bx.legend(fontsize=8, loc="lower right")
    return fig


igr_explorer = Explorer(
    draw=igr_paths,
    controls={"lr": Slider(0.01, 0.12, 0.01, 0.03, "learning rate γ")},
    main="lr",
    fmt="{:.2f}",
)


# --- Fokker–Planck on the tilted double well, with a Langevin ensemble ---------------------------------

WELL = TiltedDoubleWell()
GRID = np.linspace(-2.2, 2.2, 221)
P0_MEAN, P0_STD = -0.3, 0.25
FP_HORIZON = 5.5  # with 12 static frames, every frame falls on a stored time (a multiple of 0.5)
FP_TIMES = np.linspace(0.0, FP_HORIZON, 111)
N_PARTICLES = 2000
LANGEVIN_STEP = 5e-3


def well_energy(x):
    """The tilted double well evaluated on a 1-D array of positions."""
    return WELL.value(np.asarray(x, dtype=np.float64)[..., None])


def initial_density(x=GRID):
    """The starting density: a Gaussian N(P0_MEAN, P0_STD²), normalised on the grid."""
    p = np.exp(-((x - P0_MEAN) ** 2) / (2 * P0_STD**2))
    return p / (p.sum() * (x[1] - x[0]))


@lru_cache(maxsize=8)
def _evolution(temperature: float):
    """Grid density, free energy and Langevin particles at FP_TIMES for one temperature (cached, read-only)."""
    dens = flows.fokker_planck_1d(
        well_energy, initial_density(), GRID, temperature=temperature, t=FP_TIMES, max_step=0.01
    )
    F = flows.free_energy(well_energy, dens, GRID, temperature=temperature)
    rng = np.random.default_rng(5)
    x0 = rng.normal(P0_MEAN, P0_STD, size=(N_PARTICLES, 1))
    per_frame = int(round((FP_TIMES[1] - FP_TIMES[0]) / LANGEVIN_STEP))
    trace = langevin.overdamped(
        WELL.grad,
        x0,
        step=LANGEVIN_STEP,
        temperature=temperature,
        steps=per_frame * (FP_TIMES.size - 1),
        rng=rng,
        trace=True,
    )
    particles = np.asarray(trace)[::per_frame, :, 0]
    for a in (dens, F, particles):
        a.flags.writeable = False
    return dens, F, particles


def fokker_planck_view(temperature: float, time: float):
    """The density at ``time`` on the tilted double well (grid solution and Langevin particles) and F(t)."""
    h = GRID[1] - GRID[0]
    times = FP_TIMES
    dens, F, particles = _evolution(float(temperature))
    k = int(np.argmin(np.abs(times - time)))
    boltzmann = np.exp(-(well_energy(GRID) - well_energy(GRID).min()) / temperature)
    boltzmann /= boltzmann.sum() * h
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.4, 3.2), width_ratios=[1.3, 1], layout="none")
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.15, top=0.91, wspace=0.22)
    ax.hist(
        particles[k],
        bins=np.linspace(-2.2, 2.2, 56),
        density=True,
        color=PALETTE[5],
        alpha=0.6,
        histtype="stepfilled",
        label="Langevin particles",
    )
    ax.plot(GRID, dens[k], color=PALETTE[0], lw=2, label="Fokker–Planck $p(t)$")
    ax.plot(GRID, boltzmann, ":", color="0.3", label=r"Boltzmann $e^{-E/T}/Z$")
    ax.set_ylim(0, 3.0)
    ax.set_xlabel("$x$")
    ax.set_ylabel("density")
    ax.set_title(f"T = {temperature:.2f},  t = {times[k]:.1f}")
    ax.legend(fontsize=7, loc="upper left")
    f_inf = -temperature * np.log(np.sum(np.exp(-(well_energy(GRID) - well_energy(GRID).min()) / temperature)) * h)
    f_inf += well_energy(GRID).min()
    bx.plot(times, F, color=PALETTE[0], label="$F[p(t)]$")
    bx.plot(times[k], F[k], "o", color=PALETTE[1])
    bx.axhline(f_inf, ls=":", color="0.3", label=r"$F_\infty = -T\log Z$")
    bx.set_xlabel("time $t$")
    bx.set_ylabel("free energy $F$")
    bx.legend(fontsize=8)
    return fig


fokker_planck_explorer = Explorer(
    draw=fokker_planck_view,
    controls={
        "temperature": Slider(0.1, 1.0, 0.05, 0.3, "temperature T"),
        "time": Slider(0.0, FP_HORIZON, 0.1, 1.0, "time t"),
    },
    main="time",
    fmt="{:.2f}",
)
