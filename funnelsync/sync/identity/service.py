"""Identity over the state store: link, persist, look one person up, forget them.

When it runs: the sync job refreshes the ``people`` table once per run,
right after the pull (``refresh_identity``: one streaming pass over the stored leads/contacts,
linear, no API call except the owner lists when owner conflicts are compared). Reports, the
audit and the ``identity``/``person`` commands link on demand from the stored records instead of
trusting the table, so they hold whatever wrote the table and follow every edit of the
overrides file; the table keeps first/last seen and serves the write-back of the furthest stage.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Protocol

from funnelsync.config.models import AppConfig
from funnelsync.crm import crm_spec
from funnelsync.errors import DataError, FunnelsyncError
from funnelsync.mapping.funnel import StageMaps
from funnelsync.rules.linking import IdentityRecord, Linking, Person, link_records
from funnelsync.rules.people import (
    StagePositions,
    TimelineEntry,
    conflicts,
    furthest,
    merge_timeline,
    summary,
)
from funnelsync.store import RefreshStats, Store, StoredRecord, owner_directory

log = logging.getLogger(__name__)


class OwnerSource(Protocol):
    name: str

    def owners(self) -> Any: ...


class StepResult(Protocol):
    warnings: list[str]
    timings: dict[str, float]


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def identity_record(stored: StoredRecord) -> IdentityRecord:
    """From a stored row's JSON, without re-validating the model (fast on millions)."""
    d = stored.data
    return IdentityRecord(stored.source, stored.kind, stored.id, d.get("email"),
                          d.get("first_name"), d.get("last_name"), stored.funnel_stage,
                          d.get("owner_id"), d.get("owner_name"),
                          _parse_time(d.get("created_at")), stored.updated_at)


def stored_identities(store: Store, config: AppConfig) -> Iterator[IdentityRecord]:
    """Live leads/contacts of the configured CRMs, streamed."""
    for source in config.sources():
        for stored in store.iter_records(source, "leads"):
            yield identity_record(stored)


def linking_identities(store: Store, config: AppConfig) -> Iterator[IdentityRecord]:
    """Like ``stored_identities`` but with only what linking and the people table need.

    The sync step links every stored lead at once; stage, owner and times (needed only by
    views) are left out and repeated strings shared, which keeps its peak memory a fraction of
    the full records'.
    """
    names = config.identity.name_domain_rule
    intern = sys.intern
    for source in config.sources():
        for stored in store.iter_records(source, "leads"):
            d = stored.data
            email = stored.email if stored.email is not None else d.get("email")
            first, last = (d.get("first_name"), d.get("last_name")) if names else (None, None)
            yield IdentityRecord(intern(stored.source), intern(stored.kind), stored.id, email,
                                 intern(first) if first else first,
                                 intern(last) if last else last)


def compute_identity(store: Store, config: AppConfig) -> Linking:
    return link_records(stored_identities(store, config), config.identity)


def identity_summary(store: Store, config: AppConfig) -> dict[str, Any]:
    """``{"people", "linked", "by_rule", "conflicts"}`` over what the store holds."""
    people = list(compute_identity(store, config).people())
    return summary(people, conflicts(people, config, owner_directory(store)))


# -- the sync step ----------------------------------------------------------------------------
def refresh_identity(store: Store, config: AppConfig, now: datetime,
                     sources: Iterable[OwnerSource] = (),
                     result: StepResult | None = None) -> RefreshStats | None:
    """The job's step after the pull: owner e-mails (when compared) and the people table."""
    if not config.identity.enabled:
        return None
    sources = list(sources)
    if config.identity.owner_conflicts != "off" and len(sources) > 1:
        for source in sources:
            warning = _save_owners(store, source)
            if warning and result is not None:
                result.warnings.append(warning)
    stats = store.save_people(link_records(linking_identities(store, config), config.identity), now)
    log.info("identity refreshed", extra={"fields": stats.__dict__})
    return stats


