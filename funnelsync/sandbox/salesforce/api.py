"""Salesforce read surface: SOAP/OAuth login, versions, limits, describe, query/queryAll paging.

Writes are in `write` and `collections`, Bulk 2.0 in `bulk`. Errors are Salesforce's JSON lists
(`[{"message": ..., "errorCode": ...}]`) via `sf_error`.
"""

from __future__ import annotations

import base64
import html
import re
import secrets
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs

from funnelsync.sandbox.common import DAY_MS, Request, Response, dumps, json_response, sf_id
from funnelsync.sandbox.data.salesforce import ORG_AGE_DAYS, ORG_ID
from funnelsync.sandbox.salesforce import soql
from funnelsync.sandbox.salesforce.schema import FIELDS, describe_global, describe_object
from funnelsync.sandbox.state import SandboxState

USERNAME, PASSWORD, TOKEN = "demo@funnelsync.local", "demo", "demo"
CONSUMER_KEY, CONSUMER_SECRET = "funnelsync-demo", "demo-secret"
API_USER_NUMBER = 1  # the demo login is the first User
VERSIONS = ("57.0", "58.0", "59.0", "60.0", "61.0", "62.0")
SCHEMA = {obj: {f.name: f.type for f in fields} for obj, fields in FIELDS.items()}
REFERENCES = {obj: {f.name: f.reference_to for f in fields if f.reference_to}
              for obj, fields in FIELDS.items()}
OBJECT_NAMES = {name.lower(): name for name in FIELDS}
MAX_CURSORS = 500
_XML_FIELD = r"<(?:\w+:)?{0}>(.*?)</(?:\w+:)?{0}>"
_INVALID_LOGIN = "Invalid username, password, security token; or user locked out."


def sf_error(status: int, code: str, message: str) -> Response:
    return json_response(status, [{"message": message, "errorCode": code}])


def not_found() -> Response:
    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")


def api_user_id() -> str:
    return sf_id("005", API_USER_NUMBER)


# -- login ------------------------------------------------------------------------------------
def soap_login(state: SandboxState, req: Request, m: re.Match) -> Response:
    body = req.body.decode("utf-8", "replace")
    user = re.search(_XML_FIELD.format("username"), body, re.S)
    pwd = re.search(_XML_FIELD.format("password"), body, re.S)
    if not (user and pwd and html.unescape(user.group(1)) == USERNAME
            and html.unescape(pwd.group(1)) == PASSWORD + TOKEN):
        return Response(500, _soap_fault(), "text/xml;charset=UTF-8")
    session = state.new_sf_session()
    host = req.headers.get("host", "127.0.0.1")
    server_url = f"https://{host}/services/Soap/u/{m['v']}/{ORG_ID[:15]}"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="urn:partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse>'
        f"<result><metadataServerUrl>{server_url}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{server_url}</serverUrl><sessionId>{session}</sessionId>"
        f"<userId>{api_user_id()}</userId><userInfo><organizationId>{ORG_ID}</organizationId>"
        f"<userName>{USERNAME}</userName></userInfo></result>"
        "</loginResponse></soapenv:Body></soapenv:Envelope>"
    )
    return Response(200, xml.encode(), "text/xml;charset=UTF-8")


def _soap_fault() -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: {_INVALID_LOGIN}"
        '</faultstring><detail><sf:LoginFault xsi:type="sf:LoginFault">'
        "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"
        f"<sf:exceptionMessage>{_INVALID_LOGIN}</sf:exceptionMessage></sf:LoginFault>"
        "</detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    ).encode()


def oauth_token(state: SandboxState, req: Request, m: re.Match) -> Response:
    form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
    grant = form.get("grant_type")
    key, secret = _client_credentials(req, form)
    if grant == "password":
        ok = (key, secret) == (CONSUMER_KEY, CONSUMER_SECRET) and form.get("username") == USERNAME \
            and form.get("password") in (PASSWORD, PASSWORD + TOKEN)
    elif grant == "client_credentials":
        ok = (key, secret) == (CONSUMER_KEY, CONSUMER_SECRET)
    else:
        return json_response(400, {"error": "unsupported_grant_type",
                                   "error_description": "grant type not supported"})
    if not ok:
        return json_response(400, {"error": "invalid_grant",
                                   "error_description": "authentication failure"})
    url = f"http://{req.headers.get('host', '127.0.0.1')}"
    issued = str(int(state.clock() * 1000))
    return json_response(200, {
        "access_token": state.new_sf_session(), "instance_url": url,
        "id": f"{url}/id/{ORG_ID}/{api_user_id()}", "token_type": "Bearer",
        "issued_at": issued, "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
    })


