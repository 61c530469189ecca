"""The alert webhook's deadline per message and Slack's text escaping.

A local socket server drips its answer a byte at a time, each byte well inside the per-read
timeout; the message's deadline still ends the attempt (the test waits a fraction of a second).
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest
import responses

from funnelsync.sync.webhook import (
    deliver,
    digest_payload,
    post_webhook,
    slack_text,
    webhook_payload,
)

URL = "https://hooks.example.test/services/T000/B000/secret-token"
TIMED_OUT = ("alert webhook failed after retries (TimeoutError: no full answer within 0.3s); "
             "alerts are kept in the store")
HEADERS = b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\nContent-Type: text/plain\r\n\r\n"


def drip_server(prefix: bytes) -> Iterator[tuple[str, list[int]]]:
    """A server that sends ``prefix`` at once, then one byte every 20 ms until closed."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()
    accepted: list[int] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(1)
            with conn:
                conn.recv(65536)
                conn.sendall(prefix)
                while not stop.is_set():
                    conn.sendall(b"x")
                    stop.wait(0.02)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook", accepted
    stop.set()
    thread.join(2)
    listener.close()


@pytest.fixture()
def dripping_headers() -> Iterator[tuple[str, list[int]]]:
    yield from drip_server(b"HTTP/1.1 200 OK\r\n")


@pytest.fixture()
def dripping_body() -> Iterator[tuple[str, list[int]]]:
    yield from drip_server(HEADERS)


@pytest.mark.parametrize("server", ["dripping_headers", "dripping_body"])
def test_a_dripping_answer_costs_the_deadline_then_a_warning(
        server: str, request: pytest.FixtureRequest) -> None:
    url, accepted = request.getfixturevalue(server)
    waits: list[float] = []

    # reads may take 30 s each: only the message's deadline can end this delivery
    warning = deliver(url, {"text": "hi"}, timeout=30.0, deadline=0.3, sleep=waits.append)

    assert warning == TIMED_OUT
    assert (accepted, waits) == ([1], [])  # the deadline is spent: no second attempt


def test_waits_that_would_pass_the_deadline_are_not_made() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    with responses.RequestsMock() as hook:
        hook.add(responses.POST, URL, status=503, json={})
        warning = deliver(URL, {"text": "hi"}, deadline=2.5, sleep=sleep, clock=lambda: now[0])
        calls = len(hook.calls)
    assert (warning, waits, calls) == (
        "alert webhook failed after retries (HTTP 503); alerts are kept in the store", [1.0], 2)


def test_slack_control_characters_are_escaped() -> None:
    assert slack_text("<@U123> & <!channel> a<b>c") == (
        "&lt;@U123&gt; &amp; &lt;!channel&gt; a&lt;b&gt;c")


def test_alert_and_escalation_text_is_escaped_and_the_json_kept() -> None:
    alert = {"source": "hubspot", "kind": "lead", "deal_id": "5101",
             "message": "Ann <!channel> & <https://evil.test|click>"}
    payload = webhook_payload([alert], "SLA escalation(s)")
    assert payload["text"].split("\n")[1] == (
        "• hubspot lead 5101: Ann &lt;!channel&gt; &amp; &lt;https://evil.test|click&gt;")
    assert payload["alerts"] == [alert]
    with responses.RequestsMock() as hook:
        hook.add(responses.POST, URL, json={})
        assert post_webhook(URL, [alert], title="SLA escalation(s)") is None
        sent = json.loads(hook.calls[0].request.body)
    assert sent["text"] == payload["text"]


def test_digest_text_is_escaped() -> None:
    event = {"source": "salesforce", "event": "new", "owner_id": "o1", "owner": "R&D <team>",
             "deal_id": "006001", "name": "<@U1>", "text": "stale"}
    assert digest_payload([event], "o1")["text"] == (
        "funnelsync: R&amp;D &lt;team&gt;: 1 new and 0 resolved stale-deal alert(s)\n"
        "• new: salesforce deal &lt;@U1&gt;: stale")
