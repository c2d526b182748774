"""The reproducibility note that closes every chapter: when it ran, on what, with which seeds, how fast."""

from __future__ import annotations

import datetime
import os
import platform
import time

import matplotlib
import numpy as np
from IPython.display import Markdown

SEED_ENV = "GDLENS_SEED"


def chapter_seed(default: int) -> int:
    """The chapter's seed: ``GDLENS_SEED`` from the environment when set, else the chapter's own ``default``.

    ``make robust`` re-executes every chapter under other seeds this way, with no edit to the notebook.
    """
    if isinstance(default, bool) or not isinstance(default, int) or default < 0:
        raise ValueError(f"default must be a non-negative integer seed, got {default!r}")
    text = os.environ.get(SEED_ENV)
    if text is None or text.strip() == "":
        return default
    try:
        seed = int(text)
    except ValueError:
        raise ValueError(f"{SEED_ENV} must be a non-negative integer, got {text!r}") from None
    if seed < 0:
        raise ValueError(f"{SEED_ENV} must be a non-negative integer, got {text!r}")
    return seed


class Timer:
    """Wall-clock time since the chapter started (create it in the chapter's first code cell)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        """Seconds since creation."""
        return time.perf_counter() - self.start


def reproducibility_note(seeds: dict[str, int], timer: Timer) -> Markdown:
    """A Markdown table: date, Python, numpy, matplotlib, gdlens, the seeds, and the execution time.

    The date and the time differ on every run, so the cell that shows the note is the one cell of a
    chapter that nbval does not compare (tag it ``nbval-ignore-output``).
    """
    import gdlens

    rows = [
        ("executed", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("Python", platform.python_version()),
        ("numpy", np.__version__),
        ("matplotlib", matplotlib.__version__),
        ("gdlens", gdlens.__version__),
        ("seeds", ", ".join(f"`{k} = {v}`" for k, v in seeds.items()) or "none"),
        ("execution time", f"{timer.elapsed():.1f} s"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return Markdown("| | |\n|---|---|\n" + table)
