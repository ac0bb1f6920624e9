"""Every hot query is answered from an index, at any size, without ANALYZE.

SQLite plans from the schema alone until ``ANALYZE`` has run (and the
gateway never runs it), so a plan seen on a small database is the plan a
million rows get.  Two checks:

* the named hot queries (receipt lookup, status ranks, suppressions,
  windows, idempotency, outbox claims, 3CX duplicates, quotas, keys)
  each use the index meant for them;
* a message's whole life and its neighbours (send, refusals, receipts,
  inbound, STOP/START, idempotent sends, webhook delivery, 3CX, the
  breaker, housekeeping) run for real while every statement SQLite
  executes is traced; each traced statement must then plan without a
  full scan of a table.
"""
import re
import sqlite3
import threading

import pytest

import store
import threecx
import threecx_chat
import webhooks
from conftest import PHONE
from conftest import TEST_ENGINE
from conftest import create_account
from conftest import create_endpoint
from conftest import send_body
from test_threecx import journal
from test_threecx import make_bridge

# These read SQLite's planner; PostgreSQL plans from statistics instead.
pytestmark = pytest.mark.skipif(TEST_ENGINE != "sqlite",
                                reason="SQLite's query planner")
from test_threecx import open_window as open_3cx_window
from test_webhooks import inbound
from test_webhooks import post_intake as post_evolution
from test_webhooks import receipt

# SQLite's own planner; PostgreSQL plans from statistics.
pytestmark = pytest.mark.sqlite_only

# A full scan, or an index used for its order only.
FULL_SCAN = re.compile(r"^SCAN (\w+)(?! USING (?:COVERING )?INDEX \S+ \()")
# Tables a full scan of is fine: they hold a handful of rows per
# deployment and no hot path reads them by a non-key column.
SMALL_TABLES = {"CONSTANT", "sqlite_master", "sqlite_schema"}


def plan(conn, sql, params=()):
    return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql,
                                           params)]


def full_scans(details):
    return [d for d in details if FULL_SCAN.match(d)
            and FULL_SCAN.match(d).group(1) not in SMALL_TABLES]


@pytest.fixture
def conn(app):
    """A second connection to the app's database file, for the plans."""
    path = app.extensions["gateway"]["db_path"]
    connection = sqlite3.connect(path)
    yield connection
    connection.close()


def assert_uses(conn, sql, params, index):
    details = plan(conn, sql, params)
    assert any(index in d for d in details), (sql, details)
    assert not full_scans(details), (sql, details)


# -- the named hot queries ---------------------------------------------------

def test_receipt_lookup_uses_the_instance_message_id_index(conn, app):
    # The (instance_id, id) index also matches instance_id: SQLite took it
    # and walked the whole instance before the composite index existed.
    assert_uses(conn, webhooks.SQL_LOG_ID, (1, "3EB0ABC"),
                "messagelog_instance_id_evolution_message_id")
    details = plan(conn, webhooks.SQL_LOG_ID, (1, "3EB0ABC"))
    assert "instance_id=? AND evolution_message_id=?" in details[0]


def test_receipt_lookup_finds_old_and_new_rows_fast_on_a_big_log(app):
    """The same plan with real rows, old and newest, both ways round."""
    account = create_account()
    with store.db.connection_context():
        store.db.execute_sql(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
            " WHERE i < 20000) INSERT INTO messagelog (customer_id, "
            "instance_id, phone, purpose, source, outcome, "
            "evolution_message_id, created_at) SELECT ?, ?, '+966501234567',"
            " 'transactional', 'api', 'sent', 'MSG' || i, '2026-11-01' "
            "FROM n", (account.customer_id, account.instance_id))
        first_id = store.db.execute_sql(
            "SELECT MIN(id) FROM messagelog").fetchone()[0]
        assert webhooks.log_id_for(account.instance_id, "MSG1") == first_id
        assert webhooks.log_id_for(account.instance_id, "MSG20000") == \
            first_id + 19999
        assert webhooks.log_id_for(account.instance_id, "nope") is None
        assert webhooks.log_id_for(account.instance_id + 1, "MSG1") is None
        # A statement's virtual-machine steps: a probe is a few dozen; a
        # walk of the instance would be tens of thousands.
        conn = store.db.connection()
        steps = []
        conn.set_progress_handler(lambda: steps.append(1), 100)
        try:
            webhooks.log_id_for(account.instance_id, "MSG1")
        finally:
            conn.set_progress_handler(None, 0)
        assert len(steps) < 5


