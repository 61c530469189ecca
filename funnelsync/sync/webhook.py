"""The alert webhook: alerts POSTed as Slack-compatible JSON, never failing the sync.

Stale-deal alerts go as a digest: one message per run for each owner (or one for the channel)
listing the deals newly alerted and the deals resolved. SLA escalations go as they come.

Retries follow the table of ``funnelsync.connectors.http`` (transport errors, 429 and 5xx are
worth another attempt; other answers are final): a few short attempts one, then two seconds
apart, then a warning for the run. Each message also has a deadline on the clock
(``DEADLINE_SECONDS``, attempts and waits included): a server that answers slowly, even byte
by byte, costs at most that long before the warning. The URL (a secret for Slack) appears in
no message. Text from the CRM is escaped as Slack's ``text`` requires (``&``, ``<``, ``>``),
so a name cannot forge a link or a mention.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests

from funnelsync.connectors.http import Failure, RetryPolicy
from funnelsync.errors import FunnelsyncError, RemoteError

Sleep = Callable[[float], None]
Clock = Callable[[], float]
# Waits for the thread that sends a message, at most the seconds given (``Thread.join``)
Await = Callable[[threading.Thread, float], None]
SHOWN_ALERTS = 50  # lines in the message text; the JSON carries every alert
DEADLINE_SECONDS = 10.0  # per message, every attempt and wait included


class _Rejected(Exception):
    """The webhook answered with a status other than 2xx."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class _OutOfTime(Exception):
    """The message's deadline passed before the webhook answered in full."""


class _Deadline:
    """Seconds left for one message on ``clock``; waits that would overrun it are not made."""

    def __init__(self, seconds: float, clock: Clock, sleep: Sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._end = clock() + seconds

    def left(self) -> float:
        return self._end - self._clock()

    def sleep(self, seconds: float) -> None:
        if seconds >= self.left():
            raise RemoteError("alert webhook: no time left for another attempt")
        self._sleep(seconds)


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

    Never raises for a remote failure: at most ``attempts`` tries, 1, 2, 4 … seconds apart,
    all within ``DEADLINE_SECONDS``.
    """
    if not alerts:
        return None
    return deliver(url, webhook_payload(alerts, title), attempts=attempts, timeout=timeout,
                   sleep=sleep, session=session)


def deliver(url: str, payload: dict[str, Any], *, attempts: int = 3, timeout: float = 5.0,
            sleep: Sleep | None = None, session: requests.Session | None = None,
            deadline: float = DEADLINE_SECONDS, clock: Clock = time.monotonic,
            await_answer: Await = threading.Thread.join) -> str | None:
    """POST one message; None on success, else a warning (see :func:`post_webhook`).

    ``timeout`` bounds each wait for the connection or for bytes; ``deadline`` bounds the
    whole message on ``clock``, however slowly the server answers. ``await_answer`` waits for
    the sending thread (with ``clock``, injectable so a test runs no real timer).
    """
    http = session or requests.Session()
    failures: list[Failure] = []
    budget = _Deadline(deadline, clock, sleep or time.sleep)

    def send() -> None:
        left = budget.left()
        try:
            if left <= 0:
                raise _OutOfTime
            status = _within(left, lambda: http.post(url, json=payload,
                                                     timeout=min(timeout, left)).status_code,
                             await_answer)
        except _OutOfTime:
            failures.append(Failure(exc=TimeoutError(),
                                    message=f"no full answer within {deadline:g}s"))
            raise RemoteError("alert webhook: deadline passed") from None
        if status >= 300:
            raise _Rejected(status)

    def failure_of(exc: BaseException) -> Failure | None:
        failure = _failure_of(exc)
        if failure is not None:
            failures.append(failure)
        return failure

    try:
        _policy(attempts, budget.sleep).call(send, describe="alert webhook",
                                             failure_of=failure_of)
    except FunnelsyncError:
        return (f"alert webhook failed after retries ({failures[-1].summary()}); alerts are "
                "kept in the store")
    return None


def _within(seconds: float, request: Callable[[], int],
            await_answer: Await = threading.Thread.join) -> int:
    """The request's answer if it comes in full within ``seconds``, else :class:`_OutOfTime`.

    The request runs on a daemon thread: one the server keeps busy is left behind (it ends
    with the per-read timeout or the process) instead of holding up the run.
    """
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["status"] = request()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="alert-webhook", daemon=True)
    worker.start()
    await_answer(worker, seconds)
    if worker.is_alive():
        raise _OutOfTime
    if "error" in outcome:
        raise outcome["error"]
    return int(outcome["status"])


def webhook_payload(alerts: Sequence[dict[str, Any]], title: str) -> dict[str, Any]:
    """Slack's ``text`` (one line per alert, the first 50) and every alert as JSON."""
    lines = [f"• {a['source']} {a.get('kind', 'deal')} {a['deal_id']}: {a['message']}"
             for a in alerts[:SHOWN_ALERTS]]
    more = (f"\n… and {len(alerts) - SHOWN_ALERTS} more" if len(alerts) > SHOWN_ALERTS
            else "")
    return {"text": slack_text(f"funnelsync: {len(alerts)} new {title}\n" + "\n".join(lines)
                               + more),
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
    return {"text": slack_text(head + "\n" + "\n".join(lines) + more), "owner": owner,
            "alerts": list(ordered)}


def slack_text(text: str) -> str:
    """Text as Slack's ``text`` field shows it literally: ``&``, ``<`` and ``>`` escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


__all__ = ["DEADLINE_SECONDS", "deliver", "digest_payload", "post_webhook", "send_digest",
           "slack_text", "webhook_payload"]
