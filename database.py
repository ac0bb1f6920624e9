"""The database engine: SQLite on one host, PostgreSQL for several.

``db`` is a peewee proxy; ``open_db`` binds it to the engine of a
``GATEWAY_DATABASE_URL`` (the models in ``store.py`` all use it).  Each
engine is a pooled database class of its own, so the rest of the code
runs unchanged on both:

- hand-written SQL keeps SQLite's ``?`` placeholders and portable syntax
  (``INSERT ... ON CONFLICT``, ``RETURNING``); the PostgreSQL class
  translates the placeholders (``to_pyformat``);
- ``db.atomic("IMMEDIATE")`` takes SQLite's write lock up front, and is a
  plain transaction on PostgreSQL, which locks rows; where a transaction
  must run alone on both, it takes ``lock(name)``;
- claims of queued work use ``for_update`` / ``for_update_sql`` (``FOR
  UPDATE SKIP LOCKED`` on PostgreSQL);
- a value PostgreSQL cannot store (a NUL in text) is a ``DataError``.
"""
import functools
import hashlib
import logging
import os
import random
import sqlite3
import threading
import time
from urllib.parse import urlparse

from peewee import DatabaseProxy
from peewee import __exception_wrapper__
from peewee import DataError
from peewee import OperationalError
from playhouse.pool import PooledPostgresqlDatabase
from playhouse.pool import PooledSqliteDatabase

import secretbox

BUSY_TIMEOUT = 10

# Durable enough for a message log (WAL + NORMAL loses at most the last
# commits on power loss, never corrupts) and much faster than FULL.
PRAGMAS = {
    # First: the pool's own "timeout" is its wait for a free connection,
    # so SQLite's busy wait is set here, before the pragmas below that
    # may have to wait for another process (switching a new file to WAL).
    "busy_timeout": BUSY_TIMEOUT * 1000,
    # WAL itself is switched on once per file by enable_wal: it stays.
    "synchronous": "normal",
    "foreign_keys": 1,
    "cache_size": -16000,
}

# Bound to a SqliteDatabase or a PostgresDatabase by open_db.
db = DatabaseProxy()
POSTGRES_SCHEMES = ("postgresql", "postgres")
# How the gateway's connections name themselves to PostgreSQL: those of
# processes serving requests, and those of everything else (the CLI, a
# starting master, tests).
APP_NAME = "whatsapp-gateway"
TOOL_NAME = "whatsapp-gateway-tool"
# Connections a worker process keeps to PostgreSQL unless told otherwise
# (GATEWAY_DATABASE_POOL_SIZE): gunicorn's threads, the webhook pool and
# the dispatcher loop, with room to spare.
POOL_SIZE = 20


class AfterCommit:
    """Callbacks that run once the current transaction has committed
    (at once outside a transaction), and are dropped on rollback: a
    process told "a delivery is due" must not look before the row is
    visible."""

    def commit(self):
        committed = False
        try:
            result = super().commit()
            committed = True
            return result
        finally:
            self._transaction_ended()
            self._run_after_commit(committed)

    def rollback(self):
        try:
            return super().rollback()
        finally:
            self._transaction_ended()
            self._run_after_commit(False)

    def _transaction_ended(self):
        """Called as a transaction ends, before its callbacks run."""

    def after_commit(self, callback):
        if not self.in_transaction():
            callback()
            return
        local = self._after_commit_local()
        if callback not in local.pending:
            local.pending.append(callback)

    def _after_commit_local(self):
        local = self.__dict__.get("_after")
        if local is None:
            local = self.__dict__.setdefault("_after", threading.local())
        if not hasattr(local, "pending"):
            local.pending = []
        return local

    def _run_after_commit(self, committed):
        local = self.__dict__.get("_after")
        pending = getattr(local, "pending", None)
        if not pending:
            return
        local.pending = []
        if committed:
            for callback in pending:
                # The transaction has committed: a failing callback must
                # not make it look failed (peewee would then try a
                # rollback, and the caller answer an error).
                try:
                    callback()
                except Exception:
                    logging.getLogger(__name__).exception(
                        "after-commit callback failed")


