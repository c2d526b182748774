"""The book's measurements: build times, chapter execution times, widget update times, page weights.

Writes ``benchmarks/results.md`` (Markdown tables with the machine and the date), which the appendix page
``appendix-benchmarks.md`` includes. Run it with ``make bench`` (or ``.venv/bin/python benchmarks/run.py``).

What it measures, and how:

- **Builds**: the book's sources are copied to a temporary directory (so that touching a chapter does not
  touch the repository) and built with ``jupyter-book build --path-output <tmp>`` (never ``_build``):
  a clean build, which executes every chapter; a rebuild with nothing changed; a rebuild after touching
  one chapter (its modification time: Sphinx re-reads it, the execution cache is still valid).
- **Chapter execution**: the time myst-nb reports for each notebook in the clean build.
- **Widget updates**: every :class:`gdlens.plotting.Explorer` in ``gdlens.figures`` (found as
  ``tests/test_explorers.py`` finds them); one update is ``explorer.draw(**params)`` then rendering the
  figure to PNG at 100 dpi (what the inline backend sends to the notebook), timed over the sweep of its
  main slider with the other controls at their defaults; median and worst, target at most 100 ms.
- **Page weights**: for each page of the clean build, its own bytes (the HTML, with its inline figures,
  and the images it shows) and, when Chromium is available, everything a first visit downloads with an
  empty cache (theme, MathJax and its fonts included); the whole site on disk.
- Every ``benchmarks/bench_*.py`` (a ``main()`` that prints a Markdown table) is run and its table appended.

Options: ``--site DIR`` measures an existing built site instead of building (no build timings);
``--skip-build`` does the same with ``_build/html``; ``--touch PAGE`` chooses the chapter to touch;
``--toc FILE`` builds another table of contents; ``--no-scripts`` skips ``bench_*.py``; ``--output FILE``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import gzip
import http.server
import importlib
import importlib.util
import io
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results.md"
WIDGET_TARGET_MS = 100.0
PAGE_TARGET_MB = 3.0
MB = 1024 * 1024
# What a build needs from the repository (everything else, e.g. .venv and _build, stays behind).
SOURCE_IGNORE = shutil.ignore_patterns("_build", ".venv", ".git", "node_modules", "__pycache__", "*.egg-info", ".ci")


# --- machine --------------------------------------------------------------------------------------


def machine() -> list[tuple[str, str]]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        names = re.findall(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        if names:
            cpu = names[0].strip()
    mem = ""
    with contextlib.suppress(OSError, IndexError, ValueError):
        kib = int(re.findall(r"^MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text(), re.M)[0])
        mem = f"{kib / MB:.1f} GiB"
    load = ""
    with contextlib.suppress(OSError, AttributeError):
        load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    import matplotlib
    import numpy

    return [
        ("date", datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("machine", f"{cpu}, {os.cpu_count()} logical cores, {mem} RAM"),
        ("load average (1/5/15 min) at start", load),
        ("system", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("numpy / matplotlib", f"{numpy.__version__} / {matplotlib.__version__}"),
    ]


# --- builds ---------------------------------------------------------------------------------------


def _chapters(src: Path, toc_file: Path) -> list[str]:
    import yaml

    toc = yaml.safe_load(toc_file.read_text(encoding="utf-8"))
    found = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return [f for f in found if (src / f"{f}.ipynb").is_file()]


def _build(src: Path, out: Path, toc: Path) -> tuple[float, int, str]:
    cmd = [str(BIN / "jupyter-book"), "build", str(src), "--path-output", str(out), "--toc", str(toc)]
    cmd += ["-W", "-n", "--keep-going"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=src, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, proc.returncode, proc.stdout + proc.stderr


def builds(touch: str | None, toc: Path | None) -> tuple[list[list], list[list], Path, tempfile.TemporaryDirectory]:
    """Clean build, no-change rebuild, rebuild after touching one chapter; per-chapter execution times."""
    tmp = tempfile.TemporaryDirectory(prefix="gdlens-bench-")
    src, out = Path(tmp.name) / "src", Path(tmp.name) / "out"
    shutil.copytree(ROOT, src, ignore=SOURCE_IGNORE, symlinks=True)
    toc = toc.resolve() if toc else src / "_toc.yml"
    rows = []
    print("clean build (executes every chapter) ...", flush=True)
    seconds, code, log = _build(src, out, toc)
    rows.append(["clean build (renders the stored outputs; executes nothing)", seconds, code])
    executed = re.findall(
        r"([\w./-]+)\.ipynb: Executed notebook in ([\d.]+) seconds", re.sub(r"\x1b\[[0-9;]*m", "", log)
    )
    per_chapter = [[Path(path).relative_to(src).as_posix() + ".ipynb", float(s)] for path, s in executed]
    if code:
        tail = "\n".join(log.splitlines()[-15:])
        print(f"warning: the clean build exited with {code}; its last lines:\n{tail}", file=sys.stderr)
    print("rebuild, nothing changed ...", flush=True)
    seconds, code, _ = _build(src, out, toc)
    rows.append(["rebuild, nothing changed", seconds, code])
    chapters = _chapters(src, toc)
    target = touch or (chapters[0] if chapters else None)
    if target:
        target = re.sub(r"\.ipynb$", "", target)
        print(f"rebuild after touching {target}.ipynb ...", flush=True)
        (src / f"{target}.ipynb").touch()
        seconds, code, _ = _build(src, out, toc)
        rows.append([f"rebuild after touching `{target}.ipynb`", seconds, code])
    return rows, per_chapter, out / "_build" / "html", tmp


# --- widgets --------------------------------------------------------------------------------------


def explorers() -> list[tuple[str, object]]:
    import pkgutil

    import gdlens.figures
    from gdlens.plotting import Explorer

    found = []
    for info in pkgutil.iter_modules(gdlens.figures.__path__):
        module = importlib.import_module(f"gdlens.figures.{info.name}")
        found += [(f"{info.name}.{name}", obj) for name, obj in vars(module).items() if isinstance(obj, Explorer)]
    return found


def widget_times(frames: int = 12) -> list[list]:
    """Median and worst time of one update (draw + PNG at 100 dpi) over the sweep of the main control."""
    from gdlens.plotting import figure_png

    rows = []
    for name, explorer in explorers():
        params = explorer.defaults()
        figure_png(explorer.draw(**params), dpi=100)  # warm-up: imports, font cache, first-call costs
        times, draws = [], []
        for value in explorer.controls[explorer.main].sweep(frames):
            start = time.perf_counter()
            fig = explorer.draw(**{**params, explorer.main: value})
            drawn = time.perf_counter()
            figure_png(fig, dpi=100)
            times.append(1000 * (time.perf_counter() - start))
            draws.append(1000 * (drawn - start))
        median = statistics.median(times)
        row = [f"`{name}`", explorer.main, len(times), statistics.median(draws), median, max(times)]
        rows.append(row + [median <= WIDGET_TARGET_MS])
    return rows


# --- page weights ---------------------------------------------------------------------------------


def _pages(site: Path) -> list[str]:
    skip = ("_static/", "_sources/", "_images/")
    pages = [p.relative_to(site).as_posix() for p in site.rglob("*.html")]
    return sorted(p for p in pages if not p.startswith(skip) and p not in {"genindex.html", "search.html"})


def _own_bytes(site: Path, page: str) -> int:
    """The page's HTML (figures inlined as data: URLs included) plus the local images it shows."""
    html = (site / page).read_text(encoding="utf-8")
    total = len(html.encode())
    for src in set(re.findall(r'<img[^>]+src="([^"]+)"', html)):
        if src.startswith("data:") or urlsplit(src).scheme:
            continue
        path = site / urljoin(page, src.split("#")[0].split("?")[0])
        if path.is_file():
            total += path.stat().st_size
    return total


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def _first_visit_bytes(site: Path, pages: list[str]) -> dict[str, tuple[int, int]] | None:
    """Bytes a first visit downloads with an empty cache, per page, in headless Chromium (None without it).

    Returns, per page, the raw bytes and the bytes a server that gzips text (as most static hosts do) sends.
    """
    executable = next(
        (
            shutil.which(n)
            for n in (os.environ.get("GDLENS_CHROMIUM"), "chromium", "chromium-browser")
            if n and shutil.which(n)
        ),
        None,
    )
    if executable is None or importlib.util.find_spec("playwright") is None:
        print("no Chromium (or no playwright): first-visit weights not measured", file=sys.stderr)
        return None
    from playwright.sync_api import sync_playwright

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    weights = {}
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
    args += ["--disable-background-networking", "--disable-component-update", "--disable-sync"]
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=executable, args=args, headless=True)
            for page_name in pages:
                context = browser.new_context()
                context.route(
                    "**/*", lambda r: r.continue_() if urlsplit(r.request.url).hostname == "127.0.0.1" else r.abort()
                )
                page = context.new_page()
                sizes = []
                page.on(
                    "requestfinished", lambda req, sizes=sizes: sizes.append((req.url, req.sizes()["responseBodySize"]))
                )
                page.goto(base + page_name, wait_until="load")
                page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)")
                page.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")
                page.wait_for_load_state("networkidle")
                weights[page_name] = (sum(n for _, n in sizes), sum(_gzipped(site, url, n) for url, n in sizes))
                context.close()
            browser.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    return weights


