"""The website in a real browser: every page of the built book, served on 127.0.0.1, in headless Chromium.

What a reader of the static website must get, checked page by page:

- no console error, no failed request, and no request to any host but 127.0.0.1 (such requests are
  aborted and counted as failures: the site must work from a folder on a machine with no network);
- every formula typeset by MathJax (an ``mjx-container`` in every ``.math`` element, no ``mjx-merror``)
  and no raw TeX left in the text;
- every image decoded;
- every static counterpart of a widget (``.gdlens-scrubber``) responds to its step buttons, its slider
  and its play button;
- no traceback, no error or stderr output, no widget-manager placeholder;
- and, per chapter: launch buttons (Binder, Colab), the ``.ipynb`` download, the reproducibility note;
  search finds the chapter.

A full-page screenshot of every page goes to ``_build/screenshots/`` for a person to look at.

Environment variables: ``GDLENS_SITE`` (the built site, default ``_build/html``), ``GDLENS_TOC`` (the toc
it was built from, default ``_toc.yml``), ``GDLENS_CHROMIUM`` (the browser executable, default the first
of chromium, chromium-browser, google-chrome on ``PATH``), ``GDLENS_SCREENSHOTS``. Without Chromium (or
Playwright) the browser-driven tests are skipped with a plain message, except under CI (``CI=true``),
where a missing browser is a failure.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("GDLENS_SITE", ROOT / "_build" / "html")).resolve()
TOC = Path(os.environ.get("GDLENS_TOC", ROOT / "_toc.yml")).resolve()
SCREENSHOTS = Path(os.environ.get("GDLENS_SCREENSHOTS", SITE.parent / "screenshots"))
ON_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# TeX that MathJax should have consumed: seen in the page's text, it means a formula was not typeset.
RAW_TEX = re.compile(
    r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\\(?:frac|nabla|theta|gamma|lambda|alpha|sum|int|mathbb|mathrm|sqrt|partial)\b"
)
# What a page shows when it tries to display a live ipywidget without a kernel or a widget manager.
WIDGET_PLACEHOLDERS = (
    "Loading widget",
    "Error displaying widget",
    "interactive(children=",
    "FloatSlider(",
    "IntSlider(",
    "Dropdown(",
    "VBox(children=",
)
# Elements that sphinx/myst-nb use for output a reader should never see in a published chapter.
ERROR_SELECTORS = ".traceback, .output.error, .output.stderr, .stderr, .system-message, .problematic"


# --- the pages ------------------------------------------------------------------------------------


def _toc_files(toc: Path) -> list[str]:
    """Every ``file:`` of a jupyter-book toc, root first, without extension."""
    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    files = [data["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in data.items() if k != "root"})
    return [re.sub(r"\.(md|ipynb|rst)$", "", f) for f in files]


TOC_FILES = _toc_files(TOC) if TOC.is_file() else []
TOC_PAGES = [f"{f}.html" for f in TOC_FILES]
# The generated pages too: the general index, the Python module index (when autodoc made one), search.
EXTRA_PAGES = ["genindex.html", "search.html"] + (["py-modindex.html"] if (SITE / "py-modindex.html").is_file() else [])
PAGES = TOC_PAGES + [p for p in EXTRA_PAGES if p not in TOC_PAGES]


def _html(page: str) -> str:
    return (SITE / page).read_text(encoding="utf-8")


def _is_chapter(page: str) -> bool:
    """A chapter is a page built from a notebook (its .ipynb source is published for download)."""
    return (SITE / "_sources" / page).with_suffix(".ipynb").is_file()


CHAPTERS = [p for p in TOC_PAGES if _is_chapter(p)]


class _Tags(HTMLParser):
    """Collects (tag, attrs) of every start tag, and every element id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v or "") for k, v in attrs}
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.add(attrs["id"])


@functools.cache
def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(_html(page))
    return parser


