"""Hangs: the whole book executed many times in a row, two chapters at a time, through tools/execute.py.

Each run executes every chapter exactly as `make book` and `make execute` do (tools/execute.py: nbclient,
one worker process and kernel per chapter, `--jobs` at a time, the per-cell limit, the watchdog), in
memory: nothing in `chapters/` is written. A *hang* is a chapter stopped by the per-cell limit or by the
watchdog (no progress for longer than the limit); an *error* is any other failure. The table of runs, with
the time of each, goes to `benchmarks/execution.md`; the target is 0 hangs.

    python benchmarks/bench_execution.py --runs 20          # make bench-hangs (RUNS=20)
    python benchmarks/bench_execution.py --runs 2 --output /tmp/execution.md

Called without arguments by `benchmarks/run.py` (make bench), it prints the table last written to
`benchmarks/execution.md` instead of executing the book twenty times.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import execute  # noqa: E402  (tools/ is not a package; spawned workers import it by this name)

OUTPUT = ROOT / "benchmarks" / "execution.md"
HANGS = ("timeout", "hang")


def _versions() -> str:
    names = ("nbclient", "jupyter_client", "ipykernel", "pyzmq", "tornado")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} –")
    return ", ".join(found)


def _cpu() -> str:
    try:
        names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
    except OSError:
        names = []
    return names[0].strip() if names else platform.processor() or platform.machine()


def _load() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except (OSError, AttributeError):
        return "–"


def run(runs: int, jobs: int, timeout: int, chapters: list[Path]) -> tuple[list[dict], dict[str, list[float]]]:
    rows, per_chapter = [], {c.stem: [] for c in chapters}
    for i in range(1, runs + 1):
        load = _load()
        start = time.perf_counter()
        results = execute.run_chapters(chapters, jobs=jobs, timeout=timeout, log=lambda s: None)
        seconds = time.perf_counter() - start
        for r in results:
            if r.ok:
                per_chapter[r.chapter.stem].append(r.seconds)
        hangs = [r for r in results if r.status in HANGS]
        errors = [r for r in results if not r.ok and r.status not in HANGS]
        slowest = max(results, key=lambda r: r.seconds)
        row = {
            "run": i,
            "seconds": seconds,
            "ok": sum(r.ok for r in results),
            "hangs": len(hangs),
            "errors": len(errors),
            "slowest": f"{slowest.chapter.stem} {slowest.seconds:.1f} s",
            "load": load,
            "problems": [f"{r.chapter.stem}: {r.status}: {r.message}" for r in hangs + errors],
        }
        rows.append(row)
        status = "ok" if not row["problems"] else "; ".join(row["problems"])
        print(f"run {i}/{runs}: {seconds:.1f} s, {row['ok']}/{len(chapters)} chapters, {status}", file=sys.stderr)
    return rows, per_chapter


def report(rows: list[dict], per_chapter: dict[str, list[float]], jobs: int, timeout: int, started: str) -> str:
    n_chapters = len(per_chapter)
    times = [r["seconds"] for r in rows]
    hangs = sum(r["hangs"] for r in rows)
    errors = sum(r["errors"] for r in rows)
    lines = [
        "<!-- Written by benchmarks/bench_execution.py (make bench-hangs); do not edit by hand. -->",
        "",
        f"The whole book ({n_chapters} chapters) executed {len(rows)} times in a row through `tools/execute.py`, "
        f"{jobs} chapters at a time, each cell limited to {timeout} s; started {started}.",
        "",
        "|  |  |",
        "|---|---|",
        f"| runs | {len(rows)} |",
        f"| chapter executions | {len(rows) * n_chapters} |",
        f"| **hangs** (cell limit or watchdog) | **{hangs}** |",
        f"| other errors | {errors} |",
        f"| seconds per run: min / median / max | {min(times):.1f} / {statistics.median(times):.1f} / "
        f"{max(times):.1f} |",
        f"| machine | {_cpu()}, {os.cpu_count()} logical cores |",
        f"| stack | Python {platform.python_version()}, {_versions()} |",
        "",
        "| run | seconds | chapters ok | hangs | errors | slowest chapter | load average at start (1/5/15 min) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['seconds']:.1f} | {r['ok']}/{n_chapters} | {r['hangs']} | {r['errors']} | "
            f"{r['slowest']} | {r['load']} |"
        )
    lines += ["", "| chapter | executions ok | median s | worst s |", "|---|---|---|---|"]
    for name, secs in per_chapter.items():
        med = f"{statistics.median(secs):.1f}" if secs else "–"
        worst = f"{max(secs):.1f}" if secs else "–"
        lines.append(f"| {name} | {len(secs)} | {med} | {worst} |")
    problems = [p for r in rows for p in r["problems"]]
    if problems:
        lines += ["", "Failures:", ""] + [f"- run {r['run']}: {p}" for r in rows for p in r["problems"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # benchmarks/run.py: report the last measurement, do not execute the book 20 times
        if OUTPUT.is_file():
            print("\n".join(line for line in OUTPUT.read_text().splitlines() if not line.startswith("<!--")).strip())
        else:
            print("*Not measured yet: run `make bench-hangs`.*")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=execute.CELL_TIMEOUT, help="seconds per cell")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("chapters", nargs="*", type=Path, help="default: every chapter")
    args = parser.parse_args(argv)
    chapters = [c.resolve() for c in args.chapters] or execute.all_chapters()
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows, per_chapter = run(args.runs, args.jobs, args.timeout, chapters)
    text = report(rows, per_chapter, args.jobs, args.timeout, started)
    args.output.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 1 if any(r["hangs"] or r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
