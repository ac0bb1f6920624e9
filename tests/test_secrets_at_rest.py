"""Secrets at rest: sealed secrets, 0600 files, no Evolution apikey,
no one-time codes, and message texts that expire."""
import datetime
import json
import os
import stat

import pytest

import secretbox
import store
import threecx
from conftest import EVOLUTION_TOKEN
from conftest import TEST_ENGINE
from conftest import sqlite_only
from conftest import create_account
from conftest import create_endpoint
from conftest import send_body

CODE_TEXT = "Your verification code is 771903."


def database_bytes(tmp_path):
    """Every byte of the SQLite files; on PostgreSQL, every stored text
    of the tables these tests write (what a dump would show)."""
    if TEST_ENGINE == "sqlite":
        store.db.close_all()
        return b"".join(p.read_bytes()
                        for p in tmp_path.glob("gateway.db*"))
    chunks = []
    with store.db.connection_context():
        for table in ("instance", "webhookendpoint", "threecxintegration",
                      "inboundevent", "messagelog"):
            for row in store.db.execute_sql("SELECT * FROM %s" % table):
                chunks.extend(str(v).encode() for v in row)
    return b"\n".join(chunks)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_secrets_the_gateway_uses_are_sealed_in_the_file(app, tmp_path,
                                                         receiver):
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url)
    with store.db.connection_context():
        instance = store.Instance.get()
        row, _ = threecx.create_integration(account.customer_id,
                                            "support-line")
        row.hmac_secret = "hmac-secret-of-3cx-0123456789"
        row.save()
    clear = [EVOLUTION_TOKEN, endpoint.secret, instance.webhook_secret,
             "hmac-secret-of-3cx-0123456789"]
    data = database_bytes(tmp_path)
    for secret in clear:
        assert secret.encode() not in data, secret
    # ... and the gateway still uses them: read back in clear.
    with store.db.connection_context():
        assert store.Instance.get().evolution_token == EVOLUTION_TOKEN
        assert store.WebhookEndpoint.get().secret == endpoint.secret
        assert threecx.ThreeCxIntegration.get().hmac_secret == clear[3]
        raw = store.db.execute_sql(
            "SELECT evolution_token, webhook_secret FROM instance"
        ).fetchone()
    assert all(value.startswith(secretbox.PREFIX) for value in raw)


def test_sends_intake_and_signed_deliveries_work_with_sealed_secrets(
        client, receiver, sandbox):
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url)
    receiver.secret = endpoint.secret
    response = client.post("/api/send-message", json=send_body(),
                           headers=account.headers)
    assert response.status_code == 200  # Evolution got the clear token
    receiver.wait_for(lambda r: r.events("message.sent"))
    assert all(r["valid"] for r in receiver.received)
    with store.db.connection_context():
        secret = store.Instance.get().webhook_secret
    answer = client.post("/webhooks/evolution/support-line",
                         json={"event": "connection.update",
                               "instance": "evo-support",
                               "data": {"state": "open"}},
                         headers={"X-Gateway-Secret": secret})
    assert answer.status_code == 200


@sqlite_only
def test_key_file_is_created_once_beside_the_database_0600(
        make_app, tmp_path, monkeypatch):
    monkeypatch.delenv("GATEWAY_SECRET_KEY")
    make_app(SECRET_KEY="")
    key_file = tmp_path / "secret.key"
    assert key_file.exists()
    assert mode(key_file) == 0o600
    key = key_file.read_text().strip()
    assert secretbox.parse_keys(key)
    # A second start keeps the same key.
    store.init_db("sqlite:///%s" % (tmp_path / "gateway.db"))
    assert key_file.read_text().strip() == key


def test_an_explicit_key_is_used_and_a_wrong_key_is_a_clear_error(
        tmp_path):
    key = secretbox.generate_key()
    url = "sqlite:///%s" % (tmp_path / "gateway.db")
    store.init_db(url, secret_key=key)
    assert not (tmp_path / "secret.key").exists()
    with store.db.connection_context():
        customer = store.Customer.create(name="A")
        store.Instance.create(customer=customer, name="x",
                              evolution_instance="x",
                              evolution_token="tok-123")
    store.init_db(url, secret_key=secretbox.generate_key())
    with store.db.connection_context():
        with pytest.raises(secretbox.SecretKeyError) as info:
            store.Instance.get().evolution_token
    assert "another key" in str(info.value)
    # Rotation: the new key first, the old one still opens.
    store.init_db(url, secret_key=secretbox.generate_key() + "," + key)
    with store.db.connection_context():
        assert store.Instance.get().evolution_token == "tok-123"


def test_a_database_server_requires_the_key():
    with pytest.raises(secretbox.SecretKeyError) as info:
        secretbox.load_key("", None)
    assert "GATEWAY_SECRET_KEY is required" in str(info.value)
    with pytest.raises(secretbox.SecretKeyError):
        secretbox.parse_keys("not-a-key")


@sqlite_only
def test_database_files_are_private(app, tmp_path, client, sandbox):
    account = create_account()
    client.post("/api/send-message", json=send_body(),
                headers=account.headers)
    names = ["gateway.db", "gateway.db-wal", "gateway.db-shm", "rl.db"]
    for name in names:
        assert (tmp_path / name).exists(), name
        assert mode(tmp_path / name) == 0o600, name


def test_existing_world_readable_files_are_made_private(tmp_path,
                                                       monkeypatch):
    monkeypatch.delenv("GATEWAY_SECRET_KEY")
    path = tmp_path / "gateway.db"
    path.write_bytes(b"")
    os.chmod(path, 0o644)
    store.init_db("sqlite:///%s" % path)
    assert mode(path) == 0o600
    assert mode(tmp_path / "secret.key") == 0o600


