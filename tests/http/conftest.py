"""Fixtures shared by the HTTP-level tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot_portal import PortalServer


@pytest.fixture(scope="module")
def portal_server() -> Iterator[PortalServer]:
    """One fake HubSpot portal server per test module (each test takes a fresh portal)."""
    server = PortalServer()
    yield server
    server.stop()