def _remote(url: str) -> bool:
    return urlsplit(url.strip()).scheme in {"http", "https"} or url.strip().startswith("//")


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def site() -> Path:
    if not (SITE / "index.html").is_file():
        pytest.fail(f"no built website in {SITE}: build it first (`make book`), or set GDLENS_SITE")
    return SITE


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(site):
    """The site over HTTP on 127.0.0.1, on a free port, in a thread."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def _missing_browser(reason: str):
    message = (
        f"browser tests not run: {reason}. Install Chromium (Debian/Ubuntu: `apt-get install chromium`) "
        "or set GDLENS_CHROMIUM to a Chromium/Chrome executable."
    )
    if ON_CI:
        pytest.fail(message + " (CI=true: a missing browser is a failure)")
    pytest.skip(message)


def _chromium_path() -> str | None:
    for name in (os.environ.get("GDLENS_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and (found := shutil.which(name)):
            return found
    return None


@pytest.fixture(scope="session")
def browser():
    executable = _chromium_path()
    if executable is None:
        _missing_browser("no Chromium found on PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing_browser("the Python package playwright is not installed")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:  # a broken browser install must be visible, not silently skipped
        playwright.stop()
        _missing_browser(f"Chromium at {executable} does not start ({exc.__class__.__name__}: {exc})")
    yield chromium
    chromium.close()
    playwright.stop()


class Visit:
    """A page opened in a fresh browser context that records every problem a reader could meet."""

    def __init__(self, browser, allowed_scheme: str = "http"):
        self.problems: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        self.context.route("**/*", self._route)
        self.allowed_scheme = allowed_scheme
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)  # a control that does not answer fails in seconds, not minutes
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"uncaught exception: {exc}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {_short(r.url)} {r.failure}"))
        self.page.on(
            "response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {_short(r.url)}")
        )

    def _route(self, route):
        url = urlsplit(route.request.url)
        local = url.hostname == "127.0.0.1" if self.allowed_scheme == "http" else url.scheme == "file"
        if local or url.scheme in {"data", "blob", "about"}:
            route.continue_()
        else:
            self.problems.append(f"request to another host (aborted: the site must work offline): {url.geturl()}")
            route.abort("blockedbyclient")

    def _console(self, msg):
        if msg.type == "error":
            self.problems.append(f"console error: {msg.text}")

    def open(self, url: str):
        self.page.goto(url, wait_until="load")
        # MathJax 3 typesets after its startup; wait for it when the page loads MathJax.
        self.page.wait_for_function(
            "() => !window.MathJax || (window.MathJax.startup && window.MathJax.startup.promise)"
        )
        self.page.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")
        return self.page

    def close(self):
        self.context.close()


def _around(text: str, i: int) -> str:
    return " ".join(text[max(0, i - 60) : i + 60].split())


def _short(url: str) -> str:
    return url if len(url) < 120 else url[:100] + "…"


@pytest.fixture
def visit(browser):
    opened = []

    def open_page(url: str, **kwargs):
        v = Visit(browser, **kwargs)
        opened.append(v)
        v.open(url)
        return v

    yield open_page
    for v in opened:
        v.close()


# --- what a page must satisfy, in the browser -----------------------------------------------------

_MATH_JS = """() => {
  const math = [...document.querySelectorAll('.math')];
  return {
    count: math.length,
    untypeset: math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.trim().slice(0, 80)),
    errors: [...document.querySelectorAll('mjx-merror')].map(e => e.textContent.slice(0, 80)),
    containers: document.querySelectorAll('mjx-container').length,
  };
}"""

_TEXT_JS = """() => {
  const skip = 'script, style, pre, code, .highlight, mjx-container, .math, textarea, .gdlens-frames';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!n.parentElement.closest(skip) && n.textContent.trim()) out.push(n.textContent);
  }
  return out;
}"""

_IMAGES_JS = """async () => {
  const bad = [];
  for (const img of document.images) {
    try { await img.decode(); } catch (e) {}
    if (!img.complete || img.naturalWidth === 0) bad.push((img.currentSrc || img.src).slice(0, 100));
  }
  return {count: document.images.length, bad: bad};
}"""


def _check_scrubber(page, scrubber, index: int) -> list[str]:
    """Step buttons, slider and play button each change the shown frame (and the new frame decodes)."""
    problems = []
    img, out = scrubber.locator("img").first, scrubber.locator("output").first
    slider = scrubber.locator("input[type=range]").first
    name = f"scrubber {index} ({scrubber.get_attribute('id')})"
    scrubber.scroll_into_view_if_needed()

    def frame():
        return img.get_attribute("src"), out.text_content()

    def decoded():
        return img.evaluate("async i => { try { await i.decode(); } catch (e) {} return i.naturalWidth; }") > 0

    start = frame()
    scrubber.locator("button[data-step='1']").click()
    if frame()[0] == start[0] or frame()[1] == start[1]:
        problems.append(f"{name}: the next-frame button does not change the image and its label")
    elif not decoded():
        problems.append(f"{name}: the next frame does not decode")
    scrubber.locator("button[data-step='-1']").click()
    if frame() != start:
        problems.append(f"{name}: the previous-frame button does not go back to the first frame shown")
    # The slider, moved with the keyboard as a reader would (this fires its input event).
    slider.focus()
    at_end = slider.input_value() == slider.get_attribute("max")
    slider.press("Home" if at_end else "End")
    if frame()[0] == start[0]:
        problems.append(f"{name}: moving the slider does not change the image")
    elif not decoded():
        problems.append(f"{name}: the frame at the slider's end does not decode")
    # Play advances by itself; pause stops it.
    before = img.get_attribute("src")
    play = scrubber.locator("button[data-play]")
    play.click()
    try:
        page.wait_for_function(
            "([i, s]) => i.getAttribute('src') !== s", arg=[img.element_handle(), before], timeout=3000
        )
    except Exception:
        problems.append(f"{name}: the play button does not advance the frames")
    play.click()
    return problems


def _page_problems(v: Visit) -> list[str]:
    page = v.page
    problems = list(v.problems)
    math = page.evaluate(_MATH_JS)
    problems += [f"formula not typeset: {t!r}" for t in math["untypeset"]]
    problems += [f"MathJax error in a formula: {t!r}" for t in math["errors"]]
    if math["containers"] < math["count"]:
        problems.append(f"{math['count']} formulas but only {math['containers']} typeset by MathJax")
    for text in page.evaluate(_TEXT_JS):
        if m := RAW_TEX.search(text):
            problems.append(f"raw TeX in the text (not typeset): {_around(text, m.start())!r}")
    images = page.evaluate(_IMAGES_JS)
    problems += [f"image not decoded: {src}" for src in images["bad"]]
    visible = page.evaluate("() => document.body.innerText")
    if "Traceback (most recent call last)" in visible:
        problems.append("a traceback is shown")
    for sel in ERROR_SELECTORS.split(", "):
        if n := page.locator(sel).count():
            problems.append(f"{n} error/stderr output block(s) ({sel})")
    problems += [f"widget placeholder shown: {p!r}" for p in WIDGET_PLACEHOLDERS if p in visible]
    if n := page.locator("script[type='application/vnd.jupyter.widget-view+json']").count():
        problems.append(f"{n} live widget view(s) that need a kernel (tag the live cell remove-output)")
    for i, scrubber in enumerate(page.locator(".gdlens-scrubber").all()):
        problems += _check_scrubber(page, scrubber, i)
    return problems


def _screenshot(page, name: str, max_height: int = 20_000):
    """A full-page PNG for a person to look at (the first 20 000 px of very long pages, such as the API)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = min(page.evaluate("() => document.documentElement.scrollHeight"), max_height)
    path = SCREENSHOTS / (name.replace("/", "__").removesuffix(".html") + ".png")
    clip = {"x": 0, "y": 0, "width": 1280, "height": height}
    page.screenshot(path=str(path), full_page=True, clip=clip, timeout=60_000)


