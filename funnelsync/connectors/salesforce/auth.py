"""Turning a SalesforceConfig into simple-salesforce constructor arguments, per auth mode.

Overrides: a ``login_url`` / ``instance_url`` on a Salesforce https host is passed the
ordinary way (``domain``, ``instance_url``); anything else (``http://127.0.0.1:PORT``, a proxy)
is reached by rewriting URLs in the transport (see salesforce_transport.HostRewrite).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from funnelsync.config.models import SalesforceConfig
from funnelsync.connectors.salesforce.transport import HostRewrite, is_salesforce_host
from funnelsync.errors import ConfigError

# client credentials need a My Domain; behind a rewritten login_url any name will do
_PLACEHOLDER_DOMAIN = "funnelsync-local.my"


def _host(url: str | None) -> str:
    return (urlsplit(url).hostname or "") if url else ""


def _rewritten(url: str | None) -> str | None:
    """The override when it must be reached by rewriting (not a Salesforce https host)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "https" and is_salesforce_host(parts.hostname or ""):
        return None
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def login_domain(config: SalesforceConfig) -> str:
    """The ``domain`` simple-salesforce logs in at (``https://{domain}.salesforce.com``)."""
    host = _host(config.login_url)
    if config.login_url and _rewritten(config.login_url) is None:
        return host.removesuffix(".salesforce.com")
    if config.auth_mode() == "client_credentials" and config.domain in ("login", "test"):
        return _PLACEHOLDER_DOMAIN
    return config.domain


def host_rewrite(config: SalesforceConfig) -> HostRewrite:
    return HostRewrite(login_host=f"{login_domain(config)}.salesforce.com",
                       login_base=_rewritten(config.login_url),
                       instance_base=_rewritten(config.instance_url))


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def client_kwargs(config: SalesforceConfig) -> dict[str, Any]:
    """Keyword arguments for ``simple_salesforce.Salesforce`` (without ``session``)."""
    mode = config.auth_mode()
    common: dict[str, Any] = {"version": config.api_version, "domain": login_domain(config)}
    if mode == "session":
        return {"version": config.api_version, "session_id": _secret(config.session_id),
                "instance_url": config.instance_url}
    if mode == "password":
        return {**common, "username": config.username, "password": _secret(config.password),
                "security_token": _secret(config.security_token)}
    if mode == "oauth_password":
        # the OAuth password grant wants the token appended too, unless the IP is trusted
        password = (_secret(config.password) or "") + (_secret(config.security_token) or "")
        return {**common, "username": config.username, "password": password,
                "consumer_key": config.consumer_key,
                "consumer_secret": _secret(config.consumer_secret)}
    if mode == "jwt":
        assert config.privatekey_file is not None
        check_private_key(config.privatekey_file)
        return {**common, "username": config.username, "consumer_key": config.consumer_key,
                "privatekey_file": str(config.privatekey_file)}
    return {**common, "consumer_key": config.consumer_key,
            "consumer_secret": _secret(config.consumer_secret)}


def check_private_key(path: Path) -> None:
    """A ConfigError naming ``salesforce.privatekey_file`` unless ``path`` can be read and holds
    a PEM private key without a passphrase (what the JWT bearer flow signs with)."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    hint = "point salesforce.privatekey_file at the connected app's PEM private key"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"salesforce.privatekey_file {path}: cannot read it: "
                          f"{exc.strerror or exc}", hint=hint) from None
    try:
        load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigError(f"salesforce.privatekey_file {path}: not a PEM private key without "
                          "a passphrase", hint=hint) from None


def secrets_of(config: SalesforceConfig) -> list[str]:
    """Every secret value in the config, for scrubbing messages."""
    values = [_secret(config.password), _secret(config.security_token),
              _secret(config.consumer_secret), _secret(config.session_id)]
    if config.password is not None and config.security_token is not None:
        values.append(_secret(config.password) + _secret(config.security_token))  # type: ignore[operator]
    return [v for v in values if v]
