"""The alert webhook: what it sends, what it retries (the retry table), how long it waits."""

from __future__ import annotations

import json
import logging

import pytest
import requests
import responses

from funnelsync.sync.webhook import post_webhook, webhook_payload

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