@pytest.mark.parametrize("page", PAGES)
def test_page_in_browser(site, server, visit, page):
    """Open the page as a reader would, offline; screenshot it; list every problem found."""
    if not (site / page).is_file():
        pytest.fail(f"{page} is in the toc but was not built")
    v = visit(urljoin(server, page))
    _screenshot(v.page, page)
    problems = _page_problems(v)
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def test_pages_have_math(site):
    """The typesetting checks are not vacuous: the built pages do contain formulas for MathJax."""
    with_math = [p for p in TOC_PAGES if (site / p).is_file() and 'class="math' in _html(p)]
    assert with_math, "no page of the toc has a formula: has the math markup changed?"


@pytest.mark.parametrize("page", CHAPTERS)
def test_search_finds_chapter(site, server, visit, page):
    """search.html?q=<a word from the chapter's title> lists the chapter."""
    title = re.search(r"<h1[^>]*>(.*?)</h1>", _html(page), re.S)
    assert title, f"{page} has no <h1> title"
    words = re.findall(r"[A-Za-z]{5,}", re.sub(r"<[^>]+>", " ", title.group(1)))
    assert words, f"{page}: no searchable word in its title {title.group(1)!r}"
    word = max(words, key=len).lower()
    v = visit(urljoin(server, f"search.html?q={word}"))
    # Sphinx lists results one by one, then writes a summary: wait for this page's hit or for the summary.
    found_js = """page => [...document.querySelectorAll('#search-results ul.search li a')]
        .some(a => decodeURIComponent(a.href).includes(page))"""
    done_js = "() => /found|did not match/i.test(document.querySelector('p.search-summary')?.textContent || '')"
    try:
        v.page.wait_for_function(f"page => ({found_js})(page) || ({done_js})()", arg=page, timeout=30_000)
    except Exception:
        pass
    hits = v.page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
    assert any(page in unquote(h) for h in hits), f"searching {word!r} does not list {page}: {hits[:20]}"
    assert not v.problems, v.problems


