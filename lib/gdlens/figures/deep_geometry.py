"""Figures of the chapter *A network uncrumples the paper ball*.

The central experiment (:func:`experiment`, computed once per data set and cached) trains a ReLU
network on two intertwined classes, keeps its parameters every few epochs, and fits a linear probe
to every layer of every snapshot. The explorer shows one layer at one epoch, seen in a 2-D view of the
layer's representation, next to the probe accuracies of all layers. The morph explorer shows the
trained network's layers as one continuous deformation (an interpolation between consecutive layers'
standardised 2-D views), after Olah, "Neural Networks, Manifolds, and Topology" (2014).

``SEED`` seeds the explorers' default run; the chapter passes its own seed (``experiment(name, seed)``),
so every claim it makes derives from the chapter's ``SEED``.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np

from gdlens import data, nets
from gdlens.plotting import PALETTE, Choice, Explorer, Slider

SEED = 1
N_POINTS = 600
WIDTH, DEPTH = 16, 4  # hidden layers
EPOCHS, SNAPSHOT_EVERY = 110, 10
LR, BETA, BATCH = 0.02, 0.9, 32
DATASETS = ("spirals", "sheets")
CLASS_COLORS = (PALETTE[0], PALETTE[1])  # blue and vermilion: the two sheets of paper


class View(NamedTuple):
    """A 2-D view of one layer: data coordinates, grid-line coordinates, the probe's boundary, axis names."""

    points: np.ndarray
    grid: np.ndarray
    boundary: tuple  # ("vline", x) or ("line", w, b) for raw 2-D coordinates
    xlabel: str
    ylabel: str


class Experiment(NamedTuple):
    name: str
    X: np.ndarray
    y: np.ndarray
    net: nets.MLP
    history: nets.History
    epochs: np.ndarray
    separability: np.ndarray  # (snapshots, layers + 1)
    probes: list  # probes[s][l]
    grid: np.ndarray  # grid lines in input space, (lines, points, dim)
    grid_side: np.ndarray  # which sheet (class) each grid line lies on, or -1


