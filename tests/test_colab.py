"""Colab and Binder: a chapter runs where only a bare Jupyter stack is installed, and environment.yml resolves.

The heavy test builds a virtual environment holding only what Colab provides of the book's stack (Python,
numpy, matplotlib, ipykernel, ipywidgets, at the book's pins), points ``GDLENS_INSTALL_SOURCE`` at a copy of
this checkout (so nothing is built inside the repository), gives a copy of one chapter the install cell of
tools/install_cell.py, and executes it to the end in that environment's kernel through tools/execute.py:
the cell must install gdlens and the rest of the pins, and every later cell must then run. It needs network
access to the package registry. Select these tests with ``-m colab``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import execute  # noqa: E402  (tools/ is not a package)
import install_cell  # noqa: E402

pytestmark = pytest.mark.colab

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]-*.ipynb"))


def _fastest_chapter(default: str = "07-natural-gradient") -> str:
    """The chapter with the smallest median execution time in benchmarks/execution.md (make bench-hangs)."""
    table = ROOT / "benchmarks" / "execution.md"
    rows = re.findall(r"^\| (\d\d-[\w-]+) \| \d+ \| ([\d.]+) \|", table.read_text(), re.M) if table.is_file() else []
    rows = [(float(median), name) for name, median in rows if (ROOT / "chapters" / f"{name}.ipynb").is_file()]
    return min(rows)[1] if rows else default


# The chapter to run in the bare environment: the quickest to execute.
CHAPTER = os.environ.get("GDLENS_COLAB_CHAPTER") or _fastest_chapter()
# What Colab already has of the book's stack; everything else must come from the install cell.
COLAB_PROVIDES = ("numpy", "matplotlib", "ipykernel", "ipywidgets")
# Import names a chapter may use besides the standard library and gdlens: what the install cell installs
# (tools/install_cell.py RUNTIME), plus IPython, which comes with any kernel.
IMPORTS_OF = {"numpy": "numpy", "scipy": "scipy", "matplotlib": "matplotlib", "ipywidgets": "ipywidgets"}
IMPORTS_OF |= {"myst_nb": "myst-nb", "IPython": None, "gdlens": None}


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if "==" in line and not line.lstrip().startswith("#"):
            name, version = line.strip().split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def _imports(source: str) -> set[str]:
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    tree = ast.parse("\n".join(lines))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_imports_are_what_the_install_cell_installs(path):
    """A chapter importing a package the install cell does not install would fail on Colab."""
    nb = nbformat.read(path, as_version=4)
    used = set().union(*(_imports(c.source) for c in nb.cells if c.cell_type == "code"))
    foreign = used - set(sys.stdlib_module_names) - set(IMPORTS_OF)
    assert not foreign, f"{path.name} imports {sorted(foreign)}: add them to tools/install_cell.py RUNTIME"
    assert {d for d in IMPORTS_OF.values() if d} <= set(install_cell.RUNTIME)


def test_runtime_packages_are_pinned():
    pins = _pins()
    missing = [name for name in install_cell.RUNTIME + install_cell.OUTPUT_SHAPING if name not in pins]
    assert not missing, f"tools/install_cell.py names packages requirements.txt does not pin: {missing}"


def test_chapters_carry_the_current_install_cell():
    """Every chapter starts (after its title) with the install cell tools/install_cell.py writes now."""
    source = install_cell.cell_source()
    for path in CHAPTERS:
        nb = nbformat.read(path, as_version=4)
        assert not install_cell.apply(nb, source), f"{path.name}: run `python tools/install_cell.py`"
        assert nb.cells[1].metadata.get("tags") == ["remove-cell"]


def test_install_cell_is_idempotent_and_placed_after_the_title():
    nb = nbformat.read(ROOT / "chapters" / f"{CHAPTER}.ipynb", as_version=4)
    source = install_cell.cell_source(ref="main")
    install_cell.apply(nb, source)
    once = nbformat.writes(nb)
    assert not install_cell.apply(nb, source) and nbformat.writes(nb) == once
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    assert install_cell.is_install_cell(nb.cells[1]) and nb.cells[1].metadata["tags"] == ["remove-cell"]
    assert sum(install_cell.is_install_cell(c) for c in nb.cells) == 1
    changed = install_cell.cell_source(ref="v9.9.9")
    assert install_cell.apply(nb, changed) and nb.cells[1].source == changed
    assert "git+https://github.com/gdlens/gdlens@v9.9.9" in changed
    assert "https://raw.githubusercontent.com/gdlens/gdlens/v9.9.9/requirements.txt" in changed


def test_install_cell_does_nothing_where_gdlens_imports():
    """In the book's own environment (nbval, the build, make lab, Binder) the cell prints nothing."""
    code = install_cell.cell_source(ref="main")
    env = {k: v for k, v in os.environ.items() if k != "GDLENS_INSTALL_SOURCE"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", proc.stdout + proc.stderr


def test_environment_yml_resolves_from_the_repository_root():
    """repo2docker runs `mamba env update -f environment.yml` in the repository; conda hands the pip section
    to pip as a requirements file written next to environment.yml, with that folder as working directory.
    So each local reference must resolve from the repository root, and the pins must be the Makefile's."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    for line in pip:
        option, _, target = line.partition(" ")
        if option in ("-r", "--requirement", "-c", "--constraint"):
            assert (ROOT / target).is_file(), f"environment.yml: {line!r} does not resolve from the repository root"
        elif option in ("-e", "--editable"):
            assert (ROOT / target / "pyproject.toml").is_file(), f"environment.yml: {line!r} is not the package"
    assert "-r requirements.txt" in pip and "-e ." in pip
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.split("=")[-1] == f"{sys.version_info.major}.{sys.version_info.minor}", (
        "environment.yml's Python differs from the one the pins were made with"
    )


def _closure(names) -> list:
    """The installed distributions ``names`` need (their requirements, recursively, markers evaluated)."""
    from importlib import metadata

    from packaging.requirements import Requirement

    seen, todo, found = set(), list(names), []
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        dist = metadata.distribution(name)
        found.append(dist)
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return found


def _copy_distributions(names, site: Path, pins: dict[str, str]) -> bool:
    """Copy into ``site`` the installed files of ``names`` and everything they need, as pip would have put
    them there (dist-info included, so pip in that environment sees them as installed). The book's own
    environment holds them at the pins; copying is quicker than installing them again. False (and nothing
    copied) if one of ``names`` is not installed at its pin."""
    from importlib import metadata

    try:
        if any(metadata.version(n) != pins[n] for n in names if n in pins):
            return False
        dists = _closure(names)
    except metadata.PackageNotFoundError:
        return False
    for dist in dists:
        base = Path(dist.locate_file(""))
        for rel in dist.files or []:
            if rel.parts[0] == ".." or "__pycache__" in rel.parts:
                continue  # scripts and data outside site-packages are not needed to run a kernel
            target = site / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(base / rel, target)
    return True


def _source_copy(dest: Path) -> Path:
    """What pip needs to build gdlens, copied so that the build never writes into the checkout."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md", "requirements.txt"):
        shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "lib" / "gdlens", dest / "lib" / "gdlens", ignore=ignore)
    return dest


