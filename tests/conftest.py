"""Fixtures shared by every test directory.

Databases:
- ``pg_url`` (session): a PostgreSQL 15 server. ``FUNNELSYNC_TEST_PG_URL`` when set (``.ci/run``
  exports it), else a throw-away server started with ``.ci/start-postgres.sh`` and stopped at
  the end of the session. Never skipped: if no server can be had, the test fails and says why.
- ``pg_schema_url``: a fresh, empty schema on that server (dropped afterwards), as a URL.
- ``db_url``: parametrised over ``sqlite`` (a file in tmp_path) and ``postgresql``
  (``pg_schema_url``): a fresh, empty state-store URL on each backend.

Time: ``clock`` is the test's one ``FakeClock``, at ``SANDBOX_START``; give it to
``Sandbox(clock=clock)``. Every test runs the CLI's commands on it (``commands_on``), so a
command's "now", its back-off and its rate-limit pacing agree with the sandbox's clock and no
command reads the wall clock or sleeps.

Helpers: pytest puts this directory on ``sys.path`` (it holds the root conftest and no
``__init__.py``), so every test imports shared helpers as ``support`` (``support.clock``: the
one ``FakeClock``), next to the helper modules of its own directory.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.clock import SANDBOX_START, FakeClock

from funnelsync.clock import commands_on

ROOT = Path(__file__).resolve().parents[1]
PG_URL_ENV = "FUNNELSYNC_TEST_PG_URL"


@pytest.fixture
def clock() -> FakeClock:
    """The test's fake clock, at SANDBOX_START; the CLI's commands run on it."""
    return FakeClock(SANDBOX_START)


@pytest.fixture(autouse=True)
def _commands_on_the_test_clock(clock: FakeClock) -> Iterator[None]:
    with commands_on(clock.timebase()):
        yield


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """SQLAlchemy URL of a PostgreSQL server for this test session."""
    url = os.environ.get(PG_URL_ENV, "").strip()
    if url:
        yield url
        return
    started = subprocess.run(["bash", str(ROOT / ".ci" / "start-postgres.sh")],
                             capture_output=True, text=True, timeout=300, check=False)
    if started.returncode != 0 or len(started.stdout.split()) != 2:
        pytest.fail(f"could not start a PostgreSQL server for the tests (or set {PG_URL_ENV} "
                    f"to a running one):\n{started.stderr.strip()}", pytrace=False)
    url, datadir = started.stdout.split()
    try:
        yield url
    finally:
        subprocess.run(["bash", str(ROOT / ".ci" / "stop-postgres.sh"), datadir],
                       capture_output=True, timeout=120, check=False)


@pytest.fixture
def pg_schema_url(pg_url: str) -> Iterator[str]:
    """A URL whose search_path is a new, empty schema; the schema is dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    except sa.exc.OperationalError as exc:
        engine.dispose()
        pytest.fail(f"PostgreSQL at {sa.make_url(pg_url).render_as_string(hide_password=True)} "
                    f"is not reachable: {exc.orig}", pytrace=False)
    url = sa.make_url(pg_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database URL, once for SQLite and once for PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("pg_schema_url"))
