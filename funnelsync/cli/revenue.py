"""The ``forecast`` command: expected bookings per period with an interval, and its backtest."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from funnelsync.cli.common import config_option, open_store
from funnelsync.clock import command_timebase
from funnelsync.config.loading import load_config

_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command("forecast")
@config_option
@click.option("--period", "kind", type=click.Choice(["month", "quarter"]), default="month",
              show_default=True)
@click.option("--periods", "count", type=click.IntRange(1, 24), default=3, show_default=True,
              help="How many periods to forecast.")
@click.option("--as-of", "as_of", type=_DATE, default=None,
              help="Forecast as of this date (YYYY-MM-DD; default: now).")
@click.option("--backtest", is_flag=True,
              help="Forecast past periods from the history known then; compare with actuals.")
@click.option("--from", "start", type=_DATE, default=None,
              help="First backtest date (default: six periods back).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]),
              default="table", show_default=True,
              help="html: one page with the forecast and its backtest as charts.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout.")
def forecast_cmd(config_path: str | None, kind: str, count: int, as_of: datetime | None,
                 backtest: bool, start: datetime | None, fmt: str, as_json: bool,
                 output: str | None) -> None:
    """Bookings forecast per period (expected, P10/P50/P90) from the stage history, each deal's
    probability explained; --backtest shows how good it was.

    \b
    Example:
      funnelsync forecast -c funnelsync.toml --period quarter --periods 2
      funnelsync forecast -c funnelsync.toml --json
      funnelsync forecast -c funnelsync.toml --backtest --from 2026-01-01 --json
    """
    from funnelsync.reports.revenue import (
        backtest_start,
        build_backtest,
        build_forecast,
        revenue_inputs,
    )

    moment = as_of.replace(tzinfo=UTC) if as_of else command_timebase().now()
    config = load_config(config_path)
    with open_store(config) as store:
        timelines, excluded, currency, terminal = revenue_inputs(store, config)
    first = start.date() if start else backtest_start(moment, kind)
    if fmt == "html" and not as_json:
        from funnelsync.reports.forecast_html import render_forecast_html

        _emit(render_forecast_html(
            build_forecast(timelines, moment, kind, count, terminal, currency),
            build_backtest(timelines, first, moment, kind, terminal, currency)), output)
        return
    if backtest:
        doc = build_backtest(timelines, first, moment, kind, terminal, currency)
    else:
        doc = build_forecast(timelines, moment, kind, count, terminal, currency)
    doc["excluded"] = excluded
    _emit(_render(doc, "json" if as_json else fmt, backtest), output)


def _rows(doc: dict[str, Any], backtest: bool) -> list[dict[str, Any]]:
    return doc["points"] if backtest else doc["periods"]


def _render(doc: dict[str, Any], fmt: str, backtest: bool) -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2, default=str)
    rows = _rows(doc, backtest)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["period"])
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    return _table(doc, rows, backtest)


def _table(doc: dict[str, Any], rows: list[dict[str, Any]], backtest: bool) -> str:
    lines = [f"amounts in {doc['currency']}"]
    if rows:
        keys = list(rows[0])
        lines.append("  ".join(f"{k:>14}" for k in keys))
        lines += ["  ".join(f"{r[k]!s:>14}" for k in keys) for r in rows]
    if backtest:
        lines.append(f"MAPE {doc['mape']}  bias {doc['bias']}  coverage {doc['coverage']}  "
                     f"naive MAPE {doc['naive_mape']}")
    if doc.get("excluded"):
        lines.append(f"{len(doc['excluded'])} deals left out: no exchange rate for their currency")
    return "\n".join(lines) + "\n"


def _emit(text: str, output: str | None) -> None:
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    Path(output).write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


COMMANDS = [forecast_cmd]
