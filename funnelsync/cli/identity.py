"""CLI commands of issue 9: ``identity``, ``person`` and ``forget`` (registered in cli.py).

Thin, like cli.py: parse arguments, call funnelsync.sync.identity.service, render. Kept in its
own module so the shared cli.py gains one registration line; it does not import cli.py
(nothing may), hence its own small error wrapper.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

import click

from funnelsync.cli.common import config_option, handle_errors, json_option
from funnelsync.config.loading import load_config

_CONFIG = config_option
_JSON = json_option
_errors = handle_errors


def _open(config_path: str | None) -> tuple[Any, Any]:
    from funnelsync.store import Store

    config = load_config(config_path)
    return config, Store.open(config.state.url)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.command("identity")
@_CONFIG
@_JSON
@_errors
def identity_cmd(config_path: str | None, as_json: bool) -> None:
    """Link people across Salesforce and HubSpot and count them.

    Linked people are present in both CRMs; by_rule says which rule holds each together;
    conflicts counts people whose stages or owners disagree (see `funnelsync audit`).

    \b
    Example:
      funnelsync identity -c funnelsync.toml --json
    """
    from funnelsync.sync.identity.service import identity_summary

    config, store = _open(config_path)
    with store:
        data = identity_summary(store, config)
    if as_json:
        _echo_json(data)
        return
    rules = ", ".join(f"{n} by {r}" for r, n in data["by_rule"].items()) or "none"
    click.echo(f"{data['people']} people, {data['linked']} in both CRMs ({rules}), "
               f"{data['conflicts']} with conflicts")


@click.command("person")
@click.argument("email")
@_CONFIG
@_JSON
@click.option("--delete", is_flag=True, help="Forget the person (same as `funnelsync forget`).")
@_errors
def person_cmd(email: str, config_path: str | None, as_json: bool, delete: bool) -> None:
    """Show one person's records in both CRMs and their merged stage timeline.

    \b
    Example:
      funnelsync person ana.chen@acme.example -c funnelsync.toml --json
    """
    from funnelsync.sync.identity.service import person_view

    if delete:
        _forget(email, config_path, as_json)
        return
    config, store = _open(config_path)
    with store:
        view = person_view(store, config, email)
    if view is None:
        click.echo(f"error: no stored record has the e-mail {email.strip()}", err=True)
        sys.exit(1)
    if as_json:
        _echo_json(view)
        return
    _print_person(view)


def _print_person(view: dict[str, Any]) -> None:
    top = view["furthest_stage"]
    click.echo(f"person {view['person_id']} ({view['rule']}, confidence "
               f"{view['confidence']}): furthest stage {top['stage']} in {top['source']}")
    for rec in view["records"]:
        name = " ".join(x for x in (rec["first_name"], rec["last_name"]) if x)
        click.echo(f"  {rec['key']}: {rec['email']} {name} — {rec['status']} → "
                   f"{rec['funnel_stage']}; owner {rec['owner_name'] or rec['owner_id']}; "
                   f"linked by {rec['rule']} ({rec['confidence']})")
    for conflict in view["conflicts"]:
        click.echo(f"  conflict ({conflict['kind']}): {conflict['values']}")
    for entry in view["timeline"]:
        click.echo(f"  {entry['at']}  {entry['source']:<10} {entry['record_id']}: "
                   f"{entry['from']} → {entry['to']} ({entry['funnel_stage']})")


@click.command("forget")
@click.argument("email")
@_CONFIG
@_JSON
@_errors
def forget_cmd(email: str, config_path: str | None, as_json: bool) -> None:
    """Delete a person from the state store (privacy request): every record with this e-mail
    and every record linked to the same person, with stage history, alerts and push results.
    The CRMs themselves are not touched.

    \b
    Example:
      funnelsync forget ana.chen@acme.example -c funnelsync.toml
    """
    _forget(email, config_path, as_json)


def _forget(email: str, config_path: str | None, as_json: bool) -> None:
    from funnelsync.sync.identity.service import forget_person

    config, store = _open(config_path)
    with store:
        done = forget_person(store, config, email)
    done["at"] = datetime.now(UTC).isoformat()
    if as_json:
        _echo_json(done)
    else:
        click.echo(f"removed {done['records_removed']} record(s) of person "
                   f"{done['person_id'] or '(none linked)'} from the state store")


COMMANDS = (identity_cmd, person_cmd, forget_cmd)

__all__ = ["COMMANDS", "forget_cmd", "identity_cmd", "person_cmd"]