def _client_credentials(req: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    auth = req.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        try:
            key, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None, None
        return key, secret
    return form.get("client_id"), form.get("client_secret")


def authorized(state: SandboxState, req: Request) -> bool:
    auth = req.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return scheme.lower() in ("bearer", "oauth") and state.sf_session_ok(token.strip())


def invalid_session() -> Response:
    return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")


# -- metadata ---------------------------------------------------------------------------------
def versions(state: SandboxState, req: Request, m: re.Match) -> Response:
    return json_response(200, [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v}
                               for v in VERSIONS])


def resources(state: SandboxState, req: Request, m: re.Match) -> Response:
    base = f"/services/data/v{m['v']}"
    names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
    return json_response(200, {name: f"{base}/{name}" for name in names})


def limits(state: SandboxState, req: Request, m: re.Match) -> Response:
    cap = state.faults.daily_limit
    used = state.counters["salesforce"].api_calls
    return json_response(200, {
        "DailyApiRequests": {"Max": cap, "Remaining": max(0, cap - used)},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000 - len(state.bulk_jobs)},
        "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
    })


def sobjects(state: SandboxState, req: Request, m: re.Match) -> Response:
    return json_response(200, describe_global(m["v"]))


def describe(state: SandboxState, req: Request, m: re.Match) -> Response:
    """An object's describe; ``304 Not Modified`` (no body) when ``If-Modified-Since`` names a
    time at or after the object's last metadata change, as Salesforce documents."""
    name = OBJECT_NAMES.get(m["obj"].lower())
    if name is None:
        return sf_error(404, "NOT_FOUND", f"The requested resource does not exist: {m['obj']}")
    since = _http_date_ms(req.headers.get("if-modified-since"))
    if since is not None and metadata_changed_ms(state, name) // 1000 <= since // 1000:
        return Response(304)
    return json_response(200, describe_object(name, m["v"]))


def metadata_changed_ms(state: SandboxState, obj: str) -> int:
    """When an admin last changed ``obj``'s metadata (fields, picklist values), epoch ms."""
    return state.sf_metadata_changed.get(obj, state.data.now_ms - ORG_AGE_DAYS * DAY_MS)


def _http_date_ms(value: str | None) -> int | None:
    """An HTTP date (``Wed, 03 Jul 2013 19:43:31 GMT``) in epoch ms; None if absent or bad."""
    if not value:
        return None
    try:
        return int(parsedate_to_datetime(value).timestamp() * 1000)
    except (TypeError, ValueError):
        return None


# -- query ------------------------------------------------------------------------------------
@dataclass
class Cursor:
    cid: str
    compiled: soql.Compiled
    rows: list[dict]
    total: int
    batch: int
    endpoint: str
    used_at: float = 0.0  # the sandbox clock when a page of it was last served

    @property
    def open(self) -> bool:
        """Whether the query has a next page: only those hold a locator."""
        return len(self.rows) > self.batch


def batch_size(req: Request) -> int:
    options = req.headers.get("sforce-query-options", "")
    found = re.search(r"batchSize\s*=\s*(\d+)", options)
    return min(2000, max(200, int(found.group(1)))) if found else 2000


def compile_soql(state: SandboxState, text: str, version: str) -> soql.Compiled:
    key = ("soql", text, version)
    compiled = state.cache.get(key)
    if compiled is None:
        compiled = soql.compile(text, SCHEMA, state.by_id.get, references=REFERENCES,
                                api_version=version)
        state.cache[key] = compiled
    return compiled  # type: ignore[return-value]


def visible_rows(state: SandboxState, obj: str, include_deleted: bool) -> list[dict]:
    rows = state.data.sf[obj].values()
    if include_deleted:
        return list(rows)
    return [r for r in rows if not r.get("IsDeleted")]


