"""The forecast and its backtest as inline SVG charts, alone on one self-contained HTML page or
inside the funnel report.

The charts carry the ids ``forecast-chart`` and ``backtest-chart``; each bar, band and point
has a class (``forecast-bar``, ``backtest-band``, ``backtest-actual``, ``backtest-naive``) so a
browser test can count them.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

FORECAST_FILL = "#3b6fd6"  # expected bookings per period
BAND_FILL = "#f2b134"  # the P10-P90 interval of each backtest point
ACTUAL_FILL = "#1f9d55"  # what was won
NAIVE_FILL = "#c0392b"  # amount × the CRM's stage probability
WIDTH, HEIGHT, PAD = 720, 260, 40


def _scale(values: Sequence[float]) -> float:
    top = max([*values, 1.0])
    return (HEIGHT - 2 * PAD) / top


def _y(value: float, k: float) -> float:
    return HEIGHT - PAD - value * k


def forecast_svg(periods: Sequence[dict[str, Any]]) -> str:
    """Expected bookings per period as bars, P10-P90 as a whisker."""
    k = _scale([p["p90"] for p in periods] + [p["expected"] for p in periods])
    step = (WIDTH - 2 * PAD) / max(len(periods), 1)
    parts = []
    for i, p in enumerate(periods):
        x = PAD + i * step + step * 0.2
        w = step * 0.6
        parts.append(f'<rect class="forecast-bar" x="{x:.1f}" y="{_y(p["expected"], k):.1f}" '
                     f'width="{w:.1f}" height="{p["expected"] * k:.1f}" fill="{FORECAST_FILL}"/>')
        mid = x + w / 2
        parts.append(f'<line x1="{mid:.1f}" x2="{mid:.1f}" y1="{_y(p["p10"], k):.1f}" '
                     f'y2="{_y(p["p90"], k):.1f}" stroke="#222" stroke-width="2"/>')
        parts.append(f'<text x="{mid:.1f}" y="{HEIGHT - PAD / 3:.1f}" text-anchor="middle" '
                     f'font-size="12">{escape(str(p["period"]))}</text>')
    return _svg("forecast-chart", "Expected bookings per period, P10-P90 whiskers", parts)


def backtest_svg(points: Sequence[dict[str, Any]]) -> str:
    """Per past period the P10-P90 band, the actual (dot) and the naive forecast (square)."""
    k = _scale([p["p90"] for p in points] + [p["actual"] for p in points]
               + [p["naive"] for p in points])
    step = (WIDTH - 2 * PAD) / max(len(points), 1)
    parts = []
    for i, p in enumerate(points):
        x = PAD + i * step + step * 0.25
        w, mid = step * 0.5, PAD + i * step + step / 2
        parts.append(f'<rect class="backtest-band" x="{x:.1f}" y="{_y(p["p90"], k):.1f}" '
                     f'width="{w:.1f}" height="{max((p["p90"] - p["p10"]) * k, 1):.1f}" '
                     f'fill="{BAND_FILL}"/>')
        parts.append(f'<circle class="backtest-actual" cx="{mid:.1f}" '
                     f'cy="{_y(p["actual"], k):.1f}" r="6" fill="{ACTUAL_FILL}"/>')
        parts.append(f'<rect class="backtest-naive" x="{mid - 5:.1f}" '
                     f'y="{_y(p["naive"], k) - 5:.1f}" width="10" height="10" '
                     f'fill="{NAIVE_FILL}"/>')
        parts.append(f'<text x="{mid:.1f}" y="{HEIGHT - PAD / 3:.1f}" text-anchor="middle" '
                     f'font-size="11">{escape(str(p["period"]))}</text>')
    return _svg("backtest-chart", "Backtest: P10-P90 band, actual (dot), naive (square)", parts)


def _svg(name: str, title: str, parts: list[str]) -> str:
    return (f'<svg id="{name}" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
            f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img">'
            f"<title>{escape(title)}</title>{''.join(parts)}</svg>")


def score_line(backtest: dict[str, Any]) -> str:
    return escape(f"MAPE {backtest['mape']} · bias {backtest['bias']} · P10-P90 coverage "
                  f"{backtest['coverage']} · naive MAPE {backtest['naive_mape']}")


def render_forecast_html(forecast: dict[str, Any], backtest: dict[str, Any]) -> str:
    """One HTML page: the forecast chart and the backtest chart with its scores."""
    currency = escape(str(forecast["currency"]))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>funnelsync forecast</title></head>"
            f'<body style="font-family:sans-serif;margin:24px;background:#fff">'
            f"<h1>Forecast as of {escape(str(forecast['as_of']))} ({currency})</h1>"
            f"{forecast_svg(forecast['periods'])}"
            f"<h2>Backtest</h2><p>{score_line(backtest)}</p>"
            f"{backtest_svg(backtest['points'])}</body></html>\n")


__all__ = ["ACTUAL_FILL", "BAND_FILL", "FORECAST_FILL", "NAIVE_FILL", "backtest_svg",
           "forecast_svg", "render_forecast_html", "score_line"]
