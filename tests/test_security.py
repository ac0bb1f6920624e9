"""What is and is not logged, how secrets are kept, size limits."""
import hmac
import json
import logging

import pytest

import store
from conftest import create_account
from conftest import create_endpoint
from conftest import send_body

SECRET_TEXT = "Your verification code is 482913. Do not share it."


def all_log_text(caplog):
    return "\n".join(
        "%s %s %s" % (r.name, r.getMessage(), r.exc_text or "")
        for r in caplog.records)


def test_logs_never_hold_keys_secrets_or_message_text(
        make_app, receiver, sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app()
    client = app.test_client()
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url)
    with store.db.connection_context():
        intake_secret = store.Instance.get().webhook_secret
    # A send, a refused send, a failed send, an unknown-outcome send.
    client.post("/api/send-message", headers=account.headers,
                json=send_body(message=SECRET_TEXT,
                               message_purpose="authentication"))
    client.post("/api/send-message", headers=account.headers,
                json=send_body(message=SECRET_TEXT, message_purpose="x"))
    sandbox.state.add_not_on_whatsapp("966501234568")
    client.post("/api/send-message", headers=account.headers,
                json=send_body(message=SECRET_TEXT, phone="+966501234568"))
    sandbox.state.set_connection_closed(True)
    client.post("/api/send-message", headers=account.headers,
                json=send_body(message=SECRET_TEXT, phone="+966501234569"))
    # Bad keys, an inbound message and an opt-out through the intake.
    client.post("/api/send-message", json=send_body(),
                headers={"Authorization": "Bearer " + account.key + "x"})
    for text in (SECRET_TEXT, "STOP"):
        client.post("/webhooks/evolution/support-line", headers={
            "X-Gateway-Secret": intake_secret}, json={
            "event": "messages.upsert", "instance": "evo-support",
            "data": {"key": {"remoteJid": "966501234567@s.whatsapp.net",
                             "fromMe": False, "id": "ID" + text[:3]},
                     "message": {"conversation": text},
                     "messageTimestamp": 1795500000}})
    client.post("/webhooks/evolution/support-line",
                headers={"X-Gateway-Secret": "wrong"}, json={})
    receiver.wait_for(lambda r: r.events("recipient.opted_out"))
    logged = all_log_text(caplog)
    assert logged, "the flows above should log something"
    for secret in (account.key, account.key[4:], endpoint.secret,
                   intake_secret, SECRET_TEXT, "482913"):
        assert secret not in logged


def test_api_keys_are_stored_as_hashes_only(app, tmp_path):
    account = create_account()
    with store.db.connection_context():
        row = store.ApiKey.get()
    assert row.key_hash == store.hash_api_key(account.key)
    assert account.key not in row.key_hash
    store.db.close()
    data = b"".join(p.read_bytes() for p in tmp_path.glob("gateway.db*"))
    assert account.key.encode() not in data


def test_secrets_are_compared_in_constant_time(client, app, monkeypatch):
    create_account()
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append(1)
        return real(a, b)
    monkeypatch.setattr(hmac, "compare_digest", spy)
    client.post("/webhooks/evolution/support-line",
                headers={"X-Gateway-Secret": "guess"}, json={})
    assert calls


@pytest.mark.parametrize("path,limit", [
    ("/api/send-message", 1024 * 1024),
    # GATEWAY_INTAKE_MAX_BYTES (136 MB by default, Evolution's own).
    ("/webhooks/evolution/support-line", 2 * 1024 * 1024),
])
def test_every_route_caps_its_body(make_app, path, limit):
    client = make_app(INTAKE_MAX_BYTES=limit).test_client()
    account = create_account()
    with store.db.connection_context():
        secret = store.Instance.get().webhook_secret
    body = json.dumps({"pad": "x" * (limit + 10)})
    response = client.post(path, data=body, headers=dict(
        account.headers, **{"Content-Type": "application/json",
                            "X-Gateway-Secret": secret}))
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
