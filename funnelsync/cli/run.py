"""Commands that run the pipeline: schema, normalize, pull, sync and the sandbox CRMs."""

from __future__ import annotations

import codecs
import logging
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from funnelsync.cli.common import (
    MAX_SANDBOX_RECORDS,
    command_connectors,
    config_option,
    echo_json,
    echo_line,
    output_path,
    remember_log_format,
)
from funnelsync.config.loading import load_config
from funnelsync.crm import CRM_NAMES
from funnelsync.errors import ConfigError, DataError


@click.command("schema")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON Schema of every model.")
def schema_cmd(as_json: bool) -> None:
    """Show the common funnel schema.

    \b
    Example:
      funnelsync schema --json > funnel-schema.json
    """
    from funnelsync.mapping.schema import CatalogStage, FunnelDeal, FunnelLead, StageChange

    models = [FunnelLead, FunnelDeal, StageChange, CatalogStage]
    if as_json:
        echo_json({m.__name__: m.model_json_schema() for m in models})
        return
    for model in models:
        click.echo(model.__name__)
        for name, info in model.model_fields.items():
            click.echo(f"  {name}: {info.annotation}".replace("typing.", ""))


@click.command("normalize")
@click.option("--source", type=click.Choice(CRM_NAMES), help="CRM of the input.")
@click.option("--object", "obj", type=click.Choice(["lead", "deal"]), help="Record type.")
@click.option("--sample", type=click.Choice(["salesforce-deals", "salesforce-leads",
                                             "hubspot-deals", "hubspot-contacts"]),
              help="Normalise a bundled sample instead of INPUT (sets --source/--object).")
@click.option("--pipelines", type=click.File("rb"),
              help="Saved /crm/v3/pipelines/deals answer (HubSpot deal labels, probability).")
@config_option
@click.argument("input_file", metavar="[INPUT|-]", type=click.File("rb"), default="-")
def normalize_cmd(source: str | None, obj: str | None, sample: str | None, pipelines: Any,
                  config_path: str | None, input_file: Any) -> None:
    """Map raw CRM records (JSON lines or one API page) to the funnel schema, one JSON per line.

    \b
    Example:
      funnelsync normalize --sample salesforce-deals
      funnelsync normalize --source hubspot --object deal deals.jsonl
    """
    from funnelsync.mapping import normalize as nz

    catalog = nz.load_catalog(pipelines) if pipelines else None
    if sample:
        given = click.get_current_context().get_parameter_source("input_file")
        if source or obj or given != click.core.ParameterSource.DEFAULT:
            raise click.UsageError("--sample replaces --source, --object and INPUT")
        source, obj, _, _ = nz.SAMPLES[sample]
        input_file, catalog = nz.open_sample(sample), catalog or nz.sample_catalog(sample)
    if not (source and obj):
        raise click.UsageError("give --source and --object (or --sample)")
    config = load_config(config_path, required=False)
    mapper = nz.make_mapper(source, obj, config, catalog)  # type: ignore[arg-type]
    counts = {"ok": 0, "bad": 0, "warnings": 0}
    # Records go to the buffered stream, not through click.echo's flush per line (most of the
    # command's time on large inputs); it is flushed before each report on stderr, so both
    # streams keep the input's order on a terminal.
    out = sys.stdout
    write = _record_writer(out)
    for item in nz.normalize_stream(input_file, source, mapper):  # type: ignore[arg-type]
        line, error = _line_of(item)
        if item.warnings or error is not None:
            out.flush()
        for warning in item.warnings:
            echo_line(f"warning: {item.position}: {warning}", err=True)
        counts["warnings"] += len(item.warnings)
        if error is not None:
            echo_line(f"error: {item.position}: {error}", err=True)
            counts["bad"] += 1
        else:
            write(line)
            counts["ok"] += 1
    out.flush()
    click.echo(f"{counts['ok']} normalised, {counts['bad']} rejected, "
               f"{counts['warnings']} warning(s)", err=True)
    if counts["bad"]:
        sys.exit(1)  # partial failure: the good records were still written


