"""SQLite's one writer: threads of a process queue for it in-process, and
BEGIN IMMEDIATE waits out another process's writer in short steps."""
import sqlite3
import threading
import time

import pytest
from peewee import OperationalError

import database
import store
from store import db

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def sqlite_db(tmp_path):
    path = tmp_path / "writer.db"
    store.init_db("sqlite:///%s" % path)
    yield path


def busy_timeout():
    return db.execute_sql("PRAGMA busy_timeout").fetchone()[0]


def test_the_writer_turn_is_released_on_commit_and_rollback(sqlite_db):
    with db.connection_context():
        with db.atomic("IMMEDIATE"):
            assert db.obj._writer.locked()
            store.execute("INSERT INTO seenfact (key, created_at) "
                          "VALUES ('a', '2026-01-01')")
        assert not db.obj._writer.locked()
        with pytest.raises(ZeroDivisionError):
            with db.atomic("IMMEDIATE"):
                store.execute("INSERT INTO seenfact (key, created_at) "
                              "VALUES ('b', '2026-01-01')")
                1 / 0
        assert not db.obj._writer.locked()
        keys = [r[0] for r in store.execute(
            "SELECT key FROM seenfact ORDER BY key").fetchall()]
        assert keys == ["a"]
        # A deferred transaction never takes the in-process turn.
        with db.atomic():
            assert not db.obj._writer.locked()
        assert busy_timeout() == database.BUSY_TIMEOUT * 1000


def test_a_writer_waits_for_another_process_then_goes(sqlite_db):
    other = sqlite3.connect(str(sqlite_db), isolation_level=None,
                            check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.3, other.execute, ("COMMIT",)).start()
    started = time.monotonic()
    with db.connection_context():
        with db.atomic("IMMEDIATE"):
            store.execute("INSERT INTO seenfact (key, created_at) "
                          "VALUES ('c', '2026-01-01')")
        assert time.monotonic() - started >= 0.25
        # The short steps are this BEGIN's only: other statements keep
        # SQLite's busy wait.
        assert busy_timeout() == database.BUSY_TIMEOUT * 1000
    other.close()


def test_a_writer_gives_up_after_the_busy_timeout(sqlite_db, monkeypatch):
    monkeypatch.setattr(database, "BUSY_TIMEOUT", 0.3)
    other = sqlite3.connect(str(sqlite_db), isolation_level=None,
                            check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    try:
        with db.connection_context():
            with pytest.raises(OperationalError, match="locked"):
                with db.atomic("IMMEDIATE"):
                    pass
            assert not db.obj._writer.locked()
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_threads_of_one_process_all_get_their_turn(sqlite_db):
    def write(n):
        with db.connection_context():
            for i in range(50):
                with db.atomic("IMMEDIATE"):
                    store.execute("INSERT INTO seenfact (key, created_at) "
                                  "VALUES (?, '2026-01-01')", "%d-%d" % (n, i))
    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with db.connection_context():
        assert store.execute("SELECT COUNT(*) FROM seenfact").fetchone()[0] \
            == 400
    assert not db.obj._writer.locked()
