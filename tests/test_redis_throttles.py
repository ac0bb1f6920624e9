"""Throttles shared across hosts through GATEWAY_RATELIMIT_STORAGE_URI.

Two gateway apps stand for two hosts; a real redis-server on loopback
holds their counters.  Skipped where redis-server is not installed
(`apt-get install redis-server`).
"""
import shutil
import subprocess
import time

import pytest

from conftest import create_account
from conftest import free_port
from conftest import send_body

pytest.importorskip("redis")
pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="redis-server is not installed")


@pytest.fixture
def redis_uri(tmp_path):
    import redis
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield "redis://127.0.0.1:%d" % port
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)


def test_two_hosts_share_one_instance_throttle(make_app, redis_uri):
    hosts = [make_app(RATELIMIT_STORAGE_URI=redis_uri,
                      THROTTLE_INSTANCE_PER_MINUTE=3).test_client()
             for _ in range(2)]
    account = create_account()
    codes = [hosts[n % 2].post("/api/send-message", headers=account.headers,
                               json=send_body(phone="+96650123456%d" % n)
                               ).status_code for n in range(6)]
    assert codes == [200, 200, 200, 429, 429, 429]