def _line_of(item: Any) -> tuple[bytes, str | None]:
    """The output line of a normalised item, or why it has none."""
    from funnelsync.mapping.normalize import record_line

    if item.record is None:
        return b"", item.error
    try:
        return record_line(item.record), None
    except DataError as exc:
        return b"", str(exc)


def _record_writer(out: Any) -> Callable[[bytes], Any]:
    """Writes a UTF-8 record line to ``out``: straight to its byte buffer when the text
    stream would write the same bytes (UTF-8, line ends kept as they are), else as text."""
    buffer = getattr(out, "buffer", None)
    encoding = getattr(out, "encoding", None) or ""
    # Record lines hold no lone surrogates (neither serialiser writes one), so the stream's
    # error handler cannot change their bytes; a text stream on Windows turns "\n" into "\r\n".
    if buffer is not None and _is_utf8(encoding) and os.linesep == "\n":
        out.flush()  # anything already written as text goes first
        return buffer.write  # type: ignore[no-any-return]
    return lambda line: out.write(line.decode("utf-8"))


def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


SOURCE_CHOICE = click.Choice(CRM_NAMES)
MAX_SHOWN = 20  # warnings and errors shown one by one; all of them are in --json


def _job(config_path: str | None, sources: tuple[str, ...], log_format: str,
         refresh_metadata: bool = False) -> Any:
    from funnelsync.cli.console import setup_logging
    from funnelsync.clock import command_timebase
    from funnelsync.sync.job import SyncJob

    setup_logging(log_format)
    remember_log_format(log_format)
    config = load_config(config_path)
    if not config.sources():
        raise ConfigError("the config names no CRM: there is nothing to pull or sync",
                          hint="add a [salesforce] or [hubspot] section; "
                               "`funnelsync init` shows every key")
    unknown = [s for s in sources if s not in config.sources()]
    if unknown:
        raise ConfigError(f"--source {unknown[0]}: the config has no [{unknown[0]}] section")
    return SyncJob(config, sources=list(sources) or None, refresh_metadata=refresh_metadata,
                   connector_factory=command_connectors(), clock=command_timebase().now)


