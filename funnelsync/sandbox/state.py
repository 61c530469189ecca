"""The sandbox's mutable state: data, sessions, counters, faults, limits. One lock guards it.

Handlers take `state.lock` around anything that reads or writes records, and call `bump()` after
a write so cached pages (keyed by `state.version`) are dropped. Time comes from `clock` (epoch
seconds), injectable so tests of token expiry and rate windows need no sleeping.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from funnelsync.sandbox.common import DAY_MS
from funnelsync.sandbox.data import Dataset, generate
from funnelsync.sandbox.hubspot.schema import initial_properties

FAULT_TYPES = {"fail_rate": float, "latency_ms": float, "token_ttl": float, "rate_limit": int,
               "daily_limit": int, "search_limit": int, "locator_ttl": float,
               "max_cursors": int}
FAULT_KEYS = tuple(FAULT_TYPES)
MAX_CACHED_PAGES = 256  # serialized pages kept between writes (a 2,000-row page is ~1 MB)
DEFAULT_DAILY_LIMIT = 100_000
DEFAULT_SEARCH_LIMIT = 5  # HubSpot search requests per second
HS_DEFAULT_TTL = 1800.0


@dataclass
class CrmCounters:
    api_calls: int = 0
    records_written: int = 0
    records_created: int = 0
    tasks_created: int = 0
    faults_injected: int = 0
    rate_limited: int = 0
    requests_by_kind: dict[str, int] = field(default_factory=dict)
    status_counts: dict[str, int] = field(default_factory=dict)
    # statuses of the subrequests a composite request answered (inside its HTTP 200)
    subrequest_status_counts: dict[str, int] = field(default_factory=dict)
    server_seconds: float = 0.0
    requests: int = 0


@dataclass
class Faults:
    fail_rate: float = 0.0
    latency_ms: float = 0.0
    token_ttl: float = 0.0
    rate_limit: int = 0
    daily_limit: int = DEFAULT_DAILY_LIMIT
    search_limit: int = DEFAULT_SEARCH_LIMIT
    # Salesforce query locators: expire after this many seconds unused (Salesforce: 900), and
    # at most this many open per user, the oldest released first (Salesforce: 10). 0: never.
    locator_ttl: float = 0.0
    max_cursors: int = 0


class SandboxState:
    """Everything a request handler may look at or change."""

    def __init__(self, seed: int = 7, leads: int = 2000, deals: int = 1500,
                 clock: Callable[[], float] | None = None, faults: Faults | None = None,
                 scenario: str = "default") -> None:
        self.lock = threading.RLock()
        self.seed, self.leads, self.deals = seed, leads, deals
        self.scenario = scenario  # scenarios.SCENARIOS: seeded stage-definition defects
        self.clock = clock or time.time
        self.faults = Faults()
        self.set_faults(**vars(faults or Faults()))
        self.sf_sessions: dict[str, float] = {}  # session id -> issued at (clock seconds)
        self.hs_tokens: dict[str, float] = {}  # OAuth access token -> expires at
        self.cache: dict[object, object] = {}
        self.pages: OrderedDict[object, bytes] = OrderedDict()
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the seed data with every counter at zero (sessions stay valid)."""
        with self.lock:
            anchor = int(self.clock() * 1000) // DAY_MS * DAY_MS
            self.data: Dataset = generate(self.seed, self.leads, self.deals, anchor,
                                          self.scenario)
            self.by_id = {rid: row for obj, rows in self.data.sf.items()
                          if obj != "OpportunityHistory" for rid, row in rows.items()}
            for obj in ("Group", "User"):  # polymorphic owners: tells SOQL which object it is
                for row in self.data.sf[obj].values():
                    row["attributes"] = {"type": obj}
            self.hs_properties = initial_properties()
            self.hs_property_meta: dict[tuple[str, str], tuple[str, str, str]] = {}
            self.hs_gdpr_blocklist: set[str] = set()  # addresses GDPR-deleted with no contact
            # Salesforce object -> when an admin last changed its metadata (epoch ms); objects
            # not listed date from the org's setup
            self.sf_metadata_changed: dict[str, int] = {}
            self.counters = {"salesforce": CrmCounters(), "hubspot": CrmCounters()}
            self.fault_rng = random.Random(self.seed * 7919 + 1)
            self.pick_rng = random.Random(self.seed * 104_729 + 3)
            self.windows: dict[str, deque[float]] = {"salesforce": deque(), "hubspot": deque(),
                                                     "search": deque()}
            self.cursors: dict[str, object] = {}
            self.bulk_jobs: dict[str, dict] = {}
            self.version = 0
            self.cache.clear()
            self.pages.clear()
            self.last_ms = 0

    def bump(self) -> None:
        """Record that data changed: cached pages and query results are now stale."""
        self.version += 1
        self.cache.clear()
        self.pages.clear()

    def page(self, key: object, build: Callable[[], bytes]) -> bytes:
        """A serialized response body from a small LRU cache (emptied by every write)."""
        body = self.pages.get(key)
        if body is None:
            body = self.pages[key] = build()
            if len(self.pages) > MAX_CACHED_PAGES:
                self.pages.popitem(last=False)
        else:
            self.pages.move_to_end(key)
        return body

    def now_ms(self) -> int:
        """The server's clock in epoch ms, never earlier than the previous write."""
        self.last_ms = max(int(self.clock() * 1000), self.last_ms)
        return self.last_ms

    # -- faults and limits -------------------------------------------------------------------
    def set_faults(self, **changes: float) -> dict[str, float]:
        with self.lock:
            for key, value in changes.items():
                if key not in FAULT_KEYS:
                    raise ValueError(f"unknown fault {key!r}; use one of {', '.join(FAULT_KEYS)}")
                if key == "daily_limit" and not value:
                    value = DEFAULT_DAILY_LIMIT
                setattr(self.faults, key, FAULT_TYPES[key](value))
            return self.fault_dict()

    def fault_dict(self) -> dict[str, float]:
        return {key: getattr(self.faults, key) for key in FAULT_KEYS}

    def roll_failure(self) -> bool:
        """Deterministic (seeded) decision whether this request gets an injected failure."""
        rate = self.faults.fail_rate
        return rate > 0 and self.fault_rng.random() < rate

    def take_rate_slot(self, bucket: str, limit: int, window_s: float) -> float | None:
        """None if the request fits the rolling window, else seconds until a slot frees up."""
        if limit <= 0:
            return None
        now = self.clock()
        stamps = self.windows[bucket]
        while stamps and stamps[0] <= now - window_s:
            stamps.popleft()
        if len(stamps) >= limit:
            return max(0.001, stamps[0] + window_s - now)
        stamps.append(now)
        return None

    # -- sessions ----------------------------------------------------------------------------
    def new_sf_session(self) -> str:
        token = f"00D5g000004FSyE!AQ{secrets.token_urlsafe(40)}"
        with self.lock:
            self.sf_sessions[token] = self.clock()
        return token

    def sf_session_ok(self, token: str) -> bool:
        issued = self.sf_sessions.get(token)
        if issued is None:
            return False
        ttl = self.faults.token_ttl
        return not (ttl > 0 and self.clock() - issued >= ttl)

    def new_hs_token(self) -> tuple[str, int]:
        ttl = self.faults.token_ttl or HS_DEFAULT_TTL
        token = f"CN{secrets.token_urlsafe(48)}"
        with self.lock:
            self.hs_tokens[token] = self.clock() + ttl
        return token, int(ttl)

    def hs_token_state(self, token: str) -> str:
        """'ok', 'expired' or 'invalid' for a bearer token."""
        if token == "pat-demo":
            return "ok"
        expires = self.hs_tokens.get(token)
        if expires is None:
            return "invalid"
        return "ok" if self.clock() < expires else "expired"

    # -- counting ----------------------------------------------------------------------------
    def count(self, crm: str, kind: str, api_call: bool) -> CrmCounters:
        c = self.counters[crm]
        c.requests_by_kind[kind] = c.requests_by_kind.get(kind, 0) + 1
        if api_call:
            c.api_calls += 1
        return c

    def stats(self) -> dict[str, object]:
        with self.lock:
            sf, hs = self.data.sf, self.data.hs
            return {
                "salesforce": self._crm_stats("salesforce", {
                    obj: sum(not r["IsDeleted"] for r in sf[obj].values())
                    for obj in ("Lead", "Opportunity", "Task")}, {
                    obj: sum(r["IsDeleted"] for r in sf[obj].values())
                    for obj in ("Lead", "Opportunity", "Task")}, "deleted"),
                "hubspot": self._crm_stats("hubspot", {
                    obj: sum(not r["archived"] for r in hs[obj].values())
                    for obj in ("contacts", "deals", "tasks")}, {
                    obj: sum(r["archived"] for r in hs[obj].values())
                    for obj in ("contacts", "deals", "tasks")}, "archived"),
                "shared_people": self.shared_people(),
                "faults": self.fault_dict(),
                "version": self.version,
            }

    def _crm_stats(self, crm: str, counts: dict, gone: dict, gone_key: str) -> dict[str, object]:
        c = self.counters[crm]
        return {
            "api_calls": c.api_calls, "records_written": c.records_written,
            "records_created": c.records_created, "tasks_created": c.tasks_created,
            "counts": counts, gone_key: gone, "faults_injected": c.faults_injected,
            "rate_limited": c.rate_limited, "requests_by_kind": dict(c.requests_by_kind),
            "status_counts": dict(c.status_counts),
            "subrequest_status_counts": dict(c.subrequest_status_counts), "requests": c.requests,
            "server_seconds": round(c.server_seconds, 6),
            "server_ms_per_request": round(1000 * c.server_seconds / c.requests, 4)
            if c.requests else 0.0,
        }

    def shared_people(self) -> int:
        """Distinct people (normalised e-mail) live in both CRMs: the identity ground truth."""
        sf_emails = {r["Email"].strip().lower() for r in self.data.sf["Lead"].values()
                     if not r["IsDeleted"] and r.get("Email")}
        hs_emails = {(r["properties"].get("email") or "").strip().lower()
                     for r in self.data.hs["contacts"].values() if not r["archived"]}
        hs_emails.discard("")
        return len(sf_emails & hs_emails)
