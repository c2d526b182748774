"""Execute the chapters in place: only the stale ones (`make book`), or all of them (`make execute`).

The website is rendered from the outputs stored in the notebooks (myst-nb runs with
`execute_notebooks: off`); nbval in `make test` proves that those stored outputs equal a fresh run. This
tool is the one way outputs get stored, so that they always come from the same execution settings:

- nbclient, the `python3` kernel, working directory `chapters/`, one BLAS/OpenMP thread
  (`OPENBLAS_NUM_THREADS=1`, `OMP_NUM_THREADS=1`), `GDLENS_SEED` unset (the book's own seed);
- cells tagged `skip-execution` (the live widgets) are not executed;
- every cell has a limit of `CELL_TIMEOUT` seconds; a cell that exceeds it fails the run with a message
  naming the chapter and the cell, and a watchdog in this process kills a worker (and its kernel) that
  reports no progress for longer than that, whatever it is stuck in (kernel start, a cell, shutdown);
- each chapter runs in a worker process of its own, two at a time by default.

A chapter is *stale* when its code cells, the library (`lib/gdlens/**/*.py`) or the pins
(`requirements.txt`) changed since its outputs were stored, or when it carries no fingerprint; markdown
edits do not make it stale (the build renders markdown afresh). The fingerprint is stored in the notebook's
metadata, `metadata.gdlens.executed_from`. A chapter is written back only when it executed without error.

Usage:
    python tools/execute.py                 # execute the stale chapters (make book)
    python tools/execute.py --all           # execute every chapter (make execute)
    python tools/execute.py chapters/03-langevin.ipynb   # execute these, stale or not
    python tools/execute.py --check         # list stale chapters, exit 1 if any (make test); writes nothing
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS_DIR = ROOT / "chapters"
CELL_TIMEOUT = 180  # seconds per cell; a whole chapter runs in under 30 s, so only a hang gets near this
STARTUP_TIMEOUT = 60  # seconds for a kernel to start
WATCHDOG_GRACE = 60  # seconds beyond CELL_TIMEOUT without any sign of progress before a worker is killed
# Bump when the execution settings above (or in execution_env) change: every chapter then counts as stale.
EXECUTOR = "gdlens-execute/1"
METADATA_KEY = "gdlens"
# Tags that change what executes; a change to them makes a chapter stale like a change to its code.
EXECUTION_TAGS = ("skip-execution", "raises-exception")
# Variables a chapter reads: outputs are stored at the book's seed, with claims raised, not logged.
UNSET = ("GDLENS_SEED", "GDLENS_CLAIMS_LOG", "GDLENS_CHAPTER", "MPLBACKEND")


# --- fingerprints and staleness ---------------------------------------------------------------------


def _sha(chunks) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk if isinstance(chunk, bytes) else chunk.encode())
        h.update(b"\0")
    return h.hexdigest()


def code_hash(nb) -> str:
    """Hash of what executes: the kernel name and every code cell's source and execution tags, in order."""
    chunks = [nb.get("metadata", {}).get("kernelspec", {}).get("name", "python3")]
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        tags = sorted(t for t in cell.get("metadata", {}).get("tags", []) if t in EXECUTION_TAGS)
        chunks += [source, ",".join(tags)]
    return _sha(chunks)


def library_hash(root: Path = ROOT) -> str:
    """Hash of every library source, ``lib/gdlens/**/*.py``, with its path."""
    lib = root / "lib" / "gdlens"
    files = sorted(p for p in lib.rglob("*.py") if "__pycache__" not in p.parts)
    return _sha(c for p in files for c in (p.relative_to(lib).as_posix(), p.read_bytes()))


def requirements_hash(root: Path = ROOT) -> str:
    path = root / "requirements.txt"
    return _sha([path.read_bytes() if path.is_file() else b""])


def fingerprint(nb, root: Path = ROOT) -> dict[str, str]:
    """What a chapter's stored outputs were computed from."""
    return {
        "executor": EXECUTOR,
        "code": code_hash(nb),
        "library": library_hash(root),
        "requirements": requirements_hash(root),
    }


def stored_fingerprint(nb) -> dict[str, str]:
    return dict(nb.get("metadata", {}).get(METADATA_KEY, {}).get("executed_from", {}))


def stale_reasons(nb, root: Path = ROOT, current: dict[str, str] | None = None) -> list[str]:
    """Why a chapter's stored outputs may not be what its code computes now ([] when they are fresh)."""
    stored = stored_fingerprint(nb)
    if not stored:
        return ["never executed by tools/execute.py (no fingerprint)"]
    current = current or fingerprint(nb, root)
    what = {
        "executor": "the execution settings",
        "code": "its code cells",
        "library": "the library (lib/gdlens)",
        "requirements": "the pins (requirements.txt)",
    }
    return [f"{what[k]} changed" for k in what if stored.get(k) != current[k]]