class SqliteDatabase(AfterCommit, PooledSqliteDatabase):
    """One SQLite file, pooled.

    A pool keeps "a connection per request" cheap: closing one at the end
    of a request hands it back instead of reopening the file (and
    checkpointing the WAL) on every request.  Connections move between a
    worker's threads, hence check_same_thread=False.
    """
    engine = "sqlite"
    url = None
    serving = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._doomed = set()
        # SQLite has one writer.  Threads of this process that want it
        # queue here first (BEGIN IMMEDIATE only), so the lock passes
        # straight to the next one when a transaction ends; left to
        # SQLite's busy handler, each waiter sleeps 1, 2, 5, 10... ms
        # between tries, and under load the lock sits idle between
        # writers (receipts/s fell, p99 rose to 400 ms).  Other
        # processes still meet at SQLite's lock.
        self._writer = threading.Lock()
        self._holds_writer = threading.local()

    def begin(self, lock_type=None):
        if (lock_type or self._lock_type) != "IMMEDIATE":
            return super().begin(lock_type)
        if not self._writer.acquire(timeout=BUSY_TIMEOUT):
            raise OperationalError("database is locked (no turn to write "
                                   "within %ds)" % BUSY_TIMEOUT)
        self._holds_writer.held = True
        try:
            self._begin_immediate()
        except BaseException:
            self._release_writer()
            raise

    def _begin_immediate(self):
        with __exception_wrapper__:
            begin_immediate(self.connection(), BUSY_TIMEOUT)

    def _transaction_ended(self):
        self._release_writer()

    def _release_writer(self):
        if getattr(self._holds_writer, "held", False):
            self._holds_writer.held = False
            self._writer.release()

    def close_all(self):
        """Close every pooled connection; one another thread is using now
        is closed when that thread hands it back (closing a SQLite
        connection under a running statement crashes the process)."""
        with self._pool_lock:
            self._doomed.update(self._in_use)
        self.close()
        self.close_idle()

    def _can_reuse(self, conn):
        key = self.conn_key(conn)
        if key in self._doomed:
            self._doomed.discard(key)
            return False
        return True


def begin_immediate(conn, timeout):
    """BEGIN IMMEDIATE on a sqlite3 connection, waiting for another
    process's writer in short steps for up to ``timeout`` seconds.

    SQLite's own busy handler sleeps 1, 2, 5 ... 25, 50, 100 ms between
    tries, so a writer in another worker holding the lock for a fraction
    of a millisecond could cost this one 25 ms, with every thread of its
    process queued behind it.  Statements after BEGIN keep the busy wait.
    """
    deadline = time.monotonic() + timeout
    pause = 0.0002
    conn.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 0.002)
    finally:
        conn.execute("PRAGMA busy_timeout = %d" % int(timeout * 1000))


class PostgresDatabase(AfterCommit, PooledPostgresqlDatabase):
    """PostgreSQL for several hosts: the same models and the same SQL.

    Each worker process has its own pool (opened after the fork), sized
    by ``GATEWAY_DATABASE_POOL_SIZE``; a thread waits up to
    ``BUSY_TIMEOUT`` seconds for a free connection.
    """
    engine = "postgres"
    url = None
    serving = False

    def begin(self, lock_type=None):
        # SQLite's "BEGIN IMMEDIATE" takes the file's one write lock up
        # front.  PostgreSQL locks the rows a transaction writes, and the
        # transactions that must run alone take a named lock (``lock``),
        # so every transaction here starts with a plain BEGIN.
        return super().begin()

    def execute_sql(self, sql, params=None):
        try:
            return super().execute_sql(to_pyformat(sql), params)
        except ValueError as exc:
            # psycopg2 refuses a NUL in a string before sending anything;
            # callers handle a DataError, as for any value a column
            # cannot take.
            if "NUL" not in str(exc):
                raise
            raise DataError("text with a NUL character cannot be "
                            "stored") from None


def close_pool():
    """Close every pooled connection (before a fork, at shutdown)."""
    if db.obj is not None:
        db.close_all()


def is_postgres_url(url):
    return urlparse(url).scheme in POSTGRES_SCHEMES


def redact_url(url):
    """``url`` without its password, fit for a log line or a listing."""
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    netloc = parsed.netloc.replace(":" + parsed.password + "@", ":***@", 1)
    return parsed._replace(netloc=netloc).geturl()


def describe_database(url):
    """The SQLite file's path, or the PostgreSQL URL without password."""
    return database_path(url) or redact_url(url)


def engine():
    """``"sqlite"`` or ``"postgres"``: the engine ``db`` is bound to."""
    return db.obj.engine


def database_path(url):
    """Return the file path of a ``sqlite:///path`` URL (None for
    PostgreSQL)."""
    if is_postgres_url(url):
        return None
    parsed = urlparse(url)
    return parsed.netloc + parsed.path if parsed.netloc else parsed.path[1:]


