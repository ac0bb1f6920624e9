"""Schema migrations on real SQLite files: upgrades keep every row, the
migrated schema is exactly the live models', several processes starting
at once apply each step once, and ``gateway migrate --check`` tells."""
import datetime
import importlib
import json
import os
import subprocess
import sys
import textwrap

import peewee
import pytest

import gateway  # noqa: F401  (imports every module that defines models)
import migrate
import migrations
import secretbox
import store

from conftest import GATEWAY_BIN

INITIAL = importlib.import_module("migrations.0001_initial")


def live_models():
    """Every model class of the running code, wherever it is defined."""
    return store.all_models()


def describe_schema(db):
    """Tables -> (columns, indexes) as SQLite reports them."""
    tables = {}
    for table in db.get_tables():
        if table == migrate.VERSION_TABLE:
            continue
        columns = sorted(
            (c.name, c.data_type.upper(), c.null, c.primary_key)
            for c in db.get_columns(table))
        indexes = sorted(
            (tuple(i.columns), i.unique) for i in db.get_indexes(table))
        tables[table] = (columns, indexes)
    return tables


def test_migrated_schema_matches_the_live_models(tmp_path):
    migrated = peewee.SqliteDatabase(str(tmp_path / "migrated.db"))
    with migrated.connection_context():
        migrate.apply_pending(migrated)
        from_migrations = describe_schema(migrated)
    fresh = peewee.SqliteDatabase(str(tmp_path / "fresh.db"))
    models = live_models()
    with fresh.connection_context():
        with fresh.bind_ctx(models, bind_refs=False, bind_backrefs=False):
            fresh.create_tables(models)
        from_models = describe_schema(fresh)
    assert sorted(from_migrations) == sorted(from_models), \
        "a model has no migration, or a migration no model"
    for table in from_models:
        assert from_migrations[table] == from_models[table], table


def fill_pre_migration_database(path):
    """A database as the gateway made it before migrations, with a row in
    every table; return {table: rows}.  ``path``: a SQLite file, or a
    database (``test_postgres_migrations`` passes PostgreSQL)."""
    legacy = path if isinstance(path, peewee.Database) else \
        peewee.SqliteDatabase(path, pragmas={"foreign_keys": 1})
    now = datetime.datetime(2026, 11, 20, 9, 30)
    with legacy.connection_context():
        with legacy.bind_ctx(INITIAL.TABLES, bind_refs=False,
                             bind_backrefs=False):
            legacy.create_tables(INITIAL.TABLES)
            m = INITIAL
            c = m.Customer.create(name="Acme", daily_limit=10,
                                  monthly_limit=100,
                                  plan_active_until=datetime.date(2027, 1, 1),
                                  modules="api,3cx", created_at=now)
            m.ApiKey.create(customer=c, key_hash="h" * 64, hint="wgk_abcd",
                            created_at=now)
            i = m.Instance.create(customer=c, name="support-line",
                                  evolution_instance="evo",
                                  evolution_token="T", webhook_secret="whi_x",
                                  connection_state="open", created_at=now)
            log_row = m.MessageLog.create(
                customer=c, instance=i, phone="+966501234567",
                purpose="transactional", outcome="sent",
                evolution_message_id="3EB0ABC", message_text="Hello",
                created_at=now, completed_at=now)
            m.QuotaCounter.create(customer=c, period="d2026-11-20", used=1)
            m.Suppression.create(customer=c, phone="+966500000001",
                                 reason="opt_out", instance=i,
                                 created_at=now)
            m.IdempotencyRecord.create(customer=c, key="k1", fingerprint="f",
                                       status_code=200, body="{}",
                                       headers="{}", created_at=now)
            m.ConversationWindow.create(customer=c, phone="+966501234567",
                                        last_inbound_at=now)
            ep = m.WebhookEndpoint.create(customer=c,
                                          url="https://example.com/h",
                                          secret="whsec_x", created_at=now)
            ev = m.Event.create(uid="evt_1", customer=c, instance=i,
                                name="message.sent",
                                payload=json.dumps({"log_id": log_row.id}),
                                created_at=now)
            m.Delivery.create(event=ev, endpoint=ep, status="delivered",
                              attempts=1, next_attempt_at=now,
                              delivered_at=now, created_at=now)
            m.InboundEvent.create(instance=i, evolution_event="messages.upsert",
                                  body="{}", outcome="processed",
                                  received_at=now)
            m.SeenFact.create(key="upsert:1", created_at=now)
            m.MessageStatus.create(instance=i, message_id="3EB0ABC", rank=2)
            t = m.ThreeCxIntegration.create(customer=c, instance=i,
                                            secret_hash="s", created_at=now,
                                            secret_rotated_at=now)
            m.ThreeCxEvent.create(integration=t, event_type="missed_call",
                                  dedupe_key="d1", status="sent",
                                  created_at=now)
            m.ThreeCxCooldown.create(integration=t, group="missed",
                                     phone="+966501234567",
                                     last_sent_at=now)
        rows = {}
        for model in INITIAL.TABLES:
            table = model._meta.table_name
            cursor = legacy.execute_sql('SELECT * FROM "%s" ORDER BY id'
                                        % table)
            names = [d[0] for d in cursor.description]
            rows[table] = [dict(zip(names, r)) for r in cursor.fetchall()]
    legacy.close()
    return rows


