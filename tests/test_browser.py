"""The built book in a real browser: headless Debian chromium driven by Playwright, offline.

Every page of ``_build/html`` is opened from ``file://`` with the network blocked (every
non-file request is aborted and recorded), once at a desktop width (1366 x 900) and once at a
phone width (390 x 844), and checked for: no console errors, no uncaught exceptions, no failed
or external requests; every ``<img>`` decoded; math typeset by MathJax with no raw TeX or stray
``$`` left in the visible prose; widgets rendered where a page embeds widget views; every
relative link pointing at an existing file (and anchor); display equations no wider than their
column on a desktop and no equation box clipping its formula; equation numbers beside their
equations on a desktop and below them on a phone; at 390 px nothing wider than the screen outside
a scroll container, and at most MAX_SCROLLING_EQUATIONS display equations scrolling sideways; no
serious or critical axe-core violation (desktop); at both widths, code lines wrap or scroll inside
their box, inline formulas stay inside the column, glued numbers have the weight of their text and
captions are not light, explorer labels are whole, readouts on one line and a button group's label
on its buttons' row, explorer digits wide enough to read and explorer text (the plots' included,
as shown) at least 10 px; then in dark mode (``data-theme="dark"``, as the theme's switch sets it)
figures and explorers show the page's own background with legible ink and text (a second
screenshot of each figure and explorer). ``_build/screenshots/report.json`` lists per page:
console errors, external requests, axe violations by severity, and the bytes the page loaded.
With ``VAE_SCREENSHOTS=1`` (``make screenshots``) a full-page screenshot of each page at both
widths, light and dark, goes to ``_build/screenshots/`` too, for a person to look at (they take
about a third of this module's time, so CI does not take them).

Separate tests: the menu buttons (chapter list, contents) open their panels at 390 px; search
snippets carry no raw TeX; "Live Code" says why it cannot start when offline; on the widget
pages (WIDGET_PAGES: the chapters whose code uses ``vae.widgets``, checked against the built
pages that embed widget views), every control changes the display with no kernel, and no
explorer changes height when a control changes (1366 and 390 px); chapter 8's JavaScript
decoder decodes where it is dragged;
every object of the API page links to its source.

Needs ``/usr/bin/chromium`` (``tools/install_browser.sh``) and the ``playwright`` package;
never ``playwright install``. axe-core comes from the npm registry (``tools/vendor_js.sh
--test`` puts it in ``tests/vendor/``; ``make test`` runs it). Uses the session's fresh build
(``book_html`` in ``conftest.py``), or the ``html`` folder named by ``$VAE_BOOK_HTML``. Marked
``browser``; deselect with ``-m "not browser"``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

from book.toc import chapters

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "tests" / "vendor" / "axe.min.js"


def explorer_pages(root: Path = ROOT) -> tuple[str, ...]:
    """The built pages (``chapters/03-elbo.html``, ...) of the chapters (``book.toc``, the list
    the build executes) whose code cells use ``vae.widgets``: the pages with an explorer. A new
    explorer page is tested with no edit here; ``test_explorer_pages_are_the_pages_with_widgets``
    checks this list against the widget views of the built pages."""
    out = []
    for source in chapters(root):
        text = source.read_text(encoding="utf-8")
        cells = re.findall(r"^```\{code-cell\}[^\n]*\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
        if any(re.search(r"\bvae\.widgets\b|from vae import widgets", c) for c in cells):
            out.append(source.relative_to(root).with_suffix(".html").as_posix())
    return tuple(out)


WIDGET_PAGES = explorer_pages()
DESKTOP = (1366, 900)
PHONE = (390, 844)
TIMEOUT_MS = 30_000
# Bytes a page may load (HTML, scripts, styles, fonts, images; from the files requested).
# Widget pages embed every precomputed state and the widget manager (~3.6 MB).
PAGE_BUDGET = 6_000_000
WIDGET_PAGE_BUDGET = 11_000_000
# Display equations that may still scroll sideways at 390 px: MathJax 4 breaks the others into
# lines. Measured: 1 of 49, chapter 2's gap decomposition (2.4), whose underbraced terms
# (with their text labels) cannot be broken. MathJax 3 (no line breaking) scrolled 33.
MAX_SCROLLING_EQUATIONS = 1


@pytest.fixture(scope="session")
def axe_js() -> Path:
    """axe-core's script (from npm, for the tests only; fetched once by tools/vendor_js.sh)."""
    if not AXE.exists():
        try:
            subprocess.run([str(ROOT / "tools" / "vendor_js.sh"), "--test"], check=True)
        except (OSError, subprocess.CalledProcessError) as e:
            if os.environ.get("CI"):
                pytest.fail(f"could not fetch axe-core: {e}")
            pytest.skip(f"no {AXE.relative_to(ROOT)} and could not fetch it: {e}")
    return AXE


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    out = ROOT / "_build" / "screenshots"  # report.json, and the screenshots if asked for
    out.mkdir(parents=True, exist_ok=True)
    return out


def pages(html: Path) -> list[Path]:
    """Every HTML page of the book (not the theme's or Sphinx's asset folders)."""
    return sorted(
        p
        for p in html.rglob("*.html")
        if not any(part.startswith("_") for part in p.relative_to(html).parts[:-1])
    )


class Page:
    """A browser tab on one page, with everything that went wrong recorded."""

    def __init__(self, browser, path: Path, viewport: tuple[int, int] = DESKTOP):
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.page = self.context.new_page()
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.files: set[str] = set()
        self.context.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.goto(path.as_uri(), wait_until="load", timeout=TIMEOUT_MS)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith("file:"):
            self.files.add(unquote(urlparse(url).path))
            route.continue_()
        elif url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text}")

    def weight(self) -> int:
        """Bytes of every file the page requested (as stored, uncompressed)."""
        return sum(os.path.getsize(f) for f in self.files if os.path.isfile(f))

    def close(self) -> None:
        self.context.close()


IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) { img.loading = "eager"; }
  await Promise.all(imgs.map(img => img.decode().catch(() => null)));
  return imgs.filter(img => !(img.complete && img.naturalWidth > 0))
             .map(img => img.currentSrc.slice(0, 120) || img.outerHTML.slice(0, 120));
}"""

# Visible text outside code, scripts and typeset math.
TEXT_JS = """() => {
  const skip = "pre, code, script, style, textarea, mjx-container, .highlight, .sig, kbd";
  if (!document.body) return "";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const out = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || el.closest(skip) || !el.offsetParent) continue;
    out.push(n.textContent);
  }
  return out.join(" ");
}"""
# What is left of TeX that MathJax did not typeset: a dollar sign, \( \[ $$, a control word.
RAW_TEX = re.compile(r"\$|\\[(\[]|\\[A-Za-z]{2,}")

# A punctuation mark that starts a line right after an inline formula (left alone there).
ORPHAN_JS = """() => {
  const out = [];
  for (const math of document.querySelectorAll(".bd-article span.math")) {
    const next = math.nextSibling;
    if (!next || next.nodeType !== Node.TEXT_NODE || !/^[.,;:]/.test(next.data)) continue;
    if (!math.offsetParent) continue;
    const range = document.createRange();
    range.setStart(next, 0); range.setEnd(next, 1);
    const mark = range.getBoundingClientRect(), m = math.getBoundingClientRect();
    if (mark.top >= m.bottom - 2)
      out.push(`"${next.data[0]}" alone after: ` + math.textContent.slice(0, 40));
  }
  return out;
}"""

LINKS_JS = """() => Array.from(document.querySelectorAll("a[href]"))
  .map(a => a.getAttribute("href"))"""

# Every math box that clips (overflow not visible) must leave room around its formula, and a
# display equation must fit its column when `wide_ok` is false (desktop). MathJax 4 writes
# glyphs as text, whose font box (taller than any ink) reaches a few px past a formula's box:
# vertical overflow counts only where the box could scroll vertically (a scrollbar).
EQUATIONS_JS = """(wideOk) => {
  const out = [];
  const name = (c) => {
    const div = c.closest("div.math");
    const no = div && div.querySelector(".eqno");
    return (no ? no.textContent.replace(/[^0-9.()]/g, "") : "") + " " +
      (c.querySelector("mjx-assistive-mml") || c).textContent.slice(0, 50);
  };
  for (const c of document.querySelectorAll("mjx-container")) {
    const math = c.querySelector(":scope > mjx-math");
    if (!math || !c.offsetParent) continue;
    const m = math.getBoundingClientRect();
    for (const box of [c, c.parentElement]) {
      const s = getComputedStyle(box);
      if (s.overflowY === "visible" && s.overflowX === "visible") continue;
      const b = box.getBoundingClientRect();
      const top = m.top - b.top - box.clientTop, bottom = b.bottom - m.bottom;
      const scrollsY = s.overflowY === "auto" || s.overflowY === "scroll";
      if ((scrollsY && box.scrollHeight > box.clientHeight + 1) || top < 2 || bottom < 2)
        out.push(`clipped (${top.toFixed(1)} px above, ${bottom.toFixed(1)} px below): ` + name(c));
    }
    if (!wideOk && c.getAttribute("display") === "true") {
      const col = c.closest("article").getBoundingClientRect();
      if (c.scrollWidth > c.clientWidth + 1 || m.right > col.right + 1)
        out.push(`wider than its column (${m.width.toFixed(0)} px in ` +
                 `${c.clientWidth} px): ` + name(c));
    }
  }
  return out;
}"""

# Elements reaching past the right edge of the screen, outside any scroll container.
OVERFLOW_JS = """() => {
  const vw = document.documentElement.clientWidth;
  const out = [];
  const scrolls = (a) => { const o = getComputedStyle(a).overflowX; return o !== "visible"; };
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 1 || getComputedStyle(el).visibility === "hidden")
      continue;
    let a = el.parentElement, inside = false;
    while (a && a !== document.body) {
      if (scrolls(a) && a.getBoundingClientRect().right <= vw + 1) { inside = true; break; }
      const st = getComputedStyle(a);  // off-canvas panels do not widen the page
      if (st.position === "fixed" || st.visibility === "hidden") { inside = true; break; }
      a = a.parentElement;
    }
    if (inside) continue;
    const p = el.parentElement;
    // report the outermost element only
    if (p && p.getBoundingClientRect().right > vw + 1 && !scrolls(p)) continue;
    out.push(`${el.tagName.toLowerCase()}.${String(el.className).split(" ")[0]} ` +
             `reaches ${r.right.toFixed(0)} px: ` + (el.textContent || "").trim().slice(0, 60));
  }
  for (const table of document.querySelectorAll(".bd-article table")) {  // fit, not scroll
    const column = table.closest("article").getBoundingClientRect();
    const r = table.getBoundingClientRect();
    if (r.width > column.width + 1)
      out.push(`table ${r.width.toFixed(0)} px wide in a ${column.width.toFixed(0)} px column: ` +
               table.textContent.trim().slice(0, 40));
  }
  return {width: document.documentElement.scrollWidth, out: out.slice(0, 8)};
}"""

# Display equations at this width: which scroll sideways in their box (content wider than the
# box), which MathJax broke into lines, and each number's place (below its equation on a
# phone, vae-book.css; beside it on a desktop).
DISPLAYS_JS = """(phone) => {
  const out = {total: 0, scrolling: [], broken: [], numbers: []};
  for (const c of document.querySelectorAll('mjx-container[display="true"]')) {
    if (!c.offsetParent) continue;
    const div = c.closest("div.math");
    const no = div && div.querySelector(":scope > .eqno");
    const name = (no ? no.textContent.replace(/[^0-9.()]/g, "") : "") + " " +
      (c.querySelector("mjx-assistive-mml") || c).textContent.slice(0, 50);
    out.total += 1;
    if (c.scrollWidth > c.clientWidth + 1) out.scrolling.push(name);
    if (c.querySelector("mjx-linestack")) out.broken.push(name);
    if (no) {
      const n = no.getBoundingClientRect(), b = c.getBoundingClientRect();
      if (phone ? n.top < b.bottom - 1 : n.left < b.right - 1 || n.top >= b.bottom)
        out.numbers.push(`number ${phone ? "not below" : "not beside"}: ` + name);
    }
  }
  return out;
}"""

# Code boxes (cell inputs and outputs, listings): a line longer than its box wraps or scrolls
# inside the box, and the box stays inside the column (and inside any clipping ancestor).
CODE_JS = """() => {
  const out = [];
  const col = document.querySelector("article.bd-article");
  if (!col) return out;
  const c = col.getBoundingClientRect();
  const scrolls = (s) => s.overflowX === "auto" || s.overflowX === "scroll";
  for (const pre of col.querySelectorAll("pre")) {
    if (!pre.offsetParent) continue;
    const r = pre.getBoundingClientRect(), s = getComputedStyle(pre);
    const name = pre.textContent.trim().split("\\n")[0].slice(0, 50);
    if (pre.scrollWidth > pre.clientWidth + 1 && !scrolls(s))
      out.push(`code cut off (${pre.scrollWidth} px of text in ${pre.clientWidth} px): ${name}`);
    let inScroller = false;
    for (let a = pre.parentElement; a && a !== col; a = a.parentElement) {
      const as = getComputedStyle(a);
      if (as.overflowX === "visible") continue;
      const ar = a.getBoundingClientRect();
      if (scrolls(as) && ar.right <= c.right + 1) { inScroller = true; break; }
      if (r.right > ar.right + 1) out.push(`code box cut by its container: ${name}`);
      break;
    }
    if (!inScroller && r.right > c.right + 1)
      out.push(`code box past the column (${(r.right - c.right).toFixed(0)} px): ${name}`);
  }
  return out;
}"""

# Inline formulas: inside the column, or inside a scroll box that is (never past the edge).
INLINE_MATH_JS = """() => {
  const out = [];
  const col = document.querySelector("article.bd-article");
  if (!col) return out;
  const c = col.getBoundingClientRect();
  for (const m of col.querySelectorAll('mjx-container:not([display="true"])')) {
    if (!m.offsetParent) continue;
    const r = m.getBoundingClientRect();
    if (r.right <= c.right + 1 && r.left >= c.left - 1) continue;
    let ok = false;
    for (let a = m.parentElement; a && a !== col; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === "auto" || s.overflowX === "scroll") {
        const ar = a.getBoundingClientRect();
        ok = ar.right <= c.right + 1 && ar.left >= c.left - 1;
        break;
      }
    }
    if (!ok)
      out.push(`inline math ${(r.right - c.right).toFixed(0)} px past the column: ` +
               (m.querySelector("mjx-assistive-mml") || m).textContent.slice(0, 40));
  }
  return out;
}"""

# Text weights: a glued number in the weight of the text around it (bold only where its
# sentence or cell is), captions not light (300).
WEIGHTS_JS = """() => {
  const out = [];
  for (const g of document.querySelectorAll(".bd-article span.pasted-text")) {
    if (!g.offsetParent) continue;
    const w = getComputedStyle(g).fontWeight, p = getComputedStyle(g.parentElement).fontWeight;
    if (w !== p) out.push(`glued number in weight ${w} inside text of weight ${p}: ` +
                          g.textContent.slice(0, 20));
  }
  for (const cap of document.querySelectorAll(
      ".bd-article figcaption, .bd-article p.caption, .bd-article .caption-text")) {
    if (!cap.offsetParent) continue;
    const w = parseInt(getComputedStyle(cap).fontWeight, 10);
    if (w < 400) out.push(`caption in weight ${w}: ` + cap.textContent.trim().slice(0, 40));
  }
  return out;
}"""

# Explorer text: a label shown whole (ipywidgets cuts a long one with an ellipsis), a readout
# and a control group's label on one line, the label on its buttons' row.
CONTROL_TEXT_JS = """() => {
  const out = [];
  for (const box of document.querySelectorAll(".vae-explorer")) {
    for (const l of box.querySelectorAll(".widget-label, .widget-readout")) {
      if (!l.offsetParent || !l.textContent.trim()) continue;
      if (l.scrollWidth > l.clientWidth + 1)
        out.push(`clipped: "${l.textContent.trim()}" (${l.scrollWidth} px in ${l.clientWidth})`);
      const range = document.createRange(); range.selectNodeContents(l);
      const lines = new Set(Array.from(range.getClientRects())
        .filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) out.push(`wraps onto ${lines.size} lines: "${l.textContent.trim()}"`);
    }
    for (const g of box.querySelectorAll(".widget-toggle-buttons")) {
      const label = g.querySelector(":scope > .widget-label");
      const first = g.querySelector(".widget-toggle-button");
      if (!label || !first || !label.offsetParent || !label.textContent.trim()) continue;
      const a = label.getBoundingClientRect(), b = first.getBoundingClientRect();
      const mid = a.top + a.height / 2;
      if (!(mid > b.top && mid < b.bottom))
        out.push(`"${label.textContent.trim()}" not on the row of its buttons`);
    }
  }
  return out;
}"""

# Explorer legibility: every digit (a pixel-exact image of 8x8 digits, `image-rendering:
# pixelated`, 9 n - 1 pixels wide for n digits in a row) at least `minDigit` CSS px wide, every
# text of the explorer at least 10 px, and the smallest text of each plot (its
# `data-min-text-px`, in image pixels, scaled to the size shown) at least 10 px.
# Chapter 5's and 8's digits were ~26 px and blurred; chapter 8's plots showed ~7 px text.
MIN_TEXT_PX = 10
SIZES_JS = """([minDigit, minText]) => {
  const out = {digits: 0, plots: 0, problems: []};
  const boxes = document.querySelectorAll(".vae-explorer");
  for (const box of boxes) {
    for (const img of box.querySelectorAll("img")) {
      if (!img.offsetParent || getComputedStyle(img).imageRendering !== "pixelated") continue;
      const n = img.naturalWidth;
      if (n % 9 !== 8) continue;  // not a row of 8-pixel digits
      const digit = img.getBoundingClientRect().width * 8 / n;
      out.digits += 1;
      if (digit < minDigit - 0.5)
        out.problems.push(`digits ${digit.toFixed(1)} px wide (< ${minDigit}): ${img.alt}`);
    }
    for (const el of box.querySelectorAll("[data-min-text-px]")) {
      if (!el.offsetParent) continue;
      const natural = el.naturalWidth || parseFloat(el.dataset.naturalWidth);
      const px = parseFloat(el.dataset.minTextPx) * el.getBoundingClientRect().width / natural;
      out.plots += 1;
      // 2% for the rounding of a width shown at half its pixels (244 px for 489)
      if (px < minText * 0.98)
        out.problems.push(`plot text ${px.toFixed(1)} px (< ${minText}): ` +
                          (el.alt || el.getAttribute("aria-label") || "").slice(0, 50));
    }
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const el = t.parentElement;
      if (!t.textContent.trim() || !el.offsetParent) continue;
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size < minText)
        out.problems.push(`text ${size} px: "${t.textContent.trim().slice(0, 30)}"`);
    }
  }
  out.problems = Array.from(new Set(out.problems)).slice(0, 8);
  return out;
}"""
# The smallest digit width (CSS px) in an explorer: at 1366 px the explorers show 48 px digits
# (96 px alone); at 390 px rows of 8 or 9 digits shrink to the column (~30 px).
MIN_DIGIT_PX = {"desktop": 40, "phone": 28}

# Dark mode as pydata-sphinx-theme sets it (its theme switch writes both attributes).
DARK_JS = """() => {
  document.documentElement.dataset.theme = "dark";
  document.documentElement.dataset.mode = "dark";
  return getComputedStyle(document.body).backgroundColor;
}"""

# What dark mode must put on the page's own background: figures (wider than an icon) and
# explorers; and the explorers' text colours with the page's background.
DARK_TARGETS_JS = """() => {
  const els = [];
  for (const img of document.querySelectorAll(".bd-article img")) {
    const r = img.getBoundingClientRect();
    if (img.offsetParent && r.width >= 80 && r.height >= 40) els.push(img);
  }
  for (const box of document.querySelectorAll(".vae-explorer, .vae-latent-decoder"))
    if (box.offsetParent) els.push(box);
  els.forEach((el, i) => el.setAttribute("data-vae-dark-check", String(i)));
  const colours = [];
  for (const box of document.querySelectorAll(".vae-explorer, .vae-latent-decoder")) {
    const walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!n.textContent.trim() || !el.offsetParent) continue;
      // the colour behind the text: the nearest ancestor with an opaque background
      let bg = null;
      for (let a = el; a; a = a.parentElement) {
        const c = getComputedStyle(a).backgroundColor;
        if (c && c !== "transparent" && !/rgba\\([^)]*, 0\\)$/.test(c)) { bg = c; break; }
      }
      colours.push({text: n.textContent.trim().slice(0, 30), color: getComputedStyle(el).color,
                    bg: bg || getComputedStyle(document.body).backgroundColor});
    }
  }
  return {n: els.length, colours};
}"""

AXE_JS = """async () => {
  const r = await axe.run(document, {resultTypes: ["violations"], preload: false});
  return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(" "))}));
}"""

# What an explorer shows now: the visible numbers and image (the leaves of its stacks).
SHOWN_JS = """(box) => {
  const shown = Array.from(box.querySelectorAll(".widget-html-content"))
    .filter(el => el.offsetParent !== null);
  return shown.map(el => el.innerText + "|" +
    Array.from(el.querySelectorAll("img")).map(i => i.src.slice(-60)).join(",")).join("\\n");
}"""


def _check_links(html: Path, path: Path, hrefs: list[str]) -> list[str]:
    problems = []
    ids_cache: dict[Path, set[str]] = {}

    def ids(p: Path) -> set[str]:
        if p not in ids_cache:
            text = p.read_text(encoding="utf-8", errors="replace")
            ids_cache[p] = set(re.findall(r'\bid="([^"]+)"', text))
        return ids_cache[p]

    for href in hrefs:
        if not href or href.startswith(("http:", "https:", "mailto:", "javascript:", "data:")):
            continue
        parsed = urlparse(href)
        if parsed.scheme or parsed.netloc:
            continue
        target_part, frag = urldefrag(href)
        target = path if not target_part else (path.parent / unquote(target_part)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            problems.append(f"broken link {href!r}")
            continue
        if frag and target.suffix == ".html" and unquote(frag) not in ids(target):
            problems.append(f"missing anchor {href!r}")
    return problems


@dataclass
class Visit:
    """What one page showed at one width, by kind of problem."""

    problems: dict[str, list[str]] = field(default_factory=dict)
    weight: int = 0
    console_errors: int = 0
    external_requests: int = 0
    axe: dict[str, int] = field(default_factory=dict)
    displays: dict = field(default_factory=dict)
    sizes: dict = field(default_factory=dict)

    def add(self, kind: str, items: list[str]) -> None:
        if items:
            self.problems.setdefault(kind, []).extend(items)


SCREENSHOTS = os.environ.get("VAE_SCREENSHOTS", "") not in ("", "0")
"""Full-page screenshots of every visit, light and dark (``make screenshots``)."""


def _visit(browser, html: Path, path: Path, viewport, shot: Path, axe: Path | None) -> Visit:
    visit = Visit()
    tab = Page(browser, path, viewport)
    page = tab.page
    source = path.read_text(encoding="utf-8")
    try:
        if "application/vnd.jupyter.widget-view+json" in source:
            page.wait_for_selector(".jupyter-widgets", timeout=TIMEOUT_MS)
            if page.locator(".widget-slider, .widget-toggle-buttons").count() == 0:
                visit.add("load", ["widget views embedded but no controls rendered"])
            if "Error displaying widget" in page.inner_text("body"):
                visit.add("load", ["the widget manager could not display a widget"])
        if re.search(r'class="[^"]*\bmath\b', source):
            try:
                page.wait_for_selector("mjx-container", state="attached", timeout=TIMEOUT_MS)
                # resolves once MathJax has typeset the page
                page.evaluate("() => MathJax.startup.promise.then(() => true)")
            except Exception:
                visit.add("load", ["math on the page but MathJax typeset nothing"])
        page.wait_for_timeout(300)  # late errors (fonts, lazy modules)
        visit.add("load", [f"image not loaded: {s}" for s in page.evaluate(IMAGES_JS)])
        text = page.evaluate(TEXT_JS)
        visit.add(
            "raw TeX",
            [
                f"{m.group()!r} in: ...{text[max(0, m.start() - 60) : m.end() + 60]}..."
                for m in list(RAW_TEX.finditer(text))[:5]
            ],
        )
        visit.add("raw TeX", page.evaluate(ORPHAN_JS))
        visit.add("load", _check_links(html, path, page.evaluate(LINKS_JS)))
        visit.add("equations", page.evaluate(EQUATIONS_JS, viewport != DESKTOP))
        visit.displays = page.evaluate(DISPLAYS_JS, viewport == PHONE)
        visit.add("equations", visit.displays["numbers"])
        if viewport == DESKTOP:  # room enough: MathJax 4 must not break (vae-book.css)
            visit.add("equations", [f"broken into lines: {n}" for n in visit.displays["broken"]])
        if viewport == PHONE:
            over = page.evaluate(OVERFLOW_JS)
            if over["width"] > viewport[0] or over["out"]:
                visit.add("wider than a phone", [f"page {over['width']} px wide", *over["out"]])
        visit.add("code", page.evaluate(CODE_JS))
        visit.add("inline math", page.evaluate(INLINE_MATH_JS))
        visit.add("weights", page.evaluate(WEIGHTS_JS))
        visit.add("controls", page.evaluate(CONTROL_TEXT_JS))
        if "vae-explorer" in source:
            label = "desktop" if viewport == DESKTOP else "phone"
            visit.sizes = page.evaluate(SIZES_JS, [MIN_DIGIT_PX[label], MIN_TEXT_PX])
            visit.add("explorer sizes", visit.sizes["problems"])
        if axe is not None:
            page.add_script_tag(path=str(axe))
            violations = page.evaluate(AXE_JS)
            for v in violations:
                visit.axe[v["impact"]] = visit.axe.get(v["impact"], 0) + len(v["nodes"])
            visit.add(
                "accessibility",
                [
                    f"{v['impact']}: {v['id']} ({v['help']}): {', '.join(v['nodes'])}"
                    for v in violations
                    if v["impact"] in ("serious", "critical")
                ],
            )
        if SCREENSHOTS:
            page.screenshot(path=str(shot), full_page=True)
        visit.add("dark", _dark_mode_problems(page))
        if SCREENSHOTS:
            page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
            page.wait_for_timeout(200)
            page.screenshot(path=str(shot.with_name(shot.stem + "-dark.png")), full_page=True)
    finally:
        tab.close()
    visit.weight = tab.weight()
    visit.console_errors = len(tab.errors)
    visit.external_requests = len(tab.blocked)
    visit.add("load", tab.errors)
    visit.add("load", [f"network request (blocked): {u}" for u in tab.blocked])
    # the theme's icons: its script (SVG) or its web fonts, not both (PST 0.17 loaded both)
    if any(f.endswith("/scripts/fontawesome.js") for f in tab.files) and any(
        "/vendor/fontawesome/" in f for f in tab.files
    ):
        visit.add("page weight", ["Font Awesome loaded twice: its script and its web fonts"])
    budget = WIDGET_PAGE_BUDGET if "widget-view+json" in source else PAGE_BUDGET
    if visit.weight > budget:
        visit.add("page weight", [f"{visit.weight:,} bytes loaded > budget {budget:,}"])
    return visit


def _rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (round(float(v)) for v in re.findall(r"[\d.]+", css)[:3])
    return r, g, b


def _pixels_on_background(png: bytes, bg: tuple[int, int, int]) -> str | None:
    """What is wrong with an element's screenshot in dark mode, or None: its most common colour
    must be the page's background (no slab), and its strongest ink legible on it (the 99th
    percentile of the pixels' contrast with the background at least 3:1, WCAG's contrast for
    graphics: text in a figure shrunk to a phone's width is anti-aliased below 4.5:1)."""
    import io

    import numpy as np
    from PIL import Image

    a = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3).astype(int)
    colours, counts = np.unique(a, axis=0, return_counts=True)
    mode = tuple(int(v) for v in colours[counts.argmax()])
    if max(abs(m - b) for m, b in zip(mode, bg, strict=True)) > 10:
        return f"on a slab of rgb{mode}, not the page's rgb{bg}"
    lin = a / 255.0
    lin = np.where(lin <= 0.03928, lin / 12.92, ((lin + 0.055) / 1.055) ** 2.4)
    lum = lin @ np.array([0.2126, 0.7152, 0.0722])
    lb = _luminance(f"rgb{bg}")
    contrast = (np.maximum(lum, lb) + 0.05) / (np.minimum(lum, lb) + 0.05)
    strongest = float(np.percentile(contrast, 99))
    if strongest < 3:
        return f"ink barely visible (contrast {strongest:.1f}:1 at most)"
    return None


