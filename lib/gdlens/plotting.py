"""The book's figure style, its recurring plots, and its explorers (a live widget plus a static twin).

Importing this module applies the book's style: one font size, a colour-blind-safe palette
(Okabe & Ito), light grids. Every interactive figure in the book is an :class:`Explorer`: a pure
function ``draw(**params) -> Figure`` with its controls. In Jupyter, :meth:`Explorer.live` puts
ipywidgets over ``draw``; on the static website, where no kernel runs, :meth:`Explorer.static`
renders ``draw`` over a sweep of the main parameter as a :class:`Scrubber`, a self-contained HTML
figure with a slider, step buttons and a play button.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from gdlens import _checks

#: Okabe & Ito's colour-blind-safe palette, in the order the book uses it.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "legend.frameon": False,
    "image.cmap": "viridis",
    "figure.constrained_layout.use": True,
    "svg.hashsalt": "gdlens",
}


def use_style() -> None:
    """Apply the book's matplotlib style (done once on import).

    Inside a Jupyter kernel it also makes sure figures show inline: an ``MPLBACKEND=Agg`` inherited
    from a headless shell would otherwise win over the kernel's inline backend, and every figure of a
    chapter would silently vanish from its stored outputs.
    """
    mpl.rcParams.update(STYLE)
    if "ipykernel" in sys.modules and mpl.get_backend().lower() == "agg":
        plt.switch_backend("module://matplotlib_inline.backend_inline")


use_style()


# --- recurring plots -------------------------------------------------------------------------


def contour(
    ax, f: Callable[[np.ndarray], np.ndarray], xlim, ylim, *, levels: int = 20, log: bool = False, n: int = 200
):
    """Filled-line contours of a 2-D function ``f`` (vectorised over points ``(..., 2)``) on ``ax``.

    With ``log=True`` the levels are spaced geometrically above the minimum on the grid, which shows
    the narrow valleys of ill-conditioned problems.
    """
    xs, ys = np.linspace(*xlim, n), np.linspace(*ylim, n)
    X, Y = np.meshgrid(xs, ys)
    Z = f(np.stack([X, Y], axis=-1))
    if log:
        lo = Z.min()
        lv = lo + np.geomspace(1e-3 * (Z.max() - lo) + 1e-12, Z.max() - lo, levels)
        cs = ax.contour(X, Y, Z, levels=lv, colors="0.6", linewidths=0.7)
    else:
        cs = ax.contour(X, Y, Z, levels=levels, colors="0.6", linewidths=0.7)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    return cs


def path(ax, trajectory, *, label: str | None = None, color=None, marker: str = "o", every: int = 1):
    """Draw a 2-D trajectory (rows are iterates) as a line with markers; non-finite rows are dropped."""
    t = np.asarray(trajectory, dtype=np.float64)
    t = t[np.all(np.isfinite(t), axis=-1)]
    (line,) = ax.plot(t[:, 0], t[:, 1], "-", color=color, lw=1.2, label=label)
    ax.plot(t[::every, 0], t[::every, 1], marker, color=line.get_color(), ms=3)
    return line


def loss_curves(ax, curves: dict[str, np.ndarray], *, xlabel: str = "step", ylabel: str = "loss", log: bool = True):
    """Plot named loss curves against the step index (log scale by default)."""
    for name, values in curves.items():
        values = np.asarray(values, dtype=np.float64)
        ax.plot(np.arange(len(values)), values, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()


# --- explorers: a live widget and its static twin --------------------------------------------


@dataclass(frozen=True)
class Slider:
    """A numeric control: ``lo`` to ``hi`` in steps of ``step``, starting at ``value``."""

    lo: float
    hi: float
    step: float
    value: float
    label: str

    def __post_init__(self):
        if not (self.lo < self.hi and self.step > 0 and self.lo <= self.value <= self.hi):
            raise ValueError(f"Slider needs lo < hi, step > 0 and lo <= value <= hi, got {self!r}")

    @property
    def ends(self) -> tuple[float, float]:
        return (self.lo, self.hi)

    def sweep(self, frames: int) -> np.ndarray:
        return np.linspace(self.lo, self.hi, frames)

    def widget(self):
        import ipywidgets

        return ipywidgets.FloatSlider(
            value=self.value,
            min=self.lo,
            max=self.hi,
            step=self.step,
            description=self.label,
            continuous_update=False,
            style={"description_width": "initial"},
        )


@dataclass(frozen=True)
class Choice:
    """A discrete control: one of ``options``, starting at ``value``."""

    options: tuple
    value: object
    label: str

    def __post_init__(self):
        if self.value not in self.options:
            raise ValueError(f"Choice value must be one of {self.options!r}, got {self.value!r}")

    @property
    def ends(self) -> tuple:
        return tuple(self.options)

    def sweep(self, frames: int) -> list:
        return list(self.options)

    def widget(self):
        import ipywidgets

        return ipywidgets.Dropdown(options=list(self.options), value=self.value, description=self.label)


@dataclass(frozen=True)
class Explorer:
    """An interactive figure: ``draw(**params) -> Figure`` and its named controls.

    ``main`` names the control that the static counterpart sweeps; ``fmt`` formats its value in the
    frame label.
    """

    draw: Callable[..., Figure]
    controls: dict
    main: str
    fmt: str = "{:.3g}"

    def __post_init__(self):
        if self.main not in self.controls:
            raise ValueError(f"main must name one of the controls {list(self.controls)}, got {self.main!r}")

    def defaults(self) -> dict:
        return {name: c.value for name, c in self.controls.items()}

    def corners(self) -> list[dict]:
        """Every combination of the controls' extreme values (each slider's ends, every choice)."""
        names = list(self.controls)
        return [
            dict(zip(names, combo, strict=True)) for combo in itertools.product(*(self.controls[n].ends for n in names))
        ]

    def live(self):
        """ipywidgets over ``draw``; needs a running kernel."""
        import ipywidgets

        def show(**params):
            self.draw(**params)
            plt.show()

        return ipywidgets.interactive(show, **{n: c.widget() for n, c in self.controls.items()})

    def static(self, frames: int = 16, **fixed) -> Scrubber:
        """The static counterpart: ``draw`` over a sweep of ``main``, the other controls at their defaults."""
        frames = _checks.count("frames", frames, minimum=2)
        params = {**self.defaults(), **fixed}
        values = self.controls[self.main].sweep(frames)
        label = self.controls[self.main].label
        images = [figure_png(self.draw(**{**params, self.main: v})) for v in values]
        texts = [f"{label} = {v if isinstance(v, str) else self.fmt.format(v)}" for v in values]
        if isinstance(self.controls[self.main], Choice):
            start = values.index(params[self.main])
        else:
            start = int(np.argmin(np.abs(values - params[self.main])))
        return Scrubber(images, texts, start=start, control=label)


def figure_png(fig: Figure, dpi: int = 80) -> bytes:
    """Render a figure to PNG bytes (deterministic: no timestamp or version metadata) and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


