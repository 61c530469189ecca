"""Admin and RevOps commands: demo, init, config check/reference, doctor, audit, report,
export, runs.

They parse arguments, call the library and render: the work is in app (demo, doctor, export),
config (loading, reference), reports and sync.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from funnelsync.cli.common import (
    MAX_SANDBOX_RECORDS,
    command_connectors,
    config_option,
    echo_json,
    echo_line,
    json_option,
    open_store,
    output_path,
    write_output,
)
from funnelsync.clock import command_timebase
from funnelsync.config.loading import load_config
from funnelsync.errors import EXIT_USAGE, ConfigError

MAX_RUNS_LISTED = 10_000


def _width() -> int:
    return max(80, shutil.get_terminal_size((120, 24)).columns)


# -- demo -----------------------------------------------------------------------------------
@click.command("demo")
@click.option("--leads", type=click.IntRange(1, MAX_SANDBOX_RECORDS), default=2000,
              show_default=True,
              help=f"Leads (and contacts) in each sandbox CRM, at most {MAX_SANDBOX_RECORDS}.")
@click.option("--deals", type=click.IntRange(1, MAX_SANDBOX_RECORDS), default=1500,
              show_default=True,
              help=f"Deals (and opportunities) in each sandbox CRM, at most "
                   f"{MAX_SANDBOX_RECORDS}.")
@click.option("--seed", type=int, default=7, show_default=True, help="Sandbox data seed.")
@click.option("--state", "state_url", default=None, metavar="URL",
              help="Keep the state here (SQLAlchemy URL); default: a temporary SQLite file.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="funnelsync-report.html",
              show_default=True, help="Where to write the HTML report.")
@json_option
def demo_cmd(leads: int, deals: int, seed: int, state_url: str | None, output: str,
             as_json: bool) -> None:
    """Sync a local Salesforce + HubSpot sandbox end to end, audit it and report on it.

    Starts the sandbox in-process, writes a temporary config, runs a full sync, prints the
    audit highlights and the combined funnel, writes the HTML report, and stops.

    \b
    Example:
      funnelsync demo
      funnelsync demo --deals 300 -o /tmp/report.html
    """
    from funnelsync.app.demo import DemoOptions, combined_only, highlights, run_demo
    from funnelsync.cli.console import progress_reporter
    from funnelsync.reports import render_report

    options = DemoOptions(leads, deals, seed, state_url, output_path(output))
    step: Callable[[str], None] = (lambda _: None) if as_json else \
        (lambda msg: echo_line(msg, err=True))
    with progress_reporter(not as_json) as progress:
        result = run_demo(options, progress=progress, step=step,
                          connector_factory=command_connectors(),
                          clock=command_timebase().now)
    if as_json:
        echo_json(_demo_json(result))
        return
    click.echo(render_report(combined_only(result.report), "table", width=_width()))
    for line in highlights(result):
        echo_line(line)
    click.echo(f"report written to {result.report_path} ({result.seconds} s in all)")


def _demo_json(result: Any) -> dict[str, Any]:
    run = result.run
    severities = [f.severity for f in result.audit.findings]
    return {"seconds": result.seconds, "report_path": str(result.report_path),
            "run": {"run_id": run.run_id, "pulled": run.pulled, "changes": run.changes,
                    "records_written": run.records_written,
                    "tasks_created": run.tasks_created, "alerts_open": run.alerts_open,
                    "rejected": len(run.errors)},
            "audit": {s: severities.count(s) for s in ("error", "warning", "info")}}


# -- init -----------------------------------------------------------------------------------
@click.command("init")
@click.option("-o", "--output", default="funnelsync.toml", show_default=True,
              type=click.Path(dir_okay=False, allow_dash=True), help="File to write ('-': stdout).")
@click.option("--sandbox", "sandbox_url", metavar="URL", default=None,
              help="Point both CRMs at a running `funnelsync sandbox` at URL.")
@click.option("--state", "state_url", default=None, show_default="sqlite:///funnelsync.db",
              metavar="URL", help="State store URL written into the file.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init_cmd(output: str, sandbox_url: str | None, state_url: str | None, force: bool) -> None:
    """Write a commented config: every key with its description and default.

    \b
    Example:
      funnelsync init -o funnelsync.toml
      funnelsync init --sandbox http://127.0.0.1:8765 -o sandbox.toml --force
    """
    from funnelsync.config.reference import init_config

    if sandbox_url is not None:
        _check_sandbox_url(sandbox_url)
    text = init_config(sandbox_url.rstrip("/") if sandbox_url else None, state_url)
    if output == "-":
        click.echo(text, nl=False)
        return
    path = output_path(output)
    if path.exists() and not force:
        click.echo(f"error: {path} already exists; pass --force to overwrite it", err=True)
        sys.exit(EXIT_USAGE)
    write_output(path, text)
    click.echo(f"wrote {path}; next: funnelsync config check -c {path} && "
               f"funnelsync doctor -c {path}")


def _check_sandbox_url(url: str) -> None:
    from funnelsync.config.urls import check_http_url

    try:
        check_http_url(url)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}; give the sandbox's base URL, e.g. "
                                 "http://127.0.0.1:8765", param_hint="--sandbox") from None
    if not re.fullmatch(r"https?://[^/\s]+/?", url):
        raise click.BadParameter("give the sandbox's base URL, e.g. http://127.0.0.1:8765",
                                 param_hint="--sandbox")


# -- doctor ---------------------------------------------------------------------------------
@click.command("doctor")
@config_option
@click.option("--fix", is_flag=True, help="Create missing HubSpot properties.")
@json_option
def doctor_cmd(config_path: str | None, fix: bool, as_json: bool) -> None:
    """Check credentials, API version, quota, write-back fields and stage mapping.

    \b
    Exit codes: 0 every check passed, 1 a check failed, 2 config error,
    4 a CRM refused the credentials or could not be reached.
    \b
    Example:
      funnelsync doctor -c funnelsync.toml
      funnelsync doctor -c funnelsync.toml --fix --json
    """
    from funnelsync.app.doctor import checklist_lines, run_doctor

    config = load_config(config_path)
    if not config.sources():
        raise ConfigError("the config names no CRM",
                          hint="add a [salesforce] or [hubspot] section; "
                               "`funnelsync init` shows every key")
    report = run_doctor(config, fix=fix, connector_factory=command_connectors())
    if as_json:
        echo_json(report.to_dict())
    else:
        for line in checklist_lines(report):
            echo_line(line)
    sys.exit(report.exit_code)


# -- audit and report -----------------------------------------------------------------------
@click.command("audit")
@config_option
@json_option
def audit_cmd(config_path: str | None, as_json: bool) -> None:
    """Lint the stage definitions against the stored catalogs and deal history.

    Run after a sync or pull. Exit 0 when no finding is an error, 1 otherwise.

    \b
    Example:
      funnelsync audit -c funnelsync.toml --json
    """
    from funnelsync.reports import audit_from_store, render_audit

    config = load_config(config_path)
    with open_store(config) as store:
        result = audit_from_store(store, config, command_timebase().now())
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(render_audit(result.findings, "table", width=_width()))
    sys.exit(1 if result.has_errors else 0)


@click.command("report")
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]),
              default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write to this file instead of stdout.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only records created on or after this date (YYYY-MM-DD).")
@click.option("--by", type=click.Choice(["month"]), default=None,
              help="Add monthly deal cohorts.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Compute the report as of this date (YYYY-MM-DD; default: now).")
@json_option
def report_cmd(config_path: str | None, fmt: str, output: str | None, since: datetime | None,
               by: str | None, as_of: datetime | None, as_json: bool) -> None:
    """Funnel metrics per CRM and combined: conversion, time in stage, win rate, pipeline.

    \b
    Example:
      funnelsync report -c funnelsync.toml
      funnelsync report -c funnelsync.toml --format html -o funnel.html --by month
      (the HTML adds the forecast and its backtest as charts)
      funnelsync report -c funnelsync.toml --since 2024-01-01 --json
    """
    from funnelsync.reports import audit_from_store, render_report, report_from_store
    from funnelsync.reports.revenue import forecast_and_backtest

    fmt = "json" if as_json else fmt
    target = output_path(output) if output is not None else None
    config = load_config(config_path)
    since_day = since.date() if since else None
    now = as_of.replace(tzinfo=UTC) if as_of else command_timebase().now()
    findings, forecast = None, None
    with open_store(config) as store:
        report = report_from_store(store, config, now, since=since_day, by=by)
        if fmt == "html":
            findings = audit_from_store(store, config, now).findings
            forecast = forecast_and_backtest(store, config, now)
    text = render_report(report, fmt, findings=findings, width=_width(), forecast=forecast)
    _emit(text, target)


def _emit(text: str, target: Path | None) -> None:
    if target is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    write_output(target, text)
    click.echo(f"wrote {target}", err=True)


# -- export and runs ------------------------------------------------------------------------
@click.command("export")
@config_option
@click.option("--object", "obj", required=True,
              type=click.Choice(["leads", "deals", "stage_changes", "people", "alerts", "runs"]))
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "parquet"]), default="jsonl",
              show_default=True)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, allow_dash=True),
              help="File to write ('-': stdout, jsonl and csv only).")
def export_cmd(config_path: str | None, obj: str, fmt: str, output: str) -> None:
    """Stream stored leads, deals, stage changes, people, alerts or runs to a file.

    The columns are those `funnelsync.integrations.dlt` loads into a warehouse; deals add
    `amount_converted` in `converted_currency` (the report currency, at the close date's rate;
    empty for a deal whose currency has no rate). Parquet needs the `parquet` extra (pyarrow).

    \b
    Example:
      funnelsync export -c funnelsync.toml --object deals --format parquet -o deals.parquet
      funnelsync export -c funnelsync.toml --object stage_changes --format csv -o -
    """
    from funnelsync.app.export import export
    from funnelsync.reports.money import deal_money

    config = load_config(config_path)
    path = None if output == "-" else Path(output)
    with open_store(config, need_data=False) as store:
        money = deal_money(store, config.sources(), config.report.currency)
        count = export(store, obj, fmt, path, out=sys.stdout,
                       money=money if obj == "deals" else None)
    click.echo(f"exported {count} {obj} to {output if path else 'stdout'}", err=True)
    if money.unconverted and obj == "deals":
        click.echo(f"{money.unconverted} deals have no exchange rate to {money.currency}: "
                   "amount_converted left empty", err=True)


@click.command("runs")
@config_option
@click.option("--limit", type=click.IntRange(1, MAX_RUNS_LISTED), default=20, show_default=True,
              help="How many runs to list.")
@json_option
def runs_cmd(config_path: str | None, limit: int, as_json: bool) -> None:
    """List past runs, newest first: status, duration, records pulled and written.

    \b
    Example:
      funnelsync runs -c funnelsync.toml --limit 5 --json
    """
    config = load_config(config_path)
    with open_store(config, need_data=False) as store:
        runs = store.list_runs(limit)
    rows = [_run_row(r) for r in runs]
    if as_json:
        echo_json({"runs": rows})
        return
    if not rows:
        click.echo("no runs yet")
        return
    click.echo(f"{'run':>5}  {'started (UTC)':<19}  {'status':<8} {'mode':<7} {'secs':>7} "
               f"{'pulled':>8} {'written':>8} {'tasks':>6} {'errors':>6}")
    for r in rows:
        click.echo(f"{r['run_id']:>5}  {r['started_at'][:19]:<19}  {r['status']:<8} "
                   f"{_mode(r):<7} {r['seconds'] or '':>7} "
                   f"{r['pulled']:>8} {r['records_written']:>8} {r['tasks_created']:>6} "
                   f"{r['errors']:>6}")


def _mode(row: dict[str, Any]) -> str:
    """write, dry-run, or forget (a privacy deletion; forget-dry for its dry run)."""
    if row["kind"] == "forget":
        return "forget-dry" if row["dry_run"] else "forget"
    return "dry-run" if row["dry_run"] else "write"


def _run_row(run: Any) -> dict[str, Any]:
    counts = run.counts or {}
    pulled = sum(sum(c.values()) for c in (counts.get("pulled") or {}).values())
    seconds = (round((run.finished_at - run.started_at).total_seconds(), 1)
               if run.finished_at else None)
    return {"run_id": run.run_id, "started_at": run.started_at.isoformat(),
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "status": run.status, "kind": run.kind, "dry_run": run.dry_run, "seconds": seconds,
            "pulled": pulled, "changes": counts.get("changes", 0),
            "records_written": counts.get("records_written", 0),
            "tasks_created": counts.get("tasks_created", 0), "errors": len(run.errors or [])}


# -- config ---------------------------------------------------------------------------------
@click.group("config")
def config_group() -> None:
    """Check configuration files."""


@config_group.command("check")
@config_option
def config_check(config_path: str | None) -> None:
    """Validate a config file and list every problem with its TOML path; warn about a CRM
    URL that would send credentials in clear text (http:// to a host other than localhost).

    \b
    Example:
      funnelsync config check -c funnelsync.toml
    """
    config = load_config(config_path)
    for warning in config.cleartext_warnings():
        echo_line(f"warning: {warning}", err=True)
    crms = ", ".join(config.sources()) or "no CRM"
    echo_line(f"config ok: {crms}; {len(config.funnel.stages)} funnel stages; "
              f"state {config.state.url}")


@config_group.command("reference")
@click.option("--write", "readme", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Replace the reference between the config-reference markers in this file.")
def config_reference_cmd(readme: str | None) -> None:
    """Print every config key (markdown, generated from the models).

    \b
    Example:
      funnelsync config reference > CONFIG.md
      funnelsync config reference --write README.md
    """
    from funnelsync.config.reference import render_reference, replace_between_markers

    text = render_reference()
    if readme is None:
        click.echo(text, nl=False)
        return
    path = Path(readme)
    path.write_text(replace_between_markers(path.read_text(encoding="utf-8"), text),
                    encoding="utf-8")
    click.echo(f"updated the configuration reference in {path}", err=True)


COMMANDS = (demo_cmd, init_cmd, config_group, doctor_cmd, audit_cmd, report_cmd, export_cmd,
            runs_cmd)