def _grid(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Grid lines: the input plane for the spirals, the flat paper of each sheet for the sheets."""
    s = np.linspace(0.0, 1.0, 80)
    if name == "spirals":
        ticks = np.linspace(-1.0, 1.0, 9)
        lines = [np.stack([np.full_like(s, t), 2 * s - 1], -1) for t in ticks]
        lines += [np.stack([2 * s - 1, np.full_like(s, t)], -1) for t in ticks]
        return np.array(lines), np.full(len(lines), -1)
    lines, sides = [], []
    for side in (0, 1):
        for v in np.linspace(-1.0, 1.0, 5):  # lines along the roll
            lines.append(data.sheet_map(s, v, side))
            sides.append(side)
        for u in np.linspace(0.0, 1.0, 7):  # lines across the roll
            lines.append(data.sheet_map(u, 2 * s - 1, side))
            sides.append(side)
    return np.array(lines), np.array(sides)


@functools.cache
def experiment(name: str = "spirals", seed: int = SEED) -> Experiment:
    """Train the chapter's network on ``name`` ("spirals" or "sheets") and probe every layer of every snapshot.

    Seeded by ``seed`` (the module's fixed ``SEED`` by default; the chapter passes its own) and
    deterministic; cached, so the chapter and the explorers share one run per seed.
    """
    if name not in DATASETS:
        raise ValueError(f"name must be one of {DATASETS}, got {name!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    rng = np.random.default_rng([int(seed), DATASETS.index(name)])
    if name == "spirals":
        X, y = data.two_spirals(N_POINTS, rng=rng, turns=2.0, noise=0.02)
    else:
        X, y = data.crumpled_sheets(N_POINTS, rng=rng)
    net = nets.MLP([X.shape[1]] + [WIDTH] * DEPTH + [2], rng=rng)
    history = nets.train(
        net, X, y, lr=LR, epochs=EPOCHS, batch_size=BATCH, rng=rng, beta=BETA, snapshot_every=SNAPSHOT_EVERY
    )
    probes = []
    for snap in history.snapshots:
        acts = nets.load(net, snap).forward(X)
        probes.append([nets.linear_probe(h, y, n_classes=2) for h in acts])
    sep = np.array([[p.accuracy for p in row] for row in probes])
    grid, sides = _grid(name)
    epochs = np.array([s.epoch for s in history.snapshots])
    return Experiment(name, X, y, net, history, epochs, sep, probes, grid, sides)


def layer_name(layer: int, n_layers: int) -> str:
    if layer == 0:
        return "input"
    return "logits" if layer == n_layers else f"hidden layer {layer}"


def view(ex: Experiment, snapshot: int, layer: int, *, project: bool = False) -> View:
    """The 2-D view of ``layer`` at snapshot index ``snapshot``.

    A 2-D layer is shown as it is. A wider one is projected on two directions: the normal of the
    linear probe's boundary (horizontal axis, so the probe's cut is a vertical line) and the leading
    principal direction of the data orthogonal to it. Both coordinates are standardised scores (mean 0,
    standard deviation 1 over the data), so every layer fills its panel whatever its scale; the vertical
    sign is chosen so that class 1 has the larger mean (a fixed orientation from layer to layer).
    """
    net = nets.load(ex.net, ex.history.snapshots[snapshot])
    H = net.forward(ex.X)[layer]
    G = net.forward(ex.grid)[layer]
    probe = ex.probes[snapshot][layer]
    w = probe.weights[:, 1] - probe.weights[:, 0]
    c = probe.bias[1] - probe.bias[0]
    if H.shape[1] == 2 and not project:
        kind = "input coordinate" if layer == 0 else ("logit" if layer == net.n_layers else "unit")
        return View(H, G, ("line", w, c), f"{kind} 1", f"{kind} 2")
    norm = np.linalg.norm(w)
    d1 = w / norm if norm > 0 else np.eye(H.shape[1])[0]
    mean = H.mean(axis=0)
    R = (H - mean) - np.outer((H - mean) @ d1, d1)
    _, _, vt = np.linalg.svd(R, full_matrices=False)
    d2 = vt[0] - (vt[0] @ d1) * d1
    d2 /= np.linalg.norm(d2)
    P = np.stack([d1, d2], axis=1)
    pts = (H - mean) @ P
    sd = pts.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    if pts[ex.y == 1, 1].mean() < pts[ex.y == 0, 1].mean():
        sd[1] = -sd[1]
    cut = -(c + mean @ w) / norm / sd[0] if norm > 0 else 0.0
    return View(
        pts / sd, ((G - mean) @ P) / sd, ("vline", cut), "probe score (standardised)", r"principal score $\perp$"
    )


def draw_view(ax, ex: Experiment, snapshot: int, layer: int, *, title: bool = True, small: bool = False) -> None:
    v = view(ex, snapshot, layer)
    for line, side in zip(v.grid, ex.grid_side, strict=True):
        color = "0.55" if side < 0 else CLASS_COLORS[side]
        ax.plot(line[:, 0], line[:, 1], "-", color=color, lw=0.5, alpha=0.5 if side < 0 else 0.35)
    for k in (0, 1):
        pts = v.points[ex.y == k]
        ax.plot(pts[:, 0], pts[:, 1], "o", ms=1.6 if small else 2.2, mew=0, color=CLASS_COLORS[k], label=f"class {k}")
    lo, hi = np.quantile(v.points, [0.0, 1.0], axis=0)
    pad = 0.08 * (hi - lo) + 1e-9
    ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
    ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    if v.boundary[0] == "vline":
        ax.axvline(v.boundary[1], color="k", lw=1, ls="--")
    else:
        _, w, c = v.boundary
        xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 2)
        if abs(w[1]) > 1e-12:
            ax.plot(xs, -(c + w[0] * xs) / w[1], "k--", lw=1)
        elif abs(w[0]) > 1e-12:
            ax.axvline(-c / w[0], color="k", lw=1, ls="--")
    ax.set_xlabel(v.xlabel, fontsize=8 if small else None)
    ax.set_ylabel(v.ylabel, fontsize=8 if small else None)
    if small:
        ax.tick_params(labelsize=7)
    if title:
        acc = ex.separability[snapshot, layer]
        ax.set_title(f"{layer_name(layer, ex.net.n_layers)}: probe {acc:.3f}", fontsize=9 if small else None)


def _snapshot_index(ex: Experiment, epoch: float) -> int:
    return int(np.argmin(np.abs(ex.epochs - epoch)))


def uncrumple(layer: float = 3, epoch: float = EPOCHS, dataset: str = "spirals", seed: int = SEED):
    """One layer of the trained network at one epoch (left) and the probe accuracy of every layer (right)."""
    ex = experiment(dataset, seed)
    layer = int(round(layer))
    s = _snapshot_index(ex, epoch)
    # a fixed layout (no constrained-layout solver): this figure is redrawn for every frame
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8, 3.2), width_ratios=[1.1, 1], layout="none")
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.15, top=0.91, wspace=0.25)
    draw_view(ax, ex, s, layer, title=False)
    ax.set_title(f"{dataset}, {layer_name(layer, ex.net.n_layers)}, epoch {ex.epochs[s]}", fontsize=10)
    layers = np.arange(ex.separability.shape[1])
    for k in range(len(ex.epochs)):
        bx.plot(layers, ex.separability[k], "-", color="0.8", lw=0.8)
    bx.plot(layers, ex.separability[s], "o-", color=PALETTE[2], label=f"epoch {ex.epochs[s]}")
    bx.plot([layer], [ex.separability[s, layer]], "o", ms=11, mfc="none", mec="k")
    bx.set_ylim(0.45, 1.03)
    bx.set_xticks(layers, ["in"] + [f"h{i}" for i in layers[1:-1]] + ["out"])
    bx.set_xlabel("layer")
    bx.set_ylabel("linear probe accuracy")
    bx.legend(loc="lower right", fontsize=8)
    return fig


def all_layers(dataset: str = "spirals", epoch: float = EPOCHS, seed: int = SEED):
    """Every layer of the network at one epoch, input first, in two rows."""
    ex = experiment(dataset, seed)
    s = _snapshot_index(ex, epoch)
    n = ex.separability.shape[1]
    cols = (n + 1) // 2
    fig, axes = plt.subplots(2, cols, figsize=(8, 5.4), layout="none")
    fig.subplots_adjust(left=0.08, right=0.99, bottom=0.09, top=0.95, wspace=0.38, hspace=0.42)
    for layer, ax in enumerate(axes.ravel()[:n]):
        draw_view(ax, ex, s, layer, small=True)
    return fig


@functools.cache
def _views(dataset: str, seed: int) -> tuple:
    ex = experiment(dataset, seed)
    s = len(ex.epochs) - 1
    return tuple(view(ex, s, layer, project=True) for layer in range(ex.separability.shape[1]))


def morph(depth: float = 0.0, dataset: str = "sheets", seed: int = SEED):
    """The trained network's layers as one continuous deformation: ``depth`` runs from 0 (input) to the logits.

    At ``depth = l + s`` (``0 <= s <= 1``) the points are ``(1 - s) V_l + s V_{l+1}``, the straight-line
    interpolation between the standardised 2-D views (:func:`view`, always projected) of layer ``l`` and
    layer ``l + 1``, in the spirit of Olah's animations of a network's layers (2014).
    """
    ex = experiment(dataset, seed)
    views = _views(dataset, seed)
    depth = float(np.clip(depth, 0.0, len(views) - 1))
    lo = min(int(np.floor(depth)), len(views) - 2)
    frac = depth - lo
    a, b = views[lo], views[lo + 1]
    pts = (1 - frac) * a.points + frac * b.points
    grid = (1 - frac) * a.grid + frac * b.grid
    cut = (1 - frac) * a.boundary[1] + frac * b.boundary[1]
    fig, ax = plt.subplots(figsize=(5.2, 4.2), layout="none")
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.12, top=0.9)
    for line, side in zip(grid, ex.grid_side, strict=True):
        color = "0.55" if side < 0 else CLASS_COLORS[side]
        ax.plot(line[:, 0], line[:, 1], "-", color=color, lw=0.5, alpha=0.5 if side < 0 else 0.35)
    for k in (0, 1):
        ax.plot(*pts[ex.y == k].T, "o", ms=2.2, mew=0, color=CLASS_COLORS[k], label=f"class {k}")
    ax.axvline(cut, color="k", lw=1, ls="--")
    ax.set_xlim(-3.5, 3.5)
    ax.set_ylim(-3.5, 3.5)
    ax.set_xlabel("probe score (standardised)")
    ax.set_ylabel(r"principal score $\perp$ (standardised)")
    names = [layer_name(i, ex.net.n_layers) for i in (lo, lo + 1)]
    ax.set_title(f"{dataset}: {names[0]} → {names[1]}, {100 * frac:.0f}% of the way", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def affine_relu_grid():
    """A 2-D grid through one dense layer: the affine map keeps it a grid, the ReLU folds it."""
    W = np.array([[1.0, 0.6], [-0.5, 1.0]])
    b = np.array([-0.3, 0.2])
    s = np.linspace(-1, 1, 60)
    ticks = np.linspace(-1, 1, 11)
    lines = [np.stack([np.full_like(s, t), s], -1) for t in ticks] + [
        np.stack([s, np.full_like(s, t)], -1) for t in ticks
    ]
    fig, axes = plt.subplots(1, 3, figsize=(8, 2.9))
    stages = [("input $x$", lambda p: p), ("affine $xW + b$", lambda p: p @ W + b)]
    stages.append(("ReLU$(xW + b)$", lambda p: np.maximum(p @ W + b, 0)))
    for ax, (title, f) in zip(axes, stages, strict=True):
        for i, line in enumerate(lines):
            q = f(line)
            ax.plot(q[:, 0], q[:, 1], color=PALETTE[0] if i < len(ticks) else PALETTE[1], lw=0.8)
        corner = f(np.array([[1.0, 1.0]]))[0]
        ax.plot(*corner, "k*", ms=8)
        ax.set_title(title)
        ax.set_xlabel("coordinate 1")
        ax.set_aspect("equal")
        ax.set_xlim(-2.0, 2.0)
        ax.set_ylim(-2.0, 2.0)
    axes[0].set_ylabel("coordinate 2")
    return fig


explorer = Explorer(
    draw=uncrumple,
    controls={
        "layer": Slider(0, DEPTH + 1, 1, 3, "layer"),
        "epoch": Slider(0, EPOCHS, SNAPSHOT_EVERY, EPOCHS, "epoch"),
        "dataset": Choice(DATASETS, "spirals", "data set"),
    },
    main="epoch",
    fmt="{:.0f}",
)


morph_explorer = Explorer(
    draw=morph,
    controls={
        "depth": Slider(0, DEPTH + 1, 0.1, 0, "depth"),
        "dataset": Choice(DATASETS, "sheets", "data set"),
    },
    main="depth",
    fmt="{:.1f}",
)


def computational_graph():
    """The computational graph of a three-layer network and its loss, forward above, backward below."""
    fig, ax = plt.subplots(figsize=(8, 2.4))
    nodes = ["$X$", "$z_1$", "$h_1$", "$z_2$", "$h_2$", "$z_3$", "$L$"]
    ops = [r"$\cdot W_1 + b_1$", "relu", r"$\cdot W_2 + b_2$", "relu", r"$\cdot W_3 + b_3$", "softmax CE"]
    local = [
        r"$\partial W_1 = X^\top\delta_1$",
        r"$\odot[z_1>0]$",
        r"$\delta_2 W_2^\top$",
        r"$\odot[z_2>0]$",
        r"$\delta_3 W_3^\top$",
        r"$(p - Y)/n$",
    ]
    xs = np.arange(len(nodes)) * 1.3
    for x, name in zip(xs, nodes, strict=True):
        ax.text(
            x, 0, name, ha="center", va="center", fontsize=12, bbox={"boxstyle": "circle", "fc": "white", "ec": "0.3"}
        )
    for i, (op, loc) in enumerate(zip(ops, local, strict=True)):
        a, b = xs[i] + 0.25, xs[i + 1] - 0.25
        ax.annotate("", (b, 0.12), (a, 0.12), arrowprops={"arrowstyle": "->", "color": PALETTE[0]})
        ax.text((a + b) / 2, 0.32, op, ha="center", fontsize=10, color=PALETTE[0])
        ax.annotate("", (a, -0.12), (b, -0.12), arrowprops={"arrowstyle": "->", "color": PALETTE[1]})
        ax.text((a + b) / 2, -0.45, loc, ha="center", fontsize=9.5, color=PALETTE[1])
    ax.text(xs[0] - 0.4, 0.75, "forward pass: values", color=PALETTE[0], fontsize=9)
    ax.text(
        xs[0] - 0.4,
        -0.85,
        r"backward pass: gradients $\delta = \partial L / \partial(\cdot)$",
        color=PALETTE[1],
        fontsize=9,
    )
    ax.set_xlim(xs[0] - 0.6, xs[-1] + 0.6)
    ax.set_ylim(-1.0, 1.0)
    ax.axis("off")
    return fig
