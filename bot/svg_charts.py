"""Charts as inline SVG text, written by hand: a title, labelled axes, and a viewBox so the
chart scales to the width of a laptop or a phone. No scripts, no external references."""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 56, 48
COLOURS = ("#2563eb", "#9ca3af")  # this period, the one before


@dataclass(frozen=True)
class Series:
    """A named line or set of bars; `dashed` for the period before."""

    name: str
    values: Sequence[float | None]
    dashed: bool = False


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _heading(title: str) -> list[str]:
    return [f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="16" '
            f'font-weight="bold">{_esc(title)}</text>']


def _svg(title: str, description: str, height: int, parts: Sequence[str]) -> str:
    """The svg element around `parts`, with its accessible title and description."""
    body = "".join(parts)
    # Ids from the content: the same chart is the same text every time.
    n = hashlib.sha1(f"{title}|{body}".encode()).hexdigest()[:8]
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
            f'aria-labelledby="c{n}-title c{n}-desc" xmlns="http://www.w3.org/2000/svg">'
            f'<title id="c{n}-title">{_esc(title)}</title>'
            f'<desc id="c{n}-desc">{_esc(description)}</desc>{body}</svg>')


def _legend(series: Sequence[Series], y: float) -> list[str]:
    parts, x = [], LEFT
    for index, s in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        parts.append(f'<line x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}" stroke="{colour}" '
                     f'stroke-width="3"{dash}/>'
                     f'<text x="{x + 30}" y="{y + 4}" font-size="12">{_esc(s.name)}</text>')
        x += 40 + 7 * len(s.name)
    return parts


def _y_axis(top: float, label: str, percent: bool, height: int) -> list[str]:
    plot_h = height - TOP - BOTTOM
    parts = []
    for k in range(5):
        value = top * k / 4
        y = height - BOTTOM - plot_h * k / 4
        text = f"{value:.0f}%" if percent else f"{value:,.0f}" if top >= 10 else f"{value:g}"
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                     f'stroke="#e5e7eb"/><text x="{LEFT - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end" font-size="11">{_esc(text)}</text>')
    parts.append(f'<text transform="translate(14 {TOP + plot_h / 2:.1f}) rotate(-90)" '
                 f'text-anchor="middle" font-size="12">{_esc(label)}</text>')
    return parts


def _top(series: Sequence[Series], percent: bool) -> float:
    """The top of the value axis: 100 for percentages, else a round number above the data
    (1, 2, 2.5 or 5 times a power of ten), so the four ticks are round too."""
    if percent:
        return 100.0
    highest = max((v for s in series for v in s.values if v is not None), default=0.0)
    if highest <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(highest))
    return next(step * scale for step in (1, 2, 2.5, 5, 10) if step * scale >= highest)


def line_chart(title: str, *, x_label: str, y_label: str, xs: Sequence[int],
               series: Sequence[Series], percent: bool = False) -> str:
    """Lines over shared x values (weeks); a None value breaks the line."""
    parts = _heading(title)
    top = _top(series, percent)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    parts += _y_axis(top, y_label, percent, HEIGHT)
    step = plot_w / max(1, len(xs) - 1)

    def point(index: int, value: float) -> str:
        return f"{LEFT + index * step:.1f},{HEIGHT - BOTTOM - plot_h * value / top:.1f}"

    for index, x in enumerate(xs):
        parts.append(f'<text x="{LEFT + index * step:.1f}" y="{HEIGHT - BOTTOM + 16}" '
                     f'text-anchor="middle" font-size="11">{_esc(x)}</text>')
    parts.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 8}" text-anchor="middle" '
                 f'font-size="12">{_esc(x_label)}</text>')
    for index, s in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        runs: list[list[str]] = [[]]
        for k, v in enumerate(s.values):
            if v is None:
                runs.append([])
            else:
                runs[-1].append(point(k, v))
        for run in runs:
            if run:
                parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"'
                             f'{dash} points="{" ".join(run)}"/>')
                parts += [f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="3" '
                          f'fill="{colour}"/>' for p in run]
    parts += _legend(series, 40)
    return _svg(title, f"{y_label} by {x_label}", HEIGHT, parts)


def bar_chart(title: str, *, y_label: str, labels: Sequence[str], series: Sequence[Series],
              percent: bool = False) -> str:
    """Horizontal bars, one group per label (one bar per series); the label above its bars."""
    group_h = 18 * len(series) + 22
    height = TOP + group_h * len(labels) + BOTTOM
    parts = _heading(title)
    top = _top(series, percent)
    left, plot_w = 16, WIDTH - 16 - 72
    for g, label in enumerate(labels):
        y0 = TOP + g * group_h
        parts.append(f'<text x="{left}" y="{y0 + 12}" font-size="12">{_esc(label)}</text>')
        for k, s in enumerate(series):
            v = s.values[g]
            y = y0 + 16 + 18 * k
            colour = COLOURS[k % len(COLOURS)]
            if v is None:
                parts.append(f'<text x="{left}" y="{y + 11}" font-size="11" fill="#6b7280">'
                             f'{_esc(s.name)}: none</text>')
                continue
            w = plot_w * v / top
            text = f"{v:.0f}%" if percent else f"{v:,.1f}"
            parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="14" '
                         f'fill="{colour}"/><text x="{left + w + 6:.1f}" y="{y + 11}" '
                         f'font-size="11">{_esc(text)}</text>')
    axis_y = height - BOTTOM + 8
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" '
                 f'stroke="#9ca3af"/><text x="{left}" y="{axis_y + 16}" font-size="11">0'
                 f'</text><text x="{left + plot_w}" y="{axis_y + 16}" font-size="11" '
                 f'text-anchor="end">{"100%" if percent else f"{top:,.0f}"}</text>'
                 f'<text x="{left + plot_w / 2}" y="{axis_y + 32}" text-anchor="middle" '
                 f'font-size="12">{_esc(y_label)}</text>')
    parts += _legend(series, 40)
    return _svg(title, f"{y_label} per item", height, parts)
