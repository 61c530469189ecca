"""The base of every config model: an unknown key is an error, a number is finite and a
loaded value is frozen; and the check every URL key shares."""

from __future__ import annotations

import re
from typing import overload
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

_HTTP_URL = re.compile(r"https?://[^/\s]+")


class StrictModel(BaseModel):
    """A config section or table: ``extra="forbid"`` turns a typo into an error; TOML's
    ``inf`` and ``nan`` are refused (a duration or limit must be a finite number)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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


__all__ = ["StrictModel", "check_http_url"]