_PLAYER_JS = """
(function () {
  var root = document.getElementById("%(id)s");
  var data = JSON.parse(root.querySelector("script.gdlens-frames").textContent);
  var n = data.labels.length;
  var img = root.querySelector("img"), range = root.querySelector("input"),
      out = root.querySelector("output"), play = root.querySelector("button[data-play]"), timer = null;
  // On the website each frame is a file (data.urls); in Jupyter the frames are inline (data.frames).
  function src(i) { return data.urls ? data.urls[i] : "data:image/png;base64," + data.frames[i]; }
  function show(i) {
    i = (i + n) %% n;
    range.value = i;
    range.setAttribute("aria-valuetext", data.labels[i]);
    img.src = src(i);
    img.alt = data.labels[i];
    out.textContent = data.labels[i];
    if (data.urls) { [i - 1, i + 1].forEach(function (j) { new Image().src = src((j + n) %% n); }); }
  }
  range.addEventListener("input", function () { show(parseInt(range.value, 10)); });
  root.querySelectorAll("button[data-step]").forEach(function (b) {
    b.addEventListener("click", function () { show(parseInt(range.value, 10) + parseInt(b.dataset.step, 10)); });
  });
  play.addEventListener("click", function () {
    if (timer) {
      clearInterval(timer); timer = null;
      play.textContent = "\\u25B6 play"; play.setAttribute("aria-pressed", "false"); return;
    }
    play.textContent = "\\u23F8 pause"; play.setAttribute("aria-pressed", "true");
    timer = setInterval(function () { show(parseInt(range.value, 10) + 1); }, 400);
  });
})();
"""