def secure_file(path):
    """Create ``path`` 0600 if missing, or take other users' access away.

    SQLite creates a database's -wal and -shm files with the database
    file's own mode, so making the main file 0600 before SQLite first
    opens it covers them too; existing ones are fixed here as well.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError:
        return  # not ours to create (read-only, another owner): leave it
    for name in (path, path + "-wal", path + "-shm", path + "-journal"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except OSError:
            pass


def enable_wal(path, timeout=BUSY_TIMEOUT):
    """Put the SQLite file in WAL mode (readers never block the writer).

    Switching takes an exclusive lock that SQLite does not wait for with
    its busy timeout, so processes starting together retry here; a file
    already in WAL mode answers at once.
    """
    conn = sqlite3.connect(path, timeout=timeout)
    try:
        deadline = time.monotonic() + timeout
        while conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            try:
                conn.execute("PRAGMA journal_mode=wal")
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
    finally:
        conn.close()


def open_database(url, pool_size=None, serving=False):
    """A new, unconnected database for ``url`` (not bound to ``db``);
    ``serving``: for a process that serves requests."""
    if is_postgres_url(url):
        # libpq reads the URL itself (user, password, host, port, dbname,
        # ?sslmode=... and the like); peewee hands it over as the DSN.
        dsn = "postgresql://" + url.split("://", 1)[1]
        options = {"connect_timeout": 5,
                   "application_name": APP_NAME if serving else TOOL_NAME}
        database = PostgresDatabase(
            dsn, max_connections=pool_size or POOL_SIZE, stale_timeout=600,
            timeout=BUSY_TIMEOUT,
            **{k: v for k, v in options.items() if k + "=" not in url})
        database.url, database.serving = url, serving
        return database
    if sqlite3.sqlite_version_info < (3, 35):
        # UPDATE ... RETURNING keeps the quota and status checks race-free.
        raise RuntimeError("SQLite 3.35 or newer is required (this Python "
                           "has %s)" % sqlite3.sqlite_version)
    path = database_path(url)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    secure_file(path)
    enable_wal(path)
    database = SqliteDatabase(path, max_connections=64, stale_timeout=600,
                              pragmas=PRAGMAS, check_same_thread=False)
    database.url = url
    return database


def open_db(url, pool_size=None, serving=False, secret_key=""):
    """Point ``db`` at the database of ``url`` (kept if already there);
    return the SQLite file's path, or None on PostgreSQL.

    Also loads the key that seals secrets at rest: ``secret_key``, else
    (SQLite only) the key file beside the database, created on first
    start; PostgreSQL requires the key.
    """
    secretbox.configure(secretbox.load_key(
        secret_key or os.environ.get("GATEWAY_SECRET_KEY", ""),
        database_path(url)))
    current = db.obj
    if not is_postgres_url(url):
        # Neither the pool size setting nor the connection names are
        # SQLite's.
        pool_size, serving = None, False
    if current is None or current.url != url or (
            pool_size is not None and current._max_connections != pool_size
    ) or (serving and not current.serving):
        if current is not None:
            # Pooled connections to another database must not be reused;
            # one another thread still holds is left to it (closing it
            # under that thread crashes SQLite).
            current.close_idle()
        db.initialize(open_database(url, pool_size, serving))
    return database_path(url)


def execute(sql, *params):
    """Run hand-written ``sql`` (``?`` placeholders) on either engine;
    return the cursor.

    For the hot paths, like ``first``: rows come back as tuples.
    """
    return db.execute_sql(sql, params)


@functools.lru_cache(maxsize=1024)
def to_pyformat(sql):
    """``sql`` with SQLite's ``?`` placeholders as psycopg's ``%s``.

    Statements peewee built already use ``%s`` and have no ``?``, so they
    come back unchanged.  A literal ``%`` becomes ``%%``; quoted strings
    and names are left as they are.
    """
    if "?" not in sql:
        return sql
    out, quote = [], None
    for char in sql:
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "?":
            out.append("%s")
            continue
        out.append("%%" if char == "%" else char)
    return "".join(out)


def others_connected():
    """Whether any process serving requests is connected to this
    database.

    Every send in flight holds a connection (one per request), so when
    none is connected no send can be in flight on any host.  SQLite: one
    host, whose workers are gone before its master starts again.
    """
    if db.obj.engine != "postgres":
        return False
    return db.execute_sql(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = "
        "current_database() AND application_name = %s AND pid <> "
        "pg_backend_pid())", (APP_NAME,)).fetchone()[0]


def lock(name):
    """Make the current transaction run alone among those locking ``name``.

    SQLite: nothing to do, as long as the transaction began IMMEDIATE
    (``db.atomic("IMMEDIATE")``): it already holds the one write lock.
    PostgreSQL: a transaction-level advisory lock on a 63-bit hash of
    ``name``, released at commit or rollback.
    """
    if db.obj.engine == "postgres":
        digest = hashlib.sha256(name.encode("utf-8")).digest()
        key = int.from_bytes(digest[:8], "big") >> 1
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


def for_update_sql():
    """What ends a hand-written claim: ``FOR UPDATE SKIP LOCKED`` where
    the engine has it (see ``for_update``)."""
    return " FOR UPDATE SKIP LOCKED" if db.obj.engine == "postgres" else ""


def for_update(query, skip_locked=True):
    """``query`` with ``FOR UPDATE SKIP LOCKED`` where the engine has it.

    Concurrent claimers on PostgreSQL each get rows no other holds; on
    SQLite an IMMEDIATE transaction has already serialised them.
    """
    if db.obj.engine == "postgres":
        return query.for_update(skip_locked=skip_locked)
    return query