@pytest.mark.parametrize("page", CHAPTERS[:1])
def test_chapter_works_from_a_copied_folder(site, visit, page, tmp_path):
    """The site copied to another folder, opened from disk (file://), every network request aborted:
    math typeset with its own fonts, figures move."""
    copy = shutil.copytree(site, tmp_path / "site")
    v = visit((copy / page).as_uri(), allowed_scheme="file")
    problems = _page_problems(v)
    if v.page.locator("mjx-container").count():
        v.page.evaluate("async () => { await document.fonts.ready; }")
        fonts = v.page.evaluate("() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
        if not any(f.startswith("MJXTEX") for f in fonts):
            problems.append(f"MathJax's fonts did not load from disk (loaded: {fonts})")
    assert not problems, f"{page} from file://:\n  " + "\n  ".join(problems)


# --- what the built HTML must satisfy (no browser needed, but the built site is) -------------------

_LOADING = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "input": ("src",),
}
_LOADING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "shortcut", "manifest", "preconnect"}


def _all_pages(site: Path) -> list[str]:
    skip = ("_static/", "_sources/", "_images/")
    return sorted(
        p.relative_to(site).as_posix()
        for p in site.rglob("*.html")
        if not p.relative_to(site).as_posix().startswith(skip)
    )


def test_toc_pages_are_built(site):
    assert TOC_PAGES, f"no pages found in {TOC}"
    missing = [p for p in TOC_PAGES if not (site / p).is_file()]
    assert not missing, f"pages in the toc but not in the site: {missing}"


def test_no_page_loads_a_remote_asset(site):
    """Every script, stylesheet, font, image, frame comes from the site itself."""
    found = []
    for page in _all_pages(site):
        for tag, attrs in _parse(page).tags:
            urls = [attrs[a] for a in _LOADING.get(tag, ()) if a in attrs]
            if tag == "link" and _LOADING_RELS & set(attrs.get("rel", "").lower().split()):
                urls.append(attrs.get("href", ""))
            urls += re.findall(r"url\(\s*['\"]?([^'\")]+)", attrs.get("style", ""))
            found += [
                f"{page}: <{tag}> {u}"
                for u in urls
                for part in u.split(",")
                if _remote(part.split()[0] if part.split() else "")
            ]
        for css in re.findall(r"<style[^>]*>(.*?)</style>", _html(page), re.S):
            found += [f"{page}: <style> {u}" for u in re.findall(r"url\(\s*['\"]?(https?:[^'\")]+)", css)]
    for css in site.joinpath("_static").rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        remote = re.findall(
            r"url\(\s*['\"]?((?:https?:)?//[^'\")]+)|@import\s+(?:url\()?['\"]?((?:https?:)?//[^'\")]+)", text
        )
        found += [f"{css.relative_to(site)}: {a or b}" for a, b in remote]
    assert not found, "remote assets (the site must work offline):\n  " + "\n  ".join(found)


def test_mathjax_is_served_locally(site):
    scripts = [
        a.get("src", "")
        for t, a in _parse("intro.html").tags
        if t == "script" and "mathjax" in a.get("src", "").lower()
    ]
    assert scripts, "intro.html loads no MathJax"
    for src in scripts:
        assert not _remote(src), f"MathJax from the network: {src}"
        assert (site / urljoin("intro.html", src.split("?")[0])).is_file(), f"MathJax script missing: {src}"
    fonts = list(site.glob("_static/mathjax/output/chtml/fonts/woff-v2/*.woff"))
    assert fonts, "MathJax's CHTML fonts are not in the site"