def run_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options ``pull`` and ``sync`` share (after ``--full``)."""
    for option in reversed([
        click.option("--refresh-metadata", is_flag=True,
                     help="Read stage catalogs, owners and object descriptions from the CRM "
                          "again instead of the cache (--full does too)."),
        click.option("--source", "sources", multiple=True, type=SOURCE_CHOICE,
                     help="Only this CRM (repeatable)."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout."),
        click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
                     show_default=True, help="json: every stderr line is a JSON object and "
                                             "stdout the result, one JSON line."),
    ]):
        command = option(command)
    return command


@click.command("pull")
@config_option
@click.option("--full", is_flag=True, help="Ignore watermarks and read everything again.")
@run_options
def pull_cmd(config_path: str | None, full: bool, refresh_metadata: bool,
             sources: tuple[str, ...], as_json: bool, log_format: str) -> None:
    """Pull, normalise and store leads, deals and stage history (no write-back).

    \b
    Example:
      funnelsync pull -c funnelsync.toml --source hubspot --json
    """
    from funnelsync.cli.console import progress_reporter

    job = _job(config_path, sources, log_format, refresh_metadata)
    with progress_reporter(not as_json, live=log_format == "text") as progress:
        job.progress = progress
        result = job.pull(full=full)
    data = {"pulled": result.pulled, "deleted": result.deleted, "api_calls": result.api_calls,
            "retries": result.retries, "warnings": result.warnings, "errors": result.errors}
    _emit(result, data, as_json, log_format, _print_pull)
    sys.exit(result.exit_code)


def _emit(result: Any, data: dict[str, Any], as_json: bool, log_format: str,
          print_text: Callable[[Any], None]) -> None:
    """The result on stdout: one JSON line under ``--log-format json`` (its warnings and
    errors as JSON log lines on stderr), JSON with ``--json``, else text."""
    if log_format == "json":
        echo_json(data, one_line=True)
        _log_problems(result)
    elif as_json:
        echo_json(data)
    else:
        print_text(result)


def _log_problems(result: Any) -> None:
    from funnelsync.cli.console import log_problem

    run = {"run_id": result.run_id}  # the run has ended: its id is no longer in the context
    for warning in result.warnings[:MAX_SHOWN]:
        log_problem(logging.WARNING, warning, **run)
    if len(result.warnings) > MAX_SHOWN:
        log_problem(logging.WARNING, f"{len(result.warnings) - MAX_SHOWN} more warnings "
                                     "(in the result line)",
                    more=len(result.warnings) - MAX_SHOWN, **run)
    for error in result.errors[:MAX_SHOWN]:
        log_problem(logging.ERROR, str(error.get("message") or error), error=error, **run)


def _print_pull(result: Any) -> None:
    for name, counts in result.pulled.items():
        deleted = result.deleted.get(name, {})
        click.echo(f"{name}: {counts['leads']} leads, {counts['deals']} deals, "
                   f"{counts['stage_changes']} stage changes "
                   f"({sum(deleted.values())} deleted); "
                   f"{result.api_calls.get(name, 0)} API calls")
    for warning in result.warnings[:MAX_SHOWN]:
        echo_line(f"warning: {warning}", err=True)
    if len(result.warnings) > MAX_SHOWN:
        click.echo(f"... {len(result.warnings) - MAX_SHOWN} more warnings (use --json)",
                   err=True)


@click.command("sync")
@config_option
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing to a CRM.")
@click.option("--full", is_flag=True, help="Re-read everything and re-evaluate every record.")
@run_options
def sync_cmd(config_path: str | None, dry_run: bool, full: bool, refresh_metadata: bool,
             sources: tuple[str, ...], as_json: bool, log_format: str) -> None:
    """Pull, compute stages/scores/alerts, and push back only what changed.

    \b
    Exit codes: 0 ok, 1 some rows rejected, 2 config error, 3 another run holds the lock,
    4 authentication failed / CRM unavailable / quota reached.
    \b
    Example:
      funnelsync sync -c funnelsync.toml --dry-run
    """
    from funnelsync.cli.console import progress_reporter

    job = _job(config_path, sources, log_format, refresh_metadata)
    job.reevaluate_all = full
    with progress_reporter(not as_json, live=log_format == "text") as progress:
        job.progress = progress
        result = job.run(dry_run=dry_run, full=full)
    logging.getLogger("funnelsync.sync").info(
        "run finished", extra={"fields": {"run_id": result.run_id, "changes": result.changes,
                                          "records_written": result.records_written,
                                          "tasks_created": result.tasks_created,
                                          "errors": len(result.errors)}})
    _emit(result, result.to_json(), as_json, log_format, _print_sync)
    sys.exit(result.exit_code)


def _print_sync(result: Any) -> None:
    from funnelsync.sync.follow_ups import planned_per_owner

    _print_pull(result)
    if result.dry_run:
        for change in result.planned_changes[:200]:
            fields = ", ".join(f"{k}: {o!r} -> {n!r}" for k, (o, n) in change["changes"].items())
            echo_line(f"would write {change['source']} {change['kind']} "
                      f"{change['record_id']}: {fields}")
        for task in result.planned_tasks[:200]:
            record = task.get("deal_id") or task.get("lead_id")
            echo_line(f"would create task for {task['source']} {task['kind']} {record}: "
                      f"{task['subject']}")
        for (source, owner), count in planned_per_owner(result.planned_tasks).items():
            echo_line(f"would create {count} task(s) for {source} owner {owner or '-'}")
    verb = "would write" if result.dry_run else "wrote"
    if result.tasks_deferred:
        click.echo(f"{result.tasks_deferred} follow-up tasks deferred to later runs "
                   "(alerts.max_new_tasks_per_owner_per_day, alerts.max_new_tasks_per_run)")
    click.echo(f"run {result.run_id}: {result.changes} changes, {verb} "
               f"{result.records_written} records, {result.tasks_created} tasks created, "
               f"{result.tasks_updated} updated, {result.tasks_closed} completed, "
               f"{result.alerts_open} alerts open ({result.alerts_opened} new, "
               f"{result.alerts_resolved} resolved), {len(result.errors)} errors")
    for error in result.errors[:MAX_SHOWN]:
        echo_line(f"error: {error}", err=True)


@click.command("sandbox")
@click.option("--port", type=int, default=0, show_default=True,
              help="0 to 65535; 0 picks a free port.")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--leads", type=click.IntRange(0, MAX_SANDBOX_RECORDS), default=2000,
              show_default=True,
              help=f"Leads (and contacts) in each CRM, at most {MAX_SANDBOX_RECORDS}.")
@click.option("--deals", type=click.IntRange(0, MAX_SANDBOX_RECORDS), default=1500,
              show_default=True,
              help=f"Deals (and opportunities) in each CRM, at most {MAX_SANDBOX_RECORDS}.")
@click.option("--latency-ms", type=click.FloatRange(0), default=0, show_default=True)
@click.option("--fail-rate", type=click.FloatRange(0, 1), default=0, show_default=True)
@click.option("--rate-limit", type=click.IntRange(0), default=0,
              help="Requests per 10-second window per CRM (0: off).")
@click.option("--token-ttl", type=click.FloatRange(0), default=0, help="Session lifetime, s.")
@click.option("--config-out", type=click.Path(dir_okay=False), default=None,
              help="Write a funnelsync config pointing at this sandbox.")
@click.option("--scenario", default="default", show_default=True,
              help="Deals and stage catalogs: 'default' (messy demo data), 'clean' (the audit "
                   "finds nothing), 'defects' (every defect), or audit check ids joined by "
                   "commas, e.g. stage_skipped,backward_moves. --config-out adds its mapping.")
def sandbox_cmd(port: int, seed: int, leads: int, deals: int, latency_ms: float,
                fail_rate: float, rate_limit: int, token_ttl: float,
                config_out: str | None, scenario: str) -> None:
    """Serve a local Salesforce + HubSpot stand-in until Ctrl-C.

    \b
    Example:
      funnelsync sandbox --deals 20000 --config-out sandbox.toml
      funnelsync sandbox --scenario stage_skipped --leads 0 --config-out audit.toml
    """
    from funnelsync.sandbox.scenarios import parse
    from funnelsync.sandbox.server import serve

    try:
        parse(scenario)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--scenario") from exc
    if config_out is not None:
        output_path(config_out, "--config-out")
    _check_port(port)
    try:
        serve(seed=seed, leads=leads, deals=deals, latency_ms=latency_ms, fail_rate=fail_rate,
              rate_limit=rate_limit, token_ttl=token_ttl, port=port, config_out=config_out,
              echo=click.echo, scenario=scenario)
    except OSError as exc:  # the port taken meanwhile, or the config file not writable
        raise ConfigError(f"the sandbox cannot start: {exc.strerror or exc}",
                          hint="check --port and --config-out") from None


def _check_port(port: int) -> None:
    """A ConfigError (exit 2) when ``port`` is no TCP port or is taken on 127.0.0.1, before any
    data is built."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port {port}: must be from 0 to 65535",
                          hint="0 picks a free port")
    if port == 0:
        return
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the sandbox binds
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ConfigError(f"--port {port}: {exc.strerror or exc}",
                              hint="choose another port, or 0 for a free one") from None


COMMANDS = (schema_cmd, normalize_cmd, pull_cmd, sync_cmd, sandbox_cmd)
