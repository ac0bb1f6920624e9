"""Schema migrations on a real PostgreSQL server: the migrated schema is
exactly the live models', an existing database upgrades with every row
intact, hosts starting together apply each step once (the advisory
lock), and ``gateway migrate --check`` tells.

The SQLite side of the same guarantees is in ``test_migrations.py``.
"""
import json
import os
import subprocess
import sys
import time

import pytest

import migrate
import secretbox
import store
from conftest import GATEWAY_BIN
from test_migrations import INITIAL
from test_migrations import STARTER
from test_migrations import describe_schema
from test_migrations import fill_pre_migration_database
from test_migrations import live_models

pytest.importorskip("psycopg2")


def open_unbound(url):
    """A PostgreSQL database of ``url`` that ``store.db`` does not use."""
    return store.open_database(url)


def test_migrated_schema_matches_the_live_models(new_postgres_database):
    migrated = open_unbound(new_postgres_database())
    with migrated.connection_context():
        migrate.apply_pending(migrated)
        from_migrations = describe_schema(migrated)
    fresh = open_unbound(new_postgres_database())
    models = live_models()
    with fresh.connection_context():
        with fresh.bind_ctx(models, bind_refs=False, bind_backrefs=False):
            fresh.create_tables(models)
        from_models = describe_schema(fresh)
    migrated.close_all()
    fresh.close_all()
    assert sorted(from_migrations) == sorted(from_models), \
        "a model has no migration, or a migration no model"
    for table in from_models:
        assert from_migrations[table] == from_models[table], table


def read_rows(table):
    cursor = store.db.execute_sql('SELECT * FROM "%s" ORDER BY id' % table)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, r)) for r in cursor.fetchall()]


def assert_upgraded_intact(url, before):
    store.init_db(url)
    with store.db.connection_context():
        applied, pending, unknown = migrate.status(store.db)
        assert pending == [] and unknown == []
        assert applied[0] == "0001_initial"
        for table, rows in before.items():
            # New columns may appear; every old value stays as it was.
            # Secrets are sealed by 0005: compared as the code reads them.
            assert [{k: secretbox.reveal(row[k]) for k in rows[0]}
                    for row in read_rows(table)] == rows, table
        # The upgraded database works for the live code, and its id
        # sequences go on after the rows it had.
        assert store.find_instance("support-line").connection_state == "open"
        assert store.Customer.create(name="Next").id == 2


def test_upgrade_of_a_database_at_the_first_step_keeps_every_row(
        empty_postgres_url, monkeypatch):
    """A PostgreSQL database made at version 0001, with data, then brought
    to the code's version by ``init_db`` (as at every start)."""
    database = open_unbound(empty_postgres_url)
    first = migrate.discover_steps()[:1]
    with monkeypatch.context() as patch:
        patch.setattr(migrate, "discover_steps", lambda: first)
        with database.connection_context():
            migrate.apply_pending(database)
    # The fill's create_tables leaves the migrated tables as they are.
    before = fill_pre_migration_database(database)
    database.close_all()
    assert all(before.values())
    assert_upgraded_intact(empty_postgres_url, before)


def test_upgrade_from_tables_made_without_migrations(empty_postgres_url):
    """Tables created straight from the first models (no record table)
    are stamped at 0001, then upgraded."""
    database = open_unbound(empty_postgres_url)
    before = fill_pre_migration_database(database)
    database.close_all()
    assert all(before.values())
    assert set(before) == {m._meta.table_name for m in INITIAL.TABLES}
    assert_upgraded_intact(empty_postgres_url, before)


def test_hosts_starting_together_apply_each_step_once(empty_postgres_url,
                                                      tmp_path):
    script = tmp_path / "start.py"
    script.write_text(STARTER % os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    go = str(time.time() + 1.5)
    procs = [subprocess.Popen([sys.executable, str(script),
                               empty_postgres_url, go],
                              stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    database = open_unbound(empty_postgres_url)
    with database.connection_context():
        cursor = database.execute_sql("SELECT version, count(*) FROM "
                                      "schema_migrations GROUP BY version")
        counts = dict(cursor.fetchall())
    database.close_all()
    assert counts == {s.version: 1 for s in migrate.discover_steps()}


def run_gateway(url, tmp_path, *args):
    env = dict(os.environ, GATEWAY_DATABASE_URL=url)
    return subprocess.run([GATEWAY_BIN, *args], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=60)


def test_migrate_check_on_postgres(empty_postgres_url, tmp_path):
    url = empty_postgres_url
    check = run_gateway(url, tmp_path, "migrate", "--check")
    assert check.returncode == 1, check.stderr
    report = json.loads(check.stdout)
    assert report["pending"] == [s.label for s in migrate.discover_steps()]
    assert report["database"] == url
    done = run_gateway(url, tmp_path, "migrate")
    assert done.returncode == 0, done.stderr
    check = run_gateway(url, tmp_path, "migrate", "--check")
    assert check.returncode == 0
    assert json.loads(check.stdout)["current"] is True


def test_password_stays_out_of_the_report(tmp_path):
    assert store.describe_database(
        "postgresql://gw:s3cret@db.internal:5432/gateway") == \
        "postgresql://gw:***@db.internal:5432/gateway"
