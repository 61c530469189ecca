"""The privacy deletion: forget a person in the state store, keep them forgotten, and (on
request) erase them in the CRMs.

In order, under the run lock (a sync running meanwhile could store the person again):

1. The person is the one ``find_person`` links to the address; their records are every record
   of that person plus every record with that address. Their addresses (the one given and
   those of the linked records) go on the suppression list, so later pulls do not store them
   again and reads skip any row that slips in. Then the records are deleted from the store.
2. With ``in_crm``: each configured CRM is searched for records with those addresses (Leads
   and Contacts; HubSpot contacts), joined with the person's records the store held, and each
   is erased (Salesforce delete; HubSpot GDPR delete). A CRM that fails is named in the
   outcome; the others are still erased, and the suppression entries stay.
3. A run of kind ``forget`` records counts only — never an address, and no record id.

``dry_run`` changes nothing (store, list or CRM) and reports what would be removed and
erased; its run is recorded as a dry run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import Connector, ErasableRecord, PersonEraser
from funnelsync.crm import crm_spec
from funnelsync.crm.source import default_connector
from funnelsync.errors import EXIT_OK, EXIT_REMOTE, DataError, FunnelsyncError
from funnelsync.store import Store
from funnelsync.sync.identity.service import find_person

log = logging.getLogger(__name__)

ConnectorFactory = Callable[[str, AppConfig], Connector]


@dataclass(frozen=True)
class Erasure:
    """One CRM record erased (or, in a dry run, to be erased)."""

    source: str
    object: str
    record_id: str
    erased: bool | None  # None: dry run; False: it was gone already

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "object": self.object, "id": self.record_id,
                "erased": self.erased}


@dataclass
class ForgetOutcome:
    """What a forget did, or would do; holds no address."""

    run_id: int
    dry_run: bool
    person_id: str | None = None
    records_removed: int = 0
    suppressed: int = 0  # addresses newly on the suppression list
    erasures: list[Erasure] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # CRM → why its erasure failed

    @property
    def exit_code(self) -> int:
        return EXIT_REMOTE if self.failures else EXIT_OK

    def counts(self) -> dict[str, Any]:
        erased: dict[str, int] = {}
        for e in self.erasures:
            erased[e.source] = erased.get(e.source, 0) + 1
        return {"records_removed": self.records_removed, "suppressed": self.suppressed,
                "crm_records": erased, "crm_failed": sorted(self.failures)}

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "dry_run": self.dry_run, "person_id": self.person_id,
                **self.counts(), "erasures": [e.to_dict() for e in self.erasures],
                "failures": dict(self.failures)}


def forget(store: Store, config: AppConfig, email: str, *, holder: str, now: datetime,
           in_crm: bool = False, dry_run: bool = False,
           connect: ConnectorFactory = default_connector) -> ForgetOutcome:
    """Forget the person with this address (see the module docstring)."""
    if not email.strip():
        raise DataError("give the e-mail address of the person to forget")
    store.acquire_lock(holder, now, config.state.lock_ttl_seconds)
    try:
        return _forget_locked(store, config, email, holder, now, in_crm, dry_run, connect)
    finally:
        store.release_lock(holder)


def _forget_locked(store: Store, config: AppConfig, email: str, holder: str, now: datetime,
                   in_crm: bool, dry_run: bool, connect: ConnectorFactory) -> ForgetOutcome:
    outcome = ForgetOutcome(store.start_run(holder, dry_run=dry_run, now=now, kind="forget"),
                            dry_run)
    try:
        person = find_person(store, config, email)
        trail = store.person_records(person, email)
        emails = sorted({email.strip().lower()} | {e for _, e in trail if e})
        outcome.person_id = person.person_id if person else None
        outcome.records_removed = len(trail)
        if not dry_run:
            outcome.suppressed = store.suppress(emails)
            store.forget_records(person, email)
        if in_crm:
            _erase_everywhere(config, emails, [key for key, _ in trail], outcome, connect)
    except BaseException:
        store.finish_run(outcome.run_id, "failed", counts=outcome.counts(), now=now)
        raise
    status = "partial" if outcome.failures else "ok"
    errors = [{"source": s, "kind": "forget", "message": m} for s, m in outcome.failures.items()]
    store.finish_run(outcome.run_id, status, counts=outcome.counts(), errors=errors, now=now)
    log.info("person forgotten", extra={"fields": outcome.counts()})
    return outcome


def _erase_everywhere(config: AppConfig, emails: list[str], keys: list[str],
                      outcome: ForgetOutcome, connect: ConnectorFactory) -> None:
    for name in config.sources():
        connector = connect(name, config)
        try:
            outcome.erasures += _erase_in(name, connector, emails, keys, outcome.dry_run)
        except FunnelsyncError as exc:
            outcome.failures[name] = _without(str(exc), emails)
        finally:
            connector.close()


def _erase_in(name: str, connector: Connector, emails: list[str], keys: list[str],
              dry_run: bool) -> list[Erasure]:
    if not isinstance(connector, PersonEraser):
        raise DataError(f"the {name} connector cannot erase records")
    targets = _targets(name, connector, emails, keys)
    if dry_run:
        return [Erasure(name, t.object, t.record_id, None) for t in targets]
    return [Erasure(name, t.object, t.record_id, connector.erase_person_record(t))
            for t in targets]


def _targets(name: str, connector: PersonEraser, emails: list[str],
             keys: list[str]) -> list[ErasableRecord]:
    """The CRM's records with these addresses, and the stored records of the person there
    (by id: their address may differ, or the CRM may hold it with spaces around)."""
    found = {(r.object, r.record_id): r for r in connector.find_person_records(emails)}
    lead_object = crm_spec(name).objects["leads"]
    for key in keys:
        source, kind, record_id = key.split(":", 2)
        if source == name and kind == "lead":
            found.setdefault((lead_object, record_id), ErasableRecord(lead_object, record_id, ""))
    return [found[k] for k in sorted(found)]


def _without(text: str, emails: list[str]) -> str:
    """An error line with the person's addresses masked, whatever their case (a CRM may
    echo them back)."""
    for email in filter(None, emails):
        start = text.lower().find(email)
        while start >= 0:
            text = text[:start] + "<address>" + text[start + len(email):]
            start = text.lower().find(email)
    return text


__all__ = ["Erasure", "ForgetOutcome", "forget"]
