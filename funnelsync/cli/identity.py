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
    from funnelsync.sync.identity.forget import ForgetOutcome


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
@click.argument("email", required=False)
@config_option
@json_option
@click.option("--in-crm", is_flag=True,
              help="Also erase the person in the CRMs (Salesforce: delete the Leads and "
                   "Contacts; HubSpot: GDPR delete of the contacts).")
@click.option("--dry-run", is_flag=True, help="Show what would be removed and erased; change "
                                              "nothing.")
@click.option("--list", "count_only", is_flag=True,
              help="Count the addresses on the suppression list (the list names nobody).")
def forget_cmd(email: str | None, config_path: str | None, as_json: bool, in_crm: bool,
               dry_run: bool, count_only: bool) -> None:
    """Forget a person (privacy request): delete from the state store every record with this
    e-mail and every record linked to the same person, with stage history, alerts and push
    results, and put their addresses on the suppression list (keyed hashes, never the
    address) so later pulls do not store them again. The run is recorded (counts only).

    \b
    Exit codes: 0 done, 2 usage or config error, 3 another run holds the lock,
    4 a CRM erasure failed (the person stays forgotten in the store).
    \b
    Example:
      funnelsync forget ana.chen@acme.example -c funnelsync.toml
      funnelsync forget ana.chen@acme.example -c funnelsync.toml --in-crm --dry-run
      funnelsync forget --list -c funnelsync.toml
    """
    if count_only:
        _count_suppressed(config_path, as_json)
        return
    if email is None:
        raise click.UsageError("give the e-mail address of the person to forget (or --list)")
    _forget(email, config_path, as_json, in_crm=in_crm, dry_run=dry_run)


def _count_suppressed(config_path: str | None, as_json: bool) -> None:
    _, store = _open(config_path)
    with store:
        count = store.suppression_count()
    if as_json:
        echo_json({"suppressed": count})
    else:
        click.echo(f"{count} address(es) on the suppression list")


def _forget(email: str, config_path: str | None, as_json: bool, *, in_crm: bool = False,
            dry_run: bool = False) -> None:
    from funnelsync.store import default_holder
    from funnelsync.sync.identity.forget import forget

    config, store = _open(config_path)
    with store:
        now = command_timebase().now()
        done = forget(store, config, email, holder=default_holder(), now=now,
                      in_crm=in_crm, dry_run=dry_run)
    if as_json:
        echo_json({**done.to_dict(), "at": now.isoformat()})
    else:
        echo_line(_forget_line(done))
    for source, why in done.failures.items():
        echo_line(f"error: {source}: erasing the person failed ({why}); they stay forgotten "
                  "in the state store and on the suppression list", err=True)
    sys.exit(done.exit_code)


def _forget_line(done: ForgetOutcome) -> str:
    who = done.person_id or "(none linked)"
    crm = ", ".join(f"{e.source} {e.object} {e.record_id}" for e in done.erasures) or "none"
    if done.dry_run:
        return (f"dry run: would remove {done.records_removed} record(s) of person {who} from "
                f"the state store" + (f"; would erase in the CRMs: {crm}"
                                      if done.erasures or done.failures else ""))
    line = (f"removed {done.records_removed} record(s) of person {who} from the state store; "
            f"{done.suppressed} address(es) added to the suppression list")
    return line + (f"; erased in the CRMs: {crm}" if done.erasures or done.failures else "")


COMMANDS = (identity_cmd, person_cmd, forget_cmd)

__all__ = ["COMMANDS", "forget_cmd", "identity_cmd", "person_cmd"]