def stamp(nb, root: Path = ROOT) -> None:
    """Record in the notebook what its outputs were computed from."""
    nb.setdefault("metadata", {}).setdefault(METADATA_KEY, {})["executed_from"] = fingerprint(nb, root)


# --- executing one chapter --------------------------------------------------------------------------


def execution_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    return env


def _first_line(cell) -> str:
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    lines = [line for line in source.strip().splitlines() if line.strip()]
    first = lines[0] if lines else ""
    return first if len(first) <= 70 else first[:67] + "..."


def describe_cell(nb, index: int | None) -> str:
    if index is None or not 0 <= index < len(nb["cells"]):
        return "before the first cell (kernel start)"
    cell = nb["cells"][index]
    return f"cell {index} (`{_first_line(cell)}`)"


def _worker(path: str, timeout: int, conn, extra_env: dict[str, str] | None = None) -> None:
    """Run in a child process: execute one chapter, report progress and the result through ``conn``.

    ``extra_env`` is laid over the execution environment (``make robust`` sets GDLENS_SEED and its log there).
    """
    env = execution_env()
    env.update(extra_env or {})
    os.environ.clear()
    os.environ.update(env)
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)  # widget state is the one of this run, or none
    for cell in nb.cells:  # no timestamps: re-executing an unchanged chapter changes nothing but its outputs
        cell.metadata.pop("execution", None)
    current: dict[str, int | None] = {"cell": None}

    def on_start(notebook=None, **_):
        provisioner = getattr(client.km, "provisioner", None)
        conn.send(("kernel", getattr(provisioner, "pid", None)))

    def on_cell(cell=None, cell_index=None, **_):
        current["cell"] = cell_index
        conn.send(("cell", cell_index))

    client = NotebookClient(
        nb,
        timeout=timeout,
        startup_timeout=STARTUP_TIMEOUT,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(Path(path).parent)}},
        skip_cells_with_tag="skip-execution",
        record_timing=False,
        on_notebook_start=on_start,
        on_cell_start=on_cell,
    )
    start = time.perf_counter()
    try:
        client.execute()
    except CellTimeoutError:
        where = describe_cell(nb, current["cell"])
        conn.send(("timeout", f"{where} did not finish within the {timeout} s cell limit (a hung kernel?)"))
        return
    except DeadKernelError as err:
        conn.send(("error", f"the kernel died in {describe_cell(nb, current['cell'])}: {err}"))
        return
    except CellExecutionError as err:
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # the traceback's colours
        last = next((line for line in reversed(text.strip().splitlines()) if line.strip()), "")
        conn.send(("error", f"{describe_cell(nb, current['cell'])} raised {last}"))
        return
    except Exception as err:  # kernel start-up failures and the like: reported, never swallowed
        conn.send(("error", f"{describe_cell(nb, current['cell'])}: {type(err).__name__}: {err}"))
        return
    conn.send(("done", nbformat.writes(nb), time.perf_counter() - start))


@dataclass
class Result:
    chapter: Path
    status: str = "pending"  # ok | error | timeout | hang (killed by the watchdog)
    message: str = ""
    seconds: float = 0.0
    notebook: str | None = None  # the executed notebook (JSON text) when status is ok
    kernel_pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _kill_group(pid: int | None) -> None:
    if not pid:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(os.getpgid(pid), sig)
        except (ProcessLookupError, PermissionError, OSError):
            return
        time.sleep(0.5)


