"""Bad answers from the other side are remote failures, never tracebacks: an HTML page (even
with status 200), JSON cut off, or JSON of the wrong shape, from any Salesforce or HubSpot call.
HTML pages and cut-off JSON are retried (the retry table says so), the wrong shape is not; then
a RemoteError names the call, and the CLI exits 4 with one line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import responses
from click.testing import CliRunner
from hubspot_portal import make_connector
from pytest_httpserver import HTTPServer
from salesforce_fixtures import (
    API,
    LEAD_FIELDS,
    LIMIT,
    LOGIN,
    SOAP_PATH,
    add_describe,
    add_soap_login,
    connector,
)
from support.clock import FakeClock

from funnelsync.cli.main import main
from funnelsync.connectors.decode import BadResponse, decode_json
from funnelsync.errors import RemoteError

PORTAL_PAGE = ("<!DOCTYPE html><html><head><title>Sign in | Corporate Proxy</title></head>"
               "<body>Please sign in</body></html>")
HTML_ANSWER = ("HTTP 200 HTML_PAGE: an HTML page ('Sign in | Corporate Proxy') instead of the "
               "API's JSON answer (a proxy, portal or maintenance page?)")
CUT_OFF = '{"totalSize": 3, "done": true, "records": [{"Id": "00Q1"'


# -- decoding ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "content_type", "code", "message"), [
    (PORTAL_PAGE.encode(), "text/html; charset=utf-8", "HTML_PAGE",
     "an HTML page ('Sign in | Corporate Proxy') instead of the API's JSON answer (a proxy, "
     "portal or maintenance page?)"),
    (b"  <html><body>503</body></html>", "application/json", "HTML_PAGE",
     "an HTML page instead of the API's JSON answer (a proxy, portal or maintenance page?)"),
    (CUT_OFF.encode(), "application/json", "BAD_JSON",
     "the answer is not valid JSON (56 bytes; cut off or not JSON)"),
])
def test_decode_json_names_what_the_answer_was(body: bytes, content_type: str, code: str,
                                               message: str) -> None:
    with pytest.raises(BadResponse) as caught:
        decode_json(body, content_type, 200)
    assert (caught.value.code, caught.value.message, caught.value.status) == (code, message, 200)


# -- Salesforce (responses) -------------------------------------------------------------------
def test_a_salesforce_login_answered_by_an_html_page_is_retried_then_a_remote_error() -> None:
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{LOGIN}{SOAP_PATH}", body=PORTAL_PAGE, status=200,
                 content_type="text/html")
        with pytest.raises(RemoteError) as caught:
            connector().fields_for("Lead")
        attempts = len(rsps.calls)
    assert attempts == 6
    assert str(caught.value) == (
        f"Salesforce login (password) failed after 6 attempt(s) over 23s: {HTML_ANSWER}; "
        "giving up (the service kept failing for 30s (limits.max_retry_seconds); run again "
        "later)")


@pytest.mark.parametrize(("body", "retried", "summary"), [
    (CUT_OFF, True, "HTTP 200 BAD_JSON: the answer is not valid JSON (56 bytes; cut off or "
                    "not JSON)"),
    ('{"totalSize": 3, "done": true}', False,
     "HTTP 200 BAD_SHAPE: the answer is JSON of the wrong shape: a query answer needs records "
     "(a list of objects) and done"),
    ('{"totalSize": 3, "done": false, "records": []}', False,
     "HTTP 200 BAD_SHAPE: the answer is JSON of the wrong shape: a query answer that is not "
     "done needs nextRecordsUrl"),
    ('{"totalSize": 1, "done": true, "records": ["00Q1"]}', False,
     "HTTP 200 BAD_SHAPE: the answer is JSON of the wrong shape: a query answer needs records "
     "(a list of objects) and done"),
    (PORTAL_PAGE, True, HTML_ANSWER),
])
def test_a_salesforce_query_with_a_bad_answer_is_a_remote_error_naming_the_call(
        body: str, retried: bool, summary: str) -> None:
    with responses.RequestsMock() as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        rsps.add(responses.GET, f"{API}/queryAll/", body=body, status=200, headers=LIMIT,
                 content_type="application/json")
        with pytest.raises(RemoteError) as caught:
            list(connector().iter_pages("leads"))
        queries = len([c for c in rsps.calls if "/queryAll/" in c.request.url])
    if retried:
        assert (queries, str(caught.value)) == (6, (
            f"Salesforce query Lead failed after 6 attempt(s) over 23s: {summary}; giving up "
            "(the service kept failing for 30s (limits.max_retry_seconds); run again later)"))
    else:
        assert (queries, caught.value.message) == (1, f"Salesforce query Lead: {summary}")


@pytest.mark.parametrize(("method", "path", "body", "call", "what"), [
    ("GET", "/sobjects/Lead/describe", '[{"name": "Id"}]', "describe Lead",
     "a describe answer needs fields (a list of objects)"),
    ("GET", "/limits/", '["DailyApiRequests"]', "read org limits",
     "the answer must be a JSON object"),
])
def test_salesforce_metadata_calls_check_the_shape(method: str, path: str, body: str,
                                                   call: str, what: str) -> None:
    with responses.RequestsMock() as rsps:
        add_soap_login(rsps)
        rsps.add(method, f"{API}{path}", body=body, status=200, headers=LIMIT,
                 content_type="application/json")
        sf = connector()
        with pytest.raises(RemoteError) as caught:
            sf.describe("Lead") if "describe" in path else sf.org_limits()
    assert caught.value.message == (
        f"Salesforce {call}: HTTP 200 BAD_SHAPE: the answer is JSON of the wrong shape: {what}")


# -- HubSpot (pytest-httpserver, urllib3) -------------------------------------------------------
PIPELINES = "/crm/v3/pipelines/deals"
SINCE = datetime(2026, 11, 20, tzinfo=UTC)


def test_a_hubspot_html_page_with_status_200_is_retried_then_a_remote_error(
        httpserver: HTTPServer) -> None:
    httpserver.expect_request(PIPELINES).respond_with_data(PORTAL_PAGE, 200,
                                                           content_type="text/html")
    hs = make_connector(httpserver.url_for("").rstrip("/"), FakeClock())
    with pytest.raises(RemoteError) as caught:
        hs.stage_catalog()
    assert len(httpserver.log) == 9
    assert str(caught.value) == (
        f"read HubSpot deal pipelines failed after 9 attempt(s) over 46s: {HTML_ANSWER}; "
        "giving up (the service kept failing for 60s (limits.max_retry_seconds); run again "
        "later)")


@pytest.mark.parametrize(("body", "attempts", "summary"), [
    ('{"results": [{"id": "default", "stages": [', 9,
     "HTTP 200 BAD_JSON: the answer is not valid JSON (42 bytes; cut off or not JSON)"),
    ('{"results": "default"}', 1,
     "HTTP 200 BAD_SHAPE: the answer is JSON of the wrong shape: results must be a list of "
     "objects"),
    ('{"status": "ok"}', 1,
     "HTTP 200 BAD_SHAPE: the answer is JSON of the wrong shape: results must be a list of "
     "objects"),
    ('{"results": [], "paging": {"next": "2"}}', 1,
     "HTTP 200 BAD_SHAPE: the answer is JSON of the wrong shape: paging must be an object with "
     "next.after"),
    ('"ok"', 1, "HTTP 200 BAD_SHAPE: the answer is JSON of the wrong shape: an answer must be "
                "a JSON object or list"),
])
def test_a_hubspot_answer_cut_off_or_of_the_wrong_shape_is_a_remote_error(
        httpserver: HTTPServer, body: str, attempts: int, summary: str) -> None:
    httpserver.expect_request(PIPELINES).respond_with_data(body, 200,
                                                           content_type="application/json")
    hs = make_connector(httpserver.url_for("").rstrip("/"), FakeClock())
    with pytest.raises(RemoteError) as caught:
        hs.stage_catalog()
    assert len(httpserver.log) == attempts
    assert summary in str(caught.value)
    assert str(caught.value).startswith("read HubSpot deal pipelines")


def test_a_hubspot_token_answer_without_a_token_is_a_remote_error(
        httpserver: HTTPServer) -> None:
    httpserver.expect_request("/oauth/v1/token", method="POST").respond_with_json(
        {"token_type": "bearer"})
    hs = make_connector(httpserver.url_for("").rstrip("/"), FakeClock(),
                        config={"client_id": "c", "client_secret": "s-secret",
                                "refresh_token": "r-secret"})
    with pytest.raises(RemoteError) as caught:
        hs.stage_catalog()
    assert caught.value.message == (
        "HubSpot OAuth token refresh: HTTP 200 BAD_SHAPE: the answer is JSON of the wrong "
        "shape: a token answer needs access_token (and a numeric expires_in)")


# -- the command line -------------------------------------------------------------------------
def config_file(tmp_path: Path, crm: str) -> str:
    path = tmp_path / "c.toml"
    path.write_text(f'{crm}[state]\nurl = "sqlite:///{tmp_path / "s.db"}"\n'
                    "[limits]\nmax_retry_seconds = 0.001\n", encoding="utf-8")
    return str(path)


def test_pull_exits_4_with_one_line_when_hubspot_answers_an_html_page(
        httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request(PIPELINES).respond_with_data(PORTAL_PAGE, 200,
                                                           content_type="text/html")
    host = httpserver.url_for("").rstrip("/")
    path = config_file(tmp_path, f'[hubspot]\naccess_token = "pat-x"\nhost = "{host}"\n')
    result = CliRunner().invoke(main, ["pull", "-c", path, "--source", "hubspot"])
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == (
        f"error: read HubSpot deal pipelines failed after 1 attempt(s) over 0s: {HTML_ANSWER}; "
        "giving up (the service kept failing for 0s (limits.max_retry_seconds); run again "
        "later)\n")


def test_pull_exits_4_with_one_line_when_the_salesforce_login_is_an_html_page(
        tmp_path: Path) -> None:
    path = config_file(tmp_path, '[salesforce]\nusername = "u@acme.test"\npassword = "pw"\n'
                                 'security_token = "tok"\n')
    with responses.RequestsMock() as rsps:
        rsps.add(responses.POST, f"{LOGIN}{SOAP_PATH}", body=PORTAL_PAGE, status=200,
                 content_type="text/html")
        result = CliRunner().invoke(main, ["pull", "-c", path, "--source", "salesforce"])
    assert (result.exit_code, result.stdout) == (4, "")
    assert result.stderr == (
        f"error: Salesforce login (password) failed after 1 attempt(s) over 0s: {HTML_ANSWER}; "
        "giving up (the service kept failing for 0s (limits.max_retry_seconds); run again "
        "later)\n")


@pytest.mark.parametrize(("method", "path", "read", "call"), [
    ("POST", "/crm/v3/objects/contacts/search",
     lambda hs: list(hs.iter_pages("leads", since=SINCE)), "search HubSpot contacts"),
    ("GET", "/crm/v3/owners/", lambda hs: hs.owners(), "list HubSpot owners"),
    ("GET", "/crm/v3/objects/contacts", lambda hs: list(hs.iter_pages("leads")),
     "list HubSpot contacts (live)"),
])
def test_every_hubspot_read_needs_its_results(httpserver: HTTPServer, method: str, path: str,
                                              read: object, call: str) -> None:
    httpserver.expect_request(path, method=method).respond_with_json({"total": 0})
    hs = make_connector(httpserver.url_for("").rstrip("/"), FakeClock())
    with pytest.raises(RemoteError) as caught:
        read(hs)  # type: ignore[operator]
    assert caught.value.message == (
        f"{call}: HTTP 200 BAD_SHAPE: the answer is JSON of the wrong shape: results must be a "
        "list of objects")
