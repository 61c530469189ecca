"""HTTP plumbing of the sandbox: one keep-alive HTTP/1.1 server for both CRMs, routing,
authentication, rate limits, injected faults, and the `Sandbox` context manager.

Order of checks for a data call, as the real services do it: authenticate (401), rate window
(HubSpot 429 TEN_SECONDLY_ROLLING with Retry-After; Salesforce has no 429, so the sandbox
answers 503 SERVER_UNAVAILABLE there), daily quota (Salesforce 403 REQUEST_LIMIT_EXCEEDED),
count the call, maybe inject a failure, run the handler.
"""

from __future__ import annotations

import http
import json
import math
import re
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from funnelsync.sandbox import admin, control, scenarios
from funnelsync.sandbox.common import Request, Response, json_response
from funnelsync.sandbox.hubspot.records import hs_error
from funnelsync.sandbox.routes import ROUTES, Route
from funnelsync.sandbox.salesforce import api as salesforce
from funnelsync.sandbox.state import Faults, SandboxState

MAX_SF_URI = 16_384
_HS_INVALID = ("Authentication credentials not found. This API supports OAuth 2.0 "
               "authentication and you can find more details at "
               "https://developers.hubspot.com/docs/methods/auth/oauth-overview")


class App:
    """Routes a parsed request to its handler with auth, limits and faults applied."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def dispatch(self, req: Request) -> tuple[Response, str | None]:
        route, match = _find(req)
        if route is None:
            return _unknown(req), None
        if route.crm == "control":
            return control.handle(self.state, req, match), None  # type: ignore[arg-type]
        state = self.state
        if state.faults.latency_ms > 0:
            time.sleep(state.faults.latency_ms / 1000)
        with state.lock:
            counters = state.count(route.crm, route.kind, api_call=False)
        if not route.auth:
            return route.handler(state, req, match), route.crm
        if route.crm == "salesforce" and req.target_length > MAX_SF_URI:
            # Wide SOQL in a GET: Salesforce refuses the URI before looking at it.
            return Response(414, b"<html><body>URI Too Long</body></html>", "text/html"), route.crm
        refused = self._gate(route, req)
        if refused is not None:
            return self._decorate(route.crm, refused), route.crm
        return self._decorate(route.crm, self._run(route, req, match, counters)), route.crm

    def _gate(self, route: Route, req: Request) -> Response | None:
        state = self.state
        auth = _check_auth(state, route.crm, req)
        if auth is not None:
            return auth
        with state.lock:
            wait = state.take_rate_slot(route.crm, state.faults.rate_limit, 10.0)
            if wait is not None:
                state.counters[route.crm].rate_limited += 1
                return _rate_limited(route.crm, wait)
            counters = state.counters[route.crm]
            if route.crm == "salesforce" and counters.api_calls >= state.faults.daily_limit:
                return salesforce.sf_error(403, "REQUEST_LIMIT_EXCEEDED",
                                           "TotalRequests Limit exceeded.")
            counters.api_calls += 1
            if state.roll_failure():
                if route.row_faults and state.fault_rng.random() < 0.5:
                    req.row_faults = True
                    return None
                counters.faults_injected += 1
                return _injected(route.crm, state.fault_rng.choice((500, 503, 504)))
        return None

    def _run(self, route: Route, req: Request, match: re.Match, counters: object) -> Response:
        try:
            return route.handler(self.state, req, match)
        except json.JSONDecodeError:
            if route.crm == "salesforce":
                return salesforce.sf_error(400, "JSON_PARSER_ERROR", "The body is not valid JSON")
            return hs_error(400, "VALIDATION_ERROR", "Invalid input JSON")
        except Exception:  # a sandbox bug must answer 500, never kill the connection
            traceback.print_exc()
            return json_response(500, [{"message": "sandbox internal error",
                                        "errorCode": "UNKNOWN_EXCEPTION"}])

    def _decorate(self, crm: str, resp: Response) -> Response:
        state = self.state
        if crm == "salesforce":
            used = state.counters["salesforce"].api_calls
            resp.headers["Sforce-Limit-Info"] = f"api-usage={used}/{state.faults.daily_limit}"
        elif state.faults.rate_limit > 0:
            window = state.windows["hubspot"]
            resp.headers.update({
                "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Max": str(state.faults.rate_limit),
                "X-HubSpot-RateLimit-Remaining": str(max(0, state.faults.rate_limit - len(window))),
            })
        return resp


def _find(req: Request) -> tuple[Route | None, re.Match | None]:
    for route in ROUTES:
        if req.method in route.methods:
            match = route.pattern.match(req.path)
            if match:
                return route, match
    return None, None


def _unknown(req: Request) -> Response:
    if req.path.startswith("/services/"):
        return salesforce.not_found()
    return hs_error(404, "OBJECT_NOT_FOUND", f"No route for {req.method} {req.path}")


def _check_auth(state: SandboxState, crm: str, req: Request) -> Response | None:
    if crm == "salesforce":
        return None if salesforce.authorized(state, req) else salesforce.invalid_session()
    auth = req.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    verdict = state.hs_token_state(token)
    if verdict == "ok":
        return None
    if verdict == "expired":
        return hs_error(401, "EXPIRED_AUTHENTICATION",
                        "The OAuth token used to make this call expired.")
    return hs_error(401, "INVALID_AUTHENTICATION", _HS_INVALID)


def _rate_limited(crm: str, wait: float) -> Response:
    retry = str(max(1, math.ceil(wait)))
    if crm == "salesforce":
        resp = salesforce.sf_error(503, "SERVER_UNAVAILABLE",
                                   "Too many requests in this window; retry later.")
    else:
        resp = hs_error(429, "RATE_LIMITS", "You have reached your ten_secondly_rolling limit.",
                        errorType="RATE_LIMIT", policyName="TEN_SECONDLY_ROLLING")
    resp.headers["Retry-After"] = retry
    return resp


def _injected(crm: str, status: int) -> Response:
    if status == 504:
        return Response(504, b"<html><body>504 Gateway Time-out</body></html>", "text/html")
    if crm == "salesforce":
        if status == 503:
            return salesforce.sf_error(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
        return salesforce.sf_error(500, "UNKNOWN_EXCEPTION",
                                   "An unexpected error occurred. Please include this ErrorId if "
                                   "you contact support: 1234567-89 (-1234567)")
    if status == 503:
        return hs_error(503, "SERVICE_UNAVAILABLE", "Service Unavailable")
    return hs_error(500, "INTERNAL_ERROR", "internal error")


# -- HTTP server ------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "funnelsync-sandbox"
    server: SandboxHTTPServer

    def _handle(self) -> None:
        started = time.perf_counter()
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                      headers, body, target_length=len(self.path))
        resp, crm = self.server.app.dispatch(req)
        # counted before the answer goes out: a client reading /__sandbox/stats right after its
        # response must see its own request
        if crm is not None:
            state = self.server.app.state
            with state.lock:
                counters = state.counters[crm]
                counters.requests += 1
                counters.server_seconds += time.perf_counter() - started
                key = str(resp.status)
                counters.status_counts[key] = counters.status_counts.get(key, 0) + 1
        self._send(resp)

    def _send(self, resp: Response) -> None:
        phrase = http.HTTPStatus(resp.status).phrase
        lines = [f"HTTP/1.1 {resp.status} {phrase}", f"Content-Length: {len(resp.body)}"]
        if resp.body or resp.status not in (204, 304):
            lines.append(f"Content-Type: {resp.content_type}")
        lines.extend(f"{k}: {v}" for k, v in resp.headers.items())
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + resp.body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: request lines would carry ids and query text."""


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, object]:
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle delay on replies
        return sock, addr