def test_upgrade_from_the_pre_migration_schema_keeps_every_row(tmp_path):
    path = str(tmp_path / "gateway.db")
    before = fill_pre_migration_database(path)
    assert all(before.values())
    store.init_db("sqlite:///" + path)
    with store.db.connection_context():
        applied, pending, unknown = migrate.status(store.db)
        assert pending == [] and unknown == []
        assert applied[0] == "0001_initial"
        for table, rows in before.items():
            cursor = store.db.execute_sql('SELECT * FROM "%s" ORDER BY id'
                                          % table)
            names = [d[0] for d in cursor.description]
            # Secrets are sealed by 0005: compared as the code reads them.
            after = [dict(zip(names, map(secretbox.reveal, r)))
                     for r in cursor.fetchall()]
            # New columns may appear; every old value stays as it was.
            assert [{k: row[k] for k in rows[0]} for row in after] == rows, \
                table
        # The upgraded database works for the live code.
        assert store.find_instance("support-line").connection_state == "open"


def test_fresh_database_records_every_step(tmp_path):
    store.init_db("sqlite:///%s" % (tmp_path / "g.db"))
    with store.db.connection_context():
        applied, pending, _ = migrate.status(store.db)
        cursor = store.db.execute_sql(
            "SELECT version FROM schema_migrations ORDER BY version")
        recorded = [r[0] for r in cursor.fetchall()]
    steps = migrate.discover_steps()
    assert pending == []
    assert recorded == [s.version for s in steps]
    assert applied == [s.label for s in steps]


@pytest.fixture
def steps_dir(tmp_path, monkeypatch):
    """A folder of made-up steps standing in for ``migrations/``."""
    package = tmp_path / "fake_steps"
    package.mkdir()
    monkeypatch.setattr(migrations, "__path__", [str(package)])
    importlib.invalidate_caches()
    before = set(sys.modules)
    yield package
    for name in set(sys.modules) - before:
        if name.startswith("migrations."):
            del sys.modules[name]


def test_missing_earlier_step_is_applied_after_later_ones(tmp_path,
                                                          steps_dir):
    """Branches land in any order: a version missing below the newest
    recorded one is still applied."""
    package = steps_dir
    (package / "0001_base.py").write_text(textwrap.dedent('''
        def upgrade(m):
            m.sql("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)")
    '''))
    (package / "0003_later.py").write_text(textwrap.dedent('''
        def upgrade(m):
            m.sql("ALTER TABLE t ADD COLUMN c TEXT")
    '''))
    db = peewee.SqliteDatabase(str(tmp_path / "o.db"))
    with db.connection_context():
        assert migrate.apply_pending(db) == ["0001_base", "0003_later"]
        (package / "0002_middle.py").write_text(textwrap.dedent('''
            def upgrade(m):
                m.sql("ALTER TABLE t ADD COLUMN b TEXT")
        '''))
        importlib.invalidate_caches()
        assert migrate.apply_pending(db) == ["0002_middle"]
        assert migrate.apply_pending(db) == []
        assert [c.name for c in db.get_columns("t")] == ["id", "a", "c", "b"]


