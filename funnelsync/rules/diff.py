"""Desired write-back values against the live CRM values: only real differences become changes.

CRM-agnostic: keys are normalised ("stage", "score", later "owner_id", "status");
``mapping``'s writeback functions translate them to CRM field names afterwards.

Equality rules (so an unchanged record is never written again):
- None and "" are the same (CRMs return an empty field either way);
- when either side is a number (int, float, Decimal; not bool) and the other a number or a
  numeric string, they compare numerically ("72" == 72.0: HubSpot returns numbers as strings);
  ``score`` differences up to ``score_tolerance`` inclusive count as equal, and so do
  ``win_probability`` differences up to ``probability_tolerance`` (percentage points);
- everything else, including two strings, compares exactly ("Interest" != "interest").

A desired None against a live value is a change that clears the field: funnelsync owns its
write-back fields. Callers that only want to set values drop None keys from ``desired``.
Deleted or archived records (``is_deleted``) and keys outside ``allowed`` never produce changes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from funnelsync.config.models import WritebackConfig

SCORE_KEY = "score"
STAGE_KEY = "stage"
PROBABILITY_KEY = "win_probability"  # deals: the calibrated chance of a win, in percent
_EPSILON = 1e-9  # 72.3 - 71.3 is 1.0000000000000142; the boundary must still be "equal"


@dataclass(frozen=True)
class FieldDiff:
    """The changes one record needs: key -> (live value, desired value), with reasons."""

    source: str
    kind: str
    record_id: str
    changes: dict[str, tuple[Any, Any]]
    reasons: list[str] = field(default_factory=list)


class DiffInput(NamedTuple):
    """One record's desired and live values for ``diff_all``."""

    source: str
    kind: str
    record_id: str
    desired: Mapping[str, Any]
    live: Mapping[str, Any]
    is_deleted: bool = False
    explain: Mapping[str, str] | None = None


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def values_equal(key: str, old: Any, new: Any, score_tolerance: float = 0.0, *,
                 probability_tolerance: float = 0.0) -> bool:
    """Whether a live value ``old`` already matches the desired ``new`` for ``key``."""
    if _is_blank(old) or _is_blank(new):
        return _is_blank(old) and _is_blank(new)
    if isinstance(old, str) and isinstance(new, str):
        return old == new  # two strings: exact, even when both look numeric (ids like "0042")
    a, b = _as_number(old), _as_number(new)
    if a is not None and b is not None:
        limit = {SCORE_KEY: score_tolerance, PROBABILITY_KEY: probability_tolerance}.get(key, 0.0)
        return abs(a - b) <= limit + _EPSILON
    return bool(old == new)


def _reason(key: str, old: Any, new: Any, explain: Mapping[str, str] | None) -> str:
    why = explain.get(key) if explain else None
    return f"{key}: {old!r} -> {new!r}" + (f" ({why})" if why else "")


def diff_record(source: str, kind: str, record_id: str, desired: Mapping[str, Any],
                live: Mapping[str, Any], *, is_deleted: bool, allowed: set[str] | frozenset[str],
                score_tolerance: float, probability_tolerance: float = 0.0,
                explain: Mapping[str, str] | None = None) -> FieldDiff | None:
    """The changes ``record_id`` needs, or None when nothing allowed differs.

    ``explain`` optionally maps a key to why its desired value is what it is (e.g. the
    StageDecision reason); it is appended to that key's reason line.
    """
    if is_deleted:
        return None
    changes: dict[str, tuple[Any, Any]] = {}
    for key, new in desired.items():
        old = live.get(key)
        if key in allowed and not values_equal(key, old, new, score_tolerance,
                                               probability_tolerance=probability_tolerance):
            changes[key] = (old, new)
    if not changes:
        return None
    reasons = [_reason(key, old, new, explain) for key, (old, new) in changes.items()]
    return FieldDiff(source, kind, record_id, changes, reasons)


def allowed_keys(writeback: WritebackConfig, source: str, kind: str) -> frozenset[str]:
    """Keys the config lets funnelsync write for this CRM and record kind ("lead"/"deal").

    A key whose configured field name is "" is not allowed; the score goes to leads only
    (the config has no deal score field), the win probability to deals only; nothing is
    allowed when write-back is disabled.
    """
    crm = writeback.for_crm(source)
    if not writeback.enabled or crm is None:
        return frozenset()
    names = {STAGE_KEY: crm.stage_name, SCORE_KEY: crm.score_name,
             PROBABILITY_KEY: crm.probability_name}
    names.pop(SCORE_KEY if kind != "lead" else PROBABILITY_KEY)
    return frozenset(key for key, name in names.items() if name.strip())


def diff_all(items: Iterable[DiffInput], writeback: WritebackConfig) -> Iterator[FieldDiff]:
    """Diff records one by one (streaming), yielding only those with changes."""
    allowed_cache: dict[tuple[str, str], frozenset[str]] = {}
    for item in items:
        allowed = allowed_cache.get((item.source, item.kind))
        if allowed is None:
            allowed = allowed_keys(writeback, item.source, item.kind)
            allowed_cache[(item.source, item.kind)] = allowed
        found = diff_record(item.source, item.kind, item.record_id, item.desired, item.live,
                            is_deleted=item.is_deleted, allowed=allowed,
                            score_tolerance=writeback.score_tolerance,
                            probability_tolerance=writeback.probability_tolerance,
                            explain=item.explain)
        if found is not None:
            yield found


def live_values(extra: Mapping[str, Any]) -> dict[str, Any]:
    """The live write-back values mapping put in ``record.extra["live"]`` ({} when absent)."""
    live = extra.get("live")
    return dict(live) if isinstance(live, Mapping) else {}


__all__ = ["DiffInput", "FieldDiff", "PROBABILITY_KEY", "SCORE_KEY", "STAGE_KEY", "allowed_keys",
           "diff_all", "diff_record", "live_values", "values_equal"]
