"""The built book in a real browser: headless Debian chromium driven by Playwright, offline.

Every page of ``_build/html`` is opened from ``file://`` with the network blocked (every
non-file request is aborted and recorded), and checked for: no console errors, no uncaught
exceptions and no failed requests; every ``<img>`` decoded (naturalWidth > 0); math typeset by
MathJax with no raw ``$$``/``\\(`` left in the visible text; widgets rendered where a page
embeds widget views; every relative link pointing at an existing file (and anchor). On the
widget pages, moving a slider with the keyboard and clicking each toggle button must change
the displayed numbers/figure -- with no kernel, through the JS links of ``vae.widgets``.
A full-page screenshot of each page goes to ``_build/screenshots/``.

Needs ``/usr/bin/chromium`` (``tools/install_browser.sh``) and the ``playwright`` package;
never ``playwright install``. Uses the session's fresh build (``book_html`` in
``conftest.py``), or the ``html`` folder named by ``$VAE_BOOK_HTML``. Marked ``browser``;
deselect with ``-m "not browser"``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WIDGET_PAGES = (
    "chapters/03-elbo.html",
    "chapters/05-beyond.html",
    "chapters/07-rate-distortion.html",
)
TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("no /usr/bin/chromium on CI: .ci/run must run tools/install_browser.sh")
        pytest.skip("no /usr/bin/chromium: run tools/install_browser.sh")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    out = ROOT / "_build" / "screenshots"  # for a person to look at after the run
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

    def __init__(self, browser, path: Path):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.goto(path.as_uri(), wait_until="load", timeout=TIMEOUT_MS)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text}")

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
  const skip = "pre, code, script, style, textarea, mjx-container, .highlight";
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

LINKS_JS = """() => Array.from(document.querySelectorAll("a[href]"))
  .map(a => a.getAttribute("href"))"""

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


def test_every_page_offline(book_html: Path, browser, screenshot_dir: Path) -> None:
    report: dict[str, list[str]] = {}
    all_pages = pages(book_html)
    assert all_pages, f"no pages in {book_html}"
    for path in all_pages:
        rel = path.relative_to(book_html).as_posix()
        problems: list[str] = []
        tab = Page(browser, path)
        page = tab.page
        source = path.read_text(encoding="utf-8")
        refresh = re.search(r'http-equiv="refresh"[^>]*url=([^"]+)"', source, re.IGNORECASE)
        if refresh:  # index.html: a redirect to the landing page
            tab.close()
            problems += _check_links(book_html, path, [refresh.group(1)])
            if problems:
                report[rel] = problems
            continue
        try:
            if "application/vnd.jupyter.widget-view+json" in source:
                page.wait_for_selector(".jupyter-widgets", timeout=TIMEOUT_MS)
                if page.locator(".widget-slider, .widget-toggle-buttons").count() == 0:
                    problems.append("widget views embedded but no controls rendered")
                if "Error displaying widget" in page.inner_text("body"):
                    problems.append("the widget manager could not display a widget")
            if re.search(r'class="[^"]*\bmath\b', source):
                try:
                    page.wait_for_selector("mjx-container", state="attached", timeout=TIMEOUT_MS)
                except Exception:
                    problems.append("math on the page but MathJax typeset nothing")
            page.wait_for_timeout(300)  # late errors (fonts, lazy modules)
            bad_imgs = page.evaluate(IMAGES_JS)
            problems += [f"image not loaded: {s}" for s in bad_imgs]
            text = page.evaluate(TEXT_JS)
            for raw in ("$$", "\\(", "\\["):
                if raw in text:
                    i = text.index(raw)
                    problems.append(f"raw math {raw!r} in text: ...{text[max(0, i - 60) : i + 60]}")
            problems += _check_links(book_html, path, page.evaluate(LINKS_JS))
            shot = screenshot_dir / (rel.replace("/", "__").removesuffix(".html") + ".png")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            tab.close()
        problems += tab.errors
        problems += [f"network request (blocked): {u}" for u in tab.blocked]
        if problems:
            report[rel] = problems
    print(f"\n{len(all_pages)} pages checked; screenshots in {screenshot_dir}")
    assert not report, "\n".join(
        f"{page}:\n  " + "\n  ".join(problems) for page, problems in report.items()
    )


def _wait_changed(page, box, before: str, timeout_s: float = 5.0) -> tuple[str, float]:
    start = time.perf_counter()
    while True:
        now = page.evaluate(SHOWN_JS, box)
        elapsed = time.perf_counter() - start
        if now != before or elapsed > timeout_s:
            return now, elapsed
        page.wait_for_timeout(10)


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
        page.wait_for_selector(".vae-explorer .widget-slider", timeout=TIMEOUT_MS)
        boxes = page.query_selector_all(".vae-explorer")
        assert boxes, "no vae explorer rendered"
        for box in boxes:
            before = page.evaluate(SHOWN_JS, box)
            assert before.strip(), "the explorer shows nothing"
            handle = box.query_selector(".widget-slider .noUi-handle")
            assert handle is not None, "no slider handle"
            for key in ("ArrowRight", "ArrowLeft"):
                handle.focus()
                page.keyboard.press(key)
                after, dt = _wait_changed(page, box, before)
                assert after != before, f"{key} on the slider did not change the display"
                latencies.append(dt)
                before = after
            for button in box.query_selector_all(".widget-toggle-button"):
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
