"""Requests per second of the sandbox through the real clients, and its own time per request.

Runs `funnelsync sandbox` in a subprocess (so client and server do not share one GIL), then:
- Salesforce: simple-salesforce `query` + `query_more` over 2,000-record pages;
- HubSpot: hubspot-api-client `get_page(limit=100)` over contacts, once with the client's model
  parsing and once with `_preload_content=False` + json.loads (what a fast connector does).
Prints client-side requests/s and the server's own ms per request (from /__sandbox/stats).

    python benchmarks/sandbox_throughput.py [--leads 20000] [--seconds 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests
from hubspot import HubSpot
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

SOQL = ("SELECT Id, Name, Email, Company, Title, Status, OwnerId, Owner.Name, LeadSource, "
        "SystemModstamp, IsDeleted FROM Lead")


class _ToSandbox(HTTPAdapter):
    """simple-salesforce only speaks https://; send those calls to the local sandbox."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        parts = urlsplit(request.url or "")
        request.url = self.base + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)  # type: ignore[arg-type]


def start_sandbox(leads: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from funnelsync.cli.main import main; main()", "sandbox",
         "--leads", str(leads), "--deals", "100"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()  # type: ignore[union-attr]
    if not line.startswith("sandbox listening on "):
        raise SystemExit(f"sandbox did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[1]


def salesforce_pass(url: str) -> Callable[[], int]:
    session = requests.Session()
    session.mount("https://", _ToSandbox(url))
    sf = Salesforce(username="demo@funnelsync.local", password="demo", security_token="demo",
                    session=session)
    headers = {"Sforce-Query-Options": "batchSize=2000"}

    def one_pass() -> int:
        result, calls = sf.query(SOQL, headers=headers), 1
        while not result["done"]:
            result = sf.query_more(result["nextRecordsUrl"], identifier_is_url=True,
                                   headers=headers)
            calls += 1
        return calls
    return one_pass


def hubspot_pass(url: str, raw: bool) -> Callable[[], int]:
    api = HubSpot(access_token="pat-demo", host=url).crm.contacts.basic_api

    def one_pass() -> int:
        after, calls = None, 0
        while True:
            calls += 1
            if raw:
                resp = api.get_page(limit=100, after=after, _preload_content=False)
                page = json.loads(resp.data)
                after = page.get("paging", {}).get("next", {}).get("after")
            else:
                model = api.get_page(limit=100, after=after)
                after = model.paging.next.after if model.paging else None
            if after is None:
                return calls
    return one_pass


def measure(make_pass: Callable[[], Callable[[], int]], seconds: float,
            threads: int) -> tuple[float, int]:
    counts = [0] * threads
    deadline = time.perf_counter() + seconds

    def work(slot: int) -> None:
        one_pass = make_pass()
        while time.perf_counter() < deadline:
            counts[slot] += one_pass()
    started = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / (time.perf_counter() - started), sum(counts)


def server_ms(url: str, crm: str) -> tuple[float, int]:
    stats = requests.get(f"{url}/__sandbox/stats", timeout=10).json()[crm]
    return stats["server_seconds"] * 1000, stats["requests"]


def report(name: str, url: str, crm: str, make_pass: Callable[[], Callable[[], int]],
           args: argparse.Namespace) -> None:
    ms0, n0 = server_ms(url, crm)
    started = time.perf_counter()
    calls = make_pass()()  # cold: the sandbox evaluates the query and serializes each page
    cold_s = time.perf_counter() - started
    ms1, n1 = server_ms(url, crm)
    print(f"{name:<44} cold pass: {calls} requests in {cold_s:.2f} s; "
          f"server {(ms1 - ms0) / max(1, n1 - n0):.2f} ms/request")
    ms0, n0 = ms1, n1
    rate, calls = measure(make_pass, args.seconds, args.threads)
    ms1, n1 = server_ms(url, crm)
    per_request = (ms1 - ms0) / max(1, n1 - n0)
    print(f"{name:<44} warm: {rate:7.1f} req/s ({calls} requests, {args.threads} thread(s)); "
          f"server {per_request:.2f} ms/request")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    proc, url = start_sandbox(args.leads)
    try:
        print(f"sandbox {url}, {args.leads} leads and contacts; {args.seconds:.0f} s per case")
        report("salesforce query, 2000-record pages", url, "salesforce",
               lambda: salesforce_pass(url), args)
        report("hubspot get_page(100), raw JSON", url, "hubspot",
               lambda: hubspot_pass(url, raw=True), args)
        report("hubspot get_page(100), client models", url, "hubspot",
               lambda: hubspot_pass(url, raw=False), args)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
