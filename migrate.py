"""Schema migrations: the numbered steps in ``migrations/``, each once.

A step is a module ``migrations/NNNN_what.py`` with a docstring saying
what it changes and why, and ``upgrade(m)`` taking a ``Migration``.  The
rules that keep upgrades safe:

- A step never imports the live models (they keep changing): a new table
  is a frozen copy of its model inside the step.
- The live models change in the same commit as the step, so a migrated
  database and the models agree (``tests/test_migrations.py`` compares
  them on every run).
- Steps are applied in version order; a version missing from the record
  is applied even when later ones already are, so branches that land in
  any order still meet.

The record is the ``schema_migrations`` table.  Each step runs in its own
transaction under a lock, so several workers or hosts starting at once
apply it exactly once: on SQLite ``BEGIN IMMEDIATE`` (SQLite's DDL is
transactional), on PostgreSQL ``pg_advisory_xact_lock``.  A database made
before migrations existed (by ``create_tables``) has exactly the tables of
step 0001 and is stamped at that version rather than rebuilt.
"""
import datetime
import importlib
import logging
import pkgutil
import re

from peewee import DatabaseProxy
from playhouse.migrate import SchemaMigrator
from playhouse.migrate import migrate as run_operations

import migrations

log = logging.getLogger("gateway.migrate")

VERSION_TABLE = "schema_migrations"
STEP_NAME = re.compile(r"^(\d{4})_(\w+)$")
# Any fixed number: every host takes the same advisory lock.
ADVISORY_LOCK_KEY = 0x6761746577617900  # "gateway\0"
# A step may rewrite a big table; a second host waits for it rather
# than failing on SQLite's ordinary busy timeout.
SQLITE_LOCK_WAIT_MS = 600000


class MigrationError(RuntimeError):
    """The database cannot be brought to the code's schema."""


class Step:
    def __init__(self, version, name, module):
        self.version = version
        self.name = name
        self.module = module

    @property
    def label(self):
        return "%04d_%s" % (self.version, self.name)


def discover_steps():
    """Every step in ``migrations/``, in version order."""
    steps = {}
    for info in pkgutil.iter_modules(migrations.__path__):
        match = STEP_NAME.match(info.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in steps:
            raise MigrationError("two migrations share version %04d: %s, %s"
                                 % (version, steps[version].label, info.name))
        module = importlib.import_module("migrations." + info.name)
        steps[version] = Step(version, match.group(2), module)
    return [steps[v] for v in sorted(steps)]


def unwrap(db):
    """The database behind ``store.db`` (a proxy bound by ``open_db``)."""
    return db.obj if isinstance(db, DatabaseProxy) else db


def engine_of(db):
    db = unwrap(db)
    name = type(db).__name__.lower()
    if "postgres" in name:
        return "postgres"
    if "sqlite" in name:
        return "sqlite"
    raise MigrationError("unsupported database %s" % type(db).__name__)


class Migration:
    """What a step's ``upgrade(m)`` is handed."""

    def __init__(self, db):
        db = unwrap(db)
        self.db = db
        self.engine = engine_of(db)
        self.migrator = SchemaMigrator.from_database(db)

    def sql(self, statement, params=()):
        return self.db.execute_sql(statement, params)

    def create_tables(self, *models):
        with self.db.bind_ctx(models, bind_refs=False, bind_backrefs=False):
            self.db.create_tables(models)

    def add_column(self, table, column, field):
        run_operations(self.migrator.add_column(table, column, field))

    def drop_column(self, table, column):
        run_operations(self.migrator.drop_column(table, column))

    def create_index(self, table, columns, unique=False, name=None):
        columns = list(columns)
        name = name or "%s_%s" % (table, "_".join(columns))
        self.sql('CREATE %sINDEX IF NOT EXISTS "%s" ON "%s" (%s)' % (
            "UNIQUE " if unique else "", name, table,
            ", ".join('"%s"' % c for c in columns)))

    def drop_index(self, table, name):
        run_operations(self.migrator.drop_index(table, name))


def _ensure_record(db):
    db.execute_sql(
        'CREATE TABLE IF NOT EXISTS "%s" (version INTEGER PRIMARY KEY, '
        'name VARCHAR(255) NOT NULL, applied_at VARCHAR(32) NOT NULL)'
        % VERSION_TABLE)


def applied_versions(db):
    """Versions recorded as applied (empty when there is no record)."""
    if VERSION_TABLE not in db.get_tables():
        return set()
    cursor = db.execute_sql('SELECT version FROM "%s"' % VERSION_TABLE)
    return {row[0] for row in cursor.fetchall()}


def status(db):
    """``(applied, pending, unknown)``: labels and versions for reports.

    ``unknown`` lists versions the database has but this code does not
    (a newer release ran against it).
    """
    steps = discover_steps()
    done = applied_versions(db)
    if not done and _is_legacy(db):
        done = {1}
    known = {s.version for s in steps}
    applied = [s.label for s in steps if s.version in done]
    pending = [s.label for s in steps if s.version not in done]
    return applied, pending, sorted(done - known)


def _is_legacy(db):
    """A database created by ``create_tables`` before migrations."""
    return "customer" in db.get_tables()


def _record(db, step):
    db.execute_sql(
        'INSERT INTO "%s" (version, name, applied_at) VALUES (%s, %s, %s)'
        % (VERSION_TABLE, db.param, db.param, db.param),
        (step.version, step.name,
         datetime.datetime.now(datetime.timezone.utc).isoformat()))


def _locked_transaction(db):
    if engine_of(db) == "sqlite":
        return db.atomic("IMMEDIATE")
    return db.atomic()


def _take_lock(db):
    if engine_of(db) == "postgres":
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)",
                       (ADVISORY_LOCK_KEY,))


def apply_pending(db):
    """Apply every step not yet recorded; return the labels applied.

    Call within a connection (``db.connection_context()``).
    """
    db = unwrap(db)
    engine = engine_of(db)
    if engine == "sqlite":
        busy_timeout_ms = db.execute_sql("PRAGMA busy_timeout").fetchone()[0]
        db.execute_sql("PRAGMA busy_timeout = %d" % SQLITE_LOCK_WAIT_MS)
    applied = []
    try:
        with _locked_transaction(db):
            _take_lock(db)
            legacy = VERSION_TABLE not in db.get_tables() and _is_legacy(db)
            _ensure_record(db)
            if legacy:
                first = discover_steps()[0]
                _record(db, first)
                log.info("stamped a pre-migration database at %s",
                         first.label)
        for step in discover_steps():
            with _locked_transaction(db):
                _take_lock(db)
                # Checked under the lock: another host may have just
                # applied it.
                if step.version in applied_versions(db):
                    continue
                log.info("applying migration %s", step.label)
                step.module.upgrade(Migration(db))
                _record(db, step)
                applied.append(step.label)
    finally:
        if engine == "sqlite":
            db.execute_sql("PRAGMA busy_timeout = %d" % busy_timeout_ms)
    return applied