def test_an_upgraded_database_gets_the_receipt_index(tmp_path):
    """A database from before the index (migrations 0001 only) is
    upgraded in place: its rows stay, its receipt lookup probes."""
    from test_migrations import fill_pre_migration_database
    path = str(tmp_path / "old.db")
    fill_pre_migration_database(path)
    connection = sqlite3.connect(path)
    assert "messagelog_instance_id_id" in plan(
        connection, webhooks.SQL_LOG_ID, (1, "3EB0ABC"))[0]
    connection.close()
    store.init_db("sqlite:///" + path)
    with store.db.connection_context():
        assert webhooks.log_id_for(1, "3EB0ABC") == 1
    connection = sqlite3.connect(path)
    try:
        assert_uses(connection, webhooks.SQL_LOG_ID, (1, "3EB0ABC"),
                    "messagelog_instance_id_evolution_message_id")
    finally:
        connection.close()


HOT_QUERIES = [
    # (what, SQL, params, index it must use)
    ("status rank upsert target",
     "SELECT rank FROM messagestatus WHERE instance_id = ? AND "
     "message_id = ?", (1, "X"), "messagestatus_instance_id_message_id"),
    ("suppression check", "SELECT 1 FROM suppression WHERE customer_id = ? "
     "AND phone = ? LIMIT 1", (1, PHONE), "suppression_customer_id_phone"),
    ("opt-outs of an instance (breaker)",
     "SELECT COUNT(*) FROM suppression WHERE instance_id = ? AND reason = "
     "'opt_out' AND created_at >= ?", (1, "2026-01-01"),
     "suppression_instance_id"),
    ("conversation window",
     "SELECT 1 FROM conversationwindow WHERE customer_id = ? AND phone = ? "
     "AND last_inbound_at >= ?", (1, PHONE, "2026-01-01"),
     "conversationwindow_customer_id_phone"),
    ("idempotency key",
     "SELECT * FROM idempotencyrecord WHERE customer_id = ? AND key = ?",
     (1, "k"), "idempotencyrecord_customer_id_key"),
    ("quota counter", "UPDATE quotacounter SET used = used + 1 WHERE "
     "customer_id = ? AND period = ? AND used < ? RETURNING used",
     (1, "d2026-11-24", 10), "quotacounter_customer_id_period"),
    ("API key and its customer", store.SQL_KEY_CUSTOMER, ("2026-01-01", "x"),
     "apikey_key_hash"),
    ("seen fact", "SELECT 1 FROM seenfact WHERE key = ?", ("k",),
     "seenfact_key"),
    ("breaker's recent sends",
     "SELECT outcome, created_at FROM messagelog WHERE instance_id = ? AND "
     "outcome IN ('sent', 'failed', 'unknown') ORDER BY id DESC LIMIT 20",
     (1,), "messagelog_instance_id_id"),
    ("3CX duplicate", "SELECT * FROM threecxevent WHERE integration_id = ? "
     "AND dedupe_key = ?", (1, "k"), "threecxevent_integration_id_dedupe_key"),
    ("3CX cooldown", "SELECT 1 FROM threecxcooldown WHERE integration_id = ? "
     "AND \"group\" = ? AND phone = ?", (1, "missed_call", PHONE),
     "threecxcooldown_integration_id_group_phone"),
    ("outbox claim: due deliveries",
     "SELECT id FROM delivery WHERE status IN ('pending', 'failed') AND "
     "next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 64",
     ("2026-01-01",), "delivery_status_next_attempt_at"),
    ("endpoints of a customer",
     "SELECT * FROM webhookendpoint WHERE customer_id = ? AND enabled",
     (1,), "webhookendpoint_customer_id"),
    ("3CX chat integrations of an instance (every receipt)",
     threecx_chat.SQL_ANY_CHAT, (1,), "threecxintegration_instance_id"),
    ("stuck sends (housekeeping)",
     "SELECT id FROM messagelog WHERE outcome = 'pending' AND created_at "
     "< ?", ("2026-01-01",), "messagelog_outcome"),
]


