"""The report's charts, drawn by matplotlib and inlined in the page as SVG (no script, no external file).

Each function takes plain numbers from the summary and returns one ``<svg class="chart">`` element.
matplotlib is imported inside the functions (nothing happens at import time; ``linkq report`` is the
only caller that pays for it) and draws on a :class:`~matplotlib.figure.Figure` with an Agg canvas,
never through ``pyplot``, so no figure is registered anywhere and nothing needs closing or a display.
Output is deterministic: ``svg.hashsalt`` is fixed per chart and the SVG metadata (date, creator) is
left out. Text stays text (``svg.fonttype = 'none'``: small, searchable, escaped by matplotlib's XML
writer) and ``text.parse_math`` is off, so a ``$`` in a domain name or anchor is shown, not parsed.

Hand-written on purpose, in :func:`_svg`: each chart's ids get the chart's key as prefix (several SVGs
share one HTML document, whose ids must be unique), and hover tooltips are ``<title>`` elements put into
the groups matplotlib names by ``gid`` (matplotlib's SVG has no tooltips of its own).
"""

from __future__ import annotations

import contextlib
import html
import io
import math
import re
from collections.abc import Mapping, Sequence

from serving.report_summary import pct as _pct

PX = 72.0  # the SVG's user unit is a point; figure sizes are given in points = CSS pixels at 100% width
_GRID = "#edf0f3"
_AXIS = "#9aa5b1"
_TICK = "#7b8794"
_INK = "#1f2933"
_RED = "#c53030"
_HEADER = re.compile(r"\A.*?(?=<svg\b)", re.S)
_IDS = re.compile(r'(\bid="|url\(#|xlink:href="#)([^"\s)]+)')
_TIP = re.compile(r'<g id="tip(\d+)">')
# Geometry attributes only (never text): matplotlib writes 6 decimals; 2 are a hundredth of a pixel.
_GEOMETRY = re.compile(r'(\s(?:d|x|y|transform)=")([^"]*)"')
_NUMBER = re.compile(r"-?\d+\.\d{3,}")
_INDENT = re.compile(r"\n[ \t]+")


def _round(m: re.Match[str]) -> str:
    return f"{float(m.group(0)):.2f}".rstrip("0").rstrip(".")


def _rc(key: str) -> dict[str, object]:
    return {
        "svg.hashsalt": f"linkq-report-{key}",
        "svg.fonttype": "none",
        "text.parse_math": False,
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"],
        "font.size": 11.0,
        "axes.edgecolor": _AXIS,
        "axes.linewidth": 0.8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "xtick.color": _AXIS,
        "ytick.color": _AXIS,
        "xtick.labelcolor": _TICK,
        "ytick.labelcolor": _TICK,
        "xtick.labelsize": 10.5,
        "ytick.labelsize": 10.5,
    }


def _style(key: str) -> contextlib.AbstractContextManager:
    """matplotlib's settings for one chart, set for the time it is drawn and saved only."""
    import matplotlib

    return matplotlib.rc_context(_rc(key))


def _figure(width: float, height: float):  # -> matplotlib.figure.Figure
    """A figure of ``width`` x ``height`` CSS pixels on an Agg canvas (headless; not through pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width / PX, height / PX), dpi=PX)
    FigureCanvasAgg(fig)
    fig.patch.set_alpha(0.0)
    return fig


def _svg(fig, key: str, label: str, tips: Sequence[str] = ()) -> str:
    """The figure as one inline ``<svg class="chart">``: ids prefixed with ``key``, ``tips[i]`` as the
    ``<title>`` of the group with gid ``tip{i}``."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = _HEADER.sub("", buf.getvalue(), count=1)
    text = _GEOMETRY.sub(lambda m: m.group(1) + _NUMBER.sub(_round, m.group(2)) + '"', text)
    text = _INDENT.sub("\n", text)
    text = _TIP.sub(lambda m: f'<g id="tip{m.group(1)}"><title>{html.escape(tips[int(m.group(1))])}</title>', text)
    text = _IDS.sub(lambda m: f"{m.group(1)}{key}-{m.group(2)}", text)
    esc = html.escape(label, quote=True)
    return text.replace("<svg ", f'<svg class="chart" role="img" aria-label="{esc}" ', 1).replace(
        ">", f"><title>{esc}</title>", 1).strip()


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: max(1, n - 1)] + "\u2026"


