"""Every explorer in gdlens.figures draws without error at every combination of its controls' extremes."""

import importlib
import pkgutil

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

import gdlens.figures
from gdlens.plotting import Explorer, Scrubber


def _explorers():
    found = []
    for info in pkgutil.iter_modules(gdlens.figures.__path__):
        module = importlib.import_module(f"gdlens.figures.{info.name}")
        found += [(f"{info.name}.{name}", obj) for name, obj in vars(module).items() if isinstance(obj, Explorer)]
    return found


EXPLORERS = _explorers()
CASES = [(name, ex, params) for name, ex in EXPLORERS for params in ex.corners() + [ex.defaults()]]


def test_some_explorers_exist():
    assert EXPLORERS, "gdlens.figures defines no Explorer"


@pytest.mark.parametrize(("name", "explorer", "params"), CASES, ids=[f"{n}-{p}" for n, _, p in CASES])
def test_draw_at_control_extremes(name, explorer, params):
    fig = explorer.draw(**params)
    try:
        assert isinstance(fig, Figure), f"{name}.draw must return a Figure"
        assert fig.axes, f"{name}.draw returned an empty figure"
    finally:
        plt.close(fig)


@pytest.mark.parametrize(("name", "explorer"), EXPLORERS, ids=[n for n, _ in EXPLORERS])
def test_static_counterpart_is_deterministic(name, explorer):
    first, second = explorer.static(frames=3), explorer.static(frames=3)
    assert isinstance(first, Scrubber)
    assert first._repr_html_() == second._repr_html_()
    assert len(set(first.frames)) > 1, f"{name}: sweeping {explorer.main} does not change the figure"
