"""Print the single-page HTML book (``jupyter-book build --builder singlehtml``) to one PDF.

    python tools/print_pdf.py _build/singlehtml/intro.html _build/pdf/book.pdf

Offline: Debian's chromium (``/usr/bin/chromium``) driven by Playwright, every request other
than ``file:`` blocked (no pyppeteer, no Chromium download). Before printing it waits until
MathJax has typeset every formula and every image has decoded; it renders the explorers
(ipywidgets) in the state they open on, from the states saved in the HTML build's pages (a note
stands in for any that cannot render), and it puts a table of contents
(chapters and their sections, linked) after the title. The PDF keeps the numbered equations,
figures and references of the HTML; Chromium writes its outline (bookmarks) from the headings
and a page number in each page's footer.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 120_000

# A table of contents from the headings: chapters (h1 of each page's section) and sections.
# A table of contents from the headings: chapters and their sections, linked. In the single
# page the book's title is the only h1, chapters are h2 and their sections h3.
TOC_JS = """() => {
  const article = document.querySelector("article.bd-article") || document.body;
  const several = article.querySelectorAll("section > h1").length > 1;
  const [chapter, sub] = several ? ["H1", "H2"] : ["H2", "H3"];
  const nav = document.createElement("nav");
  nav.id = "vae-pdf-toc";
  nav.innerHTML = "<h2>Contents</h2>";
  const list = document.createElement("ol");
  let current = null;
  for (const h of article.querySelectorAll("section > h1, section > h2, section > h3")) {
    const section = h.closest("section");
    if (!section.id || (h.tagName !== chapter && h.tagName !== sub)) continue;
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#" + section.id;
    a.textContent = h.textContent.replace(/#$/, "").trim();
    li.appendChild(a);
    if (h.tagName === chapter) {
      h.classList.add("vae-pdf-chapter");
      current = document.createElement("ol");
      li.appendChild(current);
      list.appendChild(li);
    } else if (current) {
      current.appendChild(li);
    }
  }
  nav.appendChild(list);
  const title = article.querySelector("h1");
  const after = title ? title.closest("section") || title : null;
  if (after && after.firstElementChild === title) after.insertBefore(nav, title.nextSibling);
  else article.insertBefore(nav, article.firstChild);
  return list.querySelectorAll(":scope > li").length;
}"""

# The explorers' saved states (one per chapter page of the HTML build) into the single page.
ADD_STATES_JS = """(states) => {
  for (const text of states) {
    const tag = document.createElement("script");
    tag.type = "application/vnd.jupyter.widget-state+json";
    tag.textContent = text;
    document.head.appendChild(tag);
  }
  return document.querySelectorAll("script[type='application/vnd.jupyter.widget-view+json']")
    .length;
}"""

# An explorer the widget manager did not render gets a note instead.
EXPLORER_NOTES_JS = """() => {
  for (const view of document.querySelectorAll(
      "script[type='application/vnd.jupyter.widget-view+json']")) {
    const prev = view.previousElementSibling;
    if (prev && prev.classList.contains("widget-subarea") && prev.children.length) continue;
    const note = document.createElement("p");
    note.className = "vae-pdf-explorer-note";
    note.innerHTML = "<em>An interactive explorer: move its controls in the HTML book.</em>";
    view.replaceWith(note);
  }
}"""

PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm 18mm 14mm; }
@media print {
  .bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer, .bd-footer-article,
  .header-article, .prev-next-area, .bd-header-article, .skip-link, .theme-switch-button,
  .search-button, .headerlink, #pst-back-to-top { display: none !important; }
  .bd-main, .bd-content, .bd-article-container, .bd-article { max-width: 100% !important;
    width: 100% !important; padding: 0 !important; margin: 0 !important; }
  #vae-pdf-toc { break-before: page; break-after: page; }
  #vae-pdf-toc ol { list-style: none; }
  #vae-pdf-toc > ol > li { font-weight: 600; margin-top: 0.4em; }
  #vae-pdf-toc > ol > li > ol { font-weight: 400; }
  .vae-pdf-chapter { break-before: page; }
  #vae-pdf-toc ol { padding-left: 1.4em; }
  figure, .cell_output img, div.math, table { break-inside: avoid; }
  details { display: block; }
  details > summary { list-style: none; }
}
"""

FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#555">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


def widget_states(html_dir: Path) -> list[str]:
    """The saved widget states (JSON text) that myst-nb embedded in the HTML build's pages."""
    pattern = re.compile(
        r'<script type="application/vnd\.jupyter\.widget-state\+json">(.*?)</script>', re.S
    )
    return [
        m.group(1)
        for page in sorted(html_dir.rglob("*.html"))
        if not any(part.startswith("_") for part in page.relative_to(html_dir).parts)
        for m in pattern.finditer(page.read_text(encoding="utf-8"))
    ]


def print_pdf(html: Path, pdf: Path, chromium: str = CHROMIUM, html_dir: Path | None = None) -> int:
    """Print ``html`` (the singlehtml root page) to ``pdf``; returns the number of entries of
    the table of contents. ``html_dir``: the HTML build whose pages hold the explorers' saved
    states (default: ``html``'s sibling folder ``html``). Raises RuntimeError if the page
    requested anything but local files."""
    if html_dir is None and (html.parent.parent / "html").is_dir():
        html_dir = html.parent.parent / "html"
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.route("**/*", route)
            page.goto(html.resolve().as_uri(), wait_until="load", timeout=TIMEOUT_MS)
            page.evaluate(
                "() => window.MathJax && MathJax.startup ? "
                "MathJax.startup.promise.then(() => true) : true"
            )
            # the explorers (ipywidgets), in the state they open on: the single page carries
            # neither their saved state nor the widget manager, so both come from the HTML build
            states = widget_states(html_dir) if html_dir else []
            static = html.parent / "_static"
            if states and (static / "vendor" / "html-manager" / "embed-amd.js").is_file():
                views = page.evaluate(ADD_STATES_JS, states)
                for script in (
                    "vae-widgets.js",
                    "vendor/require.js",
                    "vendor/html-manager/embed-amd.js",
                ):
                    page.add_script_tag(path=str(static / script))
                try:
                    page.wait_for_function(
                        "(n) => document.querySelectorAll('.widget-subarea > .jupyter-widgets')"
                        ".length >= n",
                        arg=views,
                        timeout=TIMEOUT_MS,
                    )
                except Exception as e:  # print what rendered; the rest get a note
                    print(f"print_pdf: not every explorer rendered: {e}", file=sys.stderr)
            page.evaluate(EXPLORER_NOTES_JS)
            # every image decoded (lazy ones too), every dropdown (exercise solutions) open
            page.evaluate(
                """async () => {
                  for (const d of document.querySelectorAll("details")) d.open = true;
                  const imgs = Array.from(document.images);
                  imgs.forEach(i => { i.loading = "eager"; });
                  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
                }"""
            )
            chapters = page.evaluate(TOC_JS)
            page.add_style_tag(content=PRINT_CSS)
            page.emulate_media(media="print")
            page.wait_for_timeout(500)
            pdf.parent.mkdir(parents=True, exist_ok=True)
            page.pdf(
                path=str(pdf),
                format="A4",
                print_background=True,
                outline=True,
                tagged=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=FOOTER,
                margin={"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
            )
        finally:
            browser.close()
    if blocked:
        raise RuntimeError(f"the page requested {len(blocked)} non-local URLs: {blocked[:3]}")
    return chapters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, help="the singlehtml build's index.html")
    parser.add_argument("pdf", type=Path, help="the PDF to write")
    parser.add_argument("--chromium", default=CHROMIUM)
    parser.add_argument("--html-dir", type=Path, help="the HTML build (explorers' states)")
    args = parser.parse_args(argv)
    chapters = print_pdf(args.html, args.pdf, args.chromium, args.html_dir)
    size = args.pdf.stat().st_size
    print(f"print_pdf: {args.pdf} ({size / 1e6:.1f} MB, {chapters} chapters in the contents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
