"""tools/execute.py: which chapters are stale, and how a chapter is executed (limits, skipped cells, errors).

`make book` re-executes only stale chapters and the website renders stored outputs, so the staleness rule
is what keeps a fresh result from being missed: a changed code cell, library source or pin makes a chapter
stale, a markdown edit does not. Tiny notebooks in tmp_path stand in for chapters.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import execute  # noqa: E402  (tools/ is not a package)


def _book(tmp_path: Path) -> tuple[Path, Path]:
    """A minimal book: lib/gdlens with one module, requirements.txt, one chapter."""
    (tmp_path / "lib" / "gdlens").mkdir(parents=True)
    (tmp_path / "lib" / "gdlens" / "core.py").write_text("RATE = 0.5\n")
    (tmp_path / "requirements.txt").write_text("numpy==2.4.6\n")
    (tmp_path / "chapters").mkdir()
    nb = new_notebook(
        cells=[new_markdown_cell("# A chapter\n\nThe rate is {glue:text}`rate`."), new_code_cell("x = 1 + 1\nx")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    path = tmp_path / "chapters" / "01-tiny.ipynb"
    nbformat.write(nb, path)
    return tmp_path, path


def _stamped(root: Path, path: Path):
    nb = nbformat.read(path, as_version=4)
    execute.stamp(nb, root)
    nbformat.write(nb, path)
    return nbformat.read(path, as_version=4)


def test_no_fingerprint_is_stale(tmp_path):
    root, path = _book(tmp_path)
    assert execute.stale_reasons(nbformat.read(path, as_version=4), root)


def test_fresh_after_stamping(tmp_path):
    root, path = _book(tmp_path)
    assert execute.stale_reasons(_stamped(root, path), root) == []


def test_changed_code_cell_is_stale(tmp_path):
    root, path = _book(tmp_path)
    nb = _stamped(root, path)
    nb.cells[1].source = "x = 1 + 2\nx"
    assert execute.stale_reasons(nb, root) == ["its code cells changed"]


def test_new_code_cell_is_stale(tmp_path):
    root, path = _book(tmp_path)
    nb = _stamped(root, path)
    nb.cells.append(new_code_cell("y = 3"))
    assert execute.stale_reasons(nb, root) == ["its code cells changed"]


def test_skip_execution_tag_is_stale(tmp_path):
    root, path = _book(tmp_path)
    nb = _stamped(root, path)
    nb.cells[1].metadata["tags"] = ["skip-execution"]
    assert execute.stale_reasons(nb, root) == ["its code cells changed"]


def test_markdown_change_is_not_stale(tmp_path):
    root, path = _book(tmp_path)
    nb = _stamped(root, path)
    nb.cells[0].source = "# A chapter, retitled\n\nMore prose."
    nb.cells.append(new_markdown_cell("A new paragraph."))
    nb.cells[1].metadata["tags"] = ["remove-input"]  # presentation only
    assert execute.stale_reasons(nb, root) == []


def test_outputs_do_not_count(tmp_path):
    root, path = _book(tmp_path)
    nb = _stamped(root, path)
    nb.cells[1].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1)]
    nb.cells[1].execution_count = 1
    assert execute.stale_reasons(nb, root) == []


def test_library_change_is_stale(tmp_path):
    root, path = _book(tmp_path)
    nb = _stamped(root, path)
    (root / "lib" / "gdlens" / "core.py").write_text("RATE = 0.25\n")
    assert execute.stale_reasons(nb, root) == ["the library (lib/gdlens) changed"]


def test_new_library_module_is_stale(tmp_path):
    root, path = _book(tmp_path)
    nb = _stamped(root, path)
    (root / "lib" / "gdlens" / "figures").mkdir()
    (root / "lib" / "gdlens" / "figures" / "extra.py").write_text("")
    assert execute.stale_reasons(nb, root) == ["the library (lib/gdlens) changed"]


def test_bytecode_does_not_count(tmp_path):
    root, path = _book(tmp_path)
    nb = _stamped(root, path)
    (root / "lib" / "gdlens" / "__pycache__").mkdir()
    (root / "lib" / "gdlens" / "__pycache__" / "core.cpython-311.pyc").write_bytes(b"\0")
    assert execute.stale_reasons(nb, root) == []


def test_pin_change_is_stale(tmp_path):
    root, path = _book(tmp_path)
    nb = _stamped(root, path)
    (root / "requirements.txt").write_text("numpy==2.4.7\n")
    assert execute.stale_reasons(nb, root) == ["the pins (requirements.txt) changed"]


def test_fingerprint_survives_a_round_trip_and_nbval_ignores_it(tmp_path):
    """The fingerprint is notebook metadata: nbval compares outputs only, so a stamped notebook passes."""
    root, path = _book(tmp_path)
    [result] = execute.run_chapters([path], jobs=1, timeout=60, log=lambda s: None)
    assert result.ok, result.message
    execute.write_back(result, root)
    nb = nbformat.read(path, as_version=4)
    assert execute.stale_reasons(nb, root) == []
    assert nb.cells[1].outputs[0]["data"]["text/plain"] == "2"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", str(path), "-q", "-p", "no:cacheprovider", "-p", "no:xdist"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_skip_execution_cells_are_not_executed(tmp_path):
    root, path = _book(tmp_path)
    nb = nbformat.read(path, as_version=4)
    live = new_code_cell("raise RuntimeError('a live widget must not run headless')")
    live.metadata["tags"] = ["skip-execution"]
    nb.cells.insert(1, live)
    nbformat.write(nb, path)
    [result] = execute.run_chapters([path], jobs=1, timeout=60, log=lambda s: None)
    assert result.ok, result.message
    executed = nbformat.reads(result.notebook, as_version=4)
    assert executed.cells[1].outputs == [] and executed.cells[1].execution_count is None


def test_a_cell_over_the_limit_fails_naming_chapter_and_cell(tmp_path):
    root, path = _book(tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(new_code_cell("import time\ntime.sleep(60)"))
    nbformat.write(nb, path)
    lines = []
    [result] = execute.run_chapters([path], jobs=1, timeout=3, log=lines.append)
    assert result.status == "timeout"
    assert "cell 2 (`import time`)" in result.message and "3 s" in result.message
    assert "01-tiny.ipynb" in lines[0] and "cell 2" in lines[0]
    assert result.seconds < 40


def test_an_error_names_the_cell_and_leaves_the_chapter_unwritten(tmp_path):
    root, path = _book(tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(new_code_cell("1 / 0"))
    nbformat.write(nb, path)
    before = path.read_text()
    assert execute.main([str(path), "--jobs", "1", "--timeout", "60"]) == 1
    assert path.read_text() == before
    [result] = execute.run_chapters([path], jobs=1, timeout=60, log=lambda s: None)
    assert result.status == "error"
    assert "cell 2 (`1 / 0`) raised ZeroDivisionError: division by zero" in result.message


@pytest.mark.parametrize("variable", ["GDLENS_SEED", "GDLENS_CLAIMS_LOG"])
def test_outputs_are_stored_at_the_book_seed(monkeypatch, variable):
    monkeypatch.setenv(variable, "3")
    env = execute.execution_env()
    assert variable not in env and env["OPENBLAS_NUM_THREADS"] == "1" and env["OMP_NUM_THREADS"] == "1"


def test_the_kernel_sees_the_environment_but_not_the_seed(tmp_path, monkeypatch):
    root, path = _book(tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(new_code_cell("import os\nprint(os.environ.get('GDLENS_PROBE'), os.environ.get('GDLENS_SEED'))"))
    nbformat.write(nb, path)
    monkeypatch.setenv("GDLENS_PROBE", "kept")
    monkeypatch.setenv("GDLENS_SEED", "3")
    [result] = execute.run_chapters([path], jobs=1, timeout=60, log=lambda s: None)
    assert result.ok, result.message
    assert nbformat.reads(result.notebook, as_version=4).cells[2].outputs[0]["text"] == "kept None\n"


def test_a_stuck_worker_is_killed_with_its_kernel(tmp_path):
    """Whatever nbclient itself waits on, the watchdog ends it: here the cell freezes the worker process
    (SIGSTOP to the kernel's parent), so nbclient's own cell limit can never fire."""
    root, path = _book(tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(
        new_code_cell("import os, signal\nprint(os.getpid(), flush=True)\nos.kill(os.getppid(), signal.SIGSTOP)")
    )
    nbformat.write(nb, path)
    start = time.perf_counter()
    [result] = execute.run_chapters([path], jobs=1, timeout=2, grace=3, log=lambda s: None)
    assert result.status == "hang" and "cell 2" in result.message and "killed" in result.message
    assert time.perf_counter() - start < 60
    assert result.kernel_pid and not _running(result.kernel_pid), "the kernel outlived its worker"


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")
