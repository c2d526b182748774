"""Insert or refresh, in every chapter, the set-up cell that makes the chapter run on Colab (or any bare kernel).

The cell goes right after the chapter's title cell, is tagged `remove-cell` (the website never shows it)
and is marked in its metadata (`gdlens.role: install`), so running this tool again replaces it in place:
the tool is idempotent. Where `gdlens` imports (the book's `.venv`, `make lab`, Binder, the build, nbval)
the cell does nothing and prints nothing. Where it does not (Colab), it pip-installs `gdlens` and the
book's pinned requirements:

- gdlens from `GDLENS_INSTALL_SOURCE` when that variable is set (a path or URL pip accepts, e.g. a checkout,
  `git+https://github.com/<fork>/gdlens@<branch>`), else from the repository in `_config.yml` at the book's
  version: the tag `v<version>` of `pyproject.toml` when the checkout has that tag, else the branch of
  `_config.yml` (`--ref` overrides);
- constrained by the pins of `requirements.txt` (from the source when it is a directory, else from the
  repository at the same ref): numpy, scipy, matplotlib and the packages they need to draw, which shape every
  output, always at the book's version; any other pin only where the package is not installed yet, so that a
  host's own Jupyter stack (Colab's ipykernel, IPython, tornado, ...) is left as it is.

A package the kernel had already imported at another version cannot be swapped in place: the cell then says
to restart the kernel and run the notebook again (the installation is done by then, so the second run goes
through).

After running this tool, re-execute the chapters (`make execute`): the new cell is code, so every chapter is
stale until then.

Usage: python tools/install_cell.py [--ref REF] [--check] [chapters/NN-slug.ipynb ...]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
ROLE = {"role": "install"}
TAGS = ["remove-cell"]
# What a chapter imports at run time besides gdlens and the standard library (tests/test_colab.py checks it).
RUNTIME = ("numpy", "scipy", "matplotlib", "ipywidgets", "myst-nb")
# Pinned even where the host has its own version: these shape the book's numbers and figures.
OUTPUT_SHAPING = ("numpy", "scipy", "matplotlib", "contourpy", "cycler", "fonttools", "kiwisolver", "pillow")
OUTPUT_SHAPING += ("pyparsing", "myst-nb")

TEMPLATE = """\
# Set-up for Colab and other bare kernels (hidden on the website; written by tools/install_cell.py). Where
# gdlens cannot be imported, install it and the book's pinned requirements, then run on; elsewhere (the book's
# .venv, make lab, Binder) do nothing. GDLENS_INSTALL_SOURCE, when set, is where gdlens comes from (a path or
# URL pip accepts); by default the book's repository at its version.
import importlib.util


def _install_gdlens(
    source="{source}",
    pins="{pins}",
):
    import importlib.metadata
    import os
    import re
    import subprocess
    import sys
    import tempfile
    import urllib.request

    source = os.environ.get("GDLENS_INSTALL_SOURCE", source)
    if os.path.isdir(source):
        with open(os.path.join(source, "requirements.txt"), encoding="utf-8") as f:
            text = f.read()
    else:
        with urllib.request.urlopen(pins) as f:
            text = f.read().decode()

    def name(s):
        return re.sub(r"[-_.]+", "-", s).lower()

    have = {{name(d.metadata["Name"]) for d in importlib.metadata.distributions()}}
    shaping = set("{shaping}".split())
    pinned = [p.strip() for p in text.splitlines() if "==" in p and not p.lstrip().startswith("#")]
    keep = [p for p in pinned if name(p.split("==")[0]) in shaping or name(p.split("==")[0]) not in have]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\\n".join(keep) + "\\n")
    print(f"Installing gdlens from {{source}} with the book's pins (a minute or two) ...", flush=True)
    runtime = {runtime}
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "-c", f.name, *runtime, source]
    subprocess.run(cmd, check=True)
    importlib.invalidate_caches()
    loaded = [m for m in ("numpy", "scipy", "matplotlib") if m in sys.modules]
    moved = [m for m in loaded if sys.modules[m].__version__ != importlib.metadata.version(m)]
    if moved:
        raise RuntimeError(
            f"{{', '.join(moved)}} changed version while loaded: restart the kernel "
            "(Colab: Runtime > Restart session) and run all cells again."
        )


