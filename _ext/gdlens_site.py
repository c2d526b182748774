"""Sphinx extension: what the website does to the pages once they are built.

- A scrubber (``gdlens.plotting.Scrubber``) carries its frames inline as base64, so that a notebook is
  self-contained in Jupyter. On the website that would put every frame of every static figure inside the
  page's HTML. Here each frame becomes a PNG file under ``_images/frames/`` (named by its content hash, so
  a frame shared by two pages is stored once) and the scrubber loads a frame only when it is shown.
- MathJax is shipped offline (sphinx-mathjax-offline copies all of MathJax 3, 23 MB). The pages load one
  combined component (``mathjax_path``, tex-chtml); the other combined components and the SVG output,
  which nothing loads, are removed: the site is 15 MB lighter.
- A citation list is marked ``role="list"`` by docutils while its entries are ``doc-biblioentry``, a role a
  list may not contain (axe-core: aria-required-children); the entries become list items.
- Source maps (``*.map``, 3.5 MB of the theme's) and the theme's translation catalogues are build or debug
  aids that no reader's browser requests: they are not published.
- A figure whose image has no description (myst-nb gives it the file path as its alt text) gets its
  caption as alt text, so that a screen reader reads what the figure shows.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
from pathlib import Path

from bs4 import BeautifulSoup

FRAMES_DIR = Path("_images") / "frames"


def _frame_file(outdir: Path, b64: str) -> Path:
    data = base64.b64decode(b64)
    rel = FRAMES_DIR / (hashlib.sha256(data).hexdigest()[:20] + ".png")
    path = outdir / rel
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return rel


def _externalise_scrubbers(soup: BeautifulSoup, outdir: Path, page: Path) -> bool:
    changed = False
    for root in soup.select("div.gdlens-scrubber"):
        script = root.select_one("script.gdlens-frames")
        if script is None:
            continue
        data = json.loads(script.string)
        if "frames" not in data:
            continue
        urls = [
            os.path.relpath(outdir / _frame_file(outdir, b64), page.parent).replace(os.sep, "/")
            for b64 in data["frames"]
        ]
        start = int(root.get("data-start", "0"))
        img = root.find("img")
        if img is not None:
            img["src"] = urls[start]
        script.string = json.dumps({"urls": urls, "labels": data["labels"]}).replace("</", "<\\/")
        changed = True
    return changed


def _citation_list_items(soup: BeautifulSoup) -> bool:
    changed = False
    for listing in soup.select('div.citation-list[role="list"]'):
        for entry in listing.find_all("div", class_="citation", recursive=False):
            entry["role"] = "listitem"
            changed = True
    return changed


def _caption_alt_text(soup: BeautifulSoup) -> bool:
    changed = False
    for figure in soup.select("figure"):
        img, caption = figure.find("img"), figure.find("figcaption")
        if img is None or caption is None:
            continue
        alt = img.get("alt", "")
        if not alt or alt.endswith((".png", ".svg", ".jpg")) or "/" in alt:
            for anchor in caption.select("a.headerlink"):
                anchor.decompose()
            text = " ".join(caption.get_text(" ", strip=True).split())
            # Drop the "Fig. 3.1" prefix: the reader hears the figure, not its number.
            img["alt"] = text.split(" ", 2)[2] if text.startswith("Fig.") and text.count(" ") >= 2 else text
            changed = True
    return changed


def _prune_mathjax(app, outdir: Path) -> None:
    mathjax = outdir / "_static" / "mathjax"
    loaded = Path(str(app.config.mathjax_path)).name  # e.g. tex-chtml.js
    if not mathjax.is_dir() or not (mathjax / loaded).is_file():
        return
    kept_output = "chtml" if "chtml" in loaded else "svg"
    for path in mathjax.glob("*.js"):
        if path.name != loaded and (path.stem.startswith(("tex-", "mml-")) or path.name == "node-main.js"):
            path.unlink()
    for other in ("chtml", "svg"):
        if other != kept_output:
            shutil.rmtree(mathjax / "output" / other, ignore_errors=True)
            (mathjax / "output" / f"{other}.js").unlink(missing_ok=True)


def _prune_static(outdir: Path) -> None:
    static = outdir / "_static"
    for path in [*static.rglob("*.map"), *static.rglob("*.po"), *static.rglob("*.mo")]:
        path.unlink()


def _rewrite_pages(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    _prune_mathjax(app, outdir)
    _prune_static(outdir)
    for page in outdir.rglob("*.html"):
        if page.relative_to(outdir).parts[0] in ("_static", "_sources", "_images"):
            continue
        text = page.read_text(encoding="utf-8")
        if not any(mark in text for mark in ("gdlens-scrubber", "<figure", "citation-list")):
            continue
        soup = BeautifulSoup(text, "html.parser")
        changed = _externalise_scrubbers(soup, outdir, page)
        changed = _caption_alt_text(soup) or changed
        changed = _citation_list_items(soup) or changed
        if changed:
            page.write_text(str(soup), encoding="utf-8")


def setup(app):
    # After sphinx-mathjax-offline, which copies MathJax on build-finished too (default priority 500).
    app.connect("build-finished", _rewrite_pages, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
