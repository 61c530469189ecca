"""Identity commands: ``identity`` (people linked across the CRMs), ``person`` (one person's
records and timeline) and ``forget`` (the privacy deletion).

They parse arguments, call funnelsync.sync.identity.service and render.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from funnelsync.cli.common import config_option, echo_json, echo_line, json_option, open_store
from funnelsync.clock import command_timebase
from funnelsync.config.loading import load_config

if TYPE_CHECKING:
    from funnelsync.config.models import AppConfig
    from funnelsync.store import Store


def _open(config_path: str | None) -> tuple[AppConfig, Store]:
    config = load_config(config_path)
    return config, open_store(config, need_data=False)


@click.command("identity")
@config_option
@json_option
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
        echo_json(data)
        return
    rules = ", ".join(f"{n} by {r}" for r, n in data["by_rule"].items()) or "none"
    click.echo(f"{data['people']} people, {data['linked']} in both CRMs ({rules}), "
               f"{data['conflicts']} with conflicts")


@click.command("person")
@click.argument("email")
@config_option
@json_option
@click.option("--delete", is_flag=True, help="Forget the person (same as `funnelsync forget`).")
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
        echo_line(f"error: no stored record has the e-mail {email.strip()}", err=True)
        sys.exit(1)
    if as_json:
        echo_json(view)
        return
    _print_person(view)


def _print_person(view: dict[str, Any]) -> None:
    top = view["furthest_stage"]
    echo_line(f"person {view['person_id']} ({view['rule']}, confidence "
              f"{view['confidence']}): furthest stage {top['stage']} in {top['source']}")
    for rec in view["records"]:
        name = " ".join(x for x in (rec["first_name"], rec["last_name"]) if x)
        echo_line(f"  {rec['key']}: {rec['email']} {name} — {rec['status']} → "
                  f"{rec['funnel_stage']}; owner {rec['owner_name'] or rec['owner_id']}; "
                  f"linked by {rec['rule']} ({rec['confidence']})")
    for conflict in view["conflicts"]:
        echo_line(f"  conflict ({conflict['kind']}): {conflict['values']}")
    for entry in view["timeline"]:
        echo_line(f"  {entry['at']}  {entry['source']:<10} {entry['record_id']}: "
                  f"{entry['from']} → {entry['to']} ({entry['funnel_stage']})")


@click.command("forget")
@click.argument("email")
@config_option
@json_option
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
    done["at"] = command_timebase().now().isoformat()
    if as_json:
        echo_json(done)
    else:
        click.echo(f"removed {done['records_removed']} record(s) of person "
                   f"{done['person_id'] or '(none linked)'} from the state store")


COMMANDS = (identity_cmd, person_cmd, forget_cmd)

__all__ = ["COMMANDS", "forget_cmd", "identity_cmd", "person_cmd"]
