"""Hardening of the send API: idempotency under stress, a failing
throttle store, RateLimit after a failed send, invisible messages."""
import json
import threading
import time

import pytest

import store
from conftest import create_account
from conftest import free_port
from conftest import send_body
from contract import validate_api_error

URL = "/api/send-message"


def post(client, account, headers=None, **fields):
    headers = dict(account.headers, **(headers or {}))
    headers["Content-Type"] = "application/json"
    return client.post(URL, data=json.dumps(send_body(**fields)),
                       headers=headers)


def idempotency_rows():
    with store.db.connection_context():
        return list(store.IdempotencyRecord.select())


def test_duplicate_of_a_slow_send_in_flight_is_answered_quickly(
        make_app, sandbox):
    app = make_app(EVOLUTION_TIMEOUT=20.0)
    account = create_account()
    headers = {"Idempotency-Key": "slow-send"}
    sandbox.state.set_fail_next(hang_s=8)
    first = {}

    def send_first():
        first["response"] = post(app.test_client(), account, headers)
    thread = threading.Thread(target=send_first)
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    duplicate = post(app.test_client(), account, headers)
    elapsed = time.monotonic() - started
    # Before: the duplicate held its thread until the first finished
    # (up to 81 s with the default timeouts).
    assert elapsed < 4, elapsed
    assert duplicate.status_code == 409
    body = duplicate.get_json()
    assert set(body) == {"success", "error", "message", "details"}
    assert body["success"] is False
    assert body["error"] == "idempotency_key_in_use"
    assert int(duplicate.headers["Retry-After"]) >= 1
    thread.join()
    assert first["response"].status_code == 200
    # Once the first is done, the retry gets its stored answer.
    again = post(app.test_client(), account, headers)
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(sandbox.state.sent_messages()) == 1


def test_failing_throttle_store_is_a_503_and_nothing_is_stored(
        make_app, sandbox):
    # A Redis that is not there: every throttle hit raises.
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:%d"
                   % free_port())
    client = app.test_client()
    account = create_account(daily_limit=5)
    headers = {"Idempotency-Key": "store-down"}
    response = post(client, account, headers)
    assert response.status_code == 503
    # One of the contract's codes (a closed set), with Retry-After.
    assert response.get_json()["error"] == "internal_error"
    validate_api_error(response.get_json())
    assert response.headers["Retry-After"]
    assert not sandbox.state.sent_messages()
    # Before: a 500 was stored under the key and replayed for 24 hours.
    assert idempotency_rows() == []
    again = post(client, account, headers)
    assert again.status_code == 503
    assert "Idempotent-Replayed" not in again.headers
    # The store is back: the same key now sends.
    import ratelimit
    app.extensions["gateway"]["sender"].throttles.limiter = \
        ratelimit.create_limiter("memory://")
    ok = post(client, account, headers)
    assert ok.status_code == 200
    assert len(sandbox.state.sent_messages()) == 1
    with store.db.connection_context():
        outcomes = [r.outcome for r in store.MessageLog.select()]
        used = store.QuotaCounter.select().where(
            store.QuotaCounter.period.startswith("d")).get().used
    assert outcomes == ["refused", "refused", "sent"]
    assert used == 1


def test_ratelimit_field_after_a_send_that_certainly_failed(make_app,
                                                           sandbox):
    client = make_app().test_client()
    account = create_account(daily_limit=10)
    assert post(client, account).status_code == 200
    sandbox.state.add_not_on_whatsapp("966501234560")
    failed = post(client, account, phone="+966501234560")
    assert failed.status_code == 502
    assert failed.get_json()["details"]["outcome"] == "failed"
    # One message used (the failed one was given back): 9 remain.
    assert '"daily";r=9;' in failed.headers["RateLimit"]
    after = post(client, account, phone="+966501234561")
    assert '"daily";r=8;' in after.headers["RateLimit"]


@pytest.mark.parametrize("text", ["\u200b\u200b\u200b", "\u200b \u2060\ufeff",
                                  "\u200e\u200f\u00ad", "\u2800\u3164"])
def test_message_of_only_invisible_characters_is_refused(client, account,
                                                         sandbox, text):
    response = post(client, account, message=text)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation_error"
    assert "message" in body["details"]["fields"]
    assert not sandbox.state.sent_messages()


def test_message_with_invisible_characters_and_text_is_sent(client, account,
                                                             sandbox):
    response = post(client, account, message="Your code\u200b is ready.")
    assert response.status_code == 200


@pytest.mark.sqlite_only
def test_a_database_locked_past_its_timeout_is_a_503_not_a_500(
        make_app, sandbox, monkeypatch):
    import sqlite3

    import database
    app = make_app()
    client = app.test_client()
    account = create_account()
    assert post(client, account).status_code == 200  # key marked used
    monkeypatch.setattr(database, "BUSY_TIMEOUT", 0.3)
    other = sqlite3.connect(app.extensions["gateway"]["db_path"],
                            isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing, for long
    try:
        response = post(client, account)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert response.status_code == 503
    # One of the contract's codes (a closed set), with Retry-After.
    assert response.get_json()["error"] == "internal_error"
    validate_api_error(response.get_json())
    assert response.headers["Retry-After"] == "5"
    assert len(sandbox.state.sent_messages()) == 1
    assert post(client, account).status_code == 200


def post_chunked(url, path, body, headers):
    """POST ``body`` with Transfer-Encoding: chunked (no Content-Length),
    as a client streaming its body does; the answer is read while the
    body is still going out, since a server refusing it answers (and
    closes) before it has read it all."""
    import socket
    from urllib.parse import urlparse
    where = urlparse(url)
    sock = socket.create_connection((where.hostname, where.port), timeout=30)
    lines = ["POST %s HTTP/1.1" % path, "Host: %s" % where.netloc,
             "Transfer-Encoding: chunked", "Connection: close",
             "Content-Type: application/json"]
    lines += ["%s: %s" % item for item in headers.items()]

    def send():
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            for start in range(0, len(body), 65536):
                piece = body[start:start + 65536]
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # answered and closed before the whole body went
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    except ConnectionResetError:
        pass  # the answer came before the reset
    finally:
        sender.join(30)
        sock.close()
    head, _, payload = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 "), answer[:200]
    return int(head.split()[1]), json.loads(payload)


def test_a_streamed_body_over_the_limit_is_413_not_cut(serve_gateway,
                                                       sandbox):
    """A chunked body carries no Content-Length: werkzeug stopped at the
    limit without an error, so a valid 2 MB send was answered "invalid
    JSON" and an intake body over 8 MiB was taken as a short one."""
    server = serve_gateway(workers=1, INTAKE_MAX_BYTES=8 * 1024 * 1024)
    account = create_account()
    small = json.dumps(send_body()).encode()
    status, body = post_chunked(server.url, "/api/send-message", small,
                                account.headers)
    assert status == 200, body
    large = json.dumps(send_body(message="x" * 2_000_000)).encode()
    status, body = post_chunked(server.url, "/api/send-message", large,
                                account.headers)
    assert status == 413 and body["error"] == "payload_too_large", body
    validate_api_error(body)
    with store.db.connection_context():
        secret = store.Instance.get().webhook_secret
    huge = (b'{"event":"messages.upsert","instance":"evo-support","data":"'
            + b"a" * (9 * 1024 * 1024) + b'"}')
    status, body = post_chunked(
        server.url, "/webhooks/evolution/support-line", huge,
        {"X-Gateway-Secret": secret})
    assert status == 413 and body["error"] == "payload_too_large", body
    assert len(sandbox.state.sent_messages()) == 1