def run_chapters(
    chapters, jobs: int = 2, timeout: int = CELL_TIMEOUT, log=print, grace: float = WATCHDOG_GRACE, envs=None
) -> list[Result]:
    """Execute ``chapters`` (paths), ``jobs`` at a time, each in its own worker; nothing is written.

    ``envs``, when given, holds one dict of extra environment variables per chapter (the same chapter may
    then appear more than once, e.g. under several seeds). Results come back in the order of ``chapters``.
    Never waits unbounded: a worker with no progress for ``timeout + grace`` seconds is killed together
    with its kernel and reported as a hang.
    """
    ctx = mp.get_context("spawn")
    envs = [None] * len(chapters) if envs is None else list(envs)
    if len(envs) != len(chapters):
        raise ValueError(f"envs must hold one entry per chapter, got {len(envs)} for {len(chapters)}")
    pending = [(i, Path(c), e) for i, (c, e) in enumerate(zip(chapters, envs, strict=True))]
    running: list[tuple[Result, object, object, dict]] = []
    done: list[Result] = []
    while pending or running:
        while pending and len(running) < max(1, jobs):
            index, path, extra_env = pending.pop(0)
            parent, child = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_worker, args=(str(path), timeout, child, extra_env), daemon=True)
            proc.start()
            child.close()
            state = {"start": time.perf_counter(), "last": time.perf_counter(), "kernel": None, "cell": None}
            state["index"] = index
            running.append((Result(path), proc, parent, state))
        for item in list(running):
            result, proc, conn, state = item
            finished = False
            try:
                while conn.poll(0.2):
                    msg = conn.recv()
                    state["last"] = time.perf_counter()
                    if msg[0] == "kernel":
                        state["kernel"] = result.kernel_pid = msg[1]
                    elif msg[0] == "cell":
                        state["cell"] = msg[1]
                    elif msg[0] == "done":
                        result.status, result.notebook, result.seconds = "ok", msg[1], msg[2]
                        finished = True
                    else:
                        result.status, result.message = msg[0], msg[1]
                        finished = True
            except (EOFError, OSError):
                if not finished:
                    result.status = "error"
                    result.message = f"the worker exited ({proc.exitcode}) in cell {state['cell']}"
                    finished = True
            if not finished and not proc.is_alive() and not conn.poll(0):
                result.status, result.message = "error", f"the worker exited ({proc.exitcode}) without a result"
                finished = True
            # Before the kernel is up, the wait is bounded by the start-up limit; after, by the cell limit.
            limit = (timeout if state["kernel"] else max(timeout, STARTUP_TIMEOUT)) + grace
            if not finished and time.perf_counter() - state["last"] > limit:
                where = f"cell {state['cell']}" if state["cell"] is not None else "kernel start"
                result.status = "hang"
                result.message = f"no progress for {limit:g} s at {where}: worker and kernel killed"
                proc.kill()
                _kill_group(state["kernel"])
                finished = True
            if finished:
                if not result.seconds:
                    result.seconds = time.perf_counter() - state["start"]
                proc.join(timeout=30)
                if proc.is_alive():
                    proc.kill()
                conn.close()
                running.remove(item)
                done.append((state["index"], result))
                name = _display(result.chapter)
                if result.ok:
                    log(f"execute: {name}: {result.seconds:.1f} s")
                else:
                    log(f"execute: {name}: FAILED ({result.status}): {result.message}")
    return [result for _, result in sorted(done, key=lambda item: item[0])]


def _display(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def write_back(result: Result, root: Path = ROOT) -> None:
    """Store an executed chapter in place (atomically), stamped with its fingerprint."""
    import nbformat

    nb = nbformat.reads(result.notebook, as_version=4)
    stamp(nb, root)
    fd, tmp = tempfile.mkstemp(dir=result.chapter.parent, prefix=f".{result.chapter.stem}-", suffix=".ipynb")
    os.close(fd)
    try:
        nbformat.write(nb, tmp)
        os.replace(tmp, result.chapter)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# --- command line -----------------------------------------------------------------------------------


def all_chapters(root: Path = ROOT) -> list[Path]:
    return sorted((root / "chapters").glob("[0-9][0-9]-*.ipynb"))


def main(argv=None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=Path, help="execute these chapters, stale or not")
    parser.add_argument("--all", action="store_true", help="execute every chapter")
    parser.add_argument("--check", action="store_true", help="list stale chapters and exit 1 if any; write nothing")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell")
    args = parser.parse_args(argv)

    chapters = [c.resolve() for c in args.chapters] or all_chapters()
    stale = {}
    for path in chapters:
        reasons = stale_reasons(nbformat.read(path, as_version=4))
        if reasons:
            stale[path] = reasons
    if args.check:
        for path, reasons in stale.items():
            print(f"stale: {_display(path)}: {'; '.join(reasons)}")
        if stale:
            print("Re-execute them with `make book` (stale chapters only) or `make execute` (all).", file=sys.stderr)
            return 1
        print(f"execute: all {len(chapters)} chapters are fresh")
        return 0
    todo = chapters if (args.all or args.chapters) else [p for p in chapters if p in stale]
    if not todo:
        print(f"execute: all {len(chapters)} chapters are fresh; nothing to execute")
        return 0
    for path in todo:
        why = "; ".join(stale.get(path, ["requested"]))
        print(f"execute: {_display(path)} ({why})", flush=True)
    start = time.perf_counter()
    results = run_chapters(todo, jobs=args.jobs, timeout=args.timeout, log=lambda s: print(s, flush=True))
    failed = [r for r in results if not r.ok]
    for result in results:
        if result.ok:
            write_back(result)
    seconds = time.perf_counter() - start
    print(f"execute: {len(results) - len(failed)} of {len(results)} chapters stored in {seconds:.1f} s")
    if failed:
        print("execute: FAILED (their stored outputs are unchanged):", file=sys.stderr)
        for r in failed:
            print(f"  {_display(r.chapter)}: {r.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
