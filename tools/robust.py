"""`make robust`: execute every chapter under the book's seed and four further seeds, write the claims register.

Each chapter reads its seed from GDLENS_SEED (gdlens.repro.chapter_seed). Every (chapter, seed) pair is
executed in memory through tools/execute.py's runner (the same kernel settings, cell limit and watchdog as
`make book`), two at a time, with GDLENS_CLAIMS_LOG pointing at a log of its own, so a failing claim is
recorded rather than raised and every claim is seen at every seed. No stored output is touched.
The register (appendix-claims.md) lists each claim with its value at the book's seed, its range
over the seeds, and whether it held at each. The run fails if any claim failed at any seed, if a claim is
made at one seed and not at another, or if a chapter did not execute to its end.

Usage: python tools/robust.py [--jobs 2] [--register appendix-claims.md] [chapters/NN-slug.ipynb ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import execute  # tools/execute.py, beside this file

ROOT = Path(__file__).resolve().parents[1]
FURTHER_SEEDS = (1, 2, 3, 4)  # the book's own seed (GDLENS_SEED unset) is the first run of every chapter


def _fmt(x) -> str:
    return x if isinstance(x, str) else f"{x:.4g}"


def _register(chapters, seeds, records, errors) -> tuple[str, list[str]]:
    """The register page and the list of problems (empty when every claim held at every seed)."""
    problems = [f"{Path(c).stem} at seed {s if s is not None else 'book'}: {e}" for (c, s), e in errors.items() if e]
    label = ["book"] + [str(s) for s in seeds[1:]]
    lines = [
        "# The claims register",
        "",
        "Every result the book states is a `claim` (`gdlens.claims`): a measured value, what it must equal or",
        "exceed, and the reason for the tolerance. A claim that fails stops the chapter, and so the build. This",
        "page is written by `make robust`, which executes every chapter under the book's own seed and under",
        f"the seeds {', '.join(label[1:])} (through the environment variable `GDLENS_SEED`), and records each",
        "claim at each seed. A claim that holds only at the book's seed is no claim: the run fails unless every",
        "claim holds at every seed.",
        "",
    ]
    for chapter in chapters:
        stem = Path(chapter).stem
        by_name: dict[str, dict] = {}
        for (c, s), recs in records.items():
            if c != chapter:
                continue
            for r in recs:
                by_name.setdefault(r["name"], {"record": r, "values": {}})["values"][s] = r
        lines += [f"## {stem}", ""]
        if not by_name:
            lines += ["No claims recorded.", ""]
            problems.append(f"{stem}: no claims recorded")
            continue
        lines += ["| claim | expected | book seed | range over seeds | held |", "|---|---|---|---|---|"]
        for name, entry in by_name.items():
            r, values = entry["record"], entry["values"]
            measured = [values[s]["measured"] for s in seeds if s in values]
            numeric = [m for m in measured if not isinstance(m, str)]
            span = f"{_fmt(min(numeric))} – {_fmt(max(numeric))}" if numeric else "–"
            book = _fmt(values[None]["measured"]) if None in values else "not made"
            held = "".join(("✓" if values[s]["held"] else "✗") if s in values else "·" for s in seeds)
            why = f" ({r['why']})" if r["why"] else ""
            cells = [f"{r['statement']} `{name}`", f"{r['expected']}{why}", book, span, held]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
            for s in seeds:
                if s not in values:
                    problems.append(f"{stem}: claim {name} not made at seed {s if s is not None else 'book'}")
                elif not values[s]["held"]:
                    problems.append(f"{stem}: claim {name} failed at seed {s if s is not None else 'book'}")
        lines.append("")
    lines += [
        f"The column *held* reads one mark per seed, in the order {', '.join(label)}: ✓ held, ✗ failed, · not made.",
        "",
    ]
    return "\n".join(lines), problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", help="chapters to run (default: every chapter)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=execute.CELL_TIMEOUT, help="seconds per cell")
    parser.add_argument("--register", default=str(ROOT / "appendix-claims.md"))
    args = parser.parse_args(argv)
    chapters = args.chapters or sorted(str(p) for p in (ROOT / "chapters").glob("[0-9][0-9]-*.ipynb"))
    seeds: list[int | None] = [None, *FURTHER_SEEDS]
    records, errors = {}, {}
    from gdlens.claims import read_log

    with tempfile.TemporaryDirectory() as tmp:
        runs, envs, logs = [], [], []
        for chapter in chapters:
            for seed in seeds:
                log = Path(tmp) / f"{Path(chapter).stem}-{seed}.jsonl"
                log.touch()
                env = {"GDLENS_CLAIMS_LOG": str(log), "GDLENS_CHAPTER": Path(chapter).stem}
                if seed is not None:
                    env["GDLENS_SEED"] = str(seed)
                runs.append((chapter, seed))
                envs.append(env)
                logs.append(log)
        results = execute.run_chapters(
            [c for c, _ in runs], jobs=args.jobs, timeout=args.timeout, envs=envs, log=lambda line: None
        )
        for (chapter, seed), log, result in zip(runs, logs, results, strict=True):
            key = (chapter, seed)
            errors[key] = "" if result.ok else f"{result.status}: {result.message}"
            records[key] = read_log(log)
            status = "ok" if result.ok else errors[key]
            print(
                f"robust: {Path(chapter).stem} seed {seed if seed is not None else 'book'}: "
                f"{len(records[key])} claims, {result.seconds:.1f} s, {status}",
                flush=True,
            )
    page, problems = _register(chapters, seeds, records, errors)
    Path(args.register).write_text(page, encoding="utf-8")
    print(f"robust: register written to {args.register}")
    if problems:
        print("robust: FAILED\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    total = sum(len(v) for k, v in records.items() if k[1] is None)
    print(f"robust: all {total} claims held at all {len(seeds)} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