class Scrubber:
    """A self-contained HTML figure: PNG frames with a slider, step buttons and a play button.

    It needs no kernel and no network (no external script or font), so it works on the static
    website and offline. Its element id is a hash of its content, so the same frames give the same
    HTML, bit for bit.
    """

    def __init__(self, images: Sequence[bytes], labels: Sequence[str], *, start: int = 0, control: str = "frame"):
        if len(images) != len(labels) or len(images) < 2:
            raise ValueError(
                f"images and labels must be equal-length lists of >= 2 frames, got {len(images)} and {len(labels)}"
            )
        start = _checks.count("start", start)
        if start >= len(images):
            raise ValueError(f"start must index a frame (< {len(images)}), got {start}")
        self.frames = [base64.b64encode(b).decode("ascii") for b in images]
        self.labels = [str(s) for s in labels]
        self.start = start
        if not isinstance(control, str) or not control.strip():
            raise ValueError(f"control must name what the slider moves, got {control!r}")
        self.control = control
        self.id = "gdlens-scrub-" + hashlib.sha1("".join(self.frames).encode()).hexdigest()[:12]

    def __repr__(self) -> str:
        return f"<Scrubber: {len(self.frames)} frames, {self.labels[0]} … {self.labels[-1]}>"

    def small_multiple(self, panels: int = 6, columns: int = 3) -> bytes:
        """A PNG of ``panels`` evenly spaced frames, each titled with its label: the static figure for print.

        The PDF edition shows this (LaTeX cannot run the slider); the website shows the HTML scrubber.
        """
        panels = _checks.count("panels", panels, minimum=2)
        columns = _checks.count("columns", columns, minimum=1)
        picks = np.unique(np.linspace(0, len(self.frames) - 1, min(panels, len(self.frames))).round().astype(int))
        rows = -(-len(picks) // columns)
        fig, axes = plt.subplots(
            rows, columns, figsize=(3.2 * columns, 2.2 * rows), layout="constrained", squeeze=False
        )
        for ax in axes.flat:
            ax.set_axis_off()
        for ax, i in zip(axes.flat, picks, strict=False):
            ax.imshow(mpl.image.imread(io.BytesIO(base64.b64decode(self.frames[i])), format="png"))
            ax.set_title(self.labels[i], fontsize=9)
        return figure_png(fig, dpi=100)

    def _repr_png_(self) -> bytes:
        return self.small_multiple()

    def _repr_html_(self) -> str:
        data = json.dumps({"frames": self.frames, "labels": self.labels}).replace("</", "<\\/")
        label = html.escape(self.labels[self.start])
        control = html.escape(self.control)
        n = len(self.frames)
        return (
            f'<div class="gdlens-scrubber" id="{self.id}" data-start="{self.start}" role="group"'
            f' aria-label="{control}: a figure over {n} values">'
            f'<img src="data:image/png;base64,{self.frames[self.start]}" alt="{label}" style="max-width:100%">'
            '<div class="gdlens-controls" style="display:flex;gap:.5em;align-items:center;flex-wrap:wrap">'
            f'<button type="button" data-step="-1" aria-label="previous value of {control}">&#8249;</button>'
            f'<button type="button" data-play aria-pressed="false" aria-label="play through {control}">'
            "&#9654; play</button>"
            f'<button type="button" data-step="1" aria-label="next value of {control}">&#8250;</button>'
            f'<input type="range" min="0" max="{n - 1}" step="1" value="{self.start}" aria-label="{control}"'
            f' aria-valuetext="{label}" style="flex:1;min-width:10em">'
            f'<output aria-live="polite">{label}</output></div>'
            f'<script type="application/json" class="gdlens-frames">{data}</script>'
            f"<script>{_PLAYER_JS % {'id': self.id}}</script></div>"
        )
