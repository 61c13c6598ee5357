"""Figures and numbers as HTML: PNGs inlined as data URIs (with alt text), tables, rounding.

The explorers show every precomputed state as an :class:`ipywidgets.HTML` leaf, so the page
needs no image files. This module knows nothing about widgets or VAEs.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image


def png_bytes(fig: Figure, colors: int | None = 256) -> bytes:
    """Render a matplotlib figure (at its own dpi) to PNG bytes.

    ``colors`` quantizes to a palette of that many colours: with 256 the explorers' line, bar
    and digit plots look the same as in full RGB at a third of the size (and encode twice as
    fast); with fewer, anti-aliased text and lines turn ragged. ``None`` keeps full RGB.
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    img = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
    if colors is not None:
        img = img.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    out = io.BytesIO()
    img.save(out, format="png")
    return out.getvalue()


def png_size(png: bytes) -> tuple[int, int]:
    """The width and height in pixels of a PNG image (read from its header)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG image")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def png_width(png: bytes) -> int:
    """The width in pixels of a PNG image (read from its header)."""
    return png_size(png)[0]


def panel(
    figsize: tuple[float, float], dpi: int, margins: tuple[float, float, float, float]
) -> tuple[Figure, Axes]:
    """One explorer panel: a Figure of ``figsize`` inches at ``dpi`` with one Axes whose
    ``margins`` (left, right, bottom, top, as fractions of the figure) stay fixed, so that the
    panel does not move as its data change."""
    fig = Figure(figsize=figsize, dpi=dpi)
    ax = fig.subplots()
    left, right, bottom, top = margins
    fig.subplots_adjust(left=left, right=right, bottom=bottom, top=top)
    return fig, ax


def clear_data(ax: Axes) -> None:
    """Remove an axes' data artists and legend but keep its ticks and labels (``ax.clear()``
    rebuilds the ticks, which costs most of a redraw)."""
    for artist in [*ax.patches, *ax.lines, *ax.texts, *ax.collections, *ax.images]:
        artist.remove()
    ax.containers.clear()  # bar containers, which legends also read
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()


def img_tag(
    png: bytes,
    alt: str,
    density: float = 1.0,
    size: int | None = None,
    scale: int | None = None,
    min_text_px: float | None = None,
) -> str:
    """An ``<img>`` element with the PNG inlined as a data URI and ``alt`` as its description.

    ``density`` is the image's pixels per CSS pixel: a figure rendered at twice the dpi it is
    shown at (``density=2``) stays sharp on high-resolution screens and when zoomed; it never
    grows past that size and shrinks with the column. ``size`` instead shows a small square
    image (an 8x8 digit) at ``size`` CSS pixels, and ``scale`` a small image of any shape (a
    grid of digits, one image pixel per digit pixel) at ``scale`` CSS pixels per image pixel:
    both enlarged without smoothing, and shrinking with a narrower column. ``min_text_px``,
    the height in image pixels of the figure's smallest text (:func:`smallest_text_px`), is
    written as ``data-min-text-px`` so that a browser test can check the text's size as shown.
    """
    data = base64.b64encode(png).decode("ascii")
    head = f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
    if min_text_px is not None:
        head += f'data-min-text-px="{min_text_px:.1f}" '
    pixelated = "image-rendering:pixelated;display:block;max-width:100%;height:auto"
    if size is not None:
        return head + f'width="{size}" height="{size}" style="{pixelated}">'
    if scale is not None:
        w, h = png_size(png)
        return head + f'width="{w * scale}" height="{h * scale}" style="{pixelated}">'
    width = round(png_width(png) / density)
    return head + f'width="{width}" style="max-width:100%;height:auto;display:block">'


def smallest_text_px(fig: Figure) -> float:
    """The size in pixels of the figure's smallest visible text (its font size in points at
    the figure's dpi); 0 for a figure without text. Draws the figure first if it changed since
    its last draw (tick labels exist only once drawn)."""
    if fig.stale:
        fig.draw_without_rendering()
    sizes = [
        float(t.get_fontsize())
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip()
    ]
    return min(sizes, default=0) * fig.dpi / 72


def figure_img(fig: Figure, alt: str, density: float = 2.0) -> str:
    """A matplotlib figure as an ``<img>`` (:func:`img_tag`, 256 colours), shown at
    ``1 / density`` of its size, that declares its smallest text (:func:`smallest_text_px`)."""
    png = png_bytes(fig)  # draws the figure
    return img_tag(png, alt, density=density, min_text_px=smallest_text_px(fig))


def captioned(img: str, caption: str) -> str:
    """An image with a caption under it, inline (several sit side by side)."""
    return (
        "<figure style='display:inline-block;margin:0 0.6em;text-align:center'>"
        f"{img}<figcaption style='font-size:90%'>{caption}</figcaption></figure>"
    )


def figure_row(*images: str) -> str:
    """Images side by side that wrap one under the other when the column is too narrow."""
    cells = "".join(f"<div style='flex:0 1 auto;min-width:0'>{img}</div>" for img in images)
    style = "display:flex;flex-wrap:wrap;gap:4px 12px"
    return f"<div class='vae-figures' style='{style}'>{cells}</div>"


def numbers_html(rows: Sequence[tuple[str, str]], note: str = "") -> str:
    """A two-column HTML table of (label, value) rows, values right-aligned, and a note below."""
    cells = "".join(
        f"<tr><th style='text-align:left;padding-right:1em;font-weight:normal;white-space:nowrap'>"
        f"{k}</th>"
        f"<td style='text-align:right;font-family:monospace'>{v}</td></tr>"
        for k, v in rows
    )
    # opacity, not a grey: legible on a dark page too (the book's CSS may restyle .vae-note)
    extra = f"<div class='vae-note' style='font-size:90%;opacity:0.75'>{note}</div>" if note else ""
    return f"<table class='vae-numbers'>{cells}</table>{extra}"


def fmt(v: float, decimals: int = 3) -> str:
    """A number with ``decimals`` decimals and a true minus sign (U+2212)."""
    return f"{v:.{decimals}f}".replace("-", "\u2212")
