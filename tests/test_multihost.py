"""Several hosts: two ``gateway serve`` processes (each its own gunicorn
master, port and workers) on one PostgreSQL database and one Redis.

What the README's Guarantees promise on one host holds across hosts: a
quota is exact under concurrent sends to both, an Idempotency-Key sends
once, each delivery attempt is posted once, and ``kill -9`` of one host
loses nothing the other cannot finish.
"""
import concurrent.futures
import time

import pytest
import requests

import store
from conftest import Receiver
from conftest import create_account
from conftest import create_endpoint
from conftest import free_port
from conftest import kill_hard
from conftest import send_body

pytest.importorskip("psycopg2")
pytest.importorskip("redis")


@pytest.fixture
def start_hosts(serve_gateway, postgres_url, redis_url):
    """Start ``count`` hosts on the test's PostgreSQL and Redis."""
    store.init_db(postgres_url)

    def start(count=2, workers=2, **overrides):
        return [serve_gateway(workers=workers, DATABASE_URL=postgres_url,
                              RATELIMIT_STORAGE_URI=redis_url, **overrides)
                for _ in range(count)]
    return start


def send(server, account, headers=None, **fields):
    return requests.post(server.url + "/api/send-message",
                         json=send_body(**fields), timeout=30,
                         headers=dict(account.headers, **(headers or {})))


def fire(calls):
    """Run every call at once from as many threads; return results."""
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_quota_is_exact_across_hosts(start_hosts, sandbox):
    limit = 10
    account = create_account(daily_limit=limit)
    hosts = start_hosts()
    # Warm every worker of both hosts (a dry run counts nothing), so the
    # race below is between hosts, not against a worker's first request.
    fire([lambda n=n: requests.post(
        hosts[n % 2].url + "/api/send-message?dry_run=true",
        json=send_body(), headers=account.headers, timeout=30)
        for n in range(8)])
    responses = fire([
        lambda n=n: send(hosts[n % 2], account, phone="+9665012%05d" % n)
        for n in range(4 * limit)])
    codes = [r.status_code for r in responses]
    assert codes.count(200) == limit, [r.text for r in responses]
    assert codes.count(429) == 3 * limit
    assert {r.json()["error"] for r in responses if r.status_code == 429} \
        == {"daily_message_limit_exceeded"}
    # Both hosts took part in the race (which one wins each send is the
    # scheduler's choice: one host may take all ten).
    assert {n % 2 for n, code in enumerate(codes) if code in (200, 429)} \
        == {0, 1}
    assert len(sandbox.state.sent_messages()) == limit


def test_one_idempotency_key_sends_once_across_hosts(start_hosts, sandbox):
    account = create_account()
    hosts = start_hosts()
    # Evolution takes a while: the repeats reach both hosts while the
    # first request is still in flight.
    sandbox.state.set_fail_next(hang_s=0.5)
    responses = fire([
        lambda n=n: send(hosts[n % 2], account,
                         headers={"Idempotency-Key": "order-2041"})
        for n in range(8)])
    assert [r.status_code for r in responses] == [200] * 8, \
        [r.text for r in responses]
    assert len({r.json()["message_id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" in r.headers for r in responses) == 7
    assert len(sandbox.state.sent_messages()) == 1


def attempts(receiver):
    return [(r["headers"]["X-Whatsapp-Gateway-Event-Id"],
             r["headers"]["X-Whatsapp-Gateway-Attempt"])
            for r in receiver.received]


def test_each_delivery_attempt_is_posted_once_across_hosts(start_hosts,
                                                           sandbox):
    receiver = Receiver(delay=0.2)
    try:
        account = create_account()
        receiver.secret = create_endpoint(account.customer_id,
                                          receiver.url).secret
        hosts = start_hosts()
        codes = [r.status_code for r in fire([
            lambda n=n: send(hosts[n % 2], account,
                             phone="+9665012345%02d" % n)
            for n in range(24)])]
        assert codes == [200] * 24
        receiver.wait_for(lambda r: len(r.received) >= 24, timeout=30)
        time.sleep(1.5)  # time for any second post to show up
        pairs = attempts(receiver)
        assert len(pairs) == len(set(pairs)) == 24
        assert all(r["valid"] for r in receiver.received)
    finally:
        receiver.close()


def test_kill_9_of_one_host_loses_nothing(start_hosts, sandbox):
    """Host A dies (master and workers at once) during a burst of sends to
    both hosts while the customer's endpoint is down; host B delivers
    every event of every send that was answered 200, and of every row
    recorded as sent, once the endpoint is back."""
    port = free_port()
    account = create_account()
    endpoint = create_endpoint(account.customer_id,
                               "http://127.0.0.1:%d/hook" % port)
    # A short timeout keeps the leases of the dead host's claims short.
    host_a, host_b = start_hosts(WEBHOOK_RETRY_SCHEDULE=",".join(
        ["0.5"] * 80), WEBHOOK_TIMEOUT=2)
    sandbox.state.config["ack_delay_s"] = None

    def one(n):
        try:
            return send((host_a, host_b)[n % 2], account,
                        phone="+9665012345%02d" % n)
        except requests.RequestException:
            return None
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(one, n) for n in range(24)]
        time.sleep(0.4)
        kill_hard(host_a)
        answered = [f.result() for f in futures]
    ok = [a.json()["log_id"] for a in answered
          if a is not None and a.status_code == 200]
    assert any(a is not None and a.status_code == 200
               for a in answered[1::2]), "host B must have answered"
    receiver = Receiver(port=port)
    receiver.secret = endpoint.secret
    try:
        def delivered_log_ids(r):
            return {e["log_id"] for e in r.events("message.sent")}
        receiver.wait_for(lambda r: set(ok) <= delivered_log_ids(r),
                          timeout=45)
        with store.db.connection_context():
            sent_rows = {r.id for r in store.MessageLog.select().where(
                store.MessageLog.outcome == "sent")}
        receiver.wait_for(lambda r: sent_rows <= delivered_log_ids(r),
                          timeout=30)
        time.sleep(1)
        pairs = attempts(receiver)
        assert len(pairs) == len(set(pairs))
        assert all(r["valid"] for r in receiver.received)
    finally:
        receiver.close()
    # Host B keeps serving on its own.
    assert send(host_b, account, phone="+966501239999").status_code == 200


def test_a_starting_host_leaves_the_others_sends_alone(start_hosts,
                                                       sandbox):
    """A host (re)starting settles sends left pending by dead workers, but
    not one another host is making right now."""
    account = create_account()
    host_a, = start_hosts(count=1, EVOLUTION_TIMEOUT=20)
    sandbox.state.set_fail_next(hang_s=8)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        sending = pool.submit(send, host_a, account)
        deadline = time.monotonic() + 10
        while not pending_rows() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pending_rows()
        # Host B starts while A's send is in flight.
        start_hosts(count=1, EVOLUTION_TIMEOUT=20)
        assert not sending.done(), "the send must outlast B's start"
        response = sending.result()
    assert response.status_code == 200, response.text
    with store.db.connection_context():
        row = store.MessageLog.get_by_id(response.json()["log_id"])
    assert (row.outcome, row.reason, row.error_code) == ("sent", None, None)


def pending_rows():
    with store.db.connection_context():
        return list(store.MessageLog.select().where(
            store.MessageLog.outcome == "pending"))
