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
store), each rule is one dict look-up per record, so time and memory grow linearly. The linker
keeps no record objects: per record it holds its id, normalised e-mail and names, one byte for
its CRM and kind, and (only when given) stage, owner and times, repeated strings shared; the
union-find runs over integer arrays. ``Linking.records`` rebuilds a record on access.

A person id is ``p_`` + 16 hex digits of sha256 of the person's smallest normalised e-mail (or,
without any e-mail, of its smallest record key): stable across runs as long as the person keeps
that e-mail, and free of personal data in clear.
"""

from __future__ import annotations

import functools
import hashlib
import sys
import unicodedata
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, overload

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


_DETAILS = ("stage", "owner_id", "owner_name", "created_at", "updated_at")


class _Store:
    """The columns the linker keeps per record (index i = the i-th record added)."""

    def __init__(self) -> None:
        self.kinds: list[tuple[str, str]] = []  # distinct (source, kind), coded in ``code``
        self.code = array("B")
        self.ids: list[str] = []
        self.first: list[str | None] = []
        self.last: list[str | None] = []
        self.details: list[list[Any]] | None = None  # stage, owner, times: made on first use

    def __len__(self) -> int:
        return len(self.ids)

    def add(self, record: IdentityRecord) -> None:
        source, kind = record.source, record.kind
        last = self.kinds[self.code[-1]] if self.code else None
        if last is None or source != last[0] or kind != last[1]:  # records come in runs
            pair = (sys.intern(source), sys.intern(kind))
            if pair not in self.kinds:
                self.kinds.append(pair)
            self.code.append(self.kinds.index(pair))
        else:
            self.code.append(self.code[-1])
        self.ids.append(record.id)
        self.first.append(record.first_name)
        self.last.append(record.last_name)
        stage, owner, name = record.stage, record.owner_id, record.owner_name
        if self.details is None:
            if (stage is None and owner is None and name is None and record.created_at is None
                    and record.updated_at is None):
                return
            self.details = [[None] * (len(self.ids) - 1) for _ in _DETAILS]
        columns = self.details
        # Stages and owners repeat across records: one string each.
        columns[0].append(sys.intern(stage) if type(stage) is str else stage)
        columns[1].append(sys.intern(owner) if type(owner) is str else owner)
        columns[2].append(sys.intern(name) if type(name) is str else name)
        columns[3].append(record.created_at)
        columns[4].append(record.updated_at)

    def detail(self, i: int) -> tuple[Any, ...]:
        if self.details is None:
            return (None,) * len(_DETAILS)
        return tuple(column[i] for column in self.details)

    def key(self, i: int) -> str:
        source, kind = self.kinds[self.code[i]]
        return record_key(source, kind, self.ids[i])

    def record(self, i: int, email: str | None) -> IdentityRecord:
        source, kind = self.kinds[self.code[i]]
        return IdentityRecord(source, kind, self.ids[i], email, self.first[i], self.last[i],
                              *self.detail(i))


class _Records(Sequence[IdentityRecord]):
    """The linked records, rebuilt on access from the linker's columns (e-mails normalised)."""

    def __init__(self, store: _Store, emails: list[str | None]) -> None:
        self._store, self._emails = store, emails

    def __len__(self) -> int:
        return len(self._store)

    @overload
    def __getitem__(self, i: int) -> IdentityRecord: ...

    @overload
    def __getitem__(self, i: slice) -> list[IdentityRecord]: ...

    def __getitem__(self, i: int | slice) -> IdentityRecord | list[IdentityRecord]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._store.record(i, self._emails[i])


class Linking:
    """The result: compact per-record columns plus the links; people are built on demand."""

    def __init__(self, store: _Store, root: list[int], links: list[Link],
                 emails: list[str | None], rules: bytearray, confidence: dict[int, float],
                 unmatched_overrides: list[str] | None = None, blocked: int = 0) -> None:
        self._store = store
        self.root = root
        self.links = links
        self.emails = emails
        self._rules = rules  # per record: strongest rule tying it (index into _RULE_NAMES)
        self._confidence = confidence  # per record tied by a rule below 1.0
        self.unmatched_overrides = unmatched_overrides or []
        self.blocked = blocked  # rule matches a never-link pair refused

    @property
    def records(self) -> Sequence[IdentityRecord]:
        return _Records(self._store, self.emails)

    def people(self) -> Iterator[Person]:
        """Every person (single-record ones too), in order of first record."""
        # Member lists only for linked roots: most people have one record, and a list per
        # person would cost more memory than the linking itself.
        root = self.root
        groups: dict[int, list[int]] = {r: [] for i, r in enumerate(root) if r != i}
        for i, r in enumerate(root):
            if r in groups:
                groups[r].append(i)
        store, emails = self._store, self.emails
        kinds, code, ids = store.kinds, store.code, store.ids
        details = store.details
        new, sha = tuple.__new__, hashlib.sha256
        for i, r in enumerate(root):
            members = groups.get(r)
            if members is not None:
                if members[0] == i:
                    yield self._person(members)
                continue
            # The common case, kept cheap: a person with one record.
            source, kind = kinds[code[i]]
            key = f"{source}:{kind.removesuffix('s')}:{ids[i]}"
            if details is None:
                stage = owner = name = created = updated = None
            else:
                stage, owner, name = details[0][i], details[1][i], details[2][i]
                created, updated = details[3][i], details[4][i]
            anchor = emails[i] or key
            row = new(PersonRecord, (key, source, stage, owner, name, "single", 1.0))
            yield new(Person, ("p_" + sha(anchor.encode("utf-8")).hexdigest()[:16], (row,),
                               "single", 1.0, created, updated))

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
        return self._person([i for i, r in enumerate(self.root) if r == self.root[hit]])

    def _person(self, members: list[int]) -> Person:
        store = self._store
        emails = sorted(e for e in (self.emails[i] for i in members) if e)
        keys = [store.key(i) for i in members]
        anchor = emails[0] if emails else min(keys)
        details = [store.detail(i) for i in members]
        rows = tuple(PersonRecord(key, store.kinds[store.code[i]][0], *detail[:3],
                                  _RULE_NAMES[self._rules[i]], self._confidence.get(i, 1.0))
                     for i, key, detail in zip(members, keys, details, strict=True))
        weakest = min(rows, key=lambda p: (_STRENGTH[p.rule], p.confidence))
        created = [d[3] for d in details if d[3]]
        updated = [d[4] for d in details if d[4]]
        return Person(person_id(anchor), rows, weakest.rule, weakest.confidence,
                      min(created) if created else None, max(updated) if updated else None)


