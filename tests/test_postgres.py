"""The PostgreSQL engine: hand-written SQL runs unchanged, row races are
settled by the database, and what one engine refuses the other refuses
the same way.

Tests that name ``postgres_url`` run on PostgreSQL in every pass of the
suite; the rest run on the pass's engine (``GATEWAY_TEST_ENGINE``).
"""
import concurrent.futures
import threading

import pytest

import policy
import sending
import store
from config import ConfigError
from config import load_settings
from conftest import create_account
from conftest import send_body

pytest.importorskip("psycopg2")


@pytest.mark.parametrize("sql, expected", [
    ("SELECT * FROM t WHERE a = ? AND b = ?",
     "SELECT * FROM t WHERE a = %s AND b = %s"),
    ("SELECT '?', \"odd?name\" FROM t WHERE a = ?",
     "SELECT '?', \"odd?name\" FROM t WHERE a = %s"),
    ("SELECT * FROM t WHERE a LIKE '50%' AND b = ?",
     "SELECT * FROM t WHERE a LIKE '50%%' AND b = %s"),
    # What peewee builds for PostgreSQL is left alone.
    ("SELECT * FROM t WHERE a = %s", "SELECT * FROM t WHERE a = %s"),
])
def test_placeholders_are_translated_for_psycopg(sql, expected):
    assert store.to_pyformat(sql) == expected


def test_database_url_takes_postgresql_and_explains_the_rest():
    settings = load_settings(environ={
        "GATEWAY_DATABASE_URL": "postgresql://gw:pw@db:5432/gateway"})
    assert settings.DATABASE_URL.startswith("postgresql://")
    with pytest.raises(ConfigError, match="postgresql://user"):
        load_settings(environ={"GATEWAY_DATABASE_URL": "mysql://db/x"})


def test_pool_is_sized_by_the_setting(make_app, postgres_url):
    make_app(DATABASE_URL=postgres_url, DATABASE_POOL_SIZE=7)
    assert store.engine() == "postgres"
    assert store.db.obj._max_connections == 7


def test_hand_written_sql_runs_on_postgres(make_app, postgres_url):
    """The send path's raw SQL (placeholders, RETURNING, booleans)."""
    client = make_app(DATABASE_URL=postgres_url).test_client()
    account = create_account()
    response = client.post("/api/send-message", headers=account.headers,
                           json=send_body())
    assert response.status_code == 200, response.get_json()
    with store.db.connection_context():
        row = store.first(store.MessageLog, "SELECT * FROM messagelog "
                          "WHERE id = ? AND outcome = ?",
                          response.get_json()["log_id"], "sent")
        assert row.completed_at is not None
        assert store.find_instance(str(account.instance_id)).name == \
            account.instance_name
        assert store.execute("SELECT COUNT(*) FROM webhookendpoint WHERE "
                             "customer_id = ? AND enabled",
                             account.customer_id).fetchone()[0] == 0


def test_first_take_of_a_new_period_races_on_postgres(make_app,
                                                      postgres_url):
    """Sixteen threads take a quota whose counter row does not exist yet:
    the one that loses the insert still counts, and the limit holds."""
    make_app(DATABASE_URL=postgres_url)
    account = create_account()
    barrier = threading.Barrier(16)

    def take(_):
        with store.db.connection_context():
            barrier.wait()
            with store.db.atomic():
                return sending.take_quota(account.customer_id, "d-race", 10)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        taken = list(pool.map(take, range(16)))
    assert sorted(t for t in taken if t) == list(range(1, 11))
    assert taken.count(None) == 6


def test_named_lock_makes_transactions_take_turns(make_app, postgres_url):
    make_app(DATABASE_URL=postgres_url)
    inside, overlaps = [], []
    barrier = threading.Barrier(4)

    def work(_):
        with store.db.connection_context():
            barrier.wait()
            with store.db.atomic("IMMEDIATE"):
                store.lock("test-turns")
                inside.append(1)
                overlaps.append(len(inside))
                store.execute("SELECT pg_sleep(0.05)")
                inside.pop()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    assert overlaps == [1, 1, 1, 1]


def test_nul_in_a_message_is_a_422_on_every_engine(client, account):
    response = client.post("/api/send-message", headers=account.headers,
                           json=send_body(message="Order\u0000 shipped"))
    assert response.status_code == 422
    assert response.get_json()["details"]["fields"]["message"] == [
        "Must not contain NUL characters."]


def test_unstorable_text_is_a_validation_error_not_a_500(make_app,
                                                         postgres_url):
    """Whatever reaches PostgreSQL with a NUL in it is the client's
    mistake: 422 in the contract's shape."""
    app = make_app(DATABASE_URL=postgres_url)

    @app.get("/_test/store-nul")
    def store_nul():
        store.Customer.create(name="bad\u0000name")
    response = app.test_client().get("/_test/store-nul")
    assert response.status_code == 422
    assert response.get_json()["error"] == "validation_error"


def test_evolution_body_with_a_nul_byte_is_kept(make_app, postgres_url):
    client = make_app(DATABASE_URL=postgres_url).test_client()
    create_account()
    with store.db.connection_context():
        instance = store.Instance.get()
    raw = b'{"event": "messages.upsert", "data": {"x": "a\x00b"}}'
    response = client.post(
        "/webhooks/evolution/%s" % instance.name, data=raw,
        headers={"Content-Type": "application/json",
                 "X-Gateway-Secret": instance.webhook_secret})
    assert response.status_code == 200, response.get_json()
    with store.db.connection_context():
        kept = store.InboundEvent.get()
    assert kept.body == raw.decode().replace("\x00", "\ufffd")


def test_quota_periods_do_not_depend_on_the_engine():
    # Period keys are computed in Python, never by SQL date functions.
    import datetime
    periods = policy.quota_periods(datetime.datetime(2026, 12, 1, 23, 59))
    assert periods["daily"][0] == "d2026-12-01"
    assert periods["monthly"][0] == "m2026-12"