@pytest.mark.parametrize("what, sql, params, index", HOT_QUERIES,
                         ids=[q[0] for q in HOT_QUERIES])
def test_hot_query_uses_its_index(conn, what, sql, params, index):
    assert_uses(conn, sql, params, index)


def test_instance_by_id_or_name_never_scans(conn):
    details = plan(conn, "SELECT * FROM instance WHERE customer_id = ? AND "
                   "(id = ? OR name = ?) LIMIT 1", (1, 5, "line"))
    assert not full_scans(details), details


# -- everything a message's life runs ----------------------------------------

class Tracer:
    """Collects every statement run on the store's and the throttles'
    connections (with bound values, as sqlite3 expands them)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statements = {"gateway": set(), "ratelimit": set()}

    def callback(self, kind):
        def record(sql):
            with self.lock:
                self.statements[kind].add(sql)
        return record


@pytest.fixture
def tracer(app, monkeypatch):
    tracer = Tracer()
    database = store.db.obj
    # Idle pooled connections were opened untraced; one the dispatcher
    # holds right now is left to it (closing it under its thread
    # crashes SQLite).
    database.close_idle()
    original = database._connect

    def traced_connect():
        connection = original()
        connection.set_trace_callback(tracer.callback("gateway"))
        return connection
    monkeypatch.setattr(database, "_connect", traced_connect)
    storage = app.extensions["gateway"]["limiter"].storage
    original_open = storage._open

    def traced_open():
        connection = original_open()
        connection.set_trace_callback(tracer.callback("ratelimit"))
        return connection
    monkeypatch.setattr(storage, "_open", traced_open)
    storage.close()
    yield tracer
    dispatcher = app.extensions["gateway"]["dispatcher"]
    if dispatcher:
        dispatcher.stop()  # no thread left using a connection closed here
    store.db.close_all()
    storage.close()


PLANNED = re.compile(r"^\s*(SELECT|UPDATE|DELETE|WITH|INSERT .* SELECT )",
                     re.IGNORECASE | re.DOTALL)


def test_a_message_life_runs_no_full_scan(app, client, receiver, tracer,
                                          sandbox):
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url)
    receiver.secret = endpoint.secret
    headers = account.headers
    with store.db.connection_context():
        secret = store.Instance.get_by_id(
            account.instance_id).webhook_secret

    def post_intake(client, body):
        return post_evolution(client, body, {"X-Gateway-Secret": secret})
    # The send, and its three receipts (then one stale, one repeated).
    sent = client.post("/api/send-message", json=send_body(),
                       headers=headers).get_json()
    message_id = sent["message_id"]
    for status in ("SERVER_ACK", "DELIVERY_ACK", "READ", "DELIVERY_ACK"):
        assert post_intake(client, receipt(message_id, status)).status_code \
            == 200
    post_intake(client, receipt(message_id, "READ"))
    # Inbound, opt-out, a refused send, opt-in.
    post_intake(client, inbound("Hello"))
    post_intake(client, inbound("STOP", msg_id="3A0000000000000002"))
    assert client.post("/api/send-message", json=send_body(),
                       headers=headers).status_code == 403
    post_intake(client, inbound("START", msg_id="3A0000000000000003"))
    # Idempotent sends: first, replay.
    for _ in range(2):
        assert client.post("/api/send-message", json=send_body(
            phone="+966501234568"), headers=dict(
                headers, **{"Idempotency-Key": "k-1"})).status_code == 200
    # A dry run, a send to an unknown instance.
    client.post("/api/send-message?dry_run=true", json=send_body(),
                headers=headers)
    client.post("/api/send-message", json=send_body(instance_id="nope"),
                headers=headers)
    receiver.wait_for(lambda r: len(r.events()) >= 5)
    # 3CX: an event, then its duplicate.
    bridge = make_bridge(name="Clinic", instance_name="clinic-line")
    open_3cx_window(bridge)
    for _ in range(2):
        client.post(bridge.url, json=journal(), headers={
            threecx.SECRET_HEADER: bridge.secret})
    # The breaker and housekeeping.
    sender = app.extensions["gateway"]["sender"]
    with store.db.connection_context():
        instance = store.Instance.get_by_id(account.instance_id)
        sender.check_breaker(instance)
        import sending
        sending.recover_pending(60)
        store.prune()
        webhooks.Dispatcher(allow_private=True).claim(4)

    path = app.extensions["gateway"]["db_path"]
    checked, scans = 0, []
    for kind, statements in tracer.statements.items():
        target = path if kind == "gateway" else \
            app.extensions["gateway"]["limiter"].storage.path
        conn = sqlite3.connect(target)
        try:
            for sql in sorted(statements):
                if not PLANNED.match(sql):
                    continue
                checked += 1
                found = full_scans(plan(conn, sql))
                if found:
                    scans.append((sql, found))
        finally:
            conn.close()
    assert checked > 30, tracer.statements
    assert "messagelog_instance_id_evolution_message_id" in str(
        [plan(sqlite3.connect(path), s) for s in tracer.statements["gateway"]
         if "evolution_message_id =" in s and s.startswith("SELECT")])
    assert not scans, "\n".join("%s\n    %s" % s for s in sorted(
        {(re.sub(r"'[^']*'", "?", sql), str(found)) for sql, found in scans}))


def test_console_lookups_take_their_narrow_index(app, client, tracer, conn,
                                                 sandbox):
    """A customer's user searching a phone walks (phone, id), not every
    row of the customer; a message's page finds its events by time."""
    import reports
    account = create_account()
    sent = client.post("/api/send-message", json=send_body(),
                       headers=account.headers).get_json()
    with store.db.connection_context():
        reports.list_messages(reports.parse_filter(
            {"phone": "+966509999999"}, scope=account.customer_id))
        reports.events_for_log(store.MessageLog.get_by_id(sent["log_id"]))
    statements = [s for s in tracer.statements["gateway"]
                  if s.lstrip().upper().startswith("SELECT")]
    by_phone = [s for s in statements if "m.phone =" in s]
    by_time = [s for s in statements if 'FROM "event"' in s]
    assert by_phone and by_time, statements
    for sql in by_phone:
        assert_uses(conn, sql, (), "messagelog_phone_id")
    for sql in by_time:
        assert_uses(conn, sql, (), "event_created_at")