def _save_owners(store: Store, source: OwnerSource) -> str | None:
    try:
        owners = source.owners()
    except FunnelsyncError as exc:
        return f"{source.name}: owner list unavailable, owner conflicts not compared: {exc}"
    store.save_owner_emails(source.name, {o.id: o.email for o in owners if o.email})
    return None


# -- one person -------------------------------------------------------------------------------
def find_person(store: Store, config: AppConfig, email: str) -> Person | None:
    if not email.strip():
        raise DataError("give the e-mail address of the person")
    linking = compute_identity(store, config)
    return linking.person_with_email(email, config.identity.fold_plus_addressing)


def person_view(store: Store, config: AppConfig, email: str) -> dict[str, Any] | None:
    """One person's records, links, stages and merged timeline (None if nobody has it)."""
    person = find_person(store, config, email)
    if person is None:
        return None
    since = {s.key: s.first_seen for s in store.stored_links(person.person_id)}
    top = furthest(person, StagePositions.of(config))
    found = conflicts([person], config, owner_directory(store))
    return {
        "person_id": person.person_id, "rule": person.rule, "confidence": person.confidence,
        "sources": person.sources,
        "furthest_stage": {"stage": top.stage, "source": top.source},
        "first_seen": _iso(person.first_seen), "last_seen": _iso(person.last_seen),
        "records": [_record_view(store, r.key, r.rule, r.confidence, since.get(r.key))
                    for r in person.records],
        "conflicts": [{"kind": c.kind, "distance": c.distance, "values": c.values}
                      for c in found],
        "timeline": [e.to_dict() for e in person_timeline(store, config, person)],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _record_view(store: Store, key: str, rule: str, confidence: float,
                 linked_since: datetime | None) -> dict[str, Any]:
    source, _, record_id = key.split(":", 2)
    stored = store.get_record(source, "leads", record_id)
    data = stored.data if stored else {}
    fields = ("email", "first_name", "last_name", "company", "title", "status",
              "funnel_stage", "owner_id", "owner_name", "created_at", "updated_at")
    return {"key": key, "source": source, "kind": "leads", "id": record_id,
            **{f: data.get(f) for f in fields}, "rule": rule, "confidence": confidence,
            "linked_since": _iso(linked_since)}


def person_timeline(store: Store, config: AppConfig, person: Person) -> list[TimelineEntry]:
    """Stage changes of every record of the person, both CRMs, in time order."""
    maps = StageMaps(config)
    stage_ids = set(config.funnel.stage_ids()) | {config.funnel.lost_stage}
    entries: list[TimelineEntry] = []
    for rec in person.records:
        source, _, record_id = rec.key.split(":", 2)
        if store.get_record(source, "deals", record_id) is not None:
            continue  # HubSpot ids are per object type: that history may be the deal's
        table = crm_spec(source).stages["lead"].table(maps)
        for change in store.iter_stage_changes(source, record_id):
            raw = change.to_stage
            stage = table.get(raw) or (raw if raw in stage_ids else None)
            entries.append(TimelineEntry(change.changed_at, source, record_id,
                                         change.from_stage, raw, stage))
    return merge_timeline(entries)


def forget_person(store: Store, config: AppConfig, email: str) -> dict[str, Any]:
    """Privacy deletion in the store: every record with this e-mail and every record linked to
    the same person, with their history; their addresses go on the suppression list first, so
    no later pull stores them again. Returns what was removed (counts and person id only).
    ``sync.identity.forget`` does the same under the run lock, records a run and can erase the
    person in the CRMs."""
    person = find_person(store, config, email)
    store.suppress([email, *(e for _, e in store.person_records(person, email) if e)])
    removed = store.forget_records(person, email)
    return {"person_id": person.person_id if person else None, "records_removed": removed}


__all__ = [
    "compute_identity",
    "find_person",
    "forget_person",
    "identity_record",
    "identity_summary",
    "linking_identities",
    "person_timeline",
    "person_view",
    "refresh_identity",
    "stored_identities",
]
