"""Hardening of customer webhook delivery: SSRF through proxies, URL
checks at creation, a total deadline per delivery, replay, logging."""
import datetime
import logging
import socket
import threading
import time

import pytest

import cli
import store
import webhooks
from conftest import wait_until
from conftest import Receiver
from conftest import create_account
from conftest import create_endpoint
from conftest import send_body


def deliveries():
    with store.db.connection_context():
        return list(store.Delivery.select().order_by(store.Delivery.id))


def test_proxy_settings_do_not_open_a_way_to_private_addresses(
        make_app, receiver, monkeypatch):
    proxy = Receiver()  # records whatever a proxy would be asked
    try:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                     "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.setenv(name, "http://127.0.0.1:%d"
                               % proxy.server.server_port)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        client = make_app(WEBHOOK_ALLOW_PRIVATE=False).test_client()
        account = create_account()
        create_endpoint(account.customer_id, receiver.url)
        client.post("/api/send-message", json=send_body(),
                    headers=account.headers)
        wait_until(lambda: deliveries() and deliveries()[0].last_error)
        assert deliveries()[0].last_error.startswith("blocked")
        # Before: the proxy was asked for the loopback URL and the
        # address check never ran.
        assert proxy.received == []
        assert receiver.received == []
    finally:
        proxy.close()


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8080/hook", "http://localhost/hook",
    "http://169.254.169.254/latest/meta-data", "http://10.0.0.7/x",
    "http://[::1]/x", "http://[::ffff:127.0.0.1]/x", "http://0.0.0.0/",
    "ftp://example.com/x", "http://user:pw@93.184.216.34/x",
    "http://no-such-host.invalid/x", "not a url"])
def test_webhook_urls_are_checked_at_creation(url):
    with pytest.raises(webhooks.InvalidWebhookUrl):
        webhooks.check_url(url)


def test_public_and_allowed_private_urls_pass_the_creation_check():
    assert webhooks.check_url("https://93.184.216.34/hook")
    assert webhooks.check_url("http://127.0.0.1:9/x", allow_private=True)


def test_cli_refuses_a_private_webhook_url(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GATEWAY_DATABASE_URL",
                       "sqlite:///%s" % (tmp_path / "g.db"))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["init-db"]) == 0
    assert cli.main(["customers", "create", "Acme"]) == 0
    capsys.readouterr()
    assert cli.main(["webhooks", "create", "1",
                     "http://169.254.169.254/latest"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "non-public" in err
    with store.db.connection_context():
        assert store.WebhookEndpoint.select().count() == 0


class DripServer:
    """An endpoint that answers one byte at a time, for ever."""

    def __init__(self, interval=0.2):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = "http://127.0.0.1:%d/hook" % self.sock.getsockname()[1]
        self.interval = interval
        self.closed_by_peer = threading.Event()
        self.stop = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.drip, args=(conn,),
                             daemon=True).start()

    def drip(self, conn):
        conn.recv(65536)
        try:
            for byte in iter(lambda: b"H", None):
                if self.stop.is_set():
                    break
                conn.sendall(byte)
                time.sleep(self.interval)
        except OSError:
            self.closed_by_peer.set()
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.sock.close()


def test_a_drip_feeding_endpoint_is_cut_at_the_total_deadline(make_app,
                                                               receiver):
    drip = DripServer()
    try:
        # 1 s per read, 1 s to connect: an attempt has 2 s in all.
        client = make_app(WEBHOOK_TIMEOUT=1.0, WEBHOOK_POOL_SIZE=2,
                          WEBHOOK_ENDPOINT_CONCURRENCY=1).test_client()
        slow = create_account(name="Slow", instance_name="slow-line")
        create_endpoint(slow.customer_id, drip.url)
        fast = create_account(name="Fast", instance_name="fast-line")
        create_endpoint(fast.customer_id, receiver.url)
        started = time.monotonic()
        client.post("/api/send-message", json=send_body(
            instance_id="slow-line"), headers=slow.headers)
        wait_until(lambda: deliveries()[0].status == "failed", timeout=10)
        elapsed = time.monotonic() - started
        assert elapsed < 6, elapsed
        assert deliveries()[0].last_error.startswith("timeout")
        assert drip.closed_by_peer.wait(5)
        # The thread it held is free again: another customer's events go.
        client.post("/api/send-message", json=send_body(
            instance_id="fast-line"), headers=fast.headers)
        receiver.wait_for(lambda r: r.events("message.sent"), timeout=10)
    finally:
        drip.close()


def test_replay_since_never_resends_what_was_delivered(client, receiver):
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url)
    receiver.secret = endpoint.secret
    receiver.script = [(200, {})] + [(500, {})] * 4
    client.post("/api/send-message", json=send_body(),
                headers=account.headers)
    receiver.wait_for(lambda r: deliveries()[0].status == "delivered")
    client.post("/api/send-message", json=send_body(phone="+966501234568"),
                headers=account.headers)
    wait_until(lambda: deliveries()[1].status == "dead")
    before = len(receiver.received)
    since = datetime.datetime.utcnow() - datetime.timedelta(hours=1)
    with store.db.connection_context():
        assert webhooks.replay_deliveries(since=since) == 1
    wait_until(lambda: deliveries()[1].status == "delivered")
    time.sleep(0.3)
    assert len(receiver.received) == before + 1
    assert deliveries()[0].attempts == 1


def test_failing_deliveries_are_logged_without_secrets(client, receiver,
                                                       caplog):
    account = create_account()
    endpoint = create_endpoint(account.customer_id,
                               receiver.url + "?token=customer-token-123")
    receiver.script = [(500, {})] * 2
    with caplog.at_level(logging.WARNING, logger="webhooks"):
        client.post("/api/send-message", json=send_body(),
                    headers=account.headers)
        wait_until(lambda: deliveries()[0].attempts >= 2
                   and deliveries()[0].status != "delivering")
    lines = [r.getMessage() for r in caplog.records
             if r.name == "webhooks"]
    assert any("endpoint=%d attempt=1" % endpoint.id in line
               and "HTTP 500" in line for line in lines), lines
    text = "\n".join(lines)
    assert endpoint.secret not in text
    assert "customer-token-123" not in text
