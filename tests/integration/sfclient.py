"""Test support: a simple-salesforce client whose https:// calls reach the local sandbox.

simple-salesforce always builds https:// URLs (login.salesforce.com for the SOAP login, then the
instance host from `serverUrl`). A transport adapter mounted for https:// rewrites every such URL
to the sandbox's http://127.0.0.1:PORT, so the client code runs unchanged.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

DEMO = {"username": "demo@funnelsync.local", "password": "demo", "security_token": "demo"}


class SandboxAdapter(HTTPAdapter):
    """Sends any https://<host>/path request to `base_url` + /path instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__(pool_connections=4, pool_maxsize=8)
        self.base_url = base_url.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def sandbox_session(base_url: str) -> requests.Session:
    session = requests.Session()
    session.mount("https://", SandboxAdapter(base_url))
    return session


def salesforce_client(base_url: str, **credentials: Any) -> Salesforce:
    """A logged-in client (SOAP login with the demo credentials unless others are given)."""
    creds = credentials or DEMO
    return Salesforce(session=sandbox_session(base_url), **creds)
