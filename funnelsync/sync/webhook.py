"""The alert webhook: alerts POSTed as Slack-compatible JSON, never failing the sync.

Stale-deal alerts go as a digest: one message per run for each owner (or one for the channel)
listing the deals newly alerted and the deals resolved. SLA escalations go as they come.

Retries follow the table of ``funnelsync.connectors.http`` (transport errors, 429 and 5xx are
worth another attempt; other answers are final). The webhook's own budget is on waiting, not
on the clock: a few short attempts one, then two seconds apart, then a warning for the run.
The URL (a secret for Slack) appears in no message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import requests

from funnelsync.connectors.http import Failure, RetryPolicy
from funnelsync.errors import FunnelsyncError

Sleep = Callable[[float], None]
SHOWN_ALERTS = 50  # lines in the message text; the JSON carries every alert


class _Rejected(Exception):
    """The webhook answered with a status other than 2xx."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class _WaitedTime:
    """A clock that counts only the seconds waited between attempts."""

    def __init__(self, sleep: Sleep) -> None:
        self.waited = 0.0
        self._sleep = sleep

    def __call__(self) -> float:
        return self.waited

    def sleep(self, seconds: float) -> None:
        self._sleep(seconds)
        self.waited += seconds


def post_webhook(url: str, alerts: Sequence[dict[str, Any]], *, attempts: int = 3,
                 timeout: float = 5.0, sleep: Sleep | None = None,
                 session: requests.Session | None = None,
                 title: str = "stale-deal alert(s)") -> str | None:
    """POST new alerts; None on success, else a warning saying what the last attempt met.

    Never raises for a remote failure: at most ``attempts`` tries, 1, 2, 4 … seconds apart.
    """
    if not alerts:
        return None
    return deliver(url, webhook_payload(alerts, title), attempts=attempts, timeout=timeout,
                   sleep=sleep, session=session)


def deliver(url: str, payload: dict[str, Any], *, attempts: int = 3, timeout: float = 5.0,
            sleep: Sleep | None = None, session: requests.Session | None = None) -> str | None:
    """POST one message; None on success, else a warning (see :func:`post_webhook`)."""
    http = session or requests.Session()
    failures: list[Failure] = []

    def send() -> None:
        response = http.post(url, json=payload, timeout=timeout)
        if response.status_code >= 300:
            raise _Rejected(response.status_code)

    def failure_of(exc: BaseException) -> Failure | None:
        failure = _failure_of(exc)
        if failure is not None:
            failures.append(failure)
        return failure

    try:
        _policy(attempts, sleep or time.sleep).call(send, describe="alert webhook",
                                                    failure_of=failure_of)
    except FunnelsyncError:
        return (f"alert webhook failed after retries ({failures[-1].summary()}); alerts are "
                "kept in the store")
    return None


def webhook_payload(alerts: Sequence[dict[str, Any]], title: str) -> dict[str, Any]:
    """Slack's ``text`` (one line per alert, the first 50) and every alert as JSON."""
    lines = [f"• {a['source']} {a.get('kind', 'deal')} {a['deal_id']}: {a['message']}"
             for a in alerts[:SHOWN_ALERTS]]
    more = (f"\n… and {len(alerts) - SHOWN_ALERTS} more" if len(alerts) > SHOWN_ALERTS
            else "")
    return {"text": f"funnelsync: {len(alerts)} new {title}\n" + "\n".join(lines) + more,
            "alerts": list(alerts)}


def send_digest(url: str, events: Sequence[dict[str, Any]], group_by: str = "owner", *,
                sleep: Sleep | None = None,
                session: requests.Session | None = None) -> list[str]:
    """One message per owner (``group_by="owner"``) or one for everyone (``"channel"``);
    returns the warnings of messages that could not be delivered."""
    groups: dict[str | None, list[dict[str, Any]]] = {}
    for event in events:
        groups.setdefault(event.get("owner_id") if group_by == "owner" else None,
                          []).append(event)
    warnings = []
    for owner_id, items in groups.items():
        payload = digest_payload(items, owner_id, with_owner=group_by != "owner")
        warning = deliver(url, payload, sleep=sleep, session=session)
        if warning:
            warnings.append(warning)
    return warnings


def digest_payload(events: Sequence[dict[str, Any]], owner_id: str | None, *,
                   with_owner: bool = False) -> dict[str, Any]:
    """Slack's ``text`` (a headline, then one line per deal, new first, the first 50) and
    every event as JSON; ``owner`` names whom the message is for (null: everyone)."""
    ordered = sorted(events, key=lambda e: (e["event"] != "new", e["source"], e["deal_id"]))
    new = sum(1 for e in events if e["event"] == "new")
    who = "" if with_owner else f"{ordered[0].get('owner') or 'no owner'}: "
    lines = [_digest_line(e, with_owner) for e in ordered[:SHOWN_ALERTS]]
    more = (f"\n… and {len(events) - SHOWN_ALERTS} more" if len(events) > SHOWN_ALERTS
            else "")
    head = (f"funnelsync: {who}{new} new and {len(events) - new} resolved stale-deal "
            "alert(s)")
    owner = None if with_owner else {"id": owner_id, "name": ordered[0].get("owner")}
    return {"text": head + "\n" + "\n".join(lines) + more, "owner": owner,
            "alerts": list(ordered)}


def _digest_line(event: dict[str, Any], with_owner: bool) -> str:
    owner = f" ({event.get('owner') or 'no owner'})" if with_owner else ""
    return (f"• {event['event']}: {event['source']} deal {event['name']}{owner}: "
            f"{event['text']}")


def _policy(attempts: int, sleep: Sleep) -> RetryPolicy:
    """Waits of 1, 2, 4 … seconds (no jitter), as many as ``attempts`` allows."""
    waited = _WaitedTime(sleep)
    return RetryPolicy(max_seconds=2.0 ** (attempts - 1) - 1, base=1.0, cap=2.0 ** attempts,
                       sleep=waited.sleep, clock=waited, rand=lambda: 1.0)


def _failure_of(exc: BaseException) -> Failure | None:
    if isinstance(exc, _Rejected):
        return Failure(status=exc.status)
    if isinstance(exc, requests.RequestException):
        return Failure(exc=exc)
    return None


__all__ = ["deliver", "digest_payload", "post_webhook", "send_digest", "webhook_payload"]