def test_internal_links_resolve(site):
    """Every link inside the site reaches a page, and every #anchor (equations, figures, citations) exists."""
    broken = []
    for page in _all_pages(site):
        for tag, attrs in _parse(page).tags:
            href = attrs.get("href", "")
            if tag != "a" or not href or _remote(href) or href.startswith(("mailto:", "javascript:")):
                continue
            target = urlsplit(urljoin(page, href))
            path = unquote(target.path) or page
            if not (site / path).exists():
                broken.append(f"{page}: {href} (no file {path})")
            elif target.fragment and path.endswith(".html") and target.fragment not in _parse(path).ids:
                broken.append(f"{page}: {href} (no id {target.fragment!r} in {path})")
    assert not broken, "broken links:\n  " + "\n  ".join(broken)


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_reader_features(site, page):
    """Launch buttons, the notebook download, the repository link, numbered equations, the repro note."""
    html = _html(page)
    slug = page.removesuffix(".html")
    assert re.search(rf'href="https://mybinder\.org/[^"]*{re.escape(slug)}\.ipynb"', html), "no Binder launch button"
    assert re.search(rf'href="https://colab\.research\.google\.com/[^"]*{re.escape(slug)}\.ipynb"', html), (
        "no Colab button"
    )
    download = re.search(rf'href="([^"]*_sources/{re.escape(slug)}\.ipynb)"', html)
    assert download, "no .ipynb download button"
    assert (site / urljoin(page, download.group(1))).is_file(), "the downloadable .ipynb is missing from the site"
    assert "btn-source-repository-button" in html, "no link to the repository"
    note = [t for t in re.findall(r"<table.*?</table>", html, re.S) if ">seeds<" in t and ">gdlens<" in t]
    assert note, "no reproducibility note (gdlens.repro.reproducibility_note) at the end of the chapter"
    assert html.rfind(note[-1]) > html.find("<h1"), "the reproducibility note is not in the chapter's body"


def test_bibliography_and_api_pages(site):
    if "bibliography.html" in TOC_PAGES:
        entries = re.findall(r'<(?:dt|div) [^>]*class="[^"]*(?:label|citation)', _html("bibliography.html"))
        assert entries, "the bibliography page lists no work"
    if "api.html" in TOC_PAGES:
        api = _html("api.html")
        assert re.search(r'<dl class="py (?:function|class)', api), "the API page documents no function or class"


@pytest.mark.parametrize("page", CHAPTERS)
def test_every_widget_has_a_static_counterpart(site, page):
    """In Jupyter the live widget shows; on the website its output is removed and a Scrubber stands in."""
    import json

    notebook = json.loads((site / "_sources" / page).with_suffix(".ipynb").read_text(encoding="utf-8"))
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    live = [c for c in code if ".live(" in "".join(c["source"])]
    untagged = ["".join(c["source"]).strip().splitlines()[-1] for c in live]
    untagged = [
        src for c, src in zip(live, untagged, strict=True) if "remove-output" not in c["metadata"].get("tags", [])
    ]
    assert not untagged, f"live widget cells without the remove-output tag (dead on the website): {untagged}"
    scrubbers = _html(page).count('class="gdlens-scrubber"')
    assert scrubbers >= len(live), f"{len(live)} live widget(s) but {scrubbers} static counterpart(s) on the page"


@pytest.mark.parametrize("page", CHAPTERS)
def test_the_colab_set_up_cell_is_not_on_the_website(site, page):
    """The set-up cell (tools/install_cell.py) is tagged remove-cell: the reader of the website never sees it,
    while the downloadable notebook, which Colab and Binder open, keeps it."""
    html = _html(page)
    for marker in ("_install_gdlens", "GDLENS_INSTALL_SOURCE", "Installing gdlens from"):
        assert marker not in html, f"{page} shows the Colab set-up cell ({marker!r})"
    import json

    notebook = json.loads((site / "_sources" / page).with_suffix(".ipynb").read_text(encoding="utf-8"))
    installs = [c for c in notebook["cells"] if c["metadata"].get("gdlens") == {"role": "install"}]
    if installs:  # until tools/install_cell.py has run on the chapters, there is nothing to check here
        assert "remove-cell" in installs[0]["metadata"].get("tags", [])


# --- for readers on any device: accessibility, narrow screens, light pages, the PDF -----------------

AXE = Path(os.environ.get("GDLENS_AXE", ROOT / "_build" / "vendor" / "axe-core" / "axe.min.js"))
WIDTHS = (1280, 390)


