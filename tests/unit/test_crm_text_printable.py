"""CRM text never reaches a terminal raw: control characters and escape sequences in names,
subjects and labels are shown as escapes (``person``, report and audit tables, log and error
lines), and stage ids or labels holding rich markup characters print as text."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import funnel_fixture as fx
import pytest
from click.testing import CliRunner

from funnelsync.cli.console import setup_logging
from funnelsync.cli.main import FunnelsyncGroup, main
from funnelsync.config.loading import parse_config
from funnelsync.errors import DataError
from funnelsync.mapping.schema import FunnelLead
from funnelsync.reports.audit.common import Finding
from funnelsync.reports.metrics import build_report
from funnelsync.reports.printable import printable
from funnelsync.reports.render import render_audit, render_report
from funnelsync.store import Store
from funnelsync.sync.job import current_run_id

HOSTILE = "Ana\x1b]0;owned\x07 \x1b[2J\u202eCEO\r\n[/]"
SHOWN = "Ana\\x1b]0;owned\\x07 \\x1b[2J\\u202eCEO\\r\\n[/]"


@pytest.mark.parametrize(("text", "shown"), [
    (HOSTILE, SHOWN),
    ("plain [bold]label[/bold] – Überprüfung ✓", "plain [bold]label[/bold] – Überprüfung ✓"),
    ("\x00\x7f\x9b\t\u2028", "\\x00\\x7f\\x9b\\t\\u2028"),
])
def test_printable_shows_control_characters_as_escapes(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_person_shows_a_hostile_name_as_escapes(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'state.db'}"
    (tmp_path / "c.toml").write_text(f'[salesforce]\nsession_id = "x"\n'
                                     f'instance_url = "http://127.0.0.1:9"\n'
                                     f'[state]\nurl = "{db_url}"\n')
    with Store.open(db_url) as store:
        run = store.start_run("test")
        store.upsert_records("salesforce", "leads", [FunnelLead(
            source="salesforce", source_id="00Q1", email="ana@acme.example", first_name=HOSTILE,
            status="Open\x1b[5m", created_at=datetime(2025, 3, 1, tzinfo=UTC))], run)
        store.finish_run(run, "ok")
    result = CliRunner().invoke(main, ["person", "ana@acme.example", "-c",
                                       str(tmp_path / "c.toml")])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    assert f"  salesforce:lead:00Q1: ana@acme.example {SHOWN} — Open\\x1b[5m → " \
        in result.stdout


def test_report_table_prints_markup_and_escapes_in_stage_labels_as_text() -> None:
    config = parse_config('[[funnel.stages]]\nid = "awareness"\nlabel = "[/]"\n'
                          '[[funnel.stages]]\nid = "interest"\nlabel = "[bold]Interest"\n'
                          '[[funnel.stages]]\nid = "consideration"\n'
                          'label = "Consid\\u001b[31meration"\n'
                          '[[funnel.stages]]\nid = "intent"\n'
                          '[[funnel.stages]]\nid = "decision"\n'
                          '[[funnel.stages]]\nid = "purchase"\n')
    report = build_report(fx.deals(), fx.leads(), fx.deal_changes() + fx.lead_changes(),
                          config, fx.NOW, catalog=fx.catalog(), by="month")
    table = render_report(report, "table", width=160)
    assert "\x1b" not in table
    assert "│ [/]" in table
    assert "│ [bold]Interest" in table
    assert "│ Consid\\x1b[31meration" in table
    for fmt in ("json", "csv", "html"):
        assert "\x1b" not in render_report(report, fmt).replace("\\u001b", "")


def test_audit_table_shows_a_hostile_message_as_escapes() -> None:
    finding = Finding(check="unmapped_stage", severity="warning", source="hubspot",
                      stage="[red]x", message=f"stage {HOSTILE} is not mapped", fix="map it",
                      evidence={})
    table = render_audit([finding], "table", width=400)
    assert "\x1b" not in table and "\u202e" not in table
    assert f"stage {SHOWN} is not mapped" in table
    assert "│ [red]x" in table


@pytest.fixture
def no_run_in_progress() -> Iterator[None]:
    """Log lines name the run in progress; these are logged outside any run."""
    token = current_run_id.set(None)
    yield
    current_run_id.reset(token)


@pytest.mark.usefixtures("no_run_in_progress")
def test_a_text_log_line_stays_one_line() -> None:
    stream = io.StringIO()
    setup_logging("text", stream=stream)
    logging.getLogger("funnelsync.test").warning("deal %s has no amount", "D1\nERROR forged")
    assert stream.getvalue() == "WARNING funnelsync.test: deal D1\\nERROR forged has no amount\n"


def test_an_error_line_shows_escapes() -> None:
    import click

    @click.group(cls=FunnelsyncGroup)
    def top() -> None:
        """Top."""

    @top.command("fail")
    def fail() -> None:
        raise DataError(f"record {HOSTILE} rejected")

    result = CliRunner().invoke(top, ["fail"])
    assert (result.exit_code, result.stderr) == (1, f"error: record {SHOWN} rejected\n")
