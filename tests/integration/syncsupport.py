"""Helpers for sync tests against the sandbox: configs, a shared fake clock, CRM snapshots."""

from __future__ import annotations

from typing import Any

from support.clock import SANDBOX_START, FakeClock

from funnelsync.config.loading import parse_config
from funnelsync.config.models import AppConfig
from funnelsync.connectors.base import Connector
from funnelsync.connectors.http import RetryPolicy
from funnelsync.crm.source import default_connector
from funnelsync.sandbox import Sandbox


def sandbox_config(sb: Sandbox, db_url: str, extra: str = "") -> AppConfig:
    """Both CRMs pointed at the sandbox, state in ``db_url``."""
    return parse_config(config_text(sb, db_url, extra))


def config_text(sb: Sandbox, db_url: str, extra: str = "") -> str:
    """The TOML of ``sandbox_config``, for tests that need a file."""
    return f'''
[salesforce]
username = "demo@funnelsync.local"
password = "demo"
security_token = "demo"
login_url = "{sb.url}"

[hubspot]
access_token = "pat-demo"
host = "{sb.url}"

[state]
url = "{db_url}"
{extra}
'''


def no_wait_factory(clock: FakeClock | None = None):  # type: ignore[no-untyped-def]
    """Connectors whose retry back-off waits on a fake clock, never for real.

    With ``clock`` (shared with a ``Sandbox(clock=clock)``) the HubSpot rate limiter runs on it
    too. Without one, the sandbox keeps real time, so the limiter must pace on real time as
    well: a limiter on a clock the server does not share would send searches faster than the
    server's per-second limit allows and draw 429s.
    """
    fake = clock or FakeClock(SANDBOX_START)

    def factory(name: str, config: AppConfig) -> Connector:
        policy = RetryPolicy(config.limits.max_retry_seconds, sleep=fake.sleep, clock=fake)
        if clock is None:
            return default_connector(name, config, retry=policy)
        return default_connector(name, config, retry=policy, clock=fake, sleep=fake.sleep)

    return factory


def crm_snapshot(sb: Sandbox, config: AppConfig) -> dict[str, Any]:
    """Every record's write-back values as the CRMs hold them, read through the real clients."""
    snap: dict[str, Any] = {}
    factory = no_wait_factory()
    sf = factory("salesforce", config)
    for kind, fields in (("leads", ("Funnel_Stage__c", "Funnel_Score__c")),
                         ("deals", ("Funnel_Stage__c",))):
        for row in sf.iter_records(kind):  # type: ignore[arg-type]
            if not row.get("IsDeleted"):
                snap[f"sf:{row['Id']}"] = tuple(row.get(f) for f in fields)
    hs = factory("hubspot", config)
    for kind, props in (("leads", ("funnel_stage", "funnel_score")), ("deals", ("funnel_stage",))):
        for row in hs.iter_records(kind):  # type: ignore[arg-type]
            if not row.get("archived"):
                snap[f"hs:{row['id']}"] = tuple((row.get("properties") or {}).get(p)
                                                for p in props)
    stats = sb.stats()
    snap["tasks"] = (stats["salesforce"]["counts"]["Task"],  # type: ignore[index]
                     stats["hubspot"]["counts"]["tasks"])  # type: ignore[index]
    return snap


def written(sb: Sandbox) -> int:
    stats = sb.stats()
    return int(stats["salesforce"]["records_written"]  # type: ignore[index]
               + stats["hubspot"]["records_written"])  # type: ignore[index]


def tasks(sb: Sandbox) -> int:
    stats = sb.stats()
    return int(stats["salesforce"]["tasks_created"]  # type: ignore[index]
               + stats["hubspot"]["tasks_created"])  # type: ignore[index]
