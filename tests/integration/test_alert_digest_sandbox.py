"""The alert webhook as a digest: one message per run for each owner (or one for the channel),
listing the deals newly alerted and the deals resolved; nothing when nothing changed."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from pytest_httpserver import HTTPServer
from support.clock import SANDBOX_START, FakeClock
from syncsupport import no_wait_factory, sandbox_config
from tasksupport import SF, Crms

from funnelsync.config.models import AppConfig
from funnelsync.sandbox import Sandbox
from funnelsync.store import Store
from funnelsync.sync.job import RunResult, SyncJob

SIZE = {"seed": 11, "leads": 60, "deals": 100}


def sync(config: AppConfig, clock: FakeClock) -> RunResult:
    return SyncJob(config, connector_factory=no_wait_factory(clock),
                   clock=lambda: datetime.fromtimestamp(clock(), UTC)).run()


def messages(httpserver: HTTPServer) -> list[dict[str, Any]]:
    found = [json.loads(request.get_data()) for request, _ in httpserver.log]
    httpserver.clear_log()
    return found


def stale_deal_owners(config: AppConfig) -> Counter[str | None]:
    """How many alerted deals each owner has (across both CRMs), from the store."""
    with Store.open(config.state.url) as store:
        deals = {(a.source, a.record_id) for a in store.open_alerts()
                 if not a.reason.startswith(("sla_", "nurture_"))}
        owners: Counter[str | None] = Counter()
        for source, deal_id in deals:
            stored = store.get_record(source, "deals", deal_id)
            owners[stored.owner_id if stored else None] += 1
        return owners


def test_one_message_per_owner_with_new_then_resolved_deals(httpserver: HTTPServer,
                                                            tmp_path: Any) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    clock = FakeClock(SANDBOX_START)
    with Sandbox(**SIZE, clock=clock) as sb:
        config = sandbox_config(sb, f"sqlite:///{tmp_path / 'fs.db'}",
                                f'[alerts]\nwebhook_url = "{httpserver.url_for("/hook")}"\n')
        assert not [w for w in sync(config, clock).warnings if "webhook" in w]
        first = messages(httpserver)
        owners = stale_deal_owners(config)
        assert Counter(m["owner"]["id"] for m in first) == Counter(set(owners))
        for message in first:
            count = owners[message["owner"]["id"]]
            assert {a["event"] for a in message["alerts"]} == {"new"}
            assert len(message["alerts"]) == count
            assert message["text"].split("\n")[0] == (
                f"funnelsync: {message['owner']['name'] or 'no owner'}: {count} new and 0 "
                "resolved stale-deal alert(s)")
        sync(config, clock)
        assert messages(httpserver) == []  # nothing changed: no message

        with Store.open(config.state.url) as store:
            deal = sorted(store.live_follow_ups(SF, {"deal"}))[0][0]
            owner = store.get_record(SF, "deals", deal).owner_id  # type: ignore[union-attr]
        Crms(sb).win(SF, deal)
        clock.tick(60)
        sync(config, clock)
        [resolved] = messages(httpserver)
        assert resolved["owner"]["id"] == owner
        [event] = resolved["alerts"]
        assert (event["event"], event["deal_id"], event["text"]) == (
            "resolved", deal, "the deal was won (Closed Won)")
        assert resolved["text"].split("\n")[1] == (
            f"• resolved: salesforce deal {event['name']}: the deal was won (Closed Won)")


def test_channel_digest_is_one_message_per_run(httpserver: HTTPServer, tmp_path: Any) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    clock = FakeClock(SANDBOX_START)
    with Sandbox(**SIZE, clock=clock) as sb:
        config = sandbox_config(sb, f"sqlite:///{tmp_path / 'fs.db'}",
                                f'[alerts]\nwebhook_url = "{httpserver.url_for("/hook")}"\n'
                                'webhook_digest = "channel"\n')
        sync(config, clock)
        [message] = messages(httpserver)
        total = sum(stale_deal_owners(config).values())
        assert message["owner"] is None and len(message["alerts"]) == total
        assert message["text"].startswith(f"funnelsync: {total} new and 0 resolved stale-deal "
                                          "alert(s)\n• new: ")
