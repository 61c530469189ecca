"""Shared pieces of the benchmark scripts: a sandbox in a subprocess and a config pointing at it.

The sandbox runs in its own process so the figures (records/s, peak RSS) are the client's.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import urllib.request
from pathlib import Path


def start_sandbox(leads: int, deals: int, workdir: Path, seed: int = 7
                  ) -> tuple[subprocess.Popen, str, Path]:
    """`funnelsync sandbox` in a subprocess; returns (process, url, config path)."""
    config = workdir / "funnelsync.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "funnelsync.cli.main", "sandbox", "--leads", str(leads),
         "--deals", str(deals), "--seed", str(seed), "--config-out", str(config)],
        stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()  # type: ignore[union-attr]
    if not line.startswith("sandbox listening on "):
        proc.kill()
        raise SystemExit(f"sandbox did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[1], config


def sandbox_stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/__sandbox/stats", timeout=60) as answer:
        return json.loads(answer.read())


def sandbox_post(url: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pages(n: int, size: int) -> int:
    return -(-n // size)
