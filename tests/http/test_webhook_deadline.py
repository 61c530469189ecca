"""The alert webhook's deadline per message and Slack's text escaping.

A local socket server drips its answer a byte at a time, each byte when the test asks for it;
the message's deadline, on a fake clock, still ends the attempt. No real timer is involved.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import responses
from support.clock import FakeClock

from funnelsync.sync.webhook import (
    deliver,
    digest_payload,
    post_webhook,
    slack_text,
    webhook_payload,
)

URL = "https://hooks.example.test/services/T000/B000/secret-token"
TIMED_OUT = ("alert webhook failed after retries (TimeoutError: no full answer within 30s); "
             "alerts are kept in the store")
HEADERS = b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\nContent-Type: text/plain\r\n\r\n"
SAFETY = 60.0  # seconds; only a broken test waits this long, a passing one never does


class DripServer:
    """Sends ``prefix`` at once, then one byte each time ``drip`` asks for one."""

    def __init__(self, prefix: bytes) -> None:
        self.prefix = prefix
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.accepted = 0
        self.stop = threading.Event()
        self._asked = threading.Semaphore(0)
        self._sent = threading.Semaphore(0)

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            with conn:
                conn.recv(65536)
                conn.sendall(self.prefix)
                while self._asked.acquire() and not self.stop.is_set():
                    conn.sendall(b"x")
                    self._sent.release()

    def drip(self, count: int) -> None:
        """Send ``count`` more bytes to the client, one at a time; return once they are out."""
        for _ in range(count):
            self._asked.release()
            assert self._sent.acquire(timeout=SAFETY), "the server sent nothing"

    def close(self) -> None:
        self.stop.set()
        self._asked.release()


@contextmanager
def drip_server(prefix: bytes) -> Iterator[DripServer]:
    server = DripServer(prefix)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.close()
        thread.join(SAFETY)
        server.listener.close()


@pytest.mark.parametrize("prefix", [b"HTTP/1.1 200 OK\r\n", HEADERS], ids=["headers", "body"])
def test_a_dripping_answer_costs_the_deadline_then_a_warning(prefix: bytes) -> None:
    clock = FakeClock()

    def await_answer(worker: threading.Thread, seconds: float) -> None:
        server.drip(5)  # the answer keeps coming, each byte well inside the read timeout
        clock.tick(seconds)  # and the message's deadline passes meanwhile
        assert worker.is_alive()  # still reading: only the deadline can end this delivery

    with drip_server(prefix) as server:
        # reads may take 30 s each: only the message's deadline can end this delivery
        warning = deliver(server.url, {"text": "hi"}, timeout=30.0, deadline=30.0,
                          sleep=clock.sleep, clock=clock, await_answer=await_answer)

    assert warning == TIMED_OUT
    assert (server.accepted, clock.sleeps) == (1, [])  # the deadline is spent: no second attempt


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
