"""The chapters as stored: executed, every glued number present, every nbval exception explained.

nbval compares stored outputs with a fresh run, so a notebook saved without outputs would pass it
untested; these checks close that gap and enforce the chapter contract's bookkeeping.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]-*.ipynb"))
GLUE_REF = re.compile(r"\{glue(?::[a-z]+)?\}`([A-Za-z_][A-Za-z0-9_]*)")


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _source(cell):
    return "".join(cell["source"])


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_glued_name_in_the_prose_is_stored(path):
    cells = _cells(path)
    stored = {
        out.get("metadata", {}).get("scrapbook", {}).get("name")
        for cell in cells
        if cell["cell_type"] == "code"
        for out in cell.get("outputs", [])
    }
    used = {name for cell in cells if cell["cell_type"] == "markdown" for name in GLUE_REF.findall(_source(cell))}
    assert used, f"{path.name} glues no number into its prose"
    assert used <= stored, f"{path.name}: glued in prose but not stored (execute the notebook): {sorted(used - stored)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_executed_without_errors_in_order(path):
    # A live-widget cell is tagged skip-execution: headless runs (nbval, the build) never execute it.
    code = [
        c
        for c in _cells(path)
        if c["cell_type"] == "code" and _source(c).strip() and "skip-execution" not in c["metadata"].get("tags", [])
    ]
    counts = [c["execution_count"] for c in code]
    assert all(n is not None for n in counts), f"{path.name} has unexecuted cells"
    assert counts == sorted(counts), f"{path.name} was not executed top to bottom"
    errors = [o for c in code for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert not errors, f"{path.name} stores an error output"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_nbval_exceptions_say_why(path):
    for cell in _cells(path):
        if "nbval-ignore-output" in cell.get("metadata", {}).get("tags", []):
            first = _source(cell).lstrip().splitlines()[0]
            assert first.startswith("#"), (
                f"{path.name}: an nbval-ignore-output cell must begin with a comment saying why"
            )


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_listed_in_the_toc(path):
    assert f"chapters/{path.stem}" in (ROOT / "_toc.yml").read_text()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_live_widgets_are_never_executed_headless(path):
    for cell in _cells(path):
        if cell["cell_type"] == "code" and ".live()" in _source(cell):
            tags = set(cell["metadata"].get("tags", []))
            assert {"skip-execution", "nbval-skip"} <= tags, f"{path.name}: a live-widget cell must be skipped headless"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_seed_comes_from_the_environment(path):
    sources = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "code")
    assert "SEED = chapter_seed(" in sources, f"{path.name}: SEED must come from gdlens.repro.chapter_seed"
    assert "claim(" in sources, f"{path.name} states no claim"


def test_no_name_is_glued_twice():
    """myst-nb warns (and the strict build fails) when two outputs glue the same name: find it here first."""
    seen: dict[str, str] = {}
    twice = []
    for path in CHAPTERS:
        for cell in _cells(path):
            for out in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
                name = out.get("metadata", {}).get("scrapbook", {}).get("name")
                if name is not None:
                    if name in seen:
                        twice.append(f"{name} ({seen[name]} and {path.name})")
                    seen[name] = path.name
    assert not twice, f"glued more than once: {twice}"
