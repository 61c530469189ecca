"""HubSpot auth: private-app token, OAuth refresh before expiry and once on 401, no leaks."""

from __future__ import annotations

import logging

import pytest
from hubspot_portal import BASE_MS, TOKEN, Portal, PortalServer, make_connector
from support.clock import FakeClock

from funnelsync.errors import AuthError

OAUTH = {"client_id": "client-abc", "client_secret": "csecret-XYZ-987",
         "refresh_token": "rtoken-QQQ-123"}


@pytest.fixture
def site(portal_server: PortalServer) -> tuple[Portal, str]:
    portal, host = portal_server.fresh()
    portal.oauth.update(OAUTH)
    for i in range(1, 251):
        portal.add("deals", i, BASE_MS + i)
    return portal, host


def oauth_connector(host: str, clock: FakeClock):
    return make_connector(host, clock, config=dict(OAUTH))


def test_private_app_token_is_sent_as_bearer(site):
    portal, host = site
    hs = make_connector(host, FakeClock())

    assert len(hs.stage_catalog()) == 2
    assert portal.calls()[0]["auth"] == f"Bearer {TOKEN}"
    assert portal.calls("POST", "/oauth/v1/token") == []


def test_oauth_refreshes_first_and_again_before_expiry(site):
    portal, host = site
    portal.tokens = set()
    clock = FakeClock()
    hs = oauth_connector(host, clock)

    hs.stage_catalog()
    clock.now += 1740  # 1800 s lifetime, refreshed 60 s early
    next(hs.iter_pages("deals"))

    refreshes = portal.calls("POST", "/oauth/v1/token")
    assert [r["form"] for r in refreshes] == [{"grant_type": "refresh_token", **OAUTH}] * 2
    used = [c["auth"] for c in portal.calls("GET")]
    assert used == ["Bearer oauth-access-1-SECRETVALUE", "Bearer oauth-access-2-SECRETVALUE"]
    assert hs.usage.by_kind == {"auth": 2, "pipelines": 1, "list": 1}


def test_oauth_token_rejected_mid_pull_is_refreshed_once_and_the_page_repeated(site):
    portal, host = site
    portal.tokens = set()
    portal.oauth["revoke_old"] = True
    hs = oauth_connector(host, FakeClock())
    pages = hs.iter_pages("deals")

    first = next(pages)
    portal.tokens = set()  # the access token is revoked server-side
    rest = list(pages)

    assert [len(p.records) for p in [first, *rest]] == [100, 100, 50, 0]
    lists = portal.calls("GET", "/crm/v3/objects/deals")
    assert [c["args"].get("after") for c in lists] == [None, ["101"], ["101"], ["201"], None]
    assert len(portal.calls("POST", "/oauth/v1/token")) == 2
    assert hs.usage.api_calls == 8  # 2 token + catalog + 5 list attempts


def test_oauth_second_401_after_refresh_is_an_auth_error(site):
    portal, host = site
    portal.tokens = set()
    hs = oauth_connector(host, FakeClock())
    hs.stage_catalog()
    portal.fail_next("/crm/v3/objects/deals", 401, {"status": "error", "message": "expired",
                                                    "category": "INVALID_AUTHENTICATION"},
                     times=2)

    with pytest.raises(AuthError) as caught:
        next(hs.iter_pages("deals"))

    assert "HTTP 401 INVALID_AUTHENTICATION" in str(caught.value)
    assert len(portal.calls("POST", "/oauth/v1/token")) == 2


def test_refused_refresh_token_is_an_auth_error(site):
    portal, host = site
    portal.oauth["refresh_token"] = "another"
    hs = oauth_connector(host, FakeClock())

    with pytest.raises(AuthError) as caught:
        hs.stage_catalog()

    assert str(caught.value) == (
        "HubSpot refused the OAuth refresh (HTTP 400 invalid_grant) (re-authorise the app and "
        "update hubspot.refresh_token (and check client_id / client_secret))")
    assert portal.calls("GET") == []


def test_private_app_token_rejected_is_an_auth_error_without_the_token(site):
    portal, host = site
    portal.tokens = {"another-token"}
    hs = make_connector(host, FakeClock())

    with pytest.raises(AuthError) as caught:
        hs.stage_catalog()

    text = str(caught.value)
    assert text.startswith("read HubSpot deal pipelines: HTTP 401 INVALID_AUTHENTICATION")
    assert TOKEN not in text
    assert caught.value.__cause__ is None


def test_no_secret_reaches_logs_errors_or_reprs(site, caplog):
    portal, host = site
    portal.tokens = set()
    portal.oauth["revoke_old"] = True
    caplog.set_level(logging.DEBUG)
    hs = oauth_connector(host, FakeClock())
    pages = hs.iter_pages("deals")
    next(pages)
    portal.tokens = set()
    list(pages)
    portal.oauth["refresh_token"] = "rotated-away"
    portal.tokens = set()
    with pytest.raises(AuthError) as caught:
        hs.owners()

    secrets = ["SECRETVALUE", OAUTH["client_secret"], OAUTH["refresh_token"]]
    exposed = [caplog.text, str(caught.value), repr(hs), repr(hs._http), repr(hs.config)]
    assert [s for s in secrets for text in exposed if s in text] == []
