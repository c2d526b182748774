"""Figures of the chapter *Optimizers as dynamical systems*: momentum's rate landscape and the game explorer."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from gdlens import games, odes, optimizers
from gdlens.landscapes import ill_conditioned
from gdlens.plotting import PALETTE, Choice, Explorer, Slider, contour, path

KAPPA = 50.0
X0 = np.array([-1.6, 1.1])
STEPS = 40
LR_GRID = np.linspace(0.02, 4.2, 211)
BETA_GRID = np.linspace(0.0, 0.98, 99)


def momentum_landscape(lr: float, beta: float):
    """Heavy-ball momentum on a quadratic with lambda_max = 1 and condition number 50.

    Left: the path over the contours. Right: the exact rate (spectral radius) over a grid of
    learning rates and momenta (grey where rho >= 1), the stability edge rho = 1, Polyak's optimum (star) and the chosen
    point (circle).
    """
    f = ill_conditioned(KAPPA, smoothness=1.0)
    traj = (
        optimizers.momentum(f.grad, X0, lr=lr, beta=beta, steps=STEPS)
        if beta > 0
        else optimizers.gd(f.grad, X0, lr=lr, steps=STEPS)
    )
    rho = odes.quadratic_rate(LR_GRID[None, :], f.eigenvalues, beta=BETA_GRID[:, None])
    here = float(odes.quadratic_rate(lr, f.eigenvalues, beta=beta))
    lr_star, beta_star, rate_star = odes.polyak_parameters(f.eigenvalues[0], f.eigenvalues[-1])

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.0, 3.2), width_ratios=[1, 1.15])
    contour(ax, f.value, (-2.2, 2.2), (-2.2, 2.2), levels=8, log=True, n=120)
    shown = traj[np.all(np.abs(traj) < 5, axis=1)]
    path(ax, shown, color=PALETTE[0], label=f"{STEPS} steps")
    ax.plot(0, 0, "*", color="k", ms=9)
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.set_title(rf"$\gamma = {lr:.2f}/\lambda_{{\max}}$, $\beta = {beta:.2f}$: $\rho = {here:.3f}$", fontsize=10)

    stable = np.ma.masked_where(rho >= 1, rho)
    bx.set_facecolor("0.85")  # masked (diverging) region shows the grey background
    mesh = bx.contourf(LR_GRID, BETA_GRID, stable, levels=np.linspace(0.7, 1.0, 13), cmap="viridis")
    bx.contour(LR_GRID, BETA_GRID, rho, levels=[1.0], colors=PALETTE[1], linewidths=1.2)
    bx.plot(lr_star, beta_star, "*", color="w", mec="k", ms=12, label=rf"Polyak, $\rho = {rate_star:.3f}$")
    bx.plot(lr, beta, "o", color=PALETTE[4], mec="k", ms=8, label="chosen")
    bx.set_xlabel(r"learning rate $\gamma$ (units of $1/\lambda_{\max}$)")
    bx.set_ylabel(r"momentum $\beta$")
    bx.legend(loc="lower left", fontsize=8)
    bx.grid(False)
    fig.colorbar(mesh, ax=bx, label=r"rate $\rho$ (grey: diverges)")
    return fig


momentum_explorer = Explorer(
    draw=momentum_landscape,
    controls={
        "lr": Slider(0.05, 4.0, 0.05, 3.0, "step γ (units of 1/λ_max)"),
        "beta": Slider(0.0, 0.95, 0.05, 0.55, "momentum β"),
    },
    main="beta",
    fmt="{:.2f}",
)


GAME_STEPS = 120
GAME_LRS = np.linspace(0.01, 1.0, 200)


def game_methods(method: str, lr: float):
    """A method on the bilinear game min_x max_y xy, started at (1, 0).

    Left: its iterates and the circle that the flow follows. Right: the spectral radius of every
    method's update map against the step, the chosen method in bold, the chosen step marked.
    """
    z = games.play(games.Bilinear(), method, np.array([1.0, 0.0]), lr=lr, steps=GAME_STEPS)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.0, 3.2), width_ratios=[1, 1.2])
    angle = np.linspace(0, 2 * np.pi, 200)
    ax.plot(np.cos(angle), np.sin(angle), "--", color="0.5", lw=1, label="flow")
    colour = PALETTE[games.METHODS.index(method)]
    shown = z[np.all(np.abs(z) < 2.4, axis=1)]
    path(ax, shown, color=colour, label=method)
    ax.plot(0, 0, "*", color="k", ms=9)
    ax.set_xlim(-2.4, 2.4)
    ax.set_ylim(-2.4, 2.4)
    ax.set_aspect("equal")
    ax.set_xlabel("$x$ (minimising player)")
    ax.set_ylabel("$y$ (maximising player)")
    ax.set_title(rf"{method}, $\gamma = {lr:.2f}$, {GAME_STEPS} steps", fontsize=10)
    ax.legend(loc="upper right", fontsize=8)
    for k, name in enumerate(games.METHODS):
        rho = games.spectral_radius(name, GAME_LRS)
        bold = name == method
        bx.plot(GAME_LRS, rho, color=PALETTE[k], lw=2.4 if bold else 1.0, alpha=1 if bold else 0.6, label=name)
    bx.plot(lr, games.spectral_radius(method, lr), "o", color=colour, mec="k", ms=8)
    bx.axhline(1.0, color="0.3", lw=0.8)
    bx.set_ylim(0.4, 1.6)
    bx.set_xlabel(r"step $\gamma$")
    bx.set_ylabel(r"spectral radius $\rho$ of the map")
    bx.legend(fontsize=8, loc="upper left")
    return fig


game_explorer = Explorer(
    draw=game_methods,
    controls={
        "method": Choice(games.METHODS, "extragradient", "method"),
        "lr": Slider(0.02, 1.0, 0.02, 0.3, "step γ"),
    },
    main="lr",
    fmt="{:.2f}",
)
