"""Rate-limit counters in a SQLite file shared by all gunicorn workers.

``memory://`` would give each worker process its own counters; this
``limits`` storage keeps them in one file, with no extra server.  Every
write runs in a ``BEGIN IMMEDIATE`` transaction, so hits are counted
exactly across processes and threads.  URIs (SQLAlchemy convention)::

    sqlite:////var/lib/gateway/ratelimit.db   absolute path
    sqlite:///ratelimit.db                    relative to the cwd at start

Strategies: moving-window, fixed-window and sliding-window-counter.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import sqlite3
import threading
import time
import urllib.parse
import weakref

from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from limits.storage.base import (MovingWindowSupport,
                                 SlidingWindowCounterSupport, Storage,
                                 TimestampedSlidingWindow)
from limits.strategies import (STRATEGIES, MovingWindowRateLimiter,
                               RateLimiter)

import database

SCHEMA = """
CREATE TABLE IF NOT EXISTS rl_counters (
    key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rl_counters_expiry ON rl_counters (expires_at);
CREATE TABLE IF NOT EXISTS rl_entries (
    key TEXT NOT NULL, ts REAL NOT NULL, amount INTEGER NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rl_entries_key_ts ON rl_entries (key, ts);
CREATE INDEX IF NOT EXISTS rl_entries_expiry ON rl_entries (expires_at);
"""
# Insert or add; a counter found expired restarts from ``amount``.
INCR_SQL = """
INSERT INTO rl_counters (key, value, expires_at) VALUES (:key, :amount, :exp)
ON CONFLICT (key) DO UPDATE SET
    value = CASE WHEN expires_at <= :now THEN excluded.value
                 ELSE value + excluded.value END,
    expires_at = CASE WHEN expires_at <= :now THEN excluded.expires_at
                      ELSE expires_at END
RETURNING value
"""
# Every CLEANUP_EVERY writes, drop up to CLEANUP_BATCH expired rows per
# table: each write adds at most one row, so this outpaces growth while
# keeping the cost per hit constant.
CLEANUP_EVERY = 64
# Rows older than their window are never read (the sum below reads the
# window only, on the (key, ts) index) and are deleted here in batches:
# one per 64 writes, several times what 64 sends insert.
CLEANUP_BATCH = 1024
# Hits inside a key's moving window.
SQL_WINDOW_USED = ("SELECT COALESCE(SUM(amount), 0) FROM rl_entries "
                   "WHERE key = ? AND ts >= ?")

# Connections inherited over fork: SQLite forbids using or closing them in
# the child, so they are kept referenced (never closed) here.
_INHERITED: list = []


class SQLiteStorage(Storage, MovingWindowSupport,
                    SlidingWindowCounterSupport, TimestampedSlidingWindow):
    """Rate-limit storage in a SQLite file shared by all local processes."""

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str, wrap_exceptions: bool = False,
                 timeout: float = 5.0, **options):
        parsed = urllib.parse.urlsplit(uri)
        path = parsed.path[1:]  # drop the slash that ends "sqlite://"
        if parsed.netloc or not path or path == ":memory:":
            raise ConfigurationError(
                f"expected sqlite:///relative or sqlite:////absolute: {uri}")
        # Resolve now so a later chdir cannot split the counters.
        self.path = os.path.abspath(path)
        self.timeout = timeout
        self._ops = itertools.count(1)
        self._reset_connections()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _reset_connections(self) -> None:
        """Start with no connection in this process."""
        self._pid = os.getpid()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writer = threading.Lock()
        self._finalizers: list[weakref.finalize] = []

    def _connect(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it if needed."""
        if self._pid != os.getpid():  # forked: parent's connections are off
            _INHERITED.extend(f.detach() for f in self._finalizers)
            self._reset_connections()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            # Close it when its thread goes away; close() may run in
            # another thread, hence check_same_thread=False in _open.
            fin = weakref.finalize(threading.current_thread(), conn.close)
            fin.atexit = False
            with self._lock:
                self._finalizers = [f for f in self._finalizers if f.alive]
                self._finalizers.append(fin)
        return conn

    def _open(self) -> sqlite3.Connection:
        """Open a connection and create the tables if missing."""
        conn = sqlite3.connect(self.path, timeout=self.timeout,
                               isolation_level=None, check_same_thread=False)
        try:
            # Readers never block the writer in WAL mode.  Switching needs
            # an exclusive lock, which SQLite does not wait for with the
            # busy timeout, so workers starting together retry.
            deadline = time.monotonic() + self.timeout
            while conn.execute("PRAGMA journal_mode").fetchall() != [
                    ("wal",)]:
                with contextlib.suppress(sqlite3.OperationalError):
                    conn.execute("PRAGMA journal_mode=WAL")
                if time.monotonic() > deadline:
                    raise sqlite3.OperationalError("cannot enable WAL")
                time.sleep(0.01)
            # NORMAL skips the fsync per commit; in WAL mode a power cut may
            # lose the last hits but cannot corrupt the file, and counters
            # that are a few seconds stale are harmless.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA.split(";"):
                conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        """Close every connection this process opened."""
        with self._lock:
            finalizers, self._finalizers = self._finalizers, []
        for fin in finalizers:
            fin()
        self._local = threading.local()

    @contextlib.contextmanager
    def _write(self):
        """Run a write transaction holding the database write lock.

        This process's threads take turns in-process first, and the turn
        holder waits for other processes in short steps (as the gateway's
        database does, see ``database.begin_immediate``)."""
        conn = self._connect()
        if not self._writer.acquire(timeout=self.timeout):
            raise sqlite3.OperationalError("database is locked")
        try:
            database.begin_immediate(conn, self.timeout)
            try:
                yield conn, time.time()  # the clock, once the lock is held
                if next(self._ops) % CLEANUP_EVERY == 0:
                    self._delete_expired(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            self._writer.release()

    @staticmethod
    def _delete_expired(conn: sqlite3.Connection) -> None:
        """Delete a bounded batch of expired rows from every table."""
        for table in ("rl_counters", "rl_entries"):
            conn.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT rowid"
                         f" FROM {table} WHERE expires_at <= ? LIMIT ?)",
                         (time.time(), CLEANUP_BATCH))

    @staticmethod
    def _read_counter(conn, key: str, now: float) -> tuple[int, float]:
        """Return (value, expires_at) of a live counter, else (0, now)."""
        rows = conn.execute(
            "SELECT value, expires_at FROM rl_counters"
            " WHERE key = ? AND expires_at > ?", (key, now)).fetchall()
        return rows[0] if rows else (0, now)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount``; a new counter expires ``expiry`` s from now."""
        with self._write() as (conn, now):
            return self._incr(conn, now, key, expiry, amount)

    @staticmethod
    def _incr(conn, now: float, key: str, expiry: float, amount: int) -> int:
        params = {"key": key, "amount": amount, "now": now,
                  "exp": now + expiry}
        return conn.execute(INCR_SQL, params).fetchall()[0][0]

    def get(self, key: str) -> int:
        """Return the live counter value for ``key``, 0 if none."""
        return self._read_counter(self._connect(), key, time.time())[0]

    def get_expiry(self, key: str) -> float:
        """Return when ``key`` expires (epoch seconds), now if absent."""
        return self._read_counter(self._connect(), key, time.time())[1]

    def check(self) -> bool:
        """Return whether the database answers."""
        try:
            self._connect().execute("SELECT 1").fetchall()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int:
        """Delete every limit; return how many keys there were."""
        with self._write() as (conn, _):
            (keys,), = conn.execute(
                "SELECT COUNT(DISTINCT key) FROM rl_entries").fetchall()
            keys += conn.execute("DELETE FROM rl_counters").rowcount
            conn.execute("DELETE FROM rl_entries")
        return keys

    def clear(self, key: str) -> None:
        """Forget every hit recorded under ``key``."""
        with self._write() as (conn, _):
            conn.execute("DELETE FROM rl_counters WHERE key = ?", (key,))
            conn.execute("DELETE FROM rl_entries WHERE key = ?", (key,))

    def acquire_entry(self, key: str, limit: int, expiry: int,
                      amount: int = 1) -> bool:
        """Record ``amount`` hits if the last ``expiry`` s leave room."""
        if amount > limit:
            return False
        with self._write() as (conn, now):
            (used,), = conn.execute(SQL_WINDOW_USED,
                                    (key, now - expiry)).fetchall()
            if used + amount > limit:
                return False
            conn.execute("INSERT INTO rl_entries VALUES (?, ?, ?, ?)",
                         (key, now, amount, now + expiry))
        return True

    def acquire_entries(self, entries) -> int | None:
        """Record one hit of each ``(key, limit, expiry)`` in order, in one
        transaction; return the index of the first that has no room (the
        ones before it stay counted, the rest are not tried), else None.

        What ``acquire_entry`` does per key, for the price of one write
        transaction instead of one per throttle.
        """
        with self._write() as (conn, now):
            for index, (key, limit, expiry) in enumerate(entries):
                if limit < 1:
                    return index
                (used,), = conn.execute(SQL_WINDOW_USED,
                                        (key, now - expiry)).fetchall()
                if used + 1 > limit:
                    return index
                conn.execute("INSERT INTO rl_entries VALUES (?, ?, 1, ?)",
                             (key, now, now + expiry))
        return None

    def get_moving_window(self, key: str, limit: int,
                          expiry: int) -> tuple[float, int]:
        """Return (oldest hit in the window, hits in the window)."""
        now = time.time()
        (oldest, used), = self._connect().execute(
            "SELECT MIN(ts), COALESCE(SUM(amount), 0) FROM rl_entries"
            " WHERE key = ? AND ts >= ?", (key, now - expiry)).fetchall()
        return (now if oldest is None else oldest), used

    def acquire_sliding_window_entry(self, key: str, limit: int, expiry: int,
                                     amount: int = 1) -> bool:
        """Count ``amount`` hits if the weighted count leaves room."""
        if amount > limit:
            return False
        with self._write() as (conn, now):
            window = self._sliding_window(conn, key, expiry, now)
            previous, previous_ttl, current, _ = window
            weighted = previous * previous_ttl / expiry + current
            if math.floor(weighted) + amount > limit:
                return False
            # Twice the window: it is still read as the previous one.
            current_key = self.sliding_window_keys(key, expiry, now)[1]
            self._incr(conn, now, current_key, 2 * expiry, amount)
        return True

    def _sliding_window(self, conn, key: str, expiry: int,
                        now: float) -> tuple[int, float, int, float]:
        """Return the window counters and TTLs as MemoryStorage does."""
        previous_key, current_key = self.sliding_window_keys(key, expiry, now)
        previous = self._read_counter(conn, previous_key, now)[0]
        current = self._read_counter(conn, current_key, now)[0]
        previous_ttl = 0.0
        if previous:
            previous_ttl = (1 - ((now - expiry) / expiry) % 1) * expiry
        current_ttl = (1 - (now / expiry) % 1) * expiry + expiry
        return previous, previous_ttl, current, current_ttl

    def get_sliding_window(self, key: str,
                           expiry: int) -> tuple[int, float, int, float]:
        """Return (previous count, its TTL, current count, its TTL)."""
        conn = self._connect()
        conn.execute("BEGIN")  # both windows from one snapshot
        try:
            return self._sliding_window(conn, key, expiry, time.time())
        finally:
            conn.execute("COMMIT")

    def clear_sliding_window(self, key: str, expiry: int) -> None:
        """Forget both windows of ``key``."""
        keys = self.sliding_window_keys(key, expiry, time.time())
        with self._write() as (conn, _):
            conn.executemany("DELETE FROM rl_counters WHERE key = ?",
                             [(k,) for k in keys])


def create_limiter(uri: str, strategy: str = "moving-window") -> RateLimiter:
    """Return a ``limits`` limiter of ``strategy`` over storage ``uri``.

    ``uri`` may be ``memory://``, ``redis://host:6379``, ``sqlite:///...``.
    """
    try:
        limiter_class = STRATEGIES[strategy]
    except KeyError:
        raise ValueError(f"unknown rate-limit strategy: {strategy}") from None
    return limiter_class(storage_from_string(uri, **storage_options(uri)))


# Redis shared by several hosts: a request waits at most this long for
# it (connect, then each answer) instead of hanging with a lost server.
REDIS_TIMEOUT_S = 2.0


def storage_options(uri: str) -> dict:
    """Client options for ``uri``'s storage, unless the URI sets them."""
    scheme = urllib.parse.urlsplit(uri).scheme
    if not scheme.startswith(("redis", "rediss")) or "timeout" in uri:
        return {}
    return {"socket_connect_timeout": REDIS_TIMEOUT_S,
            "socket_timeout": REDIS_TIMEOUT_S}


def hit_all(limiter: RateLimiter, hits) -> int | None:
    """Hit each ``(item, identifiers)`` in order, stopping at the first
    refusal; return its index, or None when all had room.

    Moving windows in SQLite take every hit in one transaction; other
    strategies and storages hit one by one, with the same result.
    """
    if isinstance(limiter, MovingWindowRateLimiter) and isinstance(
            limiter.storage, SQLiteStorage):
        return limiter.storage.acquire_entries([
            (item.key_for(*identifiers), item.amount, item.get_expiry())
            for item, identifiers in hits])
    for index, (item, identifiers) in enumerate(hits):
        if not limiter.hit(item, *identifiers):
            return index
    return None


def seconds_until_available(limiter: RateLimiter, item,
                            *identifiers: str) -> int:
    """Return whole seconds (at least 1) to put in a Retry-After header."""
    reset_time = limiter.get_window_stats(item, *identifiers).reset_time
    return max(1, math.ceil(reset_time - time.time()))
