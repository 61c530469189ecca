"""The HTML report in headless Chromium: the page renders, and so do its two SVG charts.

Chromium is installed by `.ci/run` (locally: `apt-get install -y chromium`). Missing Chromium
is a failure, not a skip: this test is the proof that the report reads in a browser.
"""

from __future__ import annotations

import importlib.util
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from funnelsync.config.models import AppConfig
from funnelsync.mapping.funnel import StageMaps
from funnelsync.reports.audit.definitions import run_audit
from funnelsync.reports.html import FUNNEL_FILL, MEDIAN_FILL, P90_FILL
from funnelsync.reports.metrics import build_report
from funnelsync.reports.render import render_report

FIXTURE = Path(__file__).resolve().parents[1] / "unit" / "funnel_fixture.py"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        pytest.fail("chromium is not installed: run `apt-get install -y chromium` "
                    "(.ci/run installs it in CI)")
    return found


def load_fixture():
    spec = importlib.util.spec_from_file_location("funnel_fixture_browser", FIXTURE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    fx = load_fixture()
    cfg = AppConfig()
    report = build_report(fx.deals(), fx.leads(), fx.deal_changes() + fx.lead_changes(), cfg,
                          fx.NOW, catalog=fx.catalog(), by="month")
    findings = run_audit(fx.catalog(), StageMaps(cfg), cfg.funnel, fx.deals(),
                         fx.deal_changes(), fx.NOW).findings
    path = tmp_path_factory.mktemp("report") / "funnelsync-report.html"
    path.write_text(render_report(report, "html", findings=findings), encoding="utf-8")
    return path


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and unfiltered rows of an 8-bit RGB/RGBA PNG (zlib only, no Pillow)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytes(width * bpp)
    for y in range(height):
        start = y * (stride + 1)
        rows.append(prev := _unfilter(raw[start], raw[start + 1:start + 1 + stride], prev, bpp))
    return width, height, [bytes(r) for r in rows]


def _add_bytes(a: bytes, b: bytes) -> bytes:
    """Byte-wise (a + b) mod 256 over a whole row at once (no carries between bytes)."""
    n = len(a)
    low, high = int.from_bytes(b"\x7f" * n, "big"), int.from_bytes(b"\x80" * n, "big")
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    return (((x & low) + (y & low)) ^ ((x ^ y) & high)).to_bytes(n, "big")


def _unfilter(kind: int, line: bytes, prev: bytes, bpp: int) -> bytes | bytearray:
    if kind == 0:
        return line
    if kind == 2:  # "up", most of Chromium's rows: done in one big-integer addition
        return _add_bytes(line, prev)
    out = bytearray(line)
    for i in range(len(out)):
        a = out[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            out[i] = (out[i] + a) & 0xFF
        elif kind == 3:
            out[i] = (out[i] + (a + b) // 2) & 0xFF
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return out


def colours(rows: list[bytes], bpp: int) -> dict[tuple[int, int, int], int]:
    counts: dict[tuple[int, int, int], int] = {}
    for row in rows[::2]:
        for x in range(0, len(row), bpp * 2):
            key = (row[x], row[x + 1], row[x + 2])
            counts[key] = counts.get(key, 0) + 1
    return counts


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def test_screenshot_shows_the_charts(report_file: Path, tmp_path: Path) -> None:
    png = tmp_path / "report.png"
    result = run_chromium([f"--screenshot={png}", "--window-size=1200,1600",
                           report_file.as_uri()], tmp_path / "profile")
    assert png.exists(), result.stderr[-2000:]
    width, height, rows = decode_png(png.read_bytes())
    assert (width, height) == (1200, 1600)
    bpp = len(rows[0]) // width
    seen = colours(rows, bpp)
    background = max(seen.values())
    assert len(seen) > 50, "the page looks blank"
    assert sum(seen.values()) - background > 0.05 * sum(seen.values())
    # the bars' fill colours are on screen: the funnel and the median/p90 bars were drawn
    for fill in (FUNNEL_FILL, MEDIAN_FILL, P90_FILL):
        assert seen.get(rgb(fill), 0) > 100, fill


def test_dom_has_the_svg_charts(report_file: Path, tmp_path: Path) -> None:
    result = run_chromium(["--dump-dom", report_file.as_uri()], tmp_path / "profile")
    dom = result.stdout
    assert '<svg id="funnel-chart"' in dom, result.stderr[-2000:]
    assert '<svg id="time-in-stage-chart"' in dom
    funnel = dom.split('<svg id="funnel-chart"')[1].split("</svg>")[0]
    assert funnel.count('class="funnel-bar"') == 10
    timing = dom.split('<svg id="time-in-stage-chart"')[1].split("</svg>")[0]
    assert timing.count('class="bar-median"') == 5 and timing.count('class="bar-p90"') == 5
