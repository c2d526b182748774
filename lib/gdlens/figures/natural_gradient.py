"""Figures of the chapter *Natural gradient: steepest descent in the model's geometry*."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from gdlens import natural as nat
from gdlens.plotting import PALETTE, Choice, Explorer, Slider

TARGET = (1.0, 1.0)
START = (-1.0, 2.0)
STEPS = 60
LABELS = {"sigma": r"$(\mu, \sigma)$", "log_sigma": r"$(\mu, \log\sigma)$", "variance": r"$(\mu, \sigma^2)$",
          "precision": r"$(\mu, 1/\sigma^2)$", "natural": r"$(\eta_1, \eta_2)$ natural",
          "expectation": r"$(\mu, \mu^2 + \sigma^2)$", "affine": r"affine mix of $(\mu, \sigma)$"}  # fmt: skip


def _kl_contours(ax, xlim=(-1.6, 1.8), ylim=(0.3, 3.2)):
    mus, sigmas = np.meshgrid(np.linspace(*xlim, 60), np.linspace(*ylim, 60))
    kl = nat.kl_gaussian(TARGET[0], TARGET[1], mus, sigmas)
    ax.contour(mus, sigmas, kl, levels=np.geomspace(0.01, 3, 9), colors="0.75", linewidths=0.7)
    ax.plot(*TARGET, "*", color="k", ms=10, zorder=5)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel(r"mean $\mu$")
    ax.set_ylabel(r"standard deviation $\sigma$")


def invariance_paths(lr: float = 0.1, steps: int = STEPS):
    """Natural-gradient (left) and plain gradient descent (right) fits of a Gaussian in seven parametrisations.

    Paths are drawn in the (μ, σ) plane over contours of the loss KL(target ‖ model).
    """
    fig, axes = plt.subplots(1, 2, figsize=(8.4, 3.4), sharey=True)
    for ax, method, title in zip(axes, ("natural", "gd"), ("natural gradient", "gradient descent"), strict=True):
        _kl_contours(ax)
        for i, p in enumerate(nat.ALL_PARAMETRIZATIONS):
            path = nat.fit_gaussian(TARGET, START, p, method=method, lr=lr, steps=steps)
            path = path[np.all(np.isfinite(path), axis=1)]
            ax.plot(path[:, 0], path[:, 1], "-o", ms=2, lw=1.2, color=PALETTE[i], label=LABELS[p], alpha=0.85)
        ax.set_title(f"{title}, $\\gamma = {lr:g}$")
    axes[1].set_ylabel("")
    axes[0].legend(fontsize=7, loc="upper right")
    return fig


def parametrization_paths(parametrization: str = "precision", lr: float = 0.1):
    """Explorer: in one parametrisation, plain GD against natural gradient; left the paths, right the loss."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8.0, 3.2), width_ratios=[1.1, 1])
    _kl_contours(ax)
    losses = {}
    for method, color, name in (("natural", PALETTE[0], "natural gradient"), ("gd", PALETTE[1], "gradient descent")):
        path = nat.fit_gaussian(TARGET, START, parametrization, method=method, lr=lr, steps=STEPS)
        ok = np.all(np.isfinite(path), axis=1)
        ax.plot(path[ok, 0], path[ok, 1], "-o", ms=2, lw=1.2, color=color, label=name)
        losses[name] = np.where(ok, nat.kl_gaussian(TARGET[0], TARGET[1], *np.where(ok[:, None], path, 1.0).T), np.nan)
    ax.set_title(f"parametrisation {LABELS[parametrization]}, $\\gamma = {lr:.2f}$", fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    for (name, values), color in zip(losses.items(), (PALETTE[0], PALETTE[1]), strict=True):
        bx.semilogy(np.arange(values.size), np.maximum(values, 1e-16), color=color, label=name)
    bx.set_ylim(1e-8, 10)
    bx.set_xlabel("step $t$")
    bx.set_ylabel(r"loss $L = \mathrm{KL}(p_\star \| p_{\theta_t})$")
    bx.legend(fontsize=8)
    return fig


parametrization_explorer = Explorer(
    draw=parametrization_paths,
    controls={
        "lr": Slider(0.02, 0.3, 0.02, 0.1, "step γ"),
        "parametrization": Choice(nat.ALL_PARAMETRIZATIONS, "precision", "parametrisation"),
    },
    main="lr",
    fmt="{:.2f}",
)


def asymmetry(weights, means, sigmas, forward: tuple[float, float], reverse: tuple[float, float]):
    """A bimodal target and its best single-Gaussian fits under KL(p‖q) and KL(q‖p)."""
    fig, ax = plt.subplots(figsize=(7.0, 3.0))
    x = np.linspace(-5, 5, 600)
    ax.fill_between(x, np.exp(nat.mixture_logpdf(x, weights, means, sigmas)), color="0.85", label="target $p$")
    ax.plot(x, np.exp(nat.gaussian_logpdf(x, *forward)), color=PALETTE[0], lw=2, label=r"argmin KL$(p\|q)$")
    ax.plot(x, np.exp(nat.gaussian_logpdf(x, *reverse)), color=PALETTE[1], lw=2, ls="--", label=r"argmin KL$(q\|p)$")
    ax.set_xlabel("$x$")
    ax.set_ylabel("density")
    ax.legend(fontsize=8, loc="upper left")
    return fig
