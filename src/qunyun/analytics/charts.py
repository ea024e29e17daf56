"""Charts as inline SVG, drawn on the server: the console, the HTML report and the PDF share them.

No chart script is shipped or fetched: the browser (or Chromium printing the PDF) only renders
SVG. Each function returns markup for ``|safe``; every text in it is escaped here. Values are
plain numbers; labels are strings. Every chart has ``role="img"``, an accessible title and a
``data-chart`` attribute naming its kind (the browser test counts drawn marks under it).
"""

from __future__ import annotations

import math
from html import escape

PALETTE = ("#2f6fdf", "#e8833a", "#3aa76d", "#c94f6d", "#8a63d2", "#4fb3c9", "#b59b2b", "#7a7a7a")
FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering ``low``–``high``."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw), default=raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 0.001:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def _fmt(value: float) -> str:
    if abs(value) >= 10000:
        return f"{value / 1000:.0f}k"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _frame(kind: str, title: str, width: int, height: int, body: list[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{escape(kind)}" role="img" '
            f'aria-label="{escape(title)}" viewBox="0 0 {width} {height}" width="100%" '
            f'preserveAspectRatio="xMidYMid meet" {FONT}><title>{escape(title)}</title>{"".join(body)}</svg>')


def _legend(names: list[str], x: int, y: int) -> list[str]:
    out = []
    for i, name in enumerate(names):
        color = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{x + 14}" y="{y}">{escape(name)}</text>')
        x += 24 + 7 * len(name)
    return out


def _empty(kind: str, title: str, width: int, height: int, message: str) -> str:
    return _frame(kind, title, width, height, [
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#777" class="chart-empty">'
        f'{escape(message)}</text>'])


def _axes(ticks: list[float], lo: float, hi: float, left: int, top: int, plot_w: int, plot_h: int) -> tuple[list[str], callable]:
    def y_of(value: float) -> float:
        return top + plot_h - (value - lo) / (hi - lo) * plot_h

    body = []
    for tick in ticks:
        y = y_of(tick)
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
                    f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{_fmt(tick)}</text>')
    return body, y_of


def _x_labels(labels: list[str], x_of, y: float, max_labels: int = 12) -> list[str]:
    step = max(1, math.ceil(len(labels) / max_labels))
    return [f'<text x="{x_of(i):.1f}" y="{y}" text-anchor="middle" fill="#555">{escape(label)}</text>'
            for i, label in enumerate(labels) if i % step == 0]


def line_chart(labels: list[str], series: list[tuple[str, list[float]]], *, title: str, width: int = 760,
               height: int = 240, empty: str = "no data") -> str:
    """One line per series over the same x labels (days, weeks)."""
    if not labels or not series or all(not any(values) for _n, values in series):
        return _empty("line", title, width, height, empty)
    left, right, top, bottom = 48, 12, 26, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _n, vs in series for v in vs if v is not None]
    lo = min(0.0, min(values))
    ticks = _nice_ticks(lo, max(values) or 1)
    lo, hi = ticks[0], ticks[-1]
    body, y_of = _axes(ticks, lo, hi, left, top, plot_w, plot_h)
    n = len(labels)

    def x_of(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    for index, (name, vs) in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(vs) if v is not None)
        body.append(f'<polyline class="mark" fill="none" stroke="{color}" stroke-width="2" points="{points}">'
                    f'<title>{escape(name)}</title></polyline>')
        if n <= 62:
            body.extend(
                f'<circle class="mark" cx="{x_of(i):.1f}" cy="{y_of(v):.1f}" r="2.5" fill="{color}">'
                f'<title>{escape(labels[i])} · {escape(name)}: {_fmt(v)}</title></circle>'
                for i, v in enumerate(vs) if v is not None)
    body.extend(_x_labels(labels, x_of, height - 8))
    body.extend(_legend([name for name, _v in series], left, 14))
    return _frame("line", title, width, height, body)


