"""The alert webhook: what it sends, what it retries (the retry table), how long it waits."""

from __future__ import annotations

import json
import logging

import pytest
import requests
import responses

from funnelsync.sync.webhook import digest_payload, post_webhook, send_digest, webhook_payload

URL = "https://hooks.example.test/services/T000/B000/secret-token"
ALERTS = [{"source": "salesforce", "deal_id": "0065e000001", "message": "No activity for 30 days"},
          {"source": "hubspot", "kind": "lead", "deal_id": "5101", "message": "MQL untouched"}]
GAVE_UP = "alert webhook failed after retries ({}); alerts are kept in the store"


def post(*answers: int | Exception) -> tuple[str | None, list[float], int]:
    """post_webhook against a hook answering ``answers`` in turn: (result, waits, calls)."""
    sleeps: list[float] = []
    with responses.RequestsMock() as hook:
        for answer in answers:
            if isinstance(answer, Exception):
                hook.add(responses.POST, URL, body=answer)
            else:
                hook.add(responses.POST, URL, status=answer, json={})
        result = post_webhook(URL, ALERTS, sleep=sleeps.append)
        calls = len(hook.calls)
    return result, sleeps, calls


def test_success_at_once() -> None:
    assert post(200) == (None, [], 1)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_retried(status: int) -> None:
    assert post(status, status, 200) == (None, [1.0, 2.0], 3)


def test_three_attempts_then_a_warning() -> None:
    assert post(503, 502, 500) == (GAVE_UP.format("HTTP 500"), [1.0, 2.0], 3)


def test_connection_errors_are_retried() -> None:
    refused = requests.ConnectionError("refused")
    assert post(refused, refused, refused) == (GAVE_UP.format("ConnectionError"), [1.0, 2.0], 3)
    assert post(requests.ReadTimeout("slow"), 200) == (None, [1.0], 2)


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404])
def test_other_answers_are_final(status: int) -> None:
    assert post(status) == (GAVE_UP.format(f"HTTP {status}"), [], 1)


def test_nothing_to_send_sends_nothing() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        assert post_webhook(URL, []) is None


def test_the_message_lists_fifty_alerts_and_carries_all() -> None:
    many = [{"source": "salesforce", "deal_id": f"d{i}", "message": "stale"} for i in range(52)]
    payload = webhook_payload(many, "stale-deal alert(s)")
    lines = payload["text"].split("\n")
    assert (lines[0], lines[1], lines[50], lines[51]) == (
        "funnelsync: 52 new stale-deal alert(s)", "• salesforce deal d0: stale",
        "• salesforce deal d49: stale", "… and 2 more")
    assert len(lines) == 52 and payload["alerts"] == many
    assert webhook_payload(ALERTS, "SLA escalation(s)")["text"].split("\n")[1:] == [
        "• salesforce deal 0065e000001: No activity for 30 days",
        "• hubspot lead 5101: MQL untouched"]


def test_the_url_never_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result, _, _ = post(503, 503, 503)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "retrying alert webhook after HTTP 503" in logged
    assert "secret-token" not in logged + json.dumps(result)


def event(n: int, owner: str | None, kind: str = "new") -> dict[str, object]:
    return {"source": "salesforce", "event": kind, "owner_id": owner,
            "owner": {"o1": "Dana Kim", "o2": None}.get(owner or ""), "deal_id": f"006{n:03d}",
            "name": f"Deal {n}", "text": "no activity for 30 days (limit 14)"}


def test_the_digest_sends_one_message_per_owner_new_before_resolved() -> None:
    events = [event(1, "o1", "resolved"), event(2, "o2"), event(3, "o1"), event(4, None)]
    with responses.RequestsMock() as hook:
        hook.add(responses.POST, URL, json={})
        assert send_digest(URL, events, "owner") == []
        sent = [json.loads(call.request.body) for call in hook.calls]
    assert [(m["owner"], [a["deal_id"] for a in m["alerts"]]) for m in sent] == [
        ({"id": "o1", "name": "Dana Kim"}, ["006003", "006001"]),
        ({"id": "o2", "name": None}, ["006002"]), ({"id": None, "name": None}, ["006004"])]
    assert sent[0]["text"] == (
        "funnelsync: Dana Kim: 1 new and 1 resolved stale-deal alert(s)\n"
        "• new: salesforce deal Deal 3: no activity for 30 days (limit 14)\n"
        "• resolved: salesforce deal Deal 1: no activity for 30 days (limit 14)")
    assert sent[1]["text"].startswith("funnelsync: no owner: 1 new and 0 resolved")


def test_the_channel_digest_names_owners_and_shows_fifty_lines() -> None:
    payload = digest_payload([event(n, "o1") for n in range(60)], None, with_owner=True)
    lines = payload["text"].split("\n")
    assert lines[0] == "funnelsync: 60 new and 0 resolved stale-deal alert(s)"
    assert lines[1] == ("• new: salesforce deal Deal 0 (Dana Kim): no activity for 30 days "
                        "(limit 14)")
    assert (len(lines), lines[-1], payload["owner"], len(payload["alerts"])) == (
        52, "… and 10 more", None, 60)
    with responses.RequestsMock(assert_all_requests_are_fired=False):
        assert send_digest(URL, [], "channel") == []