class Sandbox:
    """Salesforce + HubSpot stand-in on 127.0.0.1. Use as a context manager::

        with Sandbox(seed=7, deals=1500) as sb:
            sb.url  # "http://127.0.0.1:PORT"

    ``scenario`` (scenarios.SCENARIOS) swaps the messy default deals and stage catalogs for a
    clean set or seeded stage-definition defects; ``scenarios.mapping_toml`` gives the map.
    """

    def __init__(self, seed: int = 7, leads: int = 2000, deals: int = 1500,
                 latency_ms: float = 0, fail_rate: float = 0, rate_limit: int = 0,
                 token_ttl: float = 0, port: int = 0,
                 clock: Callable[[], float] | None = None, scenario: str = "default") -> None:
        faults = Faults(fail_rate=fail_rate, latency_ms=latency_ms, token_ttl=token_ttl,
                        rate_limit=rate_limit)
        self.state = SandboxState(seed, leads, deals, clock, faults, scenario)
        self._port = port
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Sandbox:
        self._server = SandboxHTTPServer(("127.0.0.1", self._port), App(self.state))
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.2}, daemon=True,
                                        name="funnelsync-sandbox")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() or use `with`")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stats(self) -> dict[str, object]:
        return self.state.stats()

    def set_faults(self, **faults: float) -> dict[str, float]:
        return self.state.set_faults(**faults)

    def reset(self) -> None:
        self.state.reset()

    def touch(self, crm: str, object: str, count: int) -> dict[str, object]:  # noqa: A002
        return control.touch(self.state, crm, object, count)

    def add_stage(self, crm: str, label: str, probability: int = 50,
                  count: int = 1) -> dict[str, object]:
        """An admin adds a deal stage to ``crm`` and ``count`` open deals move into it."""
        return admin.add_stage(self.state, crm, label, probability, count)


def serve(seed: int = 7, leads: int = 2000, deals: int = 1500, latency_ms: float = 0,
          fail_rate: float = 0, rate_limit: int = 0, token_ttl: float = 0, port: int = 0,
          config_out: str | None = None, echo: Callable[[str], None] = print,
          scenario: str = "default") -> None:
    """Run a sandbox until SIGINT/SIGTERM; announce it with exactly one flushed line."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with Sandbox(seed, leads, deals, latency_ms, fail_rate, rate_limit, token_ttl, port,
                 scenario=scenario) as sb:
        if config_out:
            path = Path(config_out)
            text = control.config_toml(sb.url, path) + scenarios.mapping_toml(scenario)
            path.write_text(text, encoding="utf-8")
        echo(f"sandbox listening on {sb.url}")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
