"""The SQLite state database holds names and e-mails: it and its -wal and -shm files are
created readable and writable by their owner only, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from funnelsync.store import Store


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o000)  # the most permissive: nothing is taken away from the mode
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_a_new_state_database_and_its_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "state" / "funnelsync.db"
    store = Store.open(f"sqlite:///{db}")
    try:
        store.set_state("probe", 1)  # a write, so the -wal and -shm files exist
        names = sorted(p.name for p in db.parent.iterdir())
        modes = {p.name: oct(mode(p)) for p in db.parent.iterdir()}
    finally:
        store.close()
    assert names == ["funnelsync.db", "funnelsync.db-shm", "funnelsync.db-wal"]
    assert modes == {"funnelsync.db": "0o600", "funnelsync.db-shm": "0o600",
                     "funnelsync.db-wal": "0o600"}


@pytest.mark.usefixtures("open_umask")
def test_an_existing_database_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    Store.open(f"sqlite:///{db}").close()
    db.chmod(0o640)
    Store.open(f"sqlite:///{db}").close()
    assert oct(mode(db)) == "0o640"
