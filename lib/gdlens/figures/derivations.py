"""Figures of the chapter *Three roads to gradient descent*."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from gdlens import optimizers
from gdlens.landscapes import ill_conditioned
from gdlens.plotting import PALETTE, Explorer, Slider, contour, path

X0 = np.array([-1.6, 1.1])
STEPS = 40


def quadratic_paths(lr: float, condition: float):
    """GD and Newton on a 2-D quadratic with smoothness L = 1 and the given condition number.

    Left: the two paths over the contours; right: the loss against the step. ``lr`` is in units of
    1/L, so GD converges for 0 < lr < 2.
    """
    f = ill_conditioned(condition, smoothness=1.0)
    gd = optimizers.gd(f.grad, X0, lr=lr, steps=STEPS)
    newton = optimizers.newton(f.grad, f.hess, X0, steps=STEPS)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.4, 3.4), width_ratios=[1.1, 1])
    contour(ax, f.value, (-2.2, 2.2), (-2.2, 2.2), levels=12, log=True)
    path(ax, gd[np.all(np.abs(gd) < 5, axis=1)], label="gradient descent", color=PALETTE[0])
    path(ax, newton[:2], label="Newton", color=PALETTE[1], marker="s")
    ax.plot(0, 0, "*", color="k", ms=9)
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.set_title(rf"$\kappa = {condition:.0f}$, $\gamma = {lr:.2f}/L$")
    ax.legend(loc="lower right", fontsize=8)
    with np.errstate(all="ignore"):
        loss_gd = f.value(gd)
    rate = np.max(np.abs(1 - lr * f.eigenvalues))
    steps = np.arange(STEPS + 1)
    bx.semilogy(steps, loss_gd, color=PALETTE[0], label="gradient descent")
    finite = np.isfinite(loss_gd) & (loss_gd > 0)
    anchor = loss_gd[finite][-1] / rate ** (2 * steps[finite][-1]) if rate > 0 else 0.0
    label = r"$\propto \rho^{2t}$, $\rho = \max_i|1-\gamma\lambda_i|$"
    bx.semilogy(steps, anchor * rate ** (2 * steps), "--", color="0.4", label=label)
    bx.semilogy([0, 1], [f.value(X0), max(f.value(newton[1]), 1e-30)], "s-", color=PALETTE[1], label="Newton")
    bx.set_ylim(1e-12, 1e6)
    bx.set_xlabel("step $t$")
    bx.set_ylabel(r"loss $L(\theta_t)$")
    bx.legend(fontsize=8, loc="upper right")
    return fig


quadratic_explorer = Explorer(
    draw=quadratic_paths,
    controls={
        "lr": Slider(0.05, 2.2, 0.05, 1.0, "step γ (units of 1/L)"),
        "condition": Slider(1.0, 50.0, 1.0, 10.0, "condition number κ"),
    },
    main="lr",
    fmt="{:.2f}",
)