@functools.cache
def _gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6))


def _gzipped(site: Path, url: str, size: int) -> int:
    """What a gzipping server would send for this response (fonts and images are already compressed)."""
    path = site / unquote(urlsplit(url).path).lstrip("/")
    if path.suffix in {".html", ".js", ".css", ".json", ".svg", ".txt"} and path.is_file():
        return _gzip_size(path)
    return size


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def page_weights(site: Path) -> tuple[list[list], list[list]]:
    pages = _pages(site)
    visits = _first_visit_bytes(site, pages)
    rows = []
    for page in pages:
        own = _own_bytes(site, page) / MB
        first, gz = (visits[page][0] / MB, visits[page][1] / MB) if visits else (None, None)
        rows.append([f"`{page}`", own, first, gz, own <= PAGE_TARGET_MB])
    mathjax = site / "_static" / "mathjax"
    totals = [
        ["whole site", _tree_bytes(site) / MB],
        ["of which MathJax (`_static/mathjax`, all components, loaded on demand)", _tree_bytes(mathjax) / MB],
        ["of which notebooks for download (`_sources`)", _tree_bytes(site / "_sources") / MB],
    ]
    return rows, totals


# --- colleagues' scripts --------------------------------------------------------------------------


def extra_benchmarks() -> list[tuple[str, str, str]]:
    """Run every benchmarks/bench_*.py ``main()``; return (name, first docstring line, printed table)."""
    out = []
    for path in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        print(f"{path.name} ...", flush=True)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        buffer = io.StringIO()
        try:
            spec.loader.exec_module(module)
            with contextlib.redirect_stdout(buffer):
                module.main()
            text = buffer.getvalue().strip()
        except Exception as exc:  # one broken script must not hide the other measurements
            text = f"*Failed: {exc.__class__.__name__}: {exc}*"
        doc = (module.__doc__ or path.stem).strip().splitlines()[0]
        out.append((path.name, doc, text))
    return out


