"""The sandbox's routing table: method, path pattern, CRM, request kind, handler."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from funnelsync.sandbox.common import Request, Response
from funnelsync.sandbox.hubspot import currencies as hs_currencies
from funnelsync.sandbox.hubspot import gdpr as hs_gdpr
from funnelsync.sandbox.hubspot import meta as hs_meta
from funnelsync.sandbox.hubspot import objects as hubspot
from funnelsync.sandbox.hubspot import search as hs_search
from funnelsync.sandbox.salesforce import api as salesforce
from funnelsync.sandbox.salesforce import bulk as sf_bulk
from funnelsync.sandbox.salesforce import collections as sf_collections
from funnelsync.sandbox.salesforce import composite as sf_composite
from funnelsync.sandbox.salesforce import write as sfw
from funnelsync.sandbox.state import SandboxState

Handler = Callable[[SandboxState, Request, re.Match], Response]


@dataclass(frozen=True)
class Route:
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    crm: str  # salesforce | hubspot | control
    kind: str  # counted per kind in /__sandbox/stats
    handler: Handler
    auth: bool = True  # False: login endpoints, never faulted nor counted as API calls
    row_faults: bool = False  # injected faults may hit single rows (UNABLE_TO_LOCK_ROW)


def _r(methods: str, path: str, crm: str, kind: str, handler: Handler, **kw: bool) -> Route:
    return Route(tuple(methods.split()), re.compile(path + r"/?$"), crm, kind, handler, **kw)


_V = r"^/services/data/v(?P<v>\d+\.\d+)"
_O = r"^/crm/v3/objects/(?P<obj>[\w-]+)"
SF, HS = "salesforce", "hubspot"

ROUTES: tuple[Route, ...] = (
    _r("GET POST", r"^/__sandbox/(?P<action>\w+)", "control", "control", None, auth=False),  # type: ignore[arg-type]
    _r("POST", r"^/services/Soap/u/(?P<v>\d+\.\d+)(?:/.*)?", SF, "login", salesforce.soap_login,
       auth=False),
    _r("POST", r"^/services/oauth2/token", SF, "oauth", salesforce.oauth_token, auth=False),
    _r("GET", r"^/services/data", SF, "versions", salesforce.versions, auth=False),
    _r("GET", _V, SF, "resources", salesforce.resources),
    _r("GET", _V + r"/limits", SF, "limits", salesforce.limits),
    _r("GET", _V + r"/sobjects", SF, "describe", salesforce.sobjects),
    _r("GET", _V + r"/sobjects/(?P<obj>\w+)/describe", SF, "describe", salesforce.describe),
    _r("GET", _V + r"/(?P<kind>query|queryAll)", SF, "query", salesforce.query),
    _r("GET", _V + r"/(?P<kind>query|queryAll)/(?P<cid>01g\w+)-(?P<offset>\d+)", SF,
       "query_more", salesforce.query_more),
    _r("GET", _V + r"/sobjects/(?P<obj>\w+)/(?P<id>\w{15,18})", SF, "get", salesforce.get_record),
    _r("PATCH", _V + r"/sobjects/(?P<obj>\w+)/(?P<id>\w{15,18})", SF, "update", sfw.update_one),
    _r("DELETE", _V + r"/sobjects/(?P<obj>\w+)/(?P<id>\w{15,18})", SF, "delete", sfw.delete_one),
    _r("POST", _V + r"/sobjects/(?P<obj>\w+)", SF, "create", sfw.create_one),
    _r("PATCH POST", _V + r"/composite/sobjects", SF, "composite", sf_collections.collection,
       row_faults=True),
    _r("POST", _V + r"/composite", SF, "composite_read",
       lambda state, req, m: sf_composite.composite(state, req, m, ROUTES)),
    _r("POST", _V + r"/jobs/query", SF, "bulk_create", sf_bulk.create_job),
    _r("GET", _V + r"/jobs/query/(?P<job>\w+)", SF, "bulk_poll", sf_bulk.get_job),
    _r("DELETE", _V + r"/jobs/query/(?P<job>\w+)", SF, "bulk_delete", sf_bulk.delete_job),
    _r("GET", _V + r"/jobs/query/(?P<job>\w+)/results", SF, "bulk_results", sf_bulk.results),
    _r("POST", r"^/oauth/v1/token", HS, "oauth", hs_meta.oauth_token, auth=False),
    _r("GET", _O, HS, "list", hubspot.list_objects),
    _r("POST", _O, HS, "create", hubspot.create_object),
    _r("POST", _O + r"/search", HS, "search", hs_search.search),
    _r("POST", _O + r"/gdpr-delete", HS, "gdpr_delete", hs_gdpr.gdpr_delete),
    _r("POST", _O + r"/batch/read", HS, "batch_read", hubspot.batch_read),
    _r("POST", _O + r"/batch/update", HS, "batch_update", hubspot.batch_update),
    _r("POST", _O + r"/batch/create", HS, "batch_create", hubspot.batch_create),
    _r("GET", _O + r"/(?P<id>\d+)", HS, "get", hubspot.get_object),
    _r("PATCH", _O + r"/(?P<id>\d+)", HS, "update", hubspot.update_object),
    _r("DELETE", _O + r"/(?P<id>\d+)", HS, "archive", hubspot.archive_object),
    _r("GET", r"^/crm/v3/pipelines/(?P<obj>[\w-]+)(?:/(?P<pid>[\w-]+)(?P<stages>/stages)?)?",
       HS, "pipelines", hs_meta.pipelines),
    _r("GET", r"^/crm/v3/properties/(?P<obj>[\w-]+)(?:/(?P<name>\w+))?", HS, "properties",
       hs_meta.list_properties),
    _r("POST", r"^/crm/v3/properties/(?P<obj>[\w-]+)", HS, "properties_create",
       hs_meta.create_property),
    _r("GET", r"^/crm/v3/owners(?:/(?P<id>\d+))?", HS, "owners", hs_meta.owners),
    _r("GET", r"^/settings/v3/currencies/company-currency", HS, "currencies",
       hs_currencies.company_currency),
    _r("GET", r"^/settings/v3/currencies/exchange-rates", HS, "currencies",
       hs_currencies.exchange_rates),
    _r("GET", r"^/crm/v4/objects/(?P<obj>[\w-]+)/(?P<id>\d+)/associations/(?P<to>[\w-]+)", HS,
       "associations", hs_meta.assoc_list),
    _r("PUT", r"^/crm/v4/objects/(?P<obj>[\w-]+)/(?P<id>\d+)/associations/default/"
       r"(?P<to>[\w-]+)/(?P<to_id>\d+)", HS, "associations", hs_meta.assoc_default),
    _r("POST", r"^/crm/v4/associations/(?P<obj>[\w-]+)/(?P<to>[\w-]+)/batch/read", HS,
       "associations", hs_meta.assoc_batch_read),
)
