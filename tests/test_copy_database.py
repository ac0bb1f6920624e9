"""``gateway copy-database``: a SQLite database, used for real, copied into
an empty PostgreSQL one with every row of every table intact, its id
sequences moved on, and the gateway carrying on there."""
import json
import os
import subprocess

import pytest

import store
from conftest import GATEWAY_BIN
from conftest import SECRET_KEY
from conftest import create_account
from conftest import create_endpoint
from conftest import send_body
from test_migrations import INITIAL
from test_migrations import fill_pre_migration_database
from test_migrations import live_models

pytest.importorskip("psycopg2")

TEXT = "طلبك رقم ٢٠٤١ في الطريق 🚚 — ship \"quoted\" 100% ok"


def snapshot(url):
    """Every row of every live model, as Python values, by table."""
    database = store.open_database(url)
    models = live_models()
    rows = {}
    try:
        with database.connection_context(), database.bind_ctx(
                models, bind_refs=False, bind_backrefs=False):
            for model in models:
                rows[model._meta.table_name] = list(
                    model.select().order_by(model._meta.primary_key)
                    .dicts())
    finally:
        database.close_all()
    return rows


def copy(source_url, target_url, tmp_path):
    env = dict(os.environ, GATEWAY_DATABASE_URL=source_url)
    return subprocess.run([GATEWAY_BIN, "copy-database", target_url],
                          env=env, cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def used_sqlite(tmp_path, make_app, receiver):
    """A SQLite database with a row in every table of the first schema
    and a customer who sent, was refused and has webhooks queued."""
    path = str(tmp_path / "small.db")
    fill_pre_migration_database(path)
    url = "sqlite:///" + path
    app = make_app(DATABASE_URL=url, WEBHOOK_DISPATCH=False,
                   RATELIMIT_STORAGE_URI="memory://")
    client = app.test_client()
    account = create_account(name="Moving Co", daily_limit=5,
                             instance_name="line-2")
    create_endpoint(account.customer_id, receiver.url)
    for n in range(3):
        assert client.post("/api/send-message", headers=account.headers,
                           json=send_body(instance_id="line-2",
                                          phone="+96650123450%d" % n,
                                          message=TEXT)).status_code == 200
    assert client.post(
        "/api/send-message", headers=dict(account.headers, **{
            "Idempotency-Key": "order-2041"}),
        json=send_body(instance_id="line-2")).status_code == 200
    refused = client.post("/api/send-message", headers=account.headers,
                          json=send_body(instance_id="line-2",
                                         message_purpose="marketing"))
    assert refused.status_code == 422
    store.close_pool()
    return url, account


def test_copy_keeps_every_row_and_the_gateway_carries_on(
        used_sqlite, empty_postgres_url, tmp_path, make_app):
    source_url, account = used_sqlite
    before = snapshot(source_url)
    # Every table of the first schema has rows; later tables may be
    # empty, and are copied all the same.
    first_tables = [m._meta.table_name for m in INITIAL.TABLES]
    assert all(before[t] for t in first_tables), \
        [t for t in first_tables if not before[t]]
    done = copy(source_url, empty_postgres_url, tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rows"] == {t: len(r) for t, r in before.items()}
    assert snapshot(empty_postgres_url) == before
    # The source is untouched.
    assert snapshot(source_url) == before

    # The same key works on PostgreSQL; the quota carries its count (4
    # of 5 used); new rows take ids after the copied ones.
    # Sealed secrets move as they are: PostgreSQL takes the SQLite
    # database's key (its secret.key) as GATEWAY_SECRET_KEY.
    key = SECRET_KEY or (tmp_path / "secret.key").read_text().strip()
    app = make_app(DATABASE_URL=empty_postgres_url, WEBHOOK_DISPATCH=False,
                   SECRET_KEY=key)
    client = app.test_client()
    sent = client.post("/api/send-message", headers=account.headers,
                       json=send_body(instance_id="line-2",
                                      phone="+966501234599"))
    assert sent.status_code == 200, sent.get_json()
    assert sent.get_json()["log_id"] == max(
        r["id"] for r in before["messagelog"]) + 1
    over = client.post("/api/send-message", headers=account.headers,
                       json=send_body(instance_id="line-2",
                                      phone="+966501234598"))
    assert over.status_code == 429
    replay = client.post(
        "/api/send-message", headers=dict(account.headers, **{
            "Idempotency-Key": "order-2041"}),
        json=send_body(instance_id="line-2"))
    assert replay.headers.get("Idempotent-Replayed") == "true"
    with store.db.connection_context():
        assert store.Customer.create(name="New").id == max(
            r["id"] for r in before["customer"]) + 1


def test_a_target_with_rows_is_refused_and_left_alone(
        used_sqlite, empty_postgres_url, tmp_path):
    source_url, _ = used_sqlite
    assert copy(source_url, empty_postgres_url, tmp_path).returncode == 0
    copied = snapshot(empty_postgres_url)
    again = copy(source_url, empty_postgres_url, tmp_path)
    assert again.returncode == 2
    assert "not empty" in again.stderr
    assert snapshot(empty_postgres_url) == copied


def test_wrong_engines_are_clear_errors(tmp_path, used_sqlite):
    source_url, _ = used_sqlite
    done = copy(source_url, "sqlite:///%s" % (tmp_path / "other.db"),
                tmp_path)
    assert done.returncode == 2
    assert "postgresql://" in done.stderr
    assert "Traceback" not in done.stderr
