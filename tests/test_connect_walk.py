"""README "Connect your number": its four commands, run as written.

Real processes on 127.0.0.1: ``gateway sandbox`` (the standalone Evolution
stand-in, no auto-create: instances are created by API), ``gateway serve``
(gunicorn) as the public gateway Evolution posts its webhooks to, and the
``gateway`` commands themselves.  The phone scanning the QR is played with
the sandbox's ``POST /_sandbox/scan/<name>`` while ``connect`` waits.
"""
import json
import os
import re
import shlex
import sqlite3
import subprocess
import time

import pytest
import requests

from conftest import GATEWAY_BIN
from conftest import free_port
from conftest import read_readme

SANDBOX_KEY = "BQYHJGJHJ"


def readme_commands():
    readme = read_readme()
    section = readme[readme.index("## Connect your number"):]
    section = section[:section.index("\n## ", 5)]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    commands = [shlex.split(line, comments=True)
                for block in blocks for line in block.splitlines()
                if line.startswith("gateway ")]
    return commands, section


def wait_for(url, deadline=30):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError("%s did not come up" % url)


@pytest.fixture
def servers(tmp_path):
    procs = []
    sandbox_port, gateway_port = free_port(), free_port()
    sandbox_url = "http://127.0.0.1:%d" % sandbox_port
    gateway_url = "http://127.0.0.1:%d" % gateway_port
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATEWAY_")}
    env.update({
        "GATEWAY_DATABASE_URL": "sqlite:///%s" % (tmp_path / "gw.db"),
        "GATEWAY_RATELIMIT_STORAGE_URI": "sqlite:///%s" % (
            tmp_path / "rl.db"),
        "GATEWAY_EVOLUTION_URL": sandbox_url,
        "GATEWAY_EVOLUTION_API_KEY": SANDBOX_KEY,
        "GATEWAY_PUBLIC_URL": gateway_url,
        "GATEWAY_DEMO": "false",
        "GATEWAY_STATE_REFRESH_SECONDS": "0",
    })

    def start(*args):
        proc = subprocess.Popen([GATEWAY_BIN, *args], env=env, cwd=tmp_path,
                                start_new_session=True,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        procs.append(proc)
        return proc

    start("sandbox", "--port", str(sandbox_port))
    wait_for(sandbox_url + "/")
    start("serve", "--port", str(gateway_port), "--workers", "1")
    wait_for(gateway_url + "/healthz")
    try:
        yield env, sandbox_url, gateway_url, tmp_path
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def test_readme_connect_walk(servers):
    env, sandbox_url, gateway_url, tmp_path = servers
    commands, section = readme_commands()
    assert [c[:3] for c in commands] == [
        ["gateway", "customers", "create"],
        ["gateway", "instances", "create"],
        ["gateway", "instances", "connect"],
        ["gateway", "keys", "create"]]
    name = commands[2][3]
    key = None
    for argv in commands:
        argv = [GATEWAY_BIN] + argv[1:]
        if argv[1:3] == ["instances", "connect"]:
            proc = subprocess.Popen(argv, env=env, cwd=tmp_path,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
            # The phone scans once the QR is up.
            end = time.monotonic() + 30
            while time.monotonic() < end:
                state = requests.get(
                    "%s/instance/connectionState/%s" % (sandbox_url, name),
                    headers={"apikey": SANDBOX_KEY}, timeout=5).json()
                if state["instance"]["state"] == "connecting":
                    break
                time.sleep(0.1)
            scanned = requests.post(
                "%s/_sandbox/scan/%s" % (sandbox_url, name),
                headers={"apikey": SANDBOX_KEY}, json={}, timeout=5)
            assert scanned.status_code == 201
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            assert "Scan with WhatsApp" in err  # the QR was drawn
            assert json.loads(out)["connection_state"] == "open"
            continue
        done = subprocess.run(argv, env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        printed = json.loads(done.stdout)
        if argv[1:3] == ["keys", "create"]:
            key = printed["key"]
    # The first message, as the README's curl sends it.
    curl = re.search(r"-d '(\{.*?\})'", section).group(1)
    body = json.loads(curl)
    assert body["instance_id"] == name
    response = requests.post(gateway_url + "/api/send-message", json=body,
                             headers={"Authorization": "Bearer " + key},
                             timeout=30)
    assert response.status_code == 200, response.text
    [sent] = requests.get(sandbox_url + "/_sandbox/sent",
                          headers={"apikey": SANDBOX_KEY}, timeout=5).json()
    assert sent["instance"] == name and sent["link_preview"] is False
    # Evolution's webhooks reach the gateway: the connection event and the
    # receipts of the message arrived at the intake.
    database = sqlite3.connect(str(tmp_path / "gw.db"))
    end = time.monotonic() + 15
    events = []
    while time.monotonic() < end:
        events = [row[0] for row in database.execute(
            "SELECT evolution_event FROM inboundevent")]
        if "connection.update" in events and "messages.update" in events:
            break
        time.sleep(0.2)
    database.close()
    assert "connection.update" in events and "messages.update" in events
    status = subprocess.run([GATEWAY_BIN, "instances", "status", name],
                            env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert json.loads(status.stdout)["connection_state"] == "open"


def test_instances_commands_and_their_errors(servers):
    env, sandbox_url, gateway_url, tmp_path = servers

    def gateway(*args, expect=0):
        done = subprocess.run([GATEWAY_BIN, *args], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == expect, done.stderr
        if expect:
            assert done.stdout == ""
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(
                "gateway: error: ")
            return lines[0]
        return json.loads(done.stdout)

    gateway("customers", "create", "Clinic")
    made = gateway("instances", "create", "1", "desk")
    assert made["connection_state"] == "close"
    assert made["webhook_url"] == gateway_url + "/webhooks/evolution/desk"
    # Evolution's refusal, in its own words, on one line.
    taken = gateway("instances", "create", "1", "desk-2", "--attach", "nope",
                    expect=2)
    assert "Evolution has no instance named 'nope'" in taken
    requests.post(sandbox_url + "/instance/create", json={
        "instanceName": "other", "integration": "WHATSAPP-BAILEYS"},
        headers={"apikey": SANDBOX_KEY}, timeout=5)
    clash = gateway("instances", "create", "1", "other", expect=2)
    assert 'This name "other" is already in use' in clash
    adopted = gateway("instances", "create", "1", "second", "--attach",
                      "other")
    assert adopted["evolution_instance"] == "other"
    shown = gateway("instances", "connect", "desk", "--json")
    assert set(shown) == {"state", "qr_code", "pairing_code"}
    assert shown["state"] == "connecting"
    assert shown["qr_code"].startswith("2@")
    paired = gateway("instances", "connect", "second", "--json",
                     "--pairing-phone", "+5531987654321")
    assert len(paired["pairing_code"]) == 8
    waited = gateway("instances", "connect", "desk", "--json", "--wait",
                     "0.5", expect=2)
    assert "not connected (state connecting)" in waited
    assert gateway("instances", "status", "desk")[
        "connection_state"] == "connecting"
    assert gateway("instances", "logout", "desk")["state"] == "close"
    assert gateway("instances", "sync-webhook", "desk")["webhook_url"] == (
        gateway_url + "/webhooks/evolution/desk")
    assert gateway("instances", "set", "desk", "--evolution-name",
                   "gone")["connection_state"] == "not_found"
    assert gateway("instances", "set", "desk", "--evolution-name",
                   "desk")["connection_state"] == "close"
    # Evolution loses an instance: `list` never shows it open.
    requests.delete(sandbox_url + "/instance/delete/other",
                    headers={"apikey": SANDBOX_KEY}, timeout=5)
    listed = {i["name"]: i["connection_state"]
              for i in gateway("instances", "list")}
    assert listed["second"] == "not_found"
    assert gateway("instances", "delete", "desk")["removed"] is True
    assert "no instance 'desk'" in gateway("instances", "status", "desk",
                                           expect=2)
    assert requests.get(sandbox_url + "/instance/connectionState/desk",
                        headers={"apikey": SANDBOX_KEY},
                        timeout=5).status_code == 404