def test_a_chapter_runs_in_a_bare_colab_like_environment(tmp_path, monkeypatch):
    start = time.perf_counter()
    venv = tmp_path / "colab"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    pins = _pins()
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    copied = _copy_distributions((*COLAB_PROVIDES, "pip"), site, pins)
    if not copied:  # this environment does not hold them at the pins: install them from the registry instead
        subprocess.run([str(python), "-m", "ensurepip"], check=True, capture_output=True, timeout=300)
        provided = [f"{name}=={pins[name]}" for name in COLAB_PROVIDES]
        pip = [str(python), "-m", "pip", "install", "--quiet", "--no-compile", *provided]
        proc = subprocess.run(pip, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"could not set up the bare environment (network?):\n{proc.stderr[-2000:]}"
    phases = {"bare environment": time.perf_counter() - start}
    for absent in ("gdlens", "scipy", "myst_nb"):
        probe = subprocess.run([str(python), "-c", f"import {absent}"], capture_output=True, timeout=60)
        assert probe.returncode != 0, f"the bare environment must not have {absent}"
    probe = subprocess.run([str(python), "-c", "import numpy, matplotlib, ipykernel, ipywidgets"], timeout=60)
    assert probe.returncode == 0, "the bare environment lacks what Colab has"

    # A kernel spec for that environment, found through JUPYTER_PATH.
    spec = tmp_path / "jupyter" / "kernels" / "colab"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "colab", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("GDLENS_INSTALL_SOURCE", str(_source_copy(tmp_path / "source")))
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    monkeypatch.setenv("PIP_NO_COMPILE", "1")  # byte-compiling thousands of files is most of an install's time
    for variable in ("PYTHONPATH", "VIRTUAL_ENV"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PATH", os.pathsep.join([str(venv / "bin"), "/usr/local/bin", "/usr/bin", "/bin"]))

    chapter = tmp_path / "chapter" / f"{CHAPTER}.ipynb"
    chapter.parent.mkdir()
    nb = nbformat.read(ROOT / "chapters" / f"{CHAPTER}.ipynb", as_version=4)
    install_cell.apply(nb, install_cell.cell_source(ref="main"))
    nb.metadata["kernelspec"] = {"name": "colab", "display_name": "colab", "language": "python"}
    nbformat.write(nb, chapter)

    # The install cell downloads and installs; give it more than a chapter cell gets.
    begin = time.perf_counter()
    [result] = execute.run_chapters([chapter], jobs=1, timeout=420, log=print)
    phases["install cell and chapter"] = time.perf_counter() - begin
    assert result.ok, f"{CHAPTER} failed in the bare environment: {result.message}"
    executed = nbformat.reads(result.notebook, as_version=4)
    printed = "".join(o.get("text", "") for o in executed.cells[1].outputs if o.output_type == "stream")
    assert "Installing gdlens from" in printed, "the install cell did not install (was gdlens already there?)"
    errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    versions = subprocess.run(
        [str(python), "-c", "import gdlens, numpy, scipy, matplotlib, myst_nb; "
         "print(numpy.__version__, scipy.__version__, matplotlib.__version__)"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert versions.stdout.split() == [pins["numpy"], pins["scipy"], pins["matplotlib"]]
    phases["in all"] = time.perf_counter() - start
    print("bare-environment chapter test:", ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()))
