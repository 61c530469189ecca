"""Who is who across the CRMs: link records of the same person, pure and linear.

Rules, strongest first (a manual override always wins over a rule):

1. ``override``: a ``link`` pair from the overrides file (confidence 1.0). ``never-link``
   pairs block every rule, including the e-mail rule.
2. ``email``: the same normalised e-mail (trimmed, lower-cased; ``ana+x@`` folded to ``ana@``
   only with ``identity.fold_plus_addressing``), confidence 1.0.
3. ``name_domain`` (``identity.name_domain_rule``): the same company e-mail domain (free-mail
   domains excluded) and the same first and last name (accents, case and punctuation ignored),
   confidence ``identity.name_domain_confidence``. Only across CRMs, and only when the match
   is unambiguous: each CRM has exactly one person with that name at that domain.

The matching is a hash join with union-find: records are added one at a time (streamed from the
store), each rule is one dict look-up per record, so time and memory grow linearly. Only the few
fields matching needs are kept per record.

A person id is ``p_`` + 16 hex digits of sha256 of the person's smallest normalised e-mail (or,
without any e-mail, of its smallest record key): stable across runs as long as the person keeps
that e-mail, and free of personal data in clear.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from funnelsync.config.identity import IdentityConfig
from funnelsync.config.overrides import Overrides
from funnelsync.errors import ConfigError

RULES = ("override", "email", "name_domain")
_STRENGTH = {"single": 4, "override": 3, "email": 2, "name_domain": 1}


def record_key(source: str, kind: str, record_id: str) -> str:
    """``salesforce:lead:00Q...`` (the key reports' people mappings use; kind singular)."""
    return f"{source}:{kind.removesuffix('s')}:{record_id}"


def normalise_email(email: str | None, fold_plus: bool = False) -> str | None:
    """Trimmed and lower-cased; ``local+tag@domain`` → ``local@domain`` when ``fold_plus``."""
    if not email:
        return None
    cleaned = email.strip().lower()
    if fold_plus and "+" in cleaned and "@" in cleaned:
        local, _, domain = cleaned.rpartition("@")
        cleaned = f"{local.split('+', 1)[0]}@{domain}"
    # An already-normal address keeps its object: one string per record, not two, in memory.
    return email if cleaned == email else cleaned or None


@functools.lru_cache(maxsize=65_536)  # names repeat a lot: most look-ups are cache hits
def normalise_name(name: str | None) -> str:
    """Accents, case, spaces and punctuation removed: ``"  José-Luis "`` → ``joseluis``."""
    if not name:
        return ""
    folded = name.casefold()
    if folded.isascii() and folded.isalnum():
        return folded
    folded = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in folded if ch.isalnum())


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    """What matching needs of one lead/contact."""

    source: str
    kind: str
    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    stage: str | None = None  # funnel stage now
    owner_id: str | None = None
    owner_name: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def key(self) -> str:
        return record_key(self.source, self.kind, self.id)


@dataclass(frozen=True)
class Link:
    """One edge that joined two records: the rule that made it and how sure it is."""

    a: str
    b: str
    rule: str
    confidence: float
    reason: str


class PersonRecord(NamedTuple):  # tuples: millions are built per run, dataclasses cost 3x
    """One record of a person, with the strongest rule that ties it to the others."""

    key: str
    source: str
    stage: str | None
    owner_id: str | None
    owner_name: str | None
    rule: str
    confidence: float


class Person(NamedTuple):
    """One human: their records in either CRM and the weakest rule that joins them."""

    person_id: str
    records: tuple[PersonRecord, ...]
    rule: str  # the weakest rule holding the person together ("single" for one record)
    confidence: float
    first_seen: datetime | None  # earliest record creation in either CRM
    last_seen: datetime | None  # latest record modification in either CRM

    @property
    def sources(self) -> list[str]:
        return sorted({r.source for r in self.records})

    @property
    def linked(self) -> bool:
        """Present in more than one CRM."""
        return len(self.records) > 1 and len({r.source for r in self.records}) > 1


