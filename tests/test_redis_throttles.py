"""Throttles shared across hosts through GATEWAY_RATELIMIT_STORAGE_URI.

Two gateway apps stand for two hosts; a real redis-server on loopback
holds their counters (conftest's ``redis_url``: skipped where Redis is
not installed, failed in CI).
"""
import pytest

from conftest import create_account
from conftest import send_body

pytest.importorskip("redis")


def test_two_hosts_share_one_instance_throttle(make_app, redis_url):
    hosts = [make_app(RATELIMIT_STORAGE_URI=redis_url,
                      THROTTLE_INSTANCE_PER_MINUTE=3).test_client()
             for _ in range(2)]
    account = create_account()
    codes = [hosts[n % 2].post("/api/send-message", headers=account.headers,
                               json=send_body(phone="+96650123456%d" % n)
                               ).status_code for n in range(6)]
    assert codes == [200, 200, 200, 429, 429, 429]


def test_two_hosts_share_the_3cx_limit(make_app, redis_url):
    """The 3CX webhook's 60 a minute per integration, counted once for
    every host."""
    from test_threecx import make_bridge
    from test_threecx import post
    hosts = [make_app(RATELIMIT_STORAGE_URI=redis_url).test_client()
             for _ in range(2)]
    bridge = make_bridge()
    codes = [post(hosts[n % 2], bridge, {"event_type": "test"}).status_code
             for n in range(61)]
    assert codes == [200] * 60 + [429]
    assert post(hosts[0], bridge, {"event_type": "test"}).status_code == 429