if importlib.util.find_spec("gdlens") is None:
    _install_gdlens()"""


def repository(root: Path = ROOT) -> tuple[str, str]:
    """The repository URL and branch of _config.yml."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repo = config.get("repository", {})
    return repo["url"].rstrip("/"), repo.get("branch", "main")


def book_ref(root: Path = ROOT) -> str:
    """The tag v<version> when the checkout has it, else the branch of _config.yml."""
    version = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    tag = f"v{version}"
    try:
        tags = subprocess.run(["git", "tag", "--list", tag], cwd=root, capture_output=True, text=True, check=False)
        if tags.stdout.strip() == tag:
            return tag
    except OSError:
        pass
    return repository(root)[1]


def pins_url(url: str, ref: str) -> str:
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(?:\.git)?", url)
    if not match:
        raise SystemExit(f"install_cell: cannot derive a raw requirements.txt URL from {url!r} (GitHub only)")
    return f"https://raw.githubusercontent.com/{match[1]}/{match[2]}/{ref}/requirements.txt"


def cell_source(root: Path = ROOT, ref: str | None = None) -> str:
    url, _ = repository(root)
    ref = ref or book_ref(root)
    return TEMPLATE.format(
        source=f"git+{url}@{ref}",
        pins=pins_url(url, ref),
        shaping=" ".join(OUTPUT_SHAPING),
        runtime="[" + ", ".join(f'"{name}"' for name in RUNTIME) + "]",
    )


def is_install_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and cell.get("metadata", {}).get("gdlens") == ROLE


def apply(nb, source: str) -> bool:
    """Insert or refresh the install cell in ``nb``; True when ``nb`` changed."""
    cells = nb.cells
    found = [i for i, c in enumerate(cells) if is_install_cell(c)]
    title = 1 if cells and cells[0].cell_type == "markdown" and cells[0].source.lstrip().startswith("# ") else 0
    if found == [title] and cells[title].source == source and cells[title].metadata.get("tags") == TAGS:
        return False
    old = [cells[i] for i in found]
    for i in reversed(found):
        del cells[i]
    cell = nbformat.v4.new_code_cell(source)
    if old and old[0].source == source:  # only moved or re-tagged: keep what its execution stored
        cell.outputs, cell.execution_count = old[0].outputs, old[0].execution_count
    cell.metadata = {"tags": list(TAGS), "gdlens": dict(ROLE)}
    cell.pop("id", None)
    if nb.nbformat_minor >= 5:
        cell.id = "gdlens-install"
    cells.insert(title, cell)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=Path)
    parser.add_argument("--ref", help="git ref to install from (default: tag v<version> if present, else the branch)")
    parser.add_argument("--check", action="store_true", help="exit 1 if a chapter lacks the current cell; no writes")
    args = parser.parse_args(argv)
    chapters = args.chapters or sorted((ROOT / "chapters").glob("[0-9][0-9]-*.ipynb"))
    source = cell_source(ROOT, args.ref)
    outdated = []
    for path in chapters:
        nb = nbformat.read(path, as_version=4)
        if apply(nb, source):
            outdated.append(path)
            if not args.check:
                nbformat.write(nb, path)
    verb = "lack the current install cell" if args.check else "updated"
    for path in outdated:
        print(f"install_cell: {path.name}: {verb}")
    if args.check:
        return 1 if outdated else 0
    if outdated:
        print("install_cell: now re-execute them: make execute")
    else:
        print(f"install_cell: all {len(chapters)} chapters already carry the current cell")
    return 0


if __name__ == "__main__":
    sys.exit(main())