@dataclass
class Linking:
    """The result: compact per-record arrays plus the links; people are built on demand."""

    records: list[IdentityRecord]
    root: list[int]
    links: list[Link]
    emails: list[str | None]
    unmatched_overrides: list[str] = field(default_factory=list)
    blocked: int = 0  # rule matches a never-link pair refused

    def people(self) -> Iterator[Person]:
        """Every person (single-record ones too), in order of first record."""
        # Member lists only for linked roots: most people have one record, and a list per
        # person would cost more memory than the linking itself.
        groups: dict[int, list[int]] = {r: [] for i, r in enumerate(self.root) if r != i}
        for i, r in enumerate(self.root):
            if r in groups:
                groups[r].append(i)
        best = self._record_rules()
        for i, r in enumerate(self.root):
            members = groups.get(r)
            if members is None:
                yield self._single(i)
            elif members[0] == i:
                yield self._person(members, best)

    def mapping(self) -> dict[str, str]:
        """Record key → person id, for reports' combined view."""
        return {rec.key: person.person_id for person in self.people()
                for rec in person.records}

    def person_with_email(self, email: str, fold_plus: bool = False) -> Person | None:
        """The person holding a record with this e-mail (normalised as when linking)."""
        wanted = normalise_email(email, fold_plus)
        hit = next((i for i, e in enumerate(self.emails) if e == wanted), None) if wanted else None
        if hit is None:
            return None
        members = [i for i, r in enumerate(self.root) if r == self.root[hit]]
        return self._person(members, self._record_rules())

    def _record_rules(self) -> dict[str, tuple[str, float]]:
        best: dict[str, tuple[str, float]] = {}
        for link in self.links:
            for key in (link.a, link.b):
                held = best.get(key)
                if held is None or _STRENGTH[link.rule] > _STRENGTH[held[0]]:
                    best[key] = (link.rule, link.confidence)
        return best

    def _person(self, members: list[int], best: dict[str, tuple[str, float]]) -> Person:
        if len(members) == 1:
            return self._single(members[0])
        recs = [self.records[i] for i in members]
        emails = sorted(e for e in (self.emails[i] for i in members) if e)
        anchor = emails[0] if emails else min(r.key for r in recs)
        rows = tuple(PersonRecord(r.key, r.source, r.stage, r.owner_id, r.owner_name,
                                  *best.get(r.key, ("single", 1.0))) for r in recs)
        weakest = min(rows, key=lambda p: (_STRENGTH[p.rule], p.confidence))
        created = [r.created_at for r in recs if r.created_at]
        updated = [r.updated_at for r in recs if r.updated_at]
        return Person(person_id(anchor), rows, weakest.rule, weakest.confidence,
                      min(created) if created else None, max(updated) if updated else None)


    def _single(self, i: int) -> Person:
        """The common case, kept cheap: a person with one record."""
        r = self.records[i]
        key = r.key
        row = PersonRecord(key, r.source, r.stage, r.owner_id, r.owner_name, "single", 1.0)
        return Person(person_id(self.emails[i] or key), (row,), "single", 1.0, r.created_at,
                      r.updated_at)


def person_id(anchor: str) -> str:
    return "p_" + hashlib.sha256(anchor.encode("utf-8")).hexdigest()[:16]