def _axes(fig, width: float, height: float, left: float, right: float, top: float, bottom: float):
    return fig.add_axes((left / width, bottom / height, (width - left - right) / width, (height - top - bottom) / height))


def _count_axis(axis) -> None:
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    axis.set_major_locator(MaxNLocator(nbins=4, integer=True, min_n_ticks=2))
    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def vbars(
    key: str,
    label: str,
    x_labels: Sequence[str],
    stacks: Mapping[str, Sequence[int]],
    colors: Mapping[str, str],
    tips: Sequence[str],
    *,
    width: int = 1080,
    height: int = 280,
    gap: float = 0.25,
    edge_labels: Sequence[tuple[float, str]] | None = None,
    marks: Mapping[int, str] | None = None,
) -> str:
    """Vertical stacked bars (score histogram, new links per month); ``marks`` shades a bar's column and
    writes a red note over it (the spike months); ``edge_labels`` puts x labels at fractions of the axis."""
    from matplotlib.patches import Rectangle

    n = len(x_labels)
    with _style(key):
        fig = _figure(width, height)
        ax = _axes(fig, width, height, 46, 12, 30, 42)
        totals = [sum(stacks[s][i] for s in stacks) for i in range(n)]
        top = max([*totals, 1])
        bottom = [0] * n
        for s, values in stacks.items():
            shown = [i for i in range(n) if values[i] > 0]  # an empty segment would still be a path
            ax.bar(shown, [values[i] for i in shown], width=1 - gap, bottom=[bottom[i] for i in shown],
                   color=colors[s], linewidth=0, zorder=2)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        _count_axis(ax.yaxis)
        ax.set_ylim(0, top * (1.14 if marks else 1.04))
        ax.set_xlim(-0.5, n - 0.5)
        ax.grid(axis="y", color=_GRID, linewidth=1, zorder=0)
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)
        for i, note in (marks or {}).items():
            ax.axvspan(i - 0.5, i + 0.5, color="#fdecec", zorder=1, linewidth=0)
            ax.text(i, totals[i] + top * 0.02, note, ha="center", va="bottom", color=_RED, fontsize=11,
                    fontweight="bold", zorder=3)
        if edge_labels is not None:
            ax.set_xticks([frac * n - 0.5 for frac, _ in edge_labels], [t for _, t in edge_labels])
        else:
            every = max(1, math.ceil(n / max(1, (width - 58) // 58)))
            ax.set_xticks(range(0, n, every), [x_labels[i] for i in range(0, n, every)])
        for i in range(n):  # an invisible full-height target per bar, so its tooltip works on short bars too
            ax.add_patch(Rectangle((i - 0.5, 0), 1, ax.get_ylim()[1], fill=False, linewidth=0, gid=f"tip{i}"))
        return _svg(fig, key, label, tips)


def hbars(
    key: str,
    label: str,
    rows: Sequence[tuple[str, Mapping[str, int], str]],
    colors: Mapping[str, str],
    *,
    width: int = 1080,
    label_w: int = 250,
    bar_h: int = 18,
    row_colors: Sequence[str] | None = None,
    value_text: Sequence[str] | None = None,
) -> str:
    """Horizontal stacked bars, one row per (label, {series: value}, tooltip); the total (or
    ``value_text``) at the end of each bar."""
    from matplotlib.patches import Rectangle

    n = len(rows)
    gap, axis, top_m = 9, 22, 6
    height = top_m + n * (bar_h + gap) + axis
    with _style(key):
        fig = _figure(width, height)
        ax = _axes(fig, width, height, label_w, 70, top_m, axis)
        totals = [sum(v.values()) for _, v, _ in rows]
        xmax = max([*totals, 1])
        frac = bar_h / (bar_h + gap)
        left = [0.0] * n
        for s in dict.fromkeys(k for _, v, _ in rows for k in v):
            values = [v.get(s, 0) for _, v, _ in rows]
            shown = [i for i in range(n) if values[i] > 0]
            fill = [row_colors[i] for i in shown] if row_colors else colors[s]
            ax.barh(shown, [values[i] for i in shown], height=frac, left=[left[i] for i in shown], color=fill,
                    linewidth=0, zorder=2)
            left = [a + b for a, b in zip(left, values, strict=True)]
        max_chars = int((label_w - 12) / 6.8)
        ax.set_yticks(range(n), [_clip(name, max_chars) for name, _, _ in rows], color=_INK, fontsize=11)
        ax.tick_params(axis="y", length=0, pad=8)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlim(0, xmax)
        _count_axis(ax.xaxis)
        ax.grid(axis="x", color=_GRID, linewidth=1, zorder=0)
        ax.spines["bottom"].set_visible(False)
        ax.tick_params(axis="x", length=0)
        for i, total in enumerate(totals):
            shown = value_text[i] if value_text else f"{total:,}"
            ax.annotate(shown, (total, i), xytext=(6, 0), textcoords="offset points", va="center", fontsize=10.5,
                        fontweight="bold", color=_INK, annotation_clip=False)
            ax.add_patch(Rectangle((0, i - 0.5), xmax, 1, fill=False, linewidth=0, gid=f"tip{i}"))
        return _svg(fig, key, label, [tip for _, _, tip in rows])


def anchor_mix(key: str, label: str, rows: Sequence[tuple[str, float, float, int, bool]], *, width: int = 1080) -> str:
    """Your anchor mix (thick bars) against the rule-of-thumb natural mix (thin grey bars); rows are
    (class label, your share, natural share, links, over the limit). Shares are fractions (0-1)."""
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import PercentFormatter

    n = len(rows)
    height = 8 + n * 40 + 24
    with _style(key):
        fig = _figure(width, height)
        ax = _axes(fig, width, height, 130, 150, 8, 24)
        for i, (_, share, ref, links, hot) in enumerate(rows):
            ax.barh(i - 0.12, share, height=0.44, color=_RED if hot else "#3d6fb6", linewidth=0, zorder=2)
            ax.barh(i + 0.3, ref, height=0.18, color=_AXIS, linewidth=0, zorder=2)
            ax.annotate(f"{_pct(share)} ({links:,})", (share, i - 0.12), xytext=(6, 0), textcoords="offset points",
                        va="center", fontsize=10.5, fontweight="bold", color=_RED if hot else _INK,
                        annotation_clip=False)
            ax.annotate(f"natural \u2248 {_pct(ref)}", (ref, i + 0.3), xytext=(6, 0), textcoords="offset points",
                        va="center", fontsize=9.5, color=_TICK, annotation_clip=False)
        top = max([*(r[1] for r in rows), *(r[2] for r in rows), 0.01])
        ax.set_xlim(0, top * 1.05)
        ax.set_ylim(n - 0.5, -0.6)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.xaxis.get_major_locator().set_params(nbins=5)
        ax.set_yticks(range(n), [r[0] for r in rows], color=_INK, fontsize=11)
        ax.tick_params(length=0)
        ax.tick_params(axis="y", pad=8)
        ax.grid(axis="x", color=_GRID, linewidth=1, zorder=0)
        ax.spines["bottom"].set_visible(False)
        tips = []
        for i, (name, share, ref, links, _) in enumerate(rows):
            ax.add_patch(Rectangle((0, i - 0.5), top * 1.05, 1, fill=False, linewidth=0, gid=f"tip{i}"))
            tips.append(f"{name}: {links} links, {_pct(share)} (natural rule of thumb about {_pct(ref)})")
        return _svg(fig, key, label, tips)


def share_bar(key: str, label: str, parts: Sequence[tuple[str, int, str]], *, width: int = 520) -> str:
    """One 100% bar split into shares, each part (label, links, colour), its label inside when it fits."""
    from matplotlib.patches import Rectangle

    height = 58
    with _style(key):
        fig = _figure(width, height)
        ax = _axes(fig, width, height, 0, 0, 8, 10)
        ax.set_axis_off()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        total = sum(n for _, n, _ in parts)
        x, tips = 0.0, []
        if not total:
            ax.add_patch(Rectangle((0, 0), 1, 1, color="#eef1f4", linewidth=0))
        for name, n, color in parts:
            if n <= 0 or not total:
                continue
            w = n / total
            ax.add_patch(Rectangle((x, 0), w, 1, color=color, linewidth=0, gid=f"tip{len(tips)}"))
            tips.append(f"{name}: {n} links ({_pct(w)})")
            text = f"{name} {_pct(w)}"
            px = width * w
            shown = text if px >= len(text) * 8 + 14 else _pct(w) if px >= 40 else ""  # bold 12px: ~8 px a character
            if shown:
                ax.text(x + w / 2, 0.5, shown, ha="center", va="center", color="#ffffff", fontsize=11.5,
                        fontweight="bold")
            x += w
        return _svg(fig, key, label, tips)
