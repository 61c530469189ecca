"""Decoding a CRM's answer: JSON that is really the API's, or a ``BadResponse``.

Between funnelsync and a CRM sit proxies, portals and load balancers. They answer with an HTML
page (sometimes with status 200), cut a body short, or a misconfigured host answers JSON of
another shape. Each transport decodes every successful answer through ``decode_json`` and
checks its shape; what fails is a ``BadResponse`` carrying a code the retry table
(``connectors.http.RULES``) knows:

- ``HTML_PAGE``: an HTML page where the API sends JSON (a proxy, captive portal or maintenance
  page; these pass, so the call is retried);
- ``BAD_JSON``: a body that is not JSON, or JSON cut off (retried: the connection dropped);
- ``BAD_SHAPE``: valid JSON of the wrong shape (not retried: the same server gives the same
  answer).
"""

from __future__ import annotations

import json
import re
from typing import Any

HTML_PAGE = "HTML_PAGE"
BAD_JSON = "BAD_JSON"
BAD_SHAPE = "BAD_SHAPE"

_TITLE = re.compile(rb"<title[^>]*>([^<]{0,200})", re.IGNORECASE)
_HTML_START = (b"<!doctype html", b"<html", b"<head", b"<body")


class BadResponse(Exception):
    """An answer the API would never give; ``code`` is one of HTML_PAGE, BAD_JSON, BAD_SHAPE.
    The message describes the answer, never its content beyond an HTML page's title."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def is_html(body: bytes, content_type: str | None) -> bool:
    """Whether an answer is an HTML page (by its Content-Type or its first bytes)."""
    if "html" in (content_type or "").lower():
        return True
    return body[:512].lstrip().lower().startswith(_HTML_START)


def html_page(body: bytes, status: int | None) -> BadResponse:
    """The BadResponse for an HTML page, naming its title when it has one."""
    found = _TITLE.search(body[:4096])
    title = " ".join(found.group(1).decode("utf-8", "replace").split())[:80] if found else ""
    named = f" ({title!r})" if title else ""
    return BadResponse(HTML_PAGE, f"an HTML page{named} instead of the API's JSON answer "
                                  "(a proxy, portal or maintenance page?)", status)


def decode_json(body: bytes, content_type: str | None, status: int | None = None) -> Any:
    """The parsed JSON of an answer; BadResponse for an HTML page or a body that is not
    whole JSON."""
    if is_html(body, content_type):
        raise html_page(body, status)
    try:
        return json.loads(body)
    except ValueError:
        raise BadResponse(BAD_JSON, f"the answer is not valid JSON ({len(body)} bytes; cut "
                                    "off or not JSON)", status) from None


def bad_shape(what: str, status: int | None = None) -> BadResponse:
    """The BadResponse for JSON that is not shaped as the API documents it."""
    return BadResponse(BAD_SHAPE, f"the answer is JSON of the wrong shape: {what}", status)


def require(condition: bool, what: str, status: int | None = None) -> None:
    """A BAD_SHAPE BadResponse saying ``what`` was expected unless ``condition`` holds."""
    if not condition:
        raise bad_shape(what, status)


def is_list_of_objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


__all__ = ["BAD_JSON", "BAD_SHAPE", "HTML_PAGE", "BadResponse", "bad_shape", "decode_json",
           "html_page", "is_html", "is_list_of_objects", "require"]