def test_delivery_lists_walk_an_index_newest_first(app, tracer, conn):
    """Every filter of the console's delivery list reads one page off an
    index in id order: no full scan, no sort of every matching row (a
    million for ``?status=delivered`` or a customer's whole history)."""
    import reports
    a = create_account(name="Acme")
    b = create_account(name="Beta", instance_name="beta-line",
                       evolution_instance="evo-beta")
    first = create_endpoint(a.customer_id, "http://127.0.0.1:9/a")
    create_endpoint(a.customer_id, "http://127.0.0.1:9/b")
    filters = [{}, {"status": "delivered"}, {"status": "pending"},
               {"customer_id": a.customer_id},
               {"customer_id": b.customer_id},
               {"customer_id": a.customer_id, "status": "dead"},
               {"customer_id": b.customer_id, "status": "delivered"},
               {"endpoint_id": first.id},
               {"endpoint_id": first.id, "status": "failed"},
               {"customer_id": a.customer_id, "before": 10}]
    with store.db.connection_context():
        for args in filters:
            reports.deliveries(**args)
    statements = [s for s in tracer.statements["gateway"]
                  if 'FROM "delivery"' in s and "ORDER BY" in s]
    assert len(statements) >= len(filters), statements
    for sql in statements:
        details = plan(conn, sql)
        if "WHERE" in sql:
            assert not full_scans(details), (sql, details)
        else:  # the unfiltered page: the primary key walked backwards
            assert details == ["SCAN t1"], (sql, details)
            assert sql.endswith('ORDER BY "t1"."id" DESC LIMIT 51'), sql
        assert not any("TEMP B-TREE" in d for d in details), (sql, details)
        if '"status" = ' in sql:
            assert any("delivery_status_id" in d for d in details), (
                sql, details)
        if '"status" || ' in sql:  # "delivered" walks each endpoint
            assert any("delivery_endpoint_id" in d for d in details), (
                sql, details)

