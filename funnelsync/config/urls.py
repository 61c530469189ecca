"""The checks URL keys share: an http(s) URL with a valid port, a state-store URL, and
whether a URL would carry credentials in clear text."""

from __future__ import annotations

import ipaddress
import re
from typing import overload
from urllib.parse import urlsplit

_HTTP_URL = re.compile(r"https?://[^/\s]+")


@overload
def check_http_url(value: str) -> str: ...
@overload
def check_http_url(value: None) -> None: ...
def check_http_url(value: str | None) -> str | None:
    """An http(s) URL with a host and, when given, a port from 1 to 65535; without its
    trailing slash."""
    if value is None:
        return None
    if not _HTTP_URL.match(value):
        raise ValueError("must start with https:// or http:// followed by a host")
    try:
        port = urlsplit(value).port
    except ValueError:
        port = 0
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("port must be from 1 to 65535")
    return value.rstrip("/")


def is_cleartext_remote(url: str | None) -> bool:
    """Whether ``url`` is plain ``http://`` to a host other than this machine (``localhost``
    or a loopback address such as 127.0.0.1 or ::1)."""
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme.lower() == "http" and not _is_loopback(parts.hostname or "")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


STATE_URL_EXAMPLES = "sqlite:///path/file.db or postgresql+psycopg://user@host/db"


def check_state_url(url: str) -> None:
    """A ValueError (which never repeats the URL: it may hold a password) unless ``url`` is a
    SQLite or PostgreSQL URL SQLAlchemy can parse, with a port from 1 to 65535."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise ValueError(f"is not a database URL; use {STATE_URL_EXAMPLES}") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {parsed.get_backend_name()!r}; "
                         f"use {STATE_URL_EXAMPLES}")
    if parsed.port is not None and not 1 <= parsed.port <= 65535:
        raise ValueError("port must be from 1 to 65535")


__all__ = ["STATE_URL_EXAMPLES", "check_http_url", "check_state_url", "is_cleartext_remote"]
