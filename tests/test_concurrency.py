"""Exactness under gunicorn with 4 workers and concurrent clients."""
import concurrent.futures

import requests

from conftest import create_account
from conftest import send_body

N = 8


def fire(url, account, bodies, headers=None):
    """POST every body at once from as many threads; return responses."""
    headers = dict(account.headers, **(headers or {}))

    def one(body):
        with requests.Session() as session:
            return session.post(url + "/api/send-message", json=body,
                                headers=headers, timeout=30)
    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(one, bodies))


def test_daily_quota_is_exact_across_workers(serve_gateway, sandbox):
    account = create_account(daily_limit=N)
    server = serve_gateway(workers=4)
    bodies = [send_body(phone="+9665012%05d" % n) for n in range(4 * N)]
    responses = fire(server.url, account, bodies)
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) == N, [r.text for r in responses]
    assert codes.count(429) == 3 * N
    assert {r.json()["error"] for r in responses
            if r.status_code == 429} == {"daily_message_limit_exceeded"}
    assert len(sandbox.state.sent_messages()) == N


def test_instance_throttle_is_exact_across_workers(serve_gateway, sandbox):
    account = create_account()
    server = serve_gateway(workers=4, THROTTLE_INSTANCE_PER_MINUTE=N)
    bodies = [send_body(phone="+9665012%05d" % n) for n in range(4 * N)]
    responses = fire(server.url, account, bodies)
    assert sum(r.status_code == 200 for r in responses) == N
    assert len(sandbox.state.sent_messages()) == N


def test_concurrent_duplicates_with_one_key_send_once(serve_gateway,
                                                      sandbox):
    account = create_account()
    server = serve_gateway(workers=4)
    # Evolution takes a while, so the duplicates arrive while the first
    # request is still in flight.
    sandbox.state.set_fail_next(hang_s=0.5)
    responses = fire(server.url, account, [send_body()] * N,
                     headers={"Idempotency-Key": "same-key"})
    assert [r.status_code for r in responses] == [200] * N
    assert len({r.json()["message_id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" in r.headers for r in responses) == (
        N - 1)
    assert len(sandbox.state.sent_messages()) == 1