_RULE_NAMES = ("single", "name_domain", "email", "override")  # weakest first, as _STRENGTH


def person_id(anchor: str) -> str:
    return "p_" + hashlib.sha256(anchor.encode("utf-8")).hexdigest()[:16]


class Linker:
    """Add records (streamed), then ``finish()`` once."""

    def __init__(self, config: IdentityConfig, overrides: Overrides | None = None) -> None:
        self.config = config
        self.overrides = overrides if overrides is not None else config.overrides
        self.free_mail = frozenset(config.free_mail_domains)
        self._store = _Store()
        self.emails: list[str | None] = []
        self.parent = array("l")
        self.size = array("l")
        self.forbid: dict[int, set[int]] = {}
        self.links: list[Link] = []
        self._rules = bytearray()
        self._confidence: dict[int, float] = {}
        self.blocked = 0

    def __len__(self) -> int:
        return len(self._store)

    @property
    def records(self) -> Sequence[IdentityRecord]:
        return _Records(self._store, self.emails)

    def add(self, record: IdentityRecord) -> None:
        self._store.add(record)
        self.emails.append(normalise_email(record.email, self.config.fold_plus_addressing))

    def add_all(self, records: Iterable[IdentityRecord]) -> Linker:
        for record in records:
            self.add(record)
        return self

    def finish(self) -> Linking:
        n = len(self._store)
        self.parent = array("l", range(n))
        self.size = array("l", [1]) * n
        self._rules = bytearray(n)
        resolved, unmatched = self._resolve_overrides()
        for a, b in resolved["never-link"]:
            self._forbid(a, b)
        for a, b, item in resolved["link"]:
            self._link_override(a, b, item)
        self._email_rule()
        if self.config.name_domain_rule:
            self._name_domain_rule()
        root = [self._find(i) for i in range(n)]
        return Linking(self._store, root, self.links, self.emails, self._rules,
                       self._confidence, unmatched, self.blocked)

    # -- rules --------------------------------------------------------------------------------
    def _email_rule(self) -> None:
        first: dict[str, int] = {}
        setdefault = first.setdefault
        for i, email in enumerate(self.emails):
            if email is not None:
                j = setdefault(email, i)
                if j != i:
                    self._union(j, i, "email", 1.0, "same e-mail address")

    def _name_domain_rule(self) -> None:
        first: dict[tuple[str, str, str], int] = {}
        more: dict[tuple[str, str, str], list[int]] = {}  # only names seen twice or more
        setdefault, free = first.setdefault, self.free_mail
        names, emails = normalise_name, self.emails
        for i, (given, family) in enumerate(zip(self._store.first, self._store.last,
                                                strict=True)):
            email = emails[i]
            if email is None or not given or not family:
                continue
            domain = email.rpartition("@")[2]
            if domain == email or domain in free:
                continue
            key = (domain, names(given), names(family))
            if key[1] and key[2]:
                j = setdefault(key, i)
                if j != i:
                    more.setdefault(key, [j]).append(i)
        del first
        conf = self.config.name_domain_confidence
        for (domain, _, _), members in more.items():
            reps = self._one_root_per_source(members)
            for rep in reps[1:]:
                self._union(reps[0], rep, "name_domain", conf,
                            f"same first and last name at company domain {domain}")

    def _one_root_per_source(self, members: list[int]) -> list[int]:
        """One representative per CRM when each CRM has exactly one person here, else []."""
        roots: dict[str, dict[int, int]] = defaultdict(dict)
        kinds, code = self._store.kinds, self._store.code
        for i in members:
            roots[kinds[code[i]][0]].setdefault(self._find(i), i)
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
        for i in range(len(self._store)):
            for name in (self.emails[i], self._store.key(i)):
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
        self._note_rule(a, rule, confidence)
        self._note_rule(b, rule, confidence)
        store = self._store
        self.links.append(Link(store.key(a), store.key(b), rule, confidence, reason))
        return True

    def _note_rule(self, i: int, rule: str, confidence: float) -> None:
        """Keep the strongest rule that ties record ``i`` (the first one on a tie)."""
        code = _RULE_NAMES.index(rule)
        if code > self._rules[i]:
            self._rules[i] = code
            if confidence == 1.0:
                self._confidence.pop(i, None)
            else:
                self._confidence[i] = confidence

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
