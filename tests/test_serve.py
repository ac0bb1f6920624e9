"""End to end: ``gateway serve`` with 2 gunicorn workers on the embedded
defaults, and the curl line it prints, run exactly as printed."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from conftest import free_port

GATEWAY = os.path.join(os.path.dirname(sys.executable), "gateway")


def read_until(proc, pattern, timeout=60):
    """Lines of ``proc``'s stdout up to one matching ``pattern``."""
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if re.search(pattern, line):
            return lines
    raise AssertionError("no %r in output:\n%s" % (pattern, "".join(lines)))


def wait_until_up(url, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/healthz", timeout=1).ok:
                return
        except requests.RequestException:  # refused, or slow under load
            time.sleep(0.1)
    raise AssertionError("gateway did not start")


@pytest.fixture
def served(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATEWAY_")}
    # Only so the loopback receiver of the loop test may be dialled.
    env["GATEWAY_WEBHOOK_ALLOW_PRIVATE"] = "true"
    proc = subprocess.Popen(
        [GATEWAY, "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    try:
        yield proc, port, env
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        proc.stdout.close()


def test_first_start_prints_a_key_and_a_curl_that_sends(served, tmp_path):
    proc, port, env = served
    lines = read_until(proc, r"message_purpose")
    text = "".join(lines)
    key = re.search(r"(wgk_[A-Za-z0-9_-]+)", text).group(1)
    curl = text[text.index("curl"):].strip()
    wait_until_up("http://127.0.0.1:%d" % port)
    done = subprocess.run(["bash", "-c", curl], capture_output=True,
                          text=True, timeout=30)
    answer = json.loads(done.stdout)
    assert answer["success"] is True and answer["status"] == "sent"
    assert answer["message_id"] and answer["log_id"] == 1
    assert (tmp_path / "gateway.db").exists()
    # Both workers answer over real HTTP with the same database.
    url = "http://127.0.0.1:%d/api/send-message" % port
    with requests.Session() as session:
        for n in range(3):
            response = session.post(url, json={
                "instance_id": "demo-support-line",
                "phone": "+96650123456%d" % n,
                "message": "Your appointment is confirmed for 10:00.",
                "message_purpose": "operational"},
                headers={"Authorization": "Bearer " + key}, timeout=10)
            assert response.status_code == 200, response.text
            assert response.headers["RateLimit-Policy"].startswith('"daily"')


def test_embedded_sandbox_shows_the_whole_loop(served, tmp_path, receiver):
    proc, port, env = served
    text = "".join(read_until(proc, r"message_purpose"))
    key = re.search(r"(wgk_[A-Za-z0-9_-]+)", text).group(1)
    wait_until_up("http://127.0.0.1:%d" % port)
    created = subprocess.run(
        [GATEWAY, "webhooks", "create", "1", receiver.url], cwd=tmp_path,
        env=env, capture_output=True, text=True, timeout=30)
    receiver.secret = json.loads(created.stdout)["secret"]
    response = requests.post(
        "http://127.0.0.1:%d/api/send-message" % port,
        json={"instance_id": "demo-support-line", "phone": "+966501234567",
              "message": "Your order #2041 has been shipped.",
              "message_purpose": "transactional"},
        headers={"Authorization": "Bearer " + key}, timeout=10)
    assert response.status_code == 200
    receiver.wait_for(lambda r: {e["event"] for e in r.events()} >= {
        "message.sent", "message.delivered", "message.read"})
    assert all(r["valid"] for r in receiver.received)
