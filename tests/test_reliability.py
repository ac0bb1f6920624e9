"""What survives real processes: gunicorn workers, kill -9, restarts."""
import collections
import concurrent.futures
import time

import requests

import store
from conftest import Receiver
from conftest import create_account
from conftest import create_endpoint
from conftest import free_port
from conftest import kill_hard
from conftest import send_body
from contract import validate_event_payload


def send(url, account, **fields):
    return requests.post(url + "/api/send-message", json=send_body(**fields),
                         headers=account.headers, timeout=30)


def instance_secret():
    with store.db.connection_context():
        return store.Instance.get().webhook_secret


def test_send_deliver_read_and_stop_loop_over_real_http(
        serve_gateway, sandbox, receiver):
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url)
    receiver.secret = endpoint.secret
    server = serve_gateway(workers=2)
    sandbox.state.config["ack_delay_s"] = 0.05
    sandbox.state.set_webhook(
        "evo-support", url=server.url + "/webhooks/evolution/support-line",
        headers={"X-Gateway-Secret": instance_secret()}, events=[])
    response = send(server.url, account)
    assert response.status_code == 200
    message_id = response.json()["message_id"]
    wanted = ["message.sent", "message.status_updated", "message.delivered",
              "message.read"]
    receiver.wait_for(lambda r: sorted(e["event"] for e in r.events())
                      == sorted(wanted))
    requests.post(sandbox.url + "/_sandbox/inject/message/evo-support",
                  json={"text": "STOP", "from": "966501234567"},
                  headers={"apikey": sandbox.state.api_key}, timeout=5)
    receiver.wait_for(lambda r: r.events("recipient.opted_out"))
    receiver.wait_for(lambda r: r.events("message.received"))
    time.sleep(0.5)
    events = receiver.events()
    counts = collections.Counter(e["event"] for e in events)
    assert all(n == 1 for n in counts.values()), counts
    assert all(r["valid"] for r in receiver.received)
    for event in events:
        validate_event_payload(event)
    receipts = [e for e in events if e["event"] in wanted[1:]]
    assert {e["external_message_id"] for e in receipts} == {message_id}
    assert send(server.url, account).json()["error"] == (
        "recipient_suppressed")


def test_pending_deliveries_survive_kill_9(serve_gateway, sandbox):
    port = free_port()
    account = create_account()
    endpoint = create_endpoint(account.customer_id,
                               "http://127.0.0.1:%d/hook" % port)
    schedule = ",".join(["0.5"] * 60)
    # A short timeout keeps the leases of the killed workers short.
    server = serve_gateway(workers=2, WEBHOOK_RETRY_SCHEDULE=schedule,
                           WEBHOOK_TIMEOUT=2)
    for n in range(10):
        assert send(server.url, account,
                    phone="+9665012345%02d" % n).status_code == 200
    # Nobody listens yet: every delivery is failing and being retried.
    time.sleep(1)
    kill_hard(server)
    receiver = Receiver(port=port)
    receiver.secret = endpoint.secret
    try:
        serve_gateway(workers=2, WEBHOOK_RETRY_SCHEDULE=schedule,
                      WEBHOOK_TIMEOUT=2)
        receiver.wait_for(lambda r: len({e["event_id"] for e in r.events(
            "message.sent")}) == 10, timeout=30)
        assert all(r["valid"] for r in receiver.received)
    finally:
        receiver.close()


def test_kill_9_mid_burst_leaves_one_settled_row_per_send(serve_gateway,
                                                          sandbox):
    account = create_account()
    server = serve_gateway(workers=2)
    sandbox.state.set_fail_next(hang_s=1.0)

    def one(n):
        try:
            return send(server.url, account, phone="+9665012345%02d" % n)
        except requests.RequestException:
            return None
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(one, n) for n in range(16)]
        time.sleep(0.3)
        kill_hard(server)
        answered = [f.result() for f in futures]
    serve_gateway(workers=2)
    with store.db.connection_context():
        rows = list(store.MessageLog.select())
    assert rows and all(r.outcome != "pending" for r in rows)
    ids = [r.evolution_message_id for r in rows if r.evolution_message_id]
    assert len(ids) == len(set(ids))
    sent_upstream = {m["id"] for m in sandbox.state.sent_messages()}
    # Every message that reached Evolution has its row, sent or unknown.
    settled = [r for r in rows if r.outcome in ("sent", "unknown")]
    assert len(settled) >= len(sent_upstream)
    assert set(ids) <= sent_upstream
    ok = [a for a in answered if a is not None and a.status_code == 200]
    assert {a.json()["log_id"] for a in ok} <= {r.id for r in rows}


def test_workers_never_deliver_the_same_attempt_twice(serve_gateway,
                                                      sandbox):
    receiver = Receiver(delay=0.2)
    try:
        account = create_account()
        endpoint = create_endpoint(account.customer_id, receiver.url)
        receiver.secret = endpoint.secret
        # A dispatcher in every worker (not the one delivery process):
        # four processes claiming from one outbox.
        server = serve_gateway(workers=4, WEBHOOK_PROCESSES=0)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda n: send(
                server.url, account, phone="+9665012345%02d" % n
            ).status_code, range(24)))
        assert codes == [200] * 24
        receiver.wait_for(lambda r: len(r.received) >= 24, timeout=30)
        time.sleep(1)
        pairs = [(r["headers"]["X-Whatsapp-Gateway-Event-Id"],
                  r["headers"]["X-Whatsapp-Gateway-Attempt"])
                 for r in receiver.received]
        assert len(pairs) == len(set(pairs)) == 24
    finally:
        receiver.close()
