"""Salesforce auth modes, http:// override rewriting, and secrets kept out of messages."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from responses import matchers
from salesforce_fixtures import (
    API,
    INSTANCE,
    LEAD_FIELDS,
    LIMIT,
    LOGIN,
    PASSWORD,
    SESSION,
    SOAP_PATH,
    TOKEN,
    add_describe,
    add_soap_login,
    connector,
    password_config,
)

from funnelsync.config.models import SalesforceConfig
from funnelsync.errors import AuthError

TOKEN_OK = {"access_token": SESSION, "instance_url": INSTANCE,
            "id": "https://login.salesforce.com/id/00D5e/0055e", "token_type": "Bearer",
            "issued_at": "1732350000000", "signature": "c2ln"}


def bearer(request: object) -> str:
    return request.headers["Authorization"]  # type: ignore[attr-defined]


def test_soap_login_sends_username_and_password_with_token() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        sf = connector()
        assert sf.fields_for("Lead")[:3] == ["Id", "FirstName", "LastName"]
        login, describe = rsps.calls[0].request, rsps.calls[1].request
    assert login.headers["SOAPAction"] == "login"
    assert "<n1:username>dana@acme.test</n1:username>" in login.body
    assert f"<n1:password>{PASSWORD}{TOKEN}</n1:password>" in login.body
    assert bearer(describe) == f"Bearer {SESSION}"
    assert sf.usage.by_kind == {"login": 1, "describe": 1}
    assert (sf.usage.quota_used, sf.usage.quota_max) == (18, 100000)


def test_oauth_password_grant() -> None:
    config = password_config(consumer_key="3MVG9key", consumer_secret="consumer-SECRET-1")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add(responses.POST, f"{LOGIN}/services/oauth2/token", json=TOKEN_OK)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        connector(config).fields_for("Lead")
        form = parse_qs(rsps.calls[0].request.body)
    assert form == {"grant_type": ["password"], "client_id": ["3MVG9key"],
                    "client_secret": ["consumer-SECRET-1"], "username": ["dana@acme.test"],
                    "password": [PASSWORD + TOKEN]}


def test_client_credentials_use_my_domain_and_basic_auth() -> None:
    config = SalesforceConfig(consumer_key="3MVG9key", consumer_secret="consumer-SECRET-1",
                              domain="acme.my")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add(responses.POST, f"{INSTANCE}/services/oauth2/token", json=TOKEN_OK)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        connector(config).fields_for("Lead")
        request = rsps.calls[0].request
    expected = base64.b64encode(b"3MVG9key:consumer-SECRET-1").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert parse_qs(request.body) == {"grant_type": ["client_credentials"]}


def test_jwt_bearer_flow(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    (tmp_path / "server.key").write_bytes(pem)
    config = SalesforceConfig(username="dana@acme.test", consumer_key="3MVG9key",
                              privatekey_file=tmp_path / "server.key")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add(responses.POST, f"{LOGIN}/services/oauth2/token", json=TOKEN_OK)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        connector(config).fields_for("Lead")
        form = parse_qs(rsps.calls[0].request.body)
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    assert form["assertion"][0].count(".") == 2


def test_session_id_mode_makes_no_login_call() -> None:
    config = SalesforceConfig(session_id=SESSION, instance_url=INSTANCE)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_describe(rsps, "Lead", LEAD_FIELDS)
        sf = connector(config)
        sf.fields_for("Lead")
        assert bearer(rsps.calls[0].request) == f"Bearer {SESSION}"
    assert sf.usage.by_kind == {"describe": 1}


def test_http_login_url_rewrites_login_and_derived_instance() -> None:
    local = "http://127.0.0.1:8765"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        # the stand-in may name a real-looking instance host; it must still be reached locally
        add_soap_login(rsps, base=local, server=INSTANCE)
        add_describe(rsps, "Lead", LEAD_FIELDS, api=f"{local}/services/data/v59.0")
        connector(password_config(login_url=local)).fields_for("Lead")
        assert [c.request.url for c in rsps.calls] == [
            f"{local}{SOAP_PATH}", f"{local}/services/data/v59.0/sobjects/Lead/describe"]


def test_http_server_url_host_is_rewritten_back_to_http() -> None:
    local = "http://127.0.0.1:8765"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        # serverUrl on the stand-in itself: simple-salesforce turns it into https://127.0.0.1
        add_soap_login(rsps, base=local, server=local)
        add_describe(rsps, "Lead", LEAD_FIELDS, api=f"{local}/services/data/v59.0")
        connector(password_config(login_url=local)).fields_for("Lead")


def test_separate_http_instance_url_for_session_mode() -> None:
    local = "http://127.0.0.1:9001"
    config = SalesforceConfig(session_id=SESSION, instance_url=local)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_describe(rsps, "Lead", LEAD_FIELDS, api=f"{local}/services/data/v59.0")
        connector(config).fields_for("Lead")


def test_https_my_domain_login_url_is_passed_as_domain() -> None:
    config = password_config(login_url="https://acme.my.salesforce.com")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps, base=INSTANCE)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        connector(config).fields_for("Lead")


def test_rejected_login_is_an_auth_error_without_secrets(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    fault = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
             '"http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.'
             'sforce.com"><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode>'
             '<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user '
             'locked out.</faultstring><detail><sf:LoginFault><sf:exceptionCode>INVALID_LOGIN'
             '</sf:exceptionCode><sf:exceptionMessage>Invalid username, password, security '
             'token; or user locked out.</sf:exceptionMessage></sf:LoginFault></detail>'
             '</soapenv:Fault></soapenv:Body></soapenv:Envelope>')
    caplog.set_level(logging.DEBUG)
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add(responses.POST, f"{LOGIN}{SOAP_PATH}", body=fault, status=500)
        sf = connector()
        with pytest.raises(AuthError) as info:
            sf.fields_for("Lead")
    assert info.value.message == ("Salesforce login (password) was rejected: INVALID_LOGIN: "
                                  "Invalid username, password, security token; or user locked "
                                  "out.")
    text = str(info.value) + caplog.text + repr(sf) + repr(sf.config)
    for secret in (PASSWORD, TOKEN, SESSION):
        assert secret not in text


def test_login_retried_on_503_then_succeeds() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add(responses.POST, f"{LOGIN}{SOAP_PATH}", body="<html>Maintenance</html>",
                 status=503)
        add_soap_login(rsps)
        add_describe(rsps, "Lead", LEAD_FIELDS)
        sf = connector()
        sf.fields_for("Lead")
    assert sf.usage.retries == 1
    assert sf.usage.by_kind == {"login": 2, "describe": 1}


def test_error_bodies_echoing_the_session_are_scrubbed() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        add_soap_login(rsps)
        rsps.add(responses.GET, f"{API}/sobjects/Lead/describe", status=400,
                 json=[{"errorCode": "INVALID_TYPE", "message": f"bad header Bearer {SESSION}"}],
                 headers=LIMIT, match=[matchers.header_matcher(
                     {"Authorization": f"Bearer {SESSION}"})])
        with pytest.raises(Exception) as info:
            connector().fields_for("Lead")
    assert str(info.value) == ("Salesforce describe Lead: HTTP 400 INVALID_TYPE: bad header "
                               "Bearer *** (the request was rejected; this is not temporary, "
                               "check the message)")


def test_bare_soap_fault_names_the_fault_code() -> None:
    fault = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
             '<soapenv:Body><soapenv:Fault><faultcode>INVALID_LOGIN</faultcode><faultstring>'
             'INVALID_LOGIN: Invalid username, password, security token; or user locked out.'
             '</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>')
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        rsps.add(responses.POST, f"{LOGIN}{SOAP_PATH}", body=fault, status=500)
        with pytest.raises(AuthError) as info:
            connector().fields_for("Lead")
        assert len(rsps.calls) == 1  # rejected credentials are not retried
    assert info.value.message == ("Salesforce login (password) was rejected: INVALID_LOGIN: "
                                  "INVALID_LOGIN: Invalid username, password, security token; "
                                  "or user locked out.")
