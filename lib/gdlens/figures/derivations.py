"""Figures of the chapter *Three roads to gradient descent*."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from gdlens import optimizers
from gdlens.landscapes import ill_conditioned
from gdlens.plotting import PALETTE, Explorer, Slider, contour, path

__all__ = ["eigencomponents_figure", "quadratic_explorer", "quadratic_paths", "road1_figure", "road2_figure"]

X0 = np.array([-1.6, 1.1])
STEPS = 40


def quadratic_paths(lr: float, condition: float):
    """GD and Newton on a 2-D quadratic with largest curvature lambda_max = 1 and the given condition number.

    Left: the two paths over the contours; right: the loss against the step. ``lr`` is in units of
    1/lambda_max, so GD converges for 0 < lr < 2.
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
    ax.set_title(rf"$\kappa = {condition:.0f}$, $\gamma = {lr:.2f}/\lambda_{{\max}}$")
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
        "lr": Slider(0.05, 2.2, 0.05, 1.0, "step γ (units of 1/λ_max)"),
        "condition": Slider(1.0, 50.0, 1.0, 10.0, "condition number κ"),
    },
    main="lr",
    fmt="{:.2f}",
)


def road1_figure(value, grad, hess, theta, gammas):
    r"""Road 1: the loss along the gradient step, :math:`L(\theta - \gamma \nabla L)`, against its Taylor models.

    The first-order model :math:`L - \gamma \lVert g \rVert^2` is the tangent at :math:`\gamma = 0`; the
    second-order one adds :math:`\tfrac12 \gamma^2 g^\top H g`. Right: the relative error of the first-order
    model against :math:`\gamma`, on log–log axes (slope one when the remainder is :math:`O(\gamma^2)`).
    """
    theta, gammas = np.asarray(theta, float), np.asarray(gammas, float)
    g, h = grad(theta), hess(theta)
    f0, gg, ghg = float(value(theta)), float(g @ g), float(g @ h @ g)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.6, 3.3))
    ax.plot(gammas, value(theta - gammas[:, None] * g), color="0.2", lw=2, label=r"loss $L(\theta - \gamma g)$")
    ax.plot(gammas, f0 - gammas * gg, "--", color=PALETTE[0], label="first-order model")
    ax.plot(gammas, f0 - gammas * gg + 0.5 * gammas**2 * ghg, ":", color=PALETTE[1], lw=2, label="second-order model")
    ax.axhline(f0, color="0.6", lw=0.8)
    ax.set_ylim(min(f0 - 1.2 * gammas[-1] * gg / 2, ax.get_ylim()[0]), 1.6 * f0)
    ax.set_xlabel(r"learning rate $\gamma$")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8, loc="lower left")
    small = np.geomspace(1e-8, gammas[-1], 60)
    actual = f0 - value(theta - small[:, None] * g)
    with np.errstate(all="ignore"):
        rel = np.abs(1 - actual / (small * gg))
    bx.loglog(small, rel, color="0.2", lw=2, label="measured")
    bx.loglog(small, small * ghg / (2 * gg), "--", color=PALETTE[1], label=r"$\gamma\, g^\top H g / (2\|g\|^2)$")
    bx.set_xlabel(r"learning rate $\gamma$")
    bx.set_ylabel("relative error of the first-order model")
    bx.legend(fontsize=8)
    return fig


def road2_figure(g, M, angles):
    r"""Road 2: the directional derivative :math:`g^\top u` over unit directions, for two ways of measuring length.

    Left: :math:`g^\top u(\alpha)` against the angle between :math:`u` and :math:`g`: the minimum
    :math:`-\lVert g \rVert` sits at :math:`\alpha = \pi`. Right: the unit circle and the ellipse
    :math:`u^\top M u = 1` in the plane, coloured by :math:`g^\top u`, with the steepest direction of each.
    """
    g, M, angles = np.asarray(g, float), np.asarray(M, float), np.asarray(angles, float)
    units = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    ellipse = units / np.sqrt(np.einsum("ni,ij,nj->n", units, M, units))[:, None]
    norm = np.linalg.norm(g)
    rel = np.mod(angles - np.arctan2(g[1], g[0]), 2 * np.pi)
    order = np.argsort(rel)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.6, 3.4), width_ratios=[1.25, 1])
    ax.plot(rel[order] / np.pi, (units @ g)[order], color="0.2", lw=2)
    ax.axhline(-norm, color=PALETTE[1], ls="--", lw=1, label=r"$-\|\nabla L\|$")
    ax.axvline(1.0, color=PALETTE[0], ls=":", lw=1, label=r"$\alpha = \pi$")
    ax.set_xlabel(r"angle $\alpha$ between $u$ and $\nabla L$ (units of $\pi$)")
    ax.set_ylabel(r"slope $\nabla L^\top u$")
    ax.legend(fontsize=8, loc="upper center")
    for pts, colour, label in (
        (units, PALETTE[0], r"$\|u\| = 1$"),
        (ellipse, PALETTE[2], r"$u^\top M u = 1$"),
    ):
        bx.plot(pts[:, 0], pts[:, 1], color=colour, lw=1.5, label=label)
        best = pts[np.argmin(pts @ g)]
        bx.annotate("", xy=best, xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": colour, "lw": 2})
    scale = 0.9 * np.max(np.abs(np.concatenate([units, ellipse]))) / norm
    bx.annotate("", xy=scale * g, xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "0.3", "ls": "--"})
    bx.text(*(scale * g * 1.05), r"$\nabla L$", fontsize=9)
    bx.set_aspect("equal")
    bx.set_xlabel(r"$u_1$")
    bx.set_ylabel(r"$u_2$")
    bx.legend(fontsize=8, loc="lower left")
    return fig


def eigencomponents_figure(steps, components, factors):
    r"""Each eigencomponent :math:`|v_i^\top \theta_t|` of gradient descent on a quadratic against the step.

    ``components`` has shape ``(steps + 1, d)``; ``factors`` the predicted per-step factors
    :math:`|1 - \gamma \lambda_i|`, drawn as lines :math:`|c_i(0)|\, |1 - \gamma\lambda_i|^t`.
    """
    steps, comps, factors = np.arange(steps + 1), np.abs(np.asarray(components, float)), np.asarray(factors, float)
    fig, ax = plt.subplots(figsize=(6.4, 3.5))
    slowest = int(np.argmax(factors))
    for i in range(comps.shape[1]):
        colour = PALETTE[i % len(PALETTE)]
        keep = comps[:, i] > 1e-14 * comps.max(axis=1)  # below that, round-off from the other components
        ax.semilogy(steps[keep], comps[keep, i], "o", ms=3, color=colour)
        label = rf"$|1-\gamma\lambda_{i + 1}| = {factors[i]:.2f}$" + (" (slowest)" if i == slowest else "")
        ax.semilogy(
            steps, comps[0, i] * factors[i] ** steps, "-", lw=2 if i == slowest else 1, color=colour, label=label
        )
    ax.set_ylim(1e-16, 3 * comps[0].max())
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"eigencomponent $|v_i^\top \theta_t|$")
    ax.legend(fontsize=8, loc="lower left")
    return fig
