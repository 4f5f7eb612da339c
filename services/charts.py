"""Charts drawn with matplotlib's Agg canvas (no display, no pyplot global state)."""

from __future__ import annotations

import io
from collections.abc import Sequence

# A chat picture: wide enough to read on a phone, small enough to send quickly.
WIDTH_PX, HEIGHT_PX, DPI = 640, 320, 100


def _figure(width_px: int, height_px: int):
    # Imported here: matplotlib takes a moment to load and only charts need it.
    from matplotlib.figure import Figure

    return Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)


def trend_png(title: str, values: Sequence[float], baseline: float | None, *,
              width_px: int = WIDTH_PX, height_px: int = HEIGHT_PX) -> bytes:
    """A line of `values` by week, with the baseline dashed; PNG bytes of exactly that size."""
    figure = _figure(width_px, height_px)
    axes = figure.add_subplot()
    weeks = list(range(1, len(values) + 1))
    axes.plot(weeks, list(values), marker="o", color="#2563eb", linewidth=2)
    if baseline is not None:
        axes.axhline(baseline, color="#6b7280", linestyle="--", linewidth=1,
                     label="baseline")
        axes.legend(loc="best", frameon=False)
    axes.set_title(title)
    axes.set_xlabel("check-in")
    axes.set_xticks(weeks)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    out = io.BytesIO()
    # No bbox_inches="tight": it would change the pixel size.
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def bars_svg(title: str, labels: Sequence[str], values: Sequence[float], *,
             width_px: int = 640, height_px: int = 260, percent: bool = False) -> str:
    """A bar chart as inline SVG text (for the self-contained HTML report)."""
    figure = _figure(width_px, height_px)
    axes = figure.add_subplot()
    axes.bar(list(labels), list(values), color="#2563eb")
    axes.set_title(title)
    if percent:
        axes.set_ylim(0, 100)
        axes.set_ylabel("%")
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    out = io.StringIO()
    figure.savefig(out, format="svg")
    text = out.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog: it is inlined in HTML