# --- report ---------------------------------------------------------------------------------------


TEST_SUITES = [
    ("library and explorer tests", ["-m", "pytest", "tests", "-q", "-n", "2", "-m", "not browser"]),
    (
        "nbval over every chapter",
        [
            "-m",
            "pytest",
            "--nbval",
            "--nbval-sanitize-with",
            "tests/nbval_sanitize.cfg",
            "--nbval-cell-timeout",
            "180",
            "-n",
            "2",
        ]
        + ["--dist", "loadfile", "-q", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "chapters").glob("*.ipynb"))],
    ),
]


def test_times() -> list[list]:
    """Wall-clock time of the test suites that `make test` runs before the build (same commands)."""
    rows = []
    for name, args in TEST_SUITES:
        start = time.perf_counter()
        status = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True).returncode
        rows.append([name, time.perf_counter() - start, status])
    return rows


def table(header: list[str], rows: list[list], fmt: dict[int, str] | None = None) -> str:
    fmt = fmt or {}

    def cell(i, v):
        if v is None:
            return "–"
        if isinstance(v, bool):
            return "✓" if v else "✗ over target"
        if isinstance(v, float):
            return format(v, fmt.get(i, ".2f"))
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(i, v) for i, v in enumerate(row)) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="measure this built site instead of building the book")
    parser.add_argument("--skip-build", action="store_true", help="measure _build/html, no build timings")
    parser.add_argument("--touch", help="the chapter to touch for the rebuild timing (default: the first)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--toc", type=Path, help="build with this table of contents instead of _toc.yml")
    parser.add_argument("--no-scripts", action="store_true", help="do not run benchmarks/bench_*.py")
    parser.add_argument("--skip-tests", action="store_true", help="do not time the test suites")
    args = parser.parse_args(argv)

    facts = machine()
    sections = []
    tmp = None
    if args.site or args.skip_build:
        site = (args.site or ROOT / "_build" / "html").resolve()
        build_rows, per_chapter = [], []
    else:
        build_rows, per_chapter, site, tmp = builds(args.touch, args.toc)
    print("widget updates ...", flush=True)
    widgets = widget_times()
    print("page weights ...", flush=True)
    weights, totals = page_weights(site)
    extras = [] if args.no_scripts else extra_benchmarks()
    print("test suites ...", flush=True)
    tests = [] if args.skip_tests else test_times()

    if build_rows:
        facts.append(
            ("table of contents", f"`{args.toc.name if args.toc else '_toc.yml'}`, {len(per_chapter)} chapters")
        )
        sections.append(
            "## Building the book\n\n"
            "`jupyter-book build . -W -n --keep-going` on a copy of the sources, into a temporary directory. "
            "The build renders the outputs stored in the chapters; "
            "chapter execution is measured by `make bench-hangs`.\n\n"
            + table(["build", "seconds", "exit status"], build_rows, {1: ".1f"})
        )
    if per_chapter:
        total = sum(s for _, s in per_chapter)
        sections.append(
            "## Executing each chapter\n\nAs reported by myst-nb during the clean build.\n\n"
            + table(["chapter", "seconds"], per_chapter + [["**all chapters**", total]], {1: ".1f"})
        )
    if tests:
        sections.append(
            "## Running the tests\n\n"
            "The suites of `make test` that run before the strict build (timed above); the browser suite "
            "is not timed here.\n\n" + table(["suite", "seconds", "exit status"], tests, {1: ".1f"})
        )
    sections.append(
        "## Widget updates\n\n"
        f"One update of each interactive figure: `draw(**params)` and a PNG at 100 dpi, over {12} values of "
        f"its main control (the others at their defaults). Target: at most {WIDGET_TARGET_MS:.0f} ms, so that "
        "a slider feels live. *draw()* is the figure's own computation and layout; the rest of an update is "
        "matplotlib rendering the PNG.\n\n"
        + table(
            ["explorer", "swept control", "updates", "draw() median ms", "update median ms", "update worst ms"]
            + ["median ≤ target"],
            widgets,
            {3: ".0f", 4: ".0f", 5: ".0f"},
        )
    )
    sections.append(
        "## Page weights\n\n"
        f"*Own* is the page itself: its HTML (figures inlined) and the images it shows; target at most "
        f"{PAGE_TARGET_MB:.0f} MB. *First visit* is everything Chromium downloads to show the page with an empty "
        "cache (theme, scripts, MathJax and the fonts it needs), most of it shared by every page and cached; "
        "*gzip* is what a server that compresses text sends (GitHub Pages does).\n\n"
        + table(["page", "own MB", "first visit MB", "first visit MB, gzip", "own ≤ target"], weights)
        + "\n\n"
        + table(["", "MB"], totals)
    )
    sections.insert(0, table(["", ""], facts))
    for name, doc, text in extras:
        sections.append(f"## {doc.rstrip('.')}\n\nFrom `benchmarks/{name}`.\n\n{text}")

    header = (
        "<!-- Written by benchmarks/run.py (make bench); do not edit by hand. -->\n\n"
        "Measured on the machine below; timings are wall-clock and vary with the load of the machine.\n"
    )
    args.output.write_text(header + "\n" + "\n\n".join(sections) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
