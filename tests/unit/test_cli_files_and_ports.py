"""Files, paths and ports: `-o` into a folder that does not exist or onto a path that cannot be
written is exit 2 with one line, before any work (report, init, demo before its sync, sandbox
--config-out); a sandbox port out of range or in use is exit 2 with one line; a config without a
CRM makes sync and pull exit 2; `init --state URL` writes that URL."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from funnelsync.cli.main import main
from funnelsync.config.loading import load_config

NO_FOLDER = ("error: -o missing/out.html: the folder missing does not exist (create the "
             "folder first, or choose another path)\n")


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FUNNELSYNC_CONFIG", raising=False)


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the demo's sync or a sandbox server would start."""
    from funnelsync.app import demo
    from funnelsync.sandbox import server

    def started(*_: object, **__: object) -> None:
        raise AssertionError("the work started before the path or port was checked")

    monkeypatch.setattr(demo, "run_demo", started)
    monkeypatch.setattr(server, "serve", started)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.usefixtures("no_work")
@pytest.mark.parametrize("args", [
    ["report", "-c", "c.toml", "--format", "html", "-o", "missing/out.html"],
    ["init", "-o", "missing/out.html"],
    ["demo", "-o", "missing/out.html"],
])
def test_output_into_a_missing_folder_is_one_line_and_exit_2(args: list[str]) -> None:
    assert run(*args) == (2, "", NO_FOLDER)


@pytest.mark.usefixtures("no_work")
def test_sandbox_config_out_into_a_missing_folder_is_one_line_and_exit_2() -> None:
    assert run("sandbox", "--config-out", "missing/sandbox.toml") == (
        2, "", "error: --config-out missing/sandbox.toml: the folder missing does not exist "
               "(create the folder first, or choose another path)\n")


@pytest.mark.usefixtures("no_work")
def test_output_under_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    assert run("demo", "-o", "notes.txt/report.html") == (
        2, "", "error: -o notes.txt/report.html: the folder notes.txt is not a folder (create "
               "the folder first, or choose another path)\n")


@pytest.mark.usefixtures("no_work")
@pytest.mark.parametrize(("port", "stderr"), [
    ("70000", "error: --port 70000: must be from 0 to 65535 (0 picks a free port)\n"),
    ("-1", "error: --port -1: must be from 0 to 65535 (0 picks a free port)\n"),
])
def test_sandbox_port_out_of_range_is_one_line_and_exit_2(port: str, stderr: str) -> None:
    assert run("sandbox", "--port", port) == (2, "", stderr)


@pytest.mark.usefixtures("no_work")
@pytest.mark.parametrize(("option", "value", "shown"), [
    ("--leads", "100001", "100001 is not in the range 0<=x<=100000"),
    ("--deals", str(10**12), "1000000000000 is not in the range 0<=x<=100000"),
    ("--leads", "-1", "-1 is not in the range 0<=x<=100000"),
])
def test_sandbox_sizes_are_bounded_before_any_work(option: str, value: str, shown: str) -> None:
    code, stdout, stderr = run("sandbox", option, value, "--config-out", "sandbox.toml")
    assert (code, stdout) == (2, "")
    assert stderr.splitlines()[-1] == f"Error: Invalid value for '{option}': {shown}."
    assert "Traceback" not in stderr and not Path("sandbox.toml").exists()


def test_demo_and_sandbox_share_one_size_bound() -> None:
    bounds = {(name, p.name): (p.type.min, p.type.max)  # type: ignore[attr-defined]
              for name in ("demo", "sandbox") for p in main.commands[name].params
              if p.name in ("leads", "deals")}
    assert bounds == {("demo", "leads"): (1, 100_000), ("demo", "deals"): (1, 100_000),
                      ("sandbox", "leads"): (0, 100_000), ("sandbox", "deals"): (0, 100_000)}


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.usefixtures("no_work")
def test_sandbox_port_in_use_is_one_line_and_exit_2(taken_port: int) -> None:
    assert run("sandbox", "--port", str(taken_port)) == (
        2, "", f"error: --port {taken_port}: Address already in use (choose another port, or "
               "0 for a free one)\n")


@pytest.mark.parametrize("command", ["sync", "pull"])
def test_a_config_without_a_crm_cannot_sync_or_pull(tmp_path: Path, command: str) -> None:
    (tmp_path / "c.toml").write_text('[state]\nurl = "sqlite:///s.db"\n')
    assert run(command, "-c", "c.toml") == (
        2, "", "error: the config names no CRM: there is nothing to pull or sync (add a "
               "[salesforce] or [hubspot] section; `funnelsync init` shows every key)\n")
    assert not (tmp_path / "s.db").exists()


def test_init_writes_the_given_state_url(tmp_path: Path) -> None:
    url = "postgresql+psycopg://funnel@db.example/funnel"
    code, _, stderr = run("init", "--state", url, "-o", "c.toml")
    assert (code, stderr) == (0, "")
    text = (tmp_path / "c.toml").read_text()
    assert ("\n[state]\n## SQLAlchemy URL: sqlite:///file.db or "
            f'postgresql+psycopg://user@host/db.\nurl = "{url}"\n') in text
    assert load_config(tmp_path / "c.toml").state.url == url
