"""HubSpot credentials: a private-app token, or OAuth access tokens renewed mid-run.

An OAuth access token lives 30 minutes (``expires_in``). The manager refreshes it through
``POST /oauth/v1/token`` (``grant_type=refresh_token``) a minute before it expires, and once more
when the API answers 401 anyway (revoked, clock skew). HubSpot may rotate the refresh token;
the newest one is kept. A private-app token cannot be renewed: a 401 is an ``AuthError``.

Tokens live only in this object and in the client library's configuration objects; they never
reach a message, a log line or a repr.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from funnelsync.config.models import HubSpotConfig
from funnelsync.errors import AuthError

REFRESH_MARGIN_SECONDS = 60.0


class TokenManager:
    """Hands out a valid access token and refreshes OAuth tokens when due.

    ``refresh_call`` performs the token request (form fields in, raw HTTP response out) and is
    supplied by the connector, which runs it under the retry policy. ``on_token`` is told every
    new access token so the kept API objects can use it.
    """

    def __init__(self, config: HubSpotConfig, *, clock: Callable[[], float] = time.monotonic,
                 refresh_call: Callable[[dict[str, str]], dict[str, Any]] | None = None,
                 on_token: Callable[[str], None] | None = None) -> None:
        self.mode = config.auth_mode()
        self._config = config
        self._clock = clock
        self._refresh_call = refresh_call
        self._on_token = on_token
        self._refresh_token = (config.refresh_token.get_secret_value()
                               if config.refresh_token is not None else None)
        self._token: str | None = None
        self._expires_at: float | None = None
        self.refreshes = 0
        if self.mode == "token" and config.access_token is not None:
            self._token = config.access_token.get_secret_value()

    def __repr__(self) -> str:
        return f"TokenManager(mode={self.mode!r}, refreshes={self.refreshes})"

    @property
    def token(self) -> str | None:
        """The current access token (None before the first OAuth refresh)."""
        return self._token

    def secrets(self) -> list[str]:
        """Every secret this manager knows, for scrubbing messages."""
        values = [self._token, self._refresh_token]
        if self._config.client_secret is not None:
            values.append(self._config.client_secret.get_secret_value())
        return [v for v in values if v]

    def ensure_fresh(self) -> None:
        """Refresh an OAuth token that is missing or about to expire."""
        if self.mode != "oauth":
            return
        due = self._expires_at is None or self._clock() >= self._expires_at
        if self._token is None or due:
            self.refresh()

    def reauth(self) -> Callable[[], None] | None:
        """What the retry policy calls on 401: a refresh for OAuth, nothing for a fixed token."""
        return self.refresh if self.mode == "oauth" else None

    def refresh(self) -> None:
        """Exchange the refresh token for a new access token."""
        if self._refresh_call is None or self._refresh_token is None:
            raise AuthError("HubSpot OAuth refresh is not configured",
                            hint="set hubspot.client_id, client_secret and refresh_token")
        form = {"grant_type": "refresh_token", "client_id": self._config.client_id or "",
                "client_secret": self._config.client_secret.get_secret_value()
                if self._config.client_secret is not None else "",
                "refresh_token": self._refresh_token}
        answer = self._refresh_call(form)
        self._accept(answer)

    def _accept(self, answer: dict[str, Any]) -> None:
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthError("HubSpot's token endpoint answered without an access token",
                            hint="check hubspot.client_id / client_secret / refresh_token")
        self._token = token
        if isinstance(answer.get("refresh_token"), str) and answer["refresh_token"]:
            self._refresh_token = answer["refresh_token"]
        lifetime = float(answer.get("expires_in") or 1800)
        # A minute early for HubSpot's 30-minute tokens; a tenth early for short-lived ones.
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 10)
        self._expires_at = self._clock() + lifetime - margin
        self.refreshes += 1
        if self._on_token is not None:
            self._on_token(token)


def token_failure_message(status: int | None, body: str | None) -> str:
    """A secret-free description of a refused token request."""
    code = ""
    try:
        parsed = json.loads(body or "")
        if isinstance(parsed, dict):
            code = str(parsed.get("error") or parsed.get("category") or "")
    except ValueError:
        pass
    return f"HubSpot refused the OAuth refresh (HTTP {status}{' ' + code if code else ''})"
