"""Figures of the chapter *Energy, entropy and temperature*: the temperature knob on the tilted double well."""

from __future__ import annotations

from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np

from gdlens import thermo
from gdlens.landscapes import TiltedDoubleWell
from gdlens.langevin import boltzmann_density
from gdlens.plotting import PALETTE, Explorer, Slider

GRID = np.linspace(-2.2, 2.2, 441)
TEMPERATURES = np.geomspace(0.05, 3.0, 60)  # log-spaced: the low-T range where S < 0 is visible
N_PARTICLES = 400
SEED = 2


@lru_cache(maxsize=32)
def _sweep(tilt: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean energy and entropy of the Boltzmann law over TEMPERATURES (cached: the frames share them)."""
    well = TiltedDoubleWell(tilt)
    dens = np.stack([boltzmann_density(well.value, GRID, temperature=t) for t in TEMPERATURES])
    return thermo.mean_energy(well.value, dens, GRID), thermo.entropy(dens, GRID)


def temperature_knob(temperature: float, tilt: float):
    """The Boltzmann law of the tilted double well at one temperature, and the energy-entropy balance.

    Left: the energy E(x) (grey), the density p(x) = e^{-E/T}/Z (filled) and particles drawn from it, shown
    at their energy. Right: the mean energy, the entropy term T S and the free energy F = <E> - T S of
    the Boltzmann law against the temperature, the current one marked, and the temperature where the
    (differential) entropy S changes sign: below it S < 0 and F rises with T (dF/dT = -S), above it F falls.
    """
    well = TiltedDoubleWell(tilt)
    e = well.value(GRID[:, None])
    p = boltzmann_density(well.value, GRID, temperature=temperature)
    x = thermo.sample_density_1d(p, GRID, N_PARTICLES, rng=np.random.default_rng(SEED))
    # a fixed layout: constrained layout would double the drawing time of every frame
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.0, 3.1), width_ratios=[1.15, 1], layout="none")
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.91, wspace=0.25)
    top = max(2.4, float(np.quantile(well.value(x[:, None]), 0.99)) + 0.4)
    scale = 0.45 * (top + 0.6) / p.max()  # the density, scaled to fill the lower part of the panel
    ax.fill_between(GRID, -0.6, -0.6 + scale * p, color=PALETTE[1], alpha=0.3, lw=0, label="density $p(x)$ (scaled)")
    ax.plot(GRID, e, color="0.45", lw=1.5, label="energy $E(x)$")
    jitter = np.random.default_rng(SEED + 1).uniform(0, 0.08, x.size)
    ax.plot(x, well.value(x[:, None]) + jitter, "o", ms=2.5, alpha=0.5, color=PALETTE[0], label="particles")
    ax.set_ylim(-0.6, top)
    ax.set_xlabel("position $x$")
    ax.set_ylabel("energy $E(x)$")
    right = float(np.trapezoid(np.where(GRID > well.saddle[0], p, 0.0), GRID))
    ax.set_title(f"T = {temperature:.2f}: {100 * right:.0f}% in the deeper (right) well", fontsize=10)
    ax.legend(loc="upper center", fontsize=7)

    energy, s = _sweep(float(tilt))
    ts = TEMPERATURES * s
    bx.plot(TEMPERATURES, energy, color=PALETTE[1], label="mean energy <E>")
    bx.plot(TEMPERATURES, ts, color=PALETTE[2], label="entropy term TS")
    bx.plot(TEMPERATURES, energy - ts, color=PALETTE[0], lw=2, label="free energy F")
    bx.axvline(temperature, color="0.3", ls="--", lw=1)
    if np.any(s < 0) and np.any(s > 0):  # the sign change of S: F_eq is largest there
        t_zero = float(TEMPERATURES[np.argmax(s > 0)])
        bx.axvline(t_zero, color=PALETTE[2], ls=":", lw=1, label=f"S = 0 (T ≈ {t_zero:.2f}): F largest")
    bx.axhline(0.0, color="0.7", lw=0.6)
    bx.set_xscale("log")
    bx.set_xlabel("temperature T (log scale)")
    bx.set_ylabel("energy units")
    bx.legend(fontsize=6, loc="lower left")
    return fig


temperature_explorer = Explorer(
    draw=temperature_knob,
    controls={
        "temperature": Slider(0.05, 3.0, 0.05, 0.3, "temperature T"),
        "tilt": Slider(0.0, 0.6, 0.05, 0.3, "tilt a"),
    },
    main="temperature",
    fmt="{:.2f}",
)