def _axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"axe-core is not at {AXE}: `make browser` fetches it from npm (or set GDLENS_AXE)")
    return AXE.read_text(encoding="utf-8")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", TOC_PAGES)
def test_accessible_and_no_sideways_scroll(site, server, browser, page, width):
    """axe-core finds no violation of serious or critical impact, and the page never scrolls sideways."""
    context = browser.new_context(viewport={"width": width, "height": 900}, service_workers="block")
    try:
        tab = context.new_page()
        tab.goto(urljoin(server, page), wait_until="load", timeout=60_000)
        tab.evaluate("async () => { if (window.MathJax && MathJax.startup) await MathJax.startup.promise; }")
        tab.add_script_tag(content=_axe_source())
        result = tab.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        problems = [
            f"{v['id']} ({v['impact']}, {len(v['nodes'])}×, first at {v['nodes'][0]['target']}): {v['help']}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        scroll = tab.evaluate("() => document.documentElement.scrollWidth")
        if scroll > width:
            problems.append(f"the page scrolls sideways: {scroll} px of content in a {width} px window")
    finally:
        context.close()
    assert not problems, f"{page} at {width} px:\n  " + "\n  ".join(problems)


def test_scrubber_frames_are_files_loaded_when_shown(site):
    """No frame is inlined in a page: each is a PNG file under _images/frames, and every file exists."""
    import json

    scrubbers = 0
    for page in CHAPTERS:
        text = _html(page)
        for match in re.finditer(r'<script[^>]*class="gdlens-frames"[^>]*>(.*?)</script>', text, re.S):
            data = json.loads(match.group(1))
            scrubbers += 1
            assert "frames" not in data and len(data["urls"]) == len(data["labels"]) >= 2, page
            for url in data["urls"]:
                assert (site / page).parent.joinpath(url).resolve().is_file(), f"{page}: missing frame {url}"
        assert 'src="data:image/png;base64' not in text, f"{page} inlines a frame"
    assert scrubbers, "no scrubber found: has the scrubber markup changed?"


def test_page_and_site_weight(site):
    """Each page's own HTML stays light (frames and figures are files), and the whole site is small.

    The PDF edition, a separate download beside the site, is not counted in the site's weight.
    """
    heavy = {p: (site / p).stat().st_size for p in TOC_PAGES if (site / p).stat().st_size > 1_000_000}
    assert not heavy, f"pages over 1 MB of HTML: {heavy}"
    total = sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and f.name != "gdlens-book.pdf")
    assert total <= 40 * 2**20, f"the site weighs {total / 2**20:.1f} MB (limit 40 MB)"


def test_figures_are_described_by_their_captions(site):
    """An image's alt text says what it shows (its caption or frame label), never a file path."""
    bad = []
    for page in TOC_PAGES:
        for tag, attrs in _parse(page).tags:
            if tag == "img" and "logo" not in attrs.get("class", "") + attrs.get("alt", "").lower():
                alt = attrs.get("alt", "").strip()
                if not alt or alt.endswith((".png", ".svg", ".jpg")) or "_images/" in alt:
                    bad.append(f"{page}: {attrs.get('src', '')[:60]} alt={alt!r}")
    assert not bad, "\n".join(bad[:20])


def test_scrubber_controls_say_what_they_move(site, server, visit):
    """The slider is named after its control, its value text is the frame label, the label is announced."""
    page = CHAPTERS[0]
    v = visit(urljoin(server, page))
    scrubber = v.page.locator(".gdlens-scrubber").first
    slider, out = scrubber.locator("input[type=range]"), scrubber.locator("output")
    assert slider.get_attribute("aria-label") not in (None, "", "frame")
    assert out.get_attribute("aria-live") == "polite"
    glyphs = [scrubber.locator(f"button[{a}]").first.text_content() for a in ("data-step='1'", "data-play")]
    assert glyphs[0].strip() != glyphs[1].strip()[:1], f"next and play share a glyph: {glyphs}"
    slider.focus()
    slider.press("End")
    assert slider.get_attribute("aria-valuetext") == out.text_content()


def test_the_pdf_edition_is_linked_and_built(site):
    """`make pdf` puts the PDF beside the site and the preface links it."""
    pdf = site / "gdlens-book.pdf"
    assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-", "no PDF edition in the site: run `make pdf`"
    assert any(tag == "a" and attrs.get("href") == "gdlens-book.pdf" for tag, attrs in _parse("intro.html").tags)