def query(state: SandboxState, req: Request, m: re.Match) -> Response:
    text = req.arg("q")
    if not text:
        return sf_error(400, "MALFORMED_QUERY", "A query string has to be specified")
    endpoint, batch = m["kind"], batch_size(req)
    with state.lock:
        key = ("query", text, endpoint, batch, m["v"], state.version)
        cursor = _live_cursor(state, state.cache.get(key, ""))  # type: ignore[arg-type]
        if cursor is None:
            try:
                cursor = _new_cursor(state, text, endpoint, batch, m["v"])
            except soql.SoqlError as exc:
                return sf_error(400, exc.error_code, exc.message)
            state.cache[key] = cursor.cid
        return _page(state, cursor, 0, m["v"])  # type: ignore[arg-type]


def _new_cursor(state: SandboxState, text: str, endpoint: str, batch: int,
                version: str) -> Cursor:
    compiled = compile_soql(state, text, version)
    records = visible_rows(state, compiled.obj, endpoint == "queryAll")
    if compiled.count_only:
        rows, total = [], compiled.count(records)
    else:
        rows = compiled.select(records)
        total = len(rows)
    cid = f"01g5g{secrets.token_hex(6)[:11]}AAA"
    cursor = Cursor(cid, compiled, rows, total, batch, endpoint)
    state.cursors[cid] = cursor
    while len(state.cursors) > MAX_CURSORS:
        state.cursors.pop(next(iter(state.cursors)))
    _release_oldest(state)
    return cursor


def _release_oldest(state: SandboxState) -> None:
    """Salesforce keeps a user's ten newest open cursors (``max_cursors``) and releases the
    oldest: following a released one's locator answers INVALID_QUERY_LOCATOR."""
    limit = state.faults.max_cursors
    if limit <= 0:
        return
    open_ids = [cid for cid, c in state.cursors.items() if c.open]  # type: ignore[attr-defined]
    for cid in open_ids[:max(0, len(open_ids) - limit)]:
        del state.cursors[cid]


def _live_cursor(state: SandboxState, cid: str) -> Cursor | None:
    """The cursor ``cid`` unless it was released or has gone unused longer than
    ``locator_ttl`` seconds (Salesforce: 15 minutes of inactivity); an expired one is dropped."""
    cursor: Cursor | None = state.cursors.get(cid)  # type: ignore[assignment]
    ttl = state.faults.locator_ttl
    if cursor is not None and ttl > 0 and state.clock() - cursor.used_at > ttl:
        del state.cursors[cid]
        return None
    return cursor


def query_more(state: SandboxState, req: Request, m: re.Match) -> Response:
    """The page of a query at its locator; Salesforce's 400 INVALID_QUERY_LOCATOR when the
    locator is unknown, expired or released."""
    with state.lock:
        cursor = _live_cursor(state, m["cid"])
        if cursor is None:
            return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return _page(state, cursor, int(m["offset"]), m["v"])


def _page(state: SandboxState, cursor: Cursor, offset: int, version: str) -> Response:
    cursor.used_at = state.clock()

    def build() -> bytes:
        chunk = cursor.rows[offset: offset + cursor.batch]
        end = offset + len(chunk)
        project = cursor.compiled.project
        page: dict[str, object] = {"totalSize": cursor.total, "done": end >= len(cursor.rows)}
        if end < len(cursor.rows):
            page["nextRecordsUrl"] = (
                f"/services/data/v{version}/{cursor.endpoint}/{cursor.cid}-{end}")
        page["records"] = [project(r) for r in chunk]
        return dumps(page)

    return Response(200, state.page(("sf_page", cursor.cid, offset, version), build))


def get_record(state: SandboxState, req: Request, m: re.Match) -> Response:
    obj = OBJECT_NAMES.get(m["obj"].lower())
    if obj is None:
        return not_found()
    with state.lock:
        row = state.data.sf[obj].get(m["id"])
        if row is None or row.get("IsDeleted"):
            return not_found()
        wanted = req.arg("fields")
        names = [f.name for f in FIELDS[obj]]
        if wanted:
            lower = {n.lower(): n for n in names}
            names = [lower[w.strip().lower()] for w in wanted.split(",")
                     if w.strip().lower() in lower]
        url = f"/services/data/v{m['v']}/sobjects/{obj}/{m['id']}"
        out: dict[str, object] = {"attributes": {"type": obj, "url": url}}
        out.update({n: row.get(n) for n in names})
        return json_response(200, out)