def bar_chart(labels: list[str], series: list[tuple[str, list[float]]], *, title: str, width: int = 760,
              height: int = 240, empty: str = "no data") -> str:
    """Stacked bars per label; negative values stack below the axis (dormant members, leaves)."""
    if not labels or not series or all(not any(values) for _n, values in series):
        return _empty("bar", title, width, height, empty)
    left, right, top, bottom = 48, 12, 26, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    ups = [sum(max(0, vs[i] or 0) for _n, vs in series) for i in range(len(labels))]
    downs = [sum(min(0, vs[i] or 0) for _n, vs in series) for i in range(len(labels))]
    ticks = _nice_ticks(min(0.0, min(downs)), max(ups) or 1)
    lo, hi = ticks[0], ticks[-1]
    body, y_of = _axes(ticks, lo, hi, left, top, plot_w, plot_h)
    slot = plot_w / len(labels)
    bar_w = max(1.0, slot * 0.7)

    def x_of(i: int) -> float:
        return left + slot * (i + 0.5)

    for i, label in enumerate(labels):
        up, down = 0.0, 0.0
        for index, (name, vs) in enumerate(series):
            value = vs[i] or 0
            if not value:
                continue
            base = up if value > 0 else down
            top_value = base + value
            y1, y2 = sorted((y_of(base), y_of(top_value)))
            body.append(f'<rect class="mark" x="{x_of(i) - bar_w / 2:.1f}" y="{y1:.1f}" width="{bar_w:.1f}" '
                        f'height="{max(0.5, y2 - y1):.1f}" fill="{PALETTE[index % len(PALETTE)]}">'
                        f'<title>{escape(label)} · {escape(name)}: {_fmt(value)}</title></rect>')
            if value > 0:
                up = top_value
            else:
                down = top_value
    zero = y_of(0)
    body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#999"/>')
    body.extend(_x_labels(labels, x_of, height - 8))
    body.extend(_legend([name for name, _v in series], left, 14))
    return _frame("bar", title, width, height, body)


def hbar_chart(labels: list[str], values: list[float], *, title: str, width: int = 760, row: int = 26,
               empty: str = "no data", note: list[str] | None = None) -> str:
    """Horizontal bars, one per label (funnel steps, layers), with the value at the bar's end."""
    height = 12 + row * max(1, len(labels))
    if not labels or not any(values):
        return _empty("hbar", title, width, max(height, 60), empty)
    left = 12 + min(220, 7 * max(len(label) for label in labels))
    plot_w = width - left - 90
    top_value = max(values) or 1
    body = []
    for i, (label, value) in enumerate(zip(labels, values)):
        y = 6 + i * row
        w = plot_w * (value / top_value)
        extra = f" · {note[i]}" if note and note[i] else ""
        body.append(f'<text x="{left - 6}" y="{y + row / 2 + 3:.1f}" text-anchor="end">{escape(label)}</text>'
                    f'<rect class="mark" x="{left}" y="{y + 3}" width="{max(1.0, w):.1f}" height="{row - 8}" '
                    f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: {_fmt(value)}{escape(extra)}</title></rect>'
                    f'<text x="{left + max(1.0, w) + 6:.1f}" y="{y + row / 2 + 3:.1f}">{_fmt(value)}{escape(extra)}</text>')
    return _frame("hbar", title, width, height, body)


def heatmap_chart(row_labels: list[str], col_labels: list[str], values: list[list[float]], *, title: str,
                  width: int = 760, empty: str = "no data", unit: str = "") -> str:
    """A grid of shaded cells (weekday rows × hour columns), darker for more."""
    top_value = max((v for row in values for v in row), default=0)
    cell_h = 22
    left, top = 40, 18
    height = top + cell_h * len(row_labels) + 6
    if not top_value:
        return _empty("heatmap", title, width, height, empty)
    cell_w = (width - left - 8) / len(col_labels)
    body = [f'<text x="{left + cell_w * (j + 0.5):.1f}" y="12" text-anchor="middle" fill="#555">{escape(c)}</text>'
            for j, c in enumerate(col_labels) if j % 2 == 0]
    for i, label in enumerate(row_labels):
        y = top + i * cell_h
        body.append(f'<text x="{left - 6}" y="{y + cell_h / 2 + 4:.1f}" text-anchor="end" fill="#555">{escape(label)}</text>')
        for j, value in enumerate(values[i]):
            strength = value / top_value
            fill = f"rgba(47,111,223,{0.06 + 0.94 * strength:.3f})" if value else "#f4f4f4"
            body.append(f'<rect class="mark" x="{left + j * cell_w:.1f}" y="{y}" width="{cell_w - 1:.1f}" '
                        f'height="{cell_h - 2}" fill="{fill}"><title>{escape(label)} {escape(col_labels[j])}: '
                        f'{_fmt(value)}{escape(unit)}</title></rect>')
    return _frame("heatmap", title, width, height, body)


def cell_shade(rate: float | None) -> str:
    """A CSS background for a retention-table cell (darker = more retained)."""
    if rate is None:
        return ""
    return f"background: rgba(58,167,109,{0.08 + 0.8 * max(0.0, min(1.0, rate)):.3f})"