class Linker:
    """Add records (streamed), then ``finish()`` once."""

    def __init__(self, config: IdentityConfig, overrides: Overrides | None = None) -> None:
        self.config = config
        self.overrides = overrides if overrides is not None else config.overrides
        self.free_mail = frozenset(config.free_mail_domains)
        self.records: list[IdentityRecord] = []
        self.emails: list[str | None] = []
        self.parent: list[int] = []
        self.size: list[int] = []
        self.forbid: dict[int, set[int]] = {}
        self.links: list[Link] = []
        self.blocked = 0

    def add(self, record: IdentityRecord) -> None:
        self.records.append(record)
        self.emails.append(normalise_email(record.email, self.config.fold_plus_addressing))
        self.parent.append(len(self.parent))
        self.size.append(1)

    def add_all(self, records: Iterable[IdentityRecord]) -> Linker:
        for record in records:
            self.add(record)
        return self

    def finish(self) -> Linking:
        resolved, unmatched = self._resolve_overrides()
        for a, b in resolved["never-link"]:
            self._forbid(a, b)
        for a, b, item in resolved["link"]:
            self._link_override(a, b, item)
        self._email_rule()
        if self.config.name_domain_rule:
            self._name_domain_rule()
        root = [self._find(i) for i in range(len(self.parent))]
        return Linking(self.records, root, self.links, self.emails, unmatched, self.blocked)

    # -- rules --------------------------------------------------------------------------------
    def _email_rule(self) -> None:
        first: dict[str, int] = {}
        for i, email in enumerate(self.emails):
            if email is None:
                continue
            j = first.setdefault(email, i)
            if j != i:
                self._union(j, i, "email", 1.0, "same e-mail address")

    def _name_domain_rule(self) -> None:
        first: dict[tuple[str, str, str], int] = {}
        more: dict[tuple[str, str, str], list[int]] = {}  # only names seen twice or more
        for i, rec in enumerate(self.records):
            key = self._name_key(i, rec)
            if key is not None:
                j = first.setdefault(key, i)
                if j != i:
                    more.setdefault(key, [j]).append(i)
        conf = self.config.name_domain_confidence
        for (domain, _, _), members in more.items():
            reps = self._one_root_per_source(members)
            for rep in reps[1:]:
                self._union(reps[0], rep, "name_domain", conf,
                            f"same first and last name at company domain {domain}")

    def _name_key(self, i: int, rec: IdentityRecord) -> tuple[str, str, str] | None:
        email = self.emails[i]
        first, last = normalise_name(rec.first_name), normalise_name(rec.last_name)
        if email is None or "@" not in email or not first or not last:
            return None
        domain = email.rpartition("@")[2]
        return None if domain in self.free_mail else (domain, first, last)

    def _one_root_per_source(self, members: list[int]) -> list[int]:
        """One representative per CRM when each CRM has exactly one person here, else []."""
        roots: dict[str, dict[int, int]] = defaultdict(dict)
        for i in members:
            roots[self.records[i].source].setdefault(self._find(i), i)
        if len(roots) < 2 or any(len(r) != 1 for r in roots.values()):
            return []
        return [next(iter(r.values())) for _, r in sorted(roots.items())]

    # -- overrides ----------------------------------------------------------------------------
    def _resolve_overrides(self) -> tuple[dict[str, list], list[str]]:
        items = {x for pair in (*self.overrides.link, *self.overrides.never_link) for x in pair}
        found = self._find_items(items)
        unmatched = sorted(x for x in items if not found.get(x))
        out: dict[str, list] = {"link": [], "never-link": []}
        for x, y in self.overrides.never_link:
            out["never-link"] += [(a, b) for a in found.get(x, []) for b in found.get(y, [])]
        for x, y in self.overrides.link:
            out["link"] += [(a, b, f"{x} = {y}") for a in found.get(x, [])[:1]
                            for b in found.get(y, [])]
        return out, unmatched

    def _find_items(self, items: set[str]) -> dict[str, list[int]]:
        """Record indices each override item names (a record key or every record of an
        e-mail); one pass over the records, nothing when there are no overrides."""
        if not items:
            return {}
        fold = self.config.fold_plus_addressing
        names: dict[str, list[str]] = defaultdict(list)  # e-mail or canonical key → items
        for x in items:
            names[normalise_email(x, fold) if "@" in x else _canonical_key(x)].append(x)
        found: dict[str, list[int]] = defaultdict(list)
        for i, rec in enumerate(self.records):
            for name in (self.emails[i], rec.key):
                for item in names.get(name or "", ()):
                    found[item].append(i)
        return found

    def _forbid(self, a: int, b: int) -> None:
        if a == b:
            return
        self.forbid.setdefault(self._find(a), set()).add(b)
        self.forbid.setdefault(self._find(b), set()).add(a)

    def _link_override(self, a: int, b: int, item: str) -> None:
        if self._find(a) == self._find(b):
            return
        if not self._union(a, b, "override", 1.0, f"manual link: {item}"):
            raise ConfigError(f"identity overrides both link and never-link {item}",
                              hint="remove one of the two lines from identity.overrides_file")

    # -- union-find ---------------------------------------------------------------------------
    def _find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]  # path halving keeps trees flat
            i = parent[i]
        return i

    def _union(self, a: int, b: int, rule: str, confidence: float, reason: str) -> bool:
        ra, rb = self._find(a), self._find(b)
        if ra == rb:
            return True
        if self.forbid and (self._blocks(ra, rb) or self._blocks(rb, ra)):
            self.blocked += 1
            return False
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        if rb in self.forbid:
            self.forbid.setdefault(ra, set()).update(self.forbid.pop(rb))
        self.links.append(Link(self.records[a].key, self.records[b].key, rule, confidence,
                               reason))
        return True

    def _blocks(self, ra: int, rb: int) -> bool:
        return any(self._find(x) == rb for x in self.forbid.get(ra, ()))


def _canonical_key(item: str) -> str:
    parts = item.strip().split(":", 2)
    if len(parts) != 3:
        raise ConfigError(f"identity override {item!r} is neither an e-mail nor a record key",
                          hint="use an e-mail or source:kind:id, e.g. salesforce:lead:00Q1")
    return record_key(parts[0].lower(), parts[1].lower(), parts[2])


def link_records(records: Iterable[IdentityRecord], config: IdentityConfig,
                 overrides: Overrides | None = None) -> Linking:
    """Link every record in one call (see ``Linker`` for streaming use); the overrides are
    the configured file's unless given."""
    return Linker(config, overrides).add_all(records).finish()


__all__ = [
    "RULES",
    "IdentityRecord",
    "Link",
    "Linker",
    "Linking",
    "Overrides",
    "Person",
    "PersonRecord",
    "link_records",
    "normalise_email",
    "normalise_name",
    "person_id",
    "record_key",
]