def test_evolution_apikey_is_never_stored(client, tmp_path):
    create_account()
    with store.db.connection_context():
        secret = store.Instance.get().webhook_secret
    body = {"event": "connection.update", "instance": "evo-support",
            "data": {"state": "open"}, "server_url": "http://evolution",
            "apikey": "EVOLUTION-GLOBAL-KEY-42"}
    client.post("/webhooks/evolution/support-line", json=body,
                headers={"X-Gateway-Secret": secret})
    client.post("/webhooks/evolution/support-line",
                data=b'{"apikey": "EVOLUTION-GLOBAL-KEY-42", broken',
                headers={"X-Gateway-Secret": secret,
                         "Content-Type": "application/json"})
    with store.db.connection_context():
        bodies = [e.body for e in store.InboundEvent.select()]
    assert len(bodies) == 2
    assert json.loads(bodies[0])["apikey"] == "[redacted]"
    assert json.loads(bodies[0])["data"] == {"state": "open"}
    assert b"EVOLUTION-GLOBAL-KEY-42" not in database_bytes(tmp_path)


def test_authentication_texts_are_never_stored(client, tmp_path, sandbox):
    account = create_account()
    sent = client.post("/api/send-message", json=send_body(
        message=CODE_TEXT, message_purpose="authentication"),
        headers=account.headers)
    assert sent.status_code == 200
    assert sandbox.state.sent_messages()[0]["text"] == CODE_TEXT
    with store.db.connection_context():
        store.Instance.update(paused=True, paused_reason="x").execute()
    refused = client.post("/api/send-message", json=send_body(
        message=CODE_TEXT, message_purpose="authentication"),
        headers=account.headers)
    assert refused.status_code == 423
    with store.db.connection_context():
        texts = [r.message_text for r in store.MessageLog.select()]
    assert texts == [store.REDACTED_TEXT] * 2
    assert b"771903" not in database_bytes(tmp_path)


def test_old_message_texts_are_purged_and_rows_kept(app):
    account = create_account()
    now = store.utcnow()
    with store.db.connection_context():
        for age in (40, 31, 1):
            store.MessageLog.create(
                customer=account.customer_id, phone="+966501234567",
                purpose="support", outcome="sent",
                message_text="text %d days old" % age,
                created_at=now - datetime.timedelta(days=age))
        assert store.purge_message_texts(0) == 0
        assert store.purge_message_texts(30) == 2
        rows = list(store.MessageLog.select().order_by(store.MessageLog.id))
    assert [r.message_text for r in rows] == [None, None, "text 1 days old"]
    assert [r.outcome for r in rows] == ["sent"] * 3


def test_housekeeping_applies_the_retention_setting(make_app):
    import gateway
    app = make_app(MESSAGE_TEXT_RETENTION_DAYS="7")
    account = create_account()
    with store.db.connection_context():
        store.MessageLog.create(
            customer=account.customer_id, outcome="sent",
            message_text="old", created_at=store.utcnow()
            - datetime.timedelta(days=8))
        gateway.make_housekeeping(app.extensions["gateway"]["settings"])()
        assert store.MessageLog.get().message_text is None


def test_migration_seals_and_redacts_what_older_versions_stored(tmp_path):
    import sqlite3
    from test_migrations import fill_pre_migration_database
    path = str(tmp_path / "gateway.db")
    fill_pre_migration_database(path)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE threecxintegration SET hmac_secret = "
                     "'hmac-legacy-secret-0123'")
        conn.execute("INSERT INTO inboundevent (instance_id, body, outcome, "
                     "events_emitted, received_at) VALUES (1, ?, 'processed',"
                     " 0, '2026-11-20 09:30:00')",
                     ('{"event": "x", "apikey": "LEGACY-EVO-KEY-77"}',))
        conn.execute("INSERT INTO messagelog (customer_id, purpose, source, "
                     "outcome, message_text, created_at) VALUES (1, "
                     "'authentication', 'api', 'sent', 'code 551200', "
                     "'2026-11-20 09:30:00')")
    store.init_db("sqlite:///" + path)
    store.db.close_all()
    with sqlite3.connect(path) as conn:
        raw = conn.execute("SELECT evolution_token, webhook_secret FROM "
                           "instance").fetchone()
        raw += conn.execute("SELECT secret FROM webhookendpoint").fetchone()
        raw += conn.execute("SELECT hmac_secret FROM threecxintegration"
                            ).fetchone()
    assert all(secretbox.is_sealed(value) for value in raw), raw
    assert [secretbox.reveal(v) for v in raw] == [
        "T", "whi_x", "whsec_x", "hmac-legacy-secret-0123"]
    data = b"".join(p.read_bytes() for p in tmp_path.glob("gateway.db*"))
    for clear in (b"LEGACY-EVO-KEY-77", b"551200", b"whsec_x",
                  b"hmac-legacy-secret-0123"):
        assert clear not in data, clear
    with store.db.connection_context():
        assert store.Instance.get().evolution_token == "T"
        texts = [r.message_text for r in store.MessageLog.select().where(
            store.MessageLog.purpose == "authentication")]
    assert texts == [store.REDACTED_TEXT]
    # Applying again (another host starting) changes nothing.
    store.init_db("sqlite:///" + path)
    with store.db.connection_context():
        assert store.WebhookEndpoint.get().secret == "whsec_x"