def test_failed_step_leaves_nothing_half_done(tmp_path, steps_dir):
    package = steps_dir
    (package / "0001_ok.py").write_text(
        "def upgrade(m):\n    m.sql('CREATE TABLE t (id INTEGER PRIMARY KEY)')\n")
    (package / "0002_broken.py").write_text(
        "def upgrade(m):\n    m.sql('ALTER TABLE t ADD COLUMN x TEXT')\n"
        "    m.sql('ALTER TABLE nowhere ADD COLUMN y TEXT')\n")
    db = peewee.SqliteDatabase(str(tmp_path / "b.db"))
    with db.connection_context():
        with pytest.raises(peewee.OperationalError):
            migrate.apply_pending(db)
        assert migrate.applied_versions(db) == {1}
        assert [c.name for c in db.get_columns("t")] == ["id"]


STARTER = textwrap.dedent('''
    import sys, time
    sys.path.insert(0, %r)
    import store
    deadline = float(sys.argv[2])
    while time.time() < deadline:
        time.sleep(0.005)
    store.init_db(sys.argv[1])
''')


def test_processes_starting_together_apply_each_step_once(tmp_path):
    import time
    url = "sqlite:///%s" % (tmp_path / "race.db")
    script = tmp_path / "start.py"
    script.write_text(STARTER % os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    go = str(time.time() + 1.5)
    procs = [subprocess.Popen([sys.executable, str(script), url, go],
                              stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, errors
    db = peewee.SqliteDatabase(str(tmp_path / "race.db"))
    with db.connection_context():
        cursor = db.execute_sql("SELECT version, count(*) FROM "
                                "schema_migrations GROUP BY version")
        counts = dict(cursor.fetchall())
    assert counts == {s.version: 1 for s in migrate.discover_steps()}


def run_gateway(tmp_path, *args):
    env = dict(os.environ, GATEWAY_DATABASE_URL="sqlite:///%s"
               % (tmp_path / "cli.db"))
    return subprocess.run([GATEWAY_BIN, *args], env=env, cwd=str(tmp_path),
                          capture_output=True, text=True, timeout=60)


def test_migrate_check_tells_whether_the_database_is_current(tmp_path):
    fill_pre_migration_database(str(tmp_path / "cli.db"))
    later = [s.label for s in migrate.discover_steps()][1:]
    check = run_gateway(tmp_path, "migrate", "--check")
    assert check.returncode == (1 if later else 0), check.stderr
    assert json.loads(check.stdout)["pending"] == later
    done = run_gateway(tmp_path, "migrate")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["applied_now"] == later
    check = run_gateway(tmp_path, "migrate", "--check")
    assert check.returncode == 0
    assert json.loads(check.stdout)["current"] is True


def test_0003_moves_phones_to_their_canonical_form(tmp_path):
    """Opt-outs stored as +553187654321 (Evolution's JID, no ninth digit)
    or +5215512345678 must suppress what customers send to."""
    path = str(tmp_path / "old.db")
    fill_pre_migration_database(path)
    db = peewee.SqliteDatabase(path, pragmas={"foreign_keys": 1})
    with db.connection_context():
        customer = db.execute_sql("SELECT id FROM customer").fetchone()[0]
        early = datetime.datetime(2026, 11, 20, 9, 0)
        late = datetime.datetime(2026, 11, 21, 9, 0)
        for phone in ("+553187654321", "+5215512345678"):
            db.execute_sql("INSERT INTO suppression (customer_id, phone, "
                           "reason, created_at) VALUES (?, ?, 'opt_out', "
                           "?)", (customer, phone, early))
        for phone, at in (("+5531987654321", early),
                          ("+553187654321", late)):
            db.execute_sql("INSERT INTO conversationwindow (customer_id, "
                           "phone, last_inbound_at) VALUES (?, ?, ?)",
                           (customer, phone, at))
        migrate.apply_pending(db)
        suppressed = {r[0] for r in db.execute_sql(
            "SELECT phone FROM suppression WHERE customer_id = ?",
            (customer,))}
        assert {"+5531987654321", "+525512345678"} <= suppressed
        assert not {"+553187654321", "+5215512345678"} & suppressed
        windows = db.execute_sql(
            "SELECT phone, last_inbound_at FROM conversationwindow WHERE "
            "customer_id = ? AND phone LIKE '+5531%'", (customer,)
        ).fetchall()
        assert [w[0] for w in windows] == ["+5531987654321"]
        assert str(windows[0][1]).startswith("2026-11-21 09:00")
        assert "lidpair" in db.get_tables()