def _dark_mode_problems(page) -> list[str]:
    """Switch the page to dark mode (as PST's switch does) and check that figures and
    explorers sit on the page's own background, legibly, and that explorer text is legible."""
    bg_css = page.evaluate(DARK_JS)
    page.wait_for_timeout(300)
    bg = _rgb(bg_css)
    found = page.evaluate(DARK_TARGETS_JS)
    out = []
    for i in range(found["n"]):
        el = page.locator(f'[data-vae-dark-check="{i}"]')
        what = el.evaluate("e => e.getAttribute('alt') || e.className || e.tagName")
        problem = _pixels_on_background(el.screenshot(animations="disabled"), bg)
        if problem:
            out.append(f"{str(what)[:50]}: {problem}")
    for c in found["colours"]:
        ratio = _contrast(c["color"], c["bg"])
        if ratio < 4.5:
            out.append(f"text {c['text']!r}: {c['color']} on {c['bg']} ({ratio:.1f}:1)")
    return out[:10]


@pytest.fixture(scope="module")
def visits(book_html: Path, browser, screenshot_dir: Path, axe_js: Path) -> dict:
    """Every page at both widths, visited once; the tests below read what each visit found."""
    found: dict[tuple[str, str], Visit] = {}
    all_pages = pages(book_html)
    assert all_pages, f"no pages in {book_html}"
    for path in all_pages:
        rel = path.relative_to(book_html).as_posix()
        source = path.read_text(encoding="utf-8")
        refresh = re.search(r'http-equiv="refresh"[^>]*url=([^"]+)"', source, re.IGNORECASE)
        if refresh:  # index.html: a redirect to the landing page
            visit = Visit()
            visit.add("load", _check_links(book_html, path, [refresh.group(1)]))
            found[(rel, "desktop")] = visit
            continue
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            shot = screenshot_dir / (
                rel.replace("/", "__").removesuffix(".html") + f"-{viewport[0]}.png"
            )
            axe = axe_js if label == "desktop" else None
            found[(rel, label)] = _visit(browser, book_html, path, viewport, shot, axe)
    report = {
        f"{rel} @ {label}": {
            "console_errors": v.console_errors,
            "external_requests": v.external_requests,
            "axe_violations_by_impact": v.axe,
            "bytes_loaded": v.weight,
            "problems": v.problems,
        }
        for (rel, label), v in found.items()
    }
    (screenshot_dir / "report.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    shots = "screenshots and report.json" if SCREENSHOTS else "report.json"
    print(f"\n{len(all_pages)} pages checked; {shots} in {screenshot_dir}")
    return found


def _assert_none(visits: dict, kind: str) -> None:
    bad = {k: v.problems[kind] for k, v in visits.items() if v.problems.get(kind)}
    assert not bad, "\n".join(
        f"{rel} @ {label}:\n  " + "\n  ".join(items) for (rel, label), items in bad.items()
    )


def test_every_page_loads_offline(visits) -> None:
    """No console error, failed or external request, broken image, link or anchor."""
    _assert_none(visits, "load")


def test_no_raw_tex_in_prose(visits) -> None:
    """MathJax typeset every formula: no `$`, `\\(` or TeX command left in the text, and no
    punctuation mark alone at the start of a line after a formula."""
    _assert_none(visits, "raw TeX")


def test_equations_fit_and_are_not_clipped(visits) -> None:
    """No display equation wider than its column at 1366 px; no math box cuts its formula."""
    _assert_none(visits, "equations")


def test_few_equations_scroll_on_a_phone(visits) -> None:
    """At 390 px MathJax 4 breaks display equations into lines: at most
    MAX_SCROLLING_EQUATIONS of them still scroll sideways in their box."""
    phone = {rel: v.displays for (rel, label), v in visits.items() if label == "phone"}
    total = sum(d.get("total", 0) for d in phone.values())
    scrolling = [f"{rel}: {n}" for rel, d in phone.items() for n in d.get("scrolling", [])]
    broken = sum(len(d.get("broken", [])) for d in phone.values())
    print(f"\n390 px: {len(scrolling)} of {total} display equations scroll, {broken} broken")
    assert total >= 40, f"only {total} display equations found"
    assert len(scrolling) <= MAX_SCROLLING_EQUATIONS, "\n".join(scrolling)


def test_no_page_wider_than_a_phone(visits) -> None:
    """At 390 px nothing reaches past the screen's edge except inside a scroll container."""
    _assert_none(visits, "wider than a phone")


def test_no_serious_accessibility_violations(visits) -> None:
    """axe-core finds no serious or critical violation on any page."""
    _assert_none(visits, "accessibility")


def test_code_lines_wrap_or_scroll_inside_their_box(visits) -> None:
    """At 1366 and 390 px no line of code or output is cut off, and no code box runs past the
    column (the fit listing of chapter 4 was clipped at the right)."""
    _assert_none(visits, "code")


def test_inline_math_never_past_the_edge(visits) -> None:
    """At 1366 and 390 px every inline formula is inside the column, or inside a box of its
    own that scrolls and is (chapter 3's summary and chapter 7's BCE formula ran off a phone)."""
    _assert_none(visits, "inline math")


def test_glued_numbers_and_captions_in_the_weight_of_the_text(visits) -> None:
    """A glued number has the weight of the text around it (bold only in a bold table cell);
    no caption is light (weight 300)."""
    _assert_none(visits, "weights")


def test_explorer_labels_whole_and_readouts_on_one_line(visits) -> None:
    """At 1366 and 390 px no explorer label is cut, no readout wraps ("digit / #0"), and a
    toggle group's label ("q:") sits on the row of its buttons."""
    _assert_none(visits, "controls")


def test_explorer_digits_and_text_legible(visits) -> None:
    """At 1366 and 390 px every digit in an explorer is at least MIN_DIGIT_PX wide (chapters
    5 and 8 showed ~26 px digits), its text and the text of its plots (as shown) at least
    MIN_TEXT_PX (chapter 8's plots had ~7 px text on a phone); the check measured digits and
    plots at both widths."""
    _assert_none(visits, "explorer sizes")
    for label in ("desktop", "phone"):
        sizes = [v.sizes for (rel, lab), v in visits.items() if lab == label and v.sizes]
        assert sum(s["digits"] for s in sizes) >= 3, f"{label}: no explorer digits measured"
        assert sum(s["plots"] for s in sizes) >= 3, f"{label}: no explorer plots measured"


def test_explorer_pages_are_the_pages_with_widgets(book_html: Path) -> None:
    """WIDGET_PAGES, found from the chapter sources, are the built pages that embed widget
    views: the widget tests below open every explorer page."""
    built = {
        p.relative_to(book_html).as_posix()
        for p in pages(book_html)
        if "application/vnd.jupyter.widget-view+json" in p.read_text(encoding="utf-8")
    }
    assert built == set(WIDGET_PAGES)


def test_dark_mode_figures_and_widgets_on_the_page_background(visits) -> None:
    """With `data-theme="dark"` figures and explorers show the page's own background (not a
    light slab) with legible ink, and explorer text has 4.5:1 contrast."""
    _assert_none(visits, "dark")


def test_pages_stay_within_weight_budget(visits) -> None:
    _assert_none(visits, "page weight")


def test_menu_buttons_open_navigation(book_html: Path, browser) -> None:
    """At 390 px the visible menu button opens the chapter list and the contents button the
    page's contents; at 1366 px there is no second header bar (with a second search box)."""
    path = book_html / "chapters" / "03-elbo.html"
    tab = Page(browser, path, PHONE)
    page = tab.page
    try:
        for button, dialog, expect in (
            ("primary-toggle", "#pst-primary-sidebar-modal", "The evidence lower bound"),
            ("secondary-toggle", "#pst-secondary-sidebar-modal", "Exercises"),
        ):
            visible = page.locator(f".{button}:visible")
            assert visible.count() == 1, f"{visible.count()} visible .{button} buttons"
            visible.first.click()
            page.wait_for_selector(f"{dialog}[open]", timeout=5_000)
            link = page.locator(f"{dialog} a", has_text=expect).first
            assert link.is_visible(), f"{expect!r} not shown after tapping .{button}"
            page.keyboard.press("Escape")
            page.wait_for_selector(f"{dialog}:not([open])", state="attached", timeout=5_000)
    finally:
        tab.close()
    tab = Page(browser, path, DESKTOP)
    try:
        header = tab.page.evaluate(
            "() => { const h = document.querySelector('header.bd-header');"
            " return h ? h.getBoundingClientRect().height : 0; }"
        )
        assert header == 0, f"an extra {header:.0f} px header bar is shown"
        fields = tab.page.locator(".search-button-field:visible").count()
        assert fields <= 1, f"{fields} search boxes shown"
    finally:
        tab.close()
    assert not tab.errors, tab.errors


def test_search_snippets_have_no_raw_tex(book_html: Path, browser) -> None:
    """The search page's snippets come from the pages' HTML; served over http (file:// blocks
    the fetch) they must not show the TeX source of formulas."""
    context = browser.new_context(viewport={"width": DESKTOP[0], "height": DESKTOP[1]})
    origin = "http://book.test/"

    def serve(route) -> None:
        url = route.request.url
        if not url.startswith(origin):
            route.abort()
            return
        rel = unquote(urlparse(url).path).lstrip("/") or "index.html"
        target = book_html / rel
        if target.is_file():
            route.fulfill(path=str(target))
        else:
            route.fulfill(status=404, body="")

    context.route("**/*", serve)
    page = context.new_page()
    try:
        page.goto(origin + "search.html?q=posterior", wait_until="load")
        page.wait_for_selector("#search-results li p.context", timeout=TIMEOUT_MS)
        page.wait_for_timeout(500)
        snippets = page.locator("#search-results li p.context").all_inner_texts()
        assert snippets, "no search snippets"
        raw = [s for s in snippets if RAW_TEX.search(s)]
        assert not raw, f"raw TeX in {len(raw)} of {len(snippets)} snippets: {raw[0][:200]}"
    finally:
        context.close()


def test_live_code_offline_says_why(book_html: Path, browser) -> None:
    """Offline, "Live Code" cannot load thebe: the button must say so, not spin forever."""
    tab = Page(browser, book_html / "chapters" / "02-encoder.html", DESKTOP)
    page = tab.page
    try:
        page.locator(".dropdown-launch-buttons > button").first.click()
        page.locator("button.btn-launch-thebe").first.click()
        page.wait_for_selector(".vae-live-code-failed", timeout=10_000)
        text = page.locator(".thebe-launch-button").first.inner_text()
        assert "internet connection" in text and "CDN" not in text, text
    finally:
        tab.close()


# An explorer's first control, once its widgets render (chapter 9's has buttons, no slider).
CONTROL = ".vae-explorer :is(.widget-slider .noUi-handle, .widget-toggle-button)"


def _wait_changed(page, box, before: str, timeout_s: float = 5.0) -> tuple[str, float]:
    start = time.perf_counter()
    while True:
        now = page.evaluate(SHOWN_JS, box)
        elapsed = time.perf_counter() - start
        if now != before or elapsed > timeout_s:
            return now, elapsed
        page.wait_for_timeout(10)


def _away_and_back(handle) -> tuple[str, str]:
    """The two arrow keys that move a slider one step and back: leftwards first when the
    explorer opens at the slider's largest value (chapter 3's opens at the largest M)."""
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    return ("ArrowLeft", "ArrowRight") if at_max else ("ArrowRight", "ArrowLeft")


@pytest.mark.parametrize("rel", WIDGET_PAGES)
def test_widgets_work_without_kernel(book_html: Path, browser, rel: str) -> None:
    """Move each explorer's first slider and click its toggle buttons: the shown state changes."""
    path = book_html / rel
    assert path.exists(), f"{rel} was not built"
    assert "application/vnd.jupyter.widget-state+json" in path.read_text(encoding="utf-8"), (
        f"{rel} embeds no widget state: was it executed with the widget cells?"
    )
    tab = Page(browser, path)
    page = tab.page
    latencies = []
    try:
        page.wait_for_selector(CONTROL, timeout=TIMEOUT_MS)
        boxes = page.query_selector_all(".vae-explorer")
        assert boxes, "no vae explorer rendered"
        for box in boxes:
            before = page.evaluate(SHOWN_JS, box)
            assert before.strip(), "the explorer shows nothing"
            handle = box.query_selector(".widget-slider .noUi-handle")
            buttons = box.query_selector_all(".widget-toggle-button")
            assert handle is not None or buttons, "neither a slider nor buttons"
            for key in _away_and_back(handle) if handle is not None else ():
                handle.focus()
                page.keyboard.press(key)
                after, dt = _wait_changed(page, box, before)
                assert after != before, f"{key} on the slider did not change the display"
                latencies.append(dt)
                before = after
            for button in buttons:
                if "mod-active" in (button.get_attribute("class") or ""):
                    continue
                button.click()
                after, dt = _wait_changed(page, box, before)
                assert after != before, f"button {button.inner_text()!r} changed nothing"
                latencies.append(dt)
                before = after
    finally:
        tab.close()
    assert not tab.errors, tab.errors
    assert not tab.blocked, tab.blocked
    lat = sorted(latencies)
    print(
        f"\n{rel}: {len(lat)} updates in the browser, median {1e3 * lat[len(lat) // 2]:.0f} ms, "
        f"max {1e3 * lat[-1]:.0f} ms (polled every 10 ms)"
    )


CONTROLS_JS = """(box) => {
  const out = {sliders: [], groups: []};
  for (const s of box.querySelectorAll(".widget-slider")) {
    const h = s.querySelector(".noUi-handle"), r = h.getBoundingClientRect();
    const readout = s.querySelector(".widget-readout");
    out.sliders.push({
      name: h.getAttribute("aria-label"), valuetext: h.getAttribute("aria-valuetext"),
      label: s.querySelector(".widget-label").textContent.trim(),
      readout: readout.textContent.trim(), editable: readout.isContentEditable,
      disabled: s.querySelector(".noUi-target").hasAttribute("disabled"),
      w: r.width, h: r.height,
    });
  }
  for (const g of box.querySelectorAll(".widget-toggle-buttons")) {
    const label = g.querySelector(".widget-label").getBoundingClientRect();
    const buttons = Array.from(g.querySelectorAll(".widget-toggle-button"));
    const first = buttons[0].getBoundingClientRect();
    out.groups.push({
      pressed: buttons.map(b => b.getAttribute("aria-pressed")),
      active: buttons.map(b => b.classList.contains("mod-active") ? "true" : "false"),
      group: (buttons[0].parentElement.getAttribute("role") || "") + ":" +
             (buttons[0].parentElement.getAttribute("aria-label") || ""),
      heights: buttons.map(b => b.getBoundingClientRect().height),
      labelOnRow: label.height === 0 ||
        (label.top + label.height / 2 > first.top && label.top + label.height / 2 < first.bottom),
    });
  }
  return out;
}"""

FOCUS_JS = """(el) => {
  const s = getComputedStyle(el);
  return {color: s.outlineColor, width: parseFloat(s.outlineWidth), style: s.outlineStyle};
}"""


def _luminance(rgb: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"[\d.]+", rgb)[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("rel", WIDGET_PAGES)
def test_widget_controls_are_accessible(book_html: Path, browser, rel: str) -> None:
    """Sliders have a name and announce their value ("latent dim M = 2"), their readout is not
    editable; toggle buttons say which is pressed and keep their label on their row; the focus
    ring has 3:1 contrast; touch targets are 44 px (buttons) and at least 24 px (handles)."""
    tab = Page(browser, book_html / rel, DESKTOP)
    page = tab.page
    try:
        page.wait_for_selector(
            ".vae-explorer :is(.noUi-handle[aria-label], .widget-toggle-button[aria-pressed])",
            timeout=TIMEOUT_MS,
        )
        for box in page.query_selector_all(".vae-explorer"):
            state = page.evaluate(CONTROLS_JS, box)
            for s in state["sliders"]:
                assert s["name"] == s["label"], s
                assert s["valuetext"] == f"{s['label']} = {s['readout']}", s
                assert not s["editable"], f"the readout of {s['label']!r} is editable"
                assert min(s["w"], s["h"]) >= 24, f"{s['label']!r} handle {s['w']}x{s['h']} px"
            for g in state["groups"]:
                assert g["pressed"] == g["active"] and g["pressed"].count("true") == 1, g
                assert g["group"].startswith("group:") and len(g["group"]) > 6, g
                assert min(g["heights"]) >= 44, f"toggle buttons {g['heights']} px tall"
                assert g["labelOnRow"], "a toggle group's label is not on its buttons' row"
            handle = box.query_selector(".widget-slider .noUi-handle")
            buttons = box.query_selector_all(".widget-toggle-button")
            if handle is not None:
                before = page.evaluate(CONTROLS_JS, box)["sliders"][0]
                handle.focus()
                page.keyboard.press(_away_and_back(handle)[0])
                page.wait_for_timeout(200)
                after = page.evaluate(CONTROLS_JS, box)["sliders"][0]
                assert after["valuetext"] != before["valuetext"], "value text did not follow"
                assert after["valuetext"] == f"{after['label']} = {after['readout']}", after
            focused = handle if handle is not None else buttons[0]
            focused.focus()
            page.keyboard.press("Shift")  # a key: the ring of keyboard focus (:focus-visible)
            ring = page.evaluate(FOCUS_JS, focused)
            assert ring["style"] != "none" and ring["width"] >= 2, ring
            assert _contrast(ring["color"], "rgb(255, 255, 255)") >= 3, ring
            if buttons:
                buttons[-1].click()
                page.wait_for_timeout(200)
                pressed = [b.get_attribute("aria-pressed") for b in buttons]
                assert pressed[-1] == "true" and pressed.count("true") == 1, pressed
    finally:
        tab.close()
    assert not tab.errors, tab.errors


def test_std_slider_only_for_the_scaled_q(book_html: Path, browser) -> None:
    """Chapter 3: the std slider is disabled while a q that ignores it is picked."""
    tab = Page(browser, book_html / "chapters" / "03-elbo.html", DESKTOP)
    page = tab.page
    try:
        page.wait_for_selector(".vae-control-q .widget-toggle-button", timeout=TIMEOUT_MS)
        slider = page.locator(".vae-explorer .widget-slider", has_text="std").first
        target = slider.locator(".noUi-target")
        for label, disabled in (("marginal variances", True), ("scaled std", False)):
            page.locator(".vae-control-q .widget-toggle-button", has_text=label).click()
            page.wait_for_timeout(200)
            assert (target.get_attribute("disabled") is not None) == disabled, label
            aria = slider.locator(".noUi-handle").get_attribute("aria-disabled")
            assert aria == ("true" if disabled else "false"), label
    finally:
        tab.close()


@pytest.mark.parametrize("rel", ("chapters/03-elbo.html", "chapters/05-beyond.html"))
def test_widget_figures_stack_on_a_phone(book_html: Path, browser, rel: str) -> None:
    """An explorer's panels sit side by side on a desktop and one under the other at 390 px,
    each within the column."""
    layout = """(row) => Array.from(row.querySelectorAll("img")).filter(i => i.offsetParent)
      .map(i => { const r = i.getBoundingClientRect();
                  const col = i.closest("article").getBoundingClientRect();
                  return [r.left, r.top, r.bottom, r.right, col.right]; })"""
    for viewport in (DESKTOP, PHONE):
        tab = Page(browser, book_html / rel, viewport)
        try:
            tab.page.wait_for_selector(".vae-explorer .vae-figures img", timeout=TIMEOUT_MS)
            row = tab.page.query_selector_all(".vae-explorer .vae-figures")
            rects = [r for el in row for r in [tab.page.evaluate(layout, el)] if r]
            assert rects, "no explorer figures shown"
            for imgs in rects:
                assert len(imgs) >= 2, imgs
                assert all(r[3] <= r[4] + 1 for r in imgs), "a figure wider than the column"
                tops, bottoms = [r[1] for r in imgs], [r[2] for r in imgs]
                if viewport == PHONE:
                    assert max(tops) >= min(bottoms) - 1, "all panels in one row on a phone"
                else:
                    assert max(tops) - min(tops) < 2, "panels not side by side on a desktop"
        finally:
            tab.close()


def test_static_figures_link_to_full_size(book_html: Path) -> None:
    """The diagram of chapter 4 (3 px text on a phone) opens at full size when tapped."""
    source = (book_html / "chapters" / "04-sgd.html").read_text(encoding="utf-8")
    link = re.search(r'<a [^>]*href="([^"]*sgd-vae\.png)"[^>]*>\s*<img', source)
    assert link, "sgd-vae.png is not linked to its full-size file"
    assert (book_html / "chapters" / link.group(1)).resolve().is_file()


def test_references_print_each_link_once(book_html: Path) -> None:
    """A reference shows its arXiv identifier once (KW13 printed its arXiv URL twice)."""
    source = (book_html / "chapters" / "references.html").read_text(encoding="utf-8")
    entries = re.findall(r'<div class="citation".*?</div>', source, re.DOTALL)
    assert entries, "no bibliography entries"
    for entry in entries:
        text = re.sub(r"<[^>]+>", " ", entry)
        for ident in set(re.findall(r"\d{4}\.\d{4,5}", text)):
            assert text.count(ident) == 1, f"{ident} printed {text.count(ident)} times: {text}"


EXPLORER_HEIGHT_JS = "(box) => box.getBoundingClientRect().height"
# An explorer's height may change by this much when a control changes (a rounding of a line);
# chapter 5's readout jumped by ~190 px when K changed.
MAX_EXPLORER_JUMP_PX = 4


@pytest.mark.parametrize("viewport", (DESKTOP, PHONE), ids=("1366", "390"))
@pytest.mark.parametrize("rel", WIDGET_PAGES)
def test_explorer_readouts_do_not_jump(book_html: Path, browser, rel: str, viewport) -> None:
    """Every explorer keeps its height while its slider moves and its buttons are pressed: the
    text and the figures below it stay where the reader's eyes are."""
    tab = Page(browser, book_html / rel, viewport)
    page = tab.page
    jumps = []
    try:
        page.wait_for_selector(CONTROL, timeout=TIMEOUT_MS)
        page.wait_for_timeout(300)
        for n, box in enumerate(page.query_selector_all(".vae-explorer")):
            heights = [page.evaluate(EXPLORER_HEIGHT_JS, box)]
            handle = box.query_selector(".widget-slider .noUi-handle")
            keys = ("ArrowRight", "ArrowRight", "ArrowLeft") if handle is not None else ()
            for key in keys:
                handle.focus()
                page.keyboard.press(key)
                page.wait_for_timeout(150)
                heights.append(page.evaluate(EXPLORER_HEIGHT_JS, box))
            for button in box.query_selector_all(".widget-toggle-button"):
                button.click()
                page.wait_for_timeout(150)
                heights.append(page.evaluate(EXPLORER_HEIGHT_JS, box))
            if max(heights) - min(heights) > MAX_EXPLORER_JUMP_PX:
                jumps.append(f"explorer {n + 1}: heights {sorted(set(round(h) for h in heights))}")
    finally:
        tab.close()
    assert not jumps, "\n".join(jumps)
    assert not tab.errors, tab.errors


@pytest.mark.parametrize("viewport", (DESKTOP, PHONE), ids=("1366", "390"))
def test_latent_decoder_decodes_where_dragged(book_html: Path, browser, viewport) -> None:
    """Chapter 8's JavaScript decoder, offline: dragging on the latent square moves z to the
    point under the pointer and redraws the digit (from the decoder's weights in the page); it
    fits the column; its readout follows with a true minus sign."""
    tab = Page(browser, book_html / "chapters" / "08-rate-distortion.html", viewport)
    page = tab.page
    digit_js = "el => el.querySelector('.vae-ld-digit').toDataURL()"
    try:
        box = page.wait_for_selector(".vae-latent-decoder .vae-ld-pad", timeout=TIMEOUT_MS)
        root = page.query_selector(".vae-latent-decoder")
        root.scroll_into_view_if_needed()
        col = page.evaluate("() => document.querySelector('article').getBoundingClientRect().right")
        assert root.bounding_box()["x"] + root.bounding_box()["width"] <= col + 1
        before = root.evaluate(digit_js)
        r = box.bounding_box()
        start = (r["x"] + 0.5 * r["width"], r["y"] + 0.5 * r["height"])
        end = (r["x"] + 0.2 * r["width"], r["y"] + 0.25 * r["height"])  # z = (-1.8, +1.5)
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(*end, steps=8)
        page.mouse.up()
        page.wait_for_timeout(200)
        z = [float(v) for v in root.get_attribute("data-z").split(",")]
        assert abs(z[0] - -1.8) < 0.05 and abs(z[1] - 1.5) < 0.05, z
        assert root.evaluate(digit_js) != before, "the digit did not change"
        readout = root.query_selector(".vae-ld-readout").inner_text()
        assert readout == "z = (\u22121.80, 1.50)", readout
        # the digit shown is the decoder's mean at that z
        mean = root.evaluate("el => Array.from(el.vaeMean)")
        again = root.evaluate(f"el => Array.from(el.vaeDecode([{z[0]}, {z[1]}]))")
        assert len(mean) == 64 and max(abs(a - b) for a, b in zip(mean, again, strict=True)) < 1e-9
        assert max(mean) - min(mean) > 4, "a blank digit"
    finally:
        tab.close()
    assert not tab.errors, tab.errors
    assert not tab.blocked, tab.blocked


def test_api_page_links_every_object_to_its_source(book_html: Path) -> None:
    """Every class and function on the API page, and every method but a dataclass field that
    holds a function (``Panel.skip``: autodoc lists it as a method, it has no code of its own),
    has a [source] link (viewcode) to a page of the built book, at that object's anchor."""
    api = book_html / "chapters" / "api.html"
    source = api.read_text(encoding="utf-8")
    objects = re.findall(
        r'<dl class="py (class|function|method)">\s*<dt class="sig sig-object py" id="([^"]+)">'
        r"(.*?)</dt>",
        source,
        re.DOTALL,
    )
    assert len(objects) >= 80, f"only {len(objects)} classes, functions and methods"
    missing, broken = [], []
    for kind, name, sig in objects:
        link = re.search(
            r'<a class="reference internal" href="([^"]+)"><span class="viewcode-link">', sig
        )
        if not link:
            missing.append((kind, name))
            continue
        target, _, anchor = link.group(1).partition("#")
        page = (api.parent / unquote(target)).resolve()
        if not page.is_file() or f'id="{anchor}"' not in page.read_text(encoding="utf-8"):
            broken.append(f"{name}: {link.group(1)}")
    assert not [n for k, n in missing if k != "method"], f"no [source] link: {missing}"
    assert len(missing) <= 0.05 * len(objects), f"no [source] link: {missing}"
    assert not broken, f"[source] leads nowhere: {broken}"
