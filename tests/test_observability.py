"""/healthz, /readyz and /metrics, in process and under gunicorn."""
import datetime
import os
import re
import subprocess
import sys
import time

import pytest
import requests

import store
from conftest import ROOT
from conftest import TEST_ENGINE
from conftest import create_account
from conftest import create_endpoint
from conftest import free_port
from conftest import send_body

GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")


def metric(text, name, **labels):
    """The value of one sample in Prometheus text, or None."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        found = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if head.split("{")[0] == name and found == labels:
            return float(value)
    return None


def test_healthz_is_liveness(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_every_check(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "evolution", "dispatcher",
                                   "deliveries"}
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["evolution"]["ok"] is True
    assert body["checks"]["dispatcher"]["running"] is True
    assert body["checks"]["deliveries"]["oldest_due_seconds"] == 0


def test_readyz_fails_when_database_writes_fail(client):
    with store.db.connection_context():
        # Every write fails, as on a full or read-only disk.
        for table in ("heartbeat", "messagelog"):
            if TEST_ENGINE == "sqlite":
                store.db.execute_sql(
                    "CREATE TRIGGER fail_%s BEFORE INSERT ON %s BEGIN "
                    "SELECT RAISE(FAIL, 'disk I/O error'); END"
                    % (table, table))
            else:
                store.db.execute_sql(
                    "CREATE FUNCTION fail_%s() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'disk I/O error'; END $$ LANGUAGE "
                    "plpgsql" % table)
                store.db.execute_sql(
                    "CREATE TRIGGER fail_%s BEFORE INSERT OR UPDATE ON %s "
                    "FOR EACH ROW EXECUTE FUNCTION fail_%s()"
                    % (table, table, table))
    # Before: /healthz answered 200 all the same.
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["success"] is False and body["error"] == "not_ready"
    assert body["details"]["checks"]["database"]["ok"] is False
    assert response.headers["Retry-After"]
    assert client.get("/healthz").status_code == 200


def test_readyz_fails_when_evolution_is_unreachable(make_app):
    client = make_app(EVOLUTION_URL="http://127.0.0.1:%d"
                      % free_port()).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["details"]["checks"]
    assert checks["evolution"]["ok"] is False
    assert checks["database"]["ok"] is True


def test_readyz_fails_when_the_dispatcher_is_dead(app, client):
    app.extensions["gateway"]["dispatcher"].stop()
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.get_json()["details"]["checks"]
    assert checks["dispatcher"] == {"ok": False, "running": False,
                                    "seconds_since_loop":
                                    checks["dispatcher"][
                                        "seconds_since_loop"]}


def test_readyz_and_metrics_show_the_oldest_due_delivery(client, app):
    account = create_account()
    endpoint = create_endpoint(account.customer_id, "http://127.0.0.1:9/x")
    with store.db.connection_context():
        # An endpoint left alone for now: its delivery waits.
        store.WebhookEndpoint.update(
            blocked_until=store.utcnow() + datetime.timedelta(hours=1)
        ).execute()
        event = store.Event.create(uid="evt_1", customer=account.customer_id,
                                   name="message.sent", payload="{}")
        store.Delivery.create(event=event, endpoint=endpoint,
                              next_attempt_at=store.utcnow()
                              - datetime.timedelta(seconds=90))
        store.Delivery.create(event=event, endpoint=endpoint, status="dead")
    checks = client.get("/readyz").get_json()["checks"]
    assert 85 < checks["deliveries"]["oldest_due_seconds"] < 200
    assert checks["deliveries"]["backlog"] == 1
    assert checks["deliveries"]["dead"] == 1
    text = client.get("/metrics").get_data(as_text=True)
    assert 85 < metric(text, "gateway_webhook_oldest_due_seconds") < 200
    assert metric(text, "gateway_webhook_backlog") == 1
    assert metric(text, "gateway_webhook_dead_letters") == 1


def test_metrics_count_sends_intake_and_deliveries(client, receiver):
    account = create_account()
    create_endpoint(account.customer_id, receiver.url)
    text = client.get("/metrics").get_data(as_text=True)
    before = metric(text, "gateway_sends_total", outcome="sent",
                    error_code="") or 0
    refused_before = metric(text, "gateway_sends_total", outcome="refused",
                            error_code="message_purpose_not_allowed") or 0
    assert client.post("/api/send-message", json=send_body(),
                       headers=account.headers).status_code == 200
    assert client.post("/api/send-message", json=send_body(
        message_purpose="marketing"), headers=account.headers
    ).status_code == 422
    receiver.wait_for(lambda r: r.events("message.sent"))
    with store.db.connection_context():
        secret = store.Instance.get().webhook_secret
    client.post("/webhooks/evolution/support-line", json={
        "event": "connection.update", "instance": "evo-support",
        "data": {"state": "open"}}, headers={"X-Gateway-Secret": secret})
    time.sleep(0.2)
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, "gateway_sends_total", outcome="sent",
                  error_code="") == before + 1
    assert metric(text, "gateway_sends_total", outcome="refused",
                  error_code="message_purpose_not_allowed"
                  ) == refused_before + 1
    assert metric(text, "gateway_evolution_request_seconds_count",
                  result="sent") >= 1
    assert metric(text, "gateway_intake_events_total",
                  outcome="processed") >= 1
    assert metric(text, "gateway_webhook_deliveries_total",
                  result="delivered") >= 1


def test_metrics_token(make_app):
    client = make_app(METRICS_TOKEN="scrape-token-1").test_client()
    denied = client.get("/metrics")
    assert denied.status_code == 401
    assert denied.get_json()["success"] is False
    assert client.get("/metrics", headers={
        "Authorization": "Bearer wrong"}).status_code == 401
    allowed = client.get("/metrics", headers={
        "Authorization": "Bearer scrape-token-1"})
    assert allowed.status_code == 200
    assert allowed.mimetype == "text/plain"


@pytest.fixture
def procfile_gunicorn(tmp_path, base_config):
    """The Procfile's command, run for real; yields a starter."""
    procs = []
    store.init_db(base_config["DATABASE_URL"])

    def start(**env_overrides):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("GATEWAY_", "PROMETHEUS_"))}
        env.update({"GATEWAY_" + k: str(v).lower() if isinstance(v, bool)
                    else str(v) for k, v in base_config.items()})
        port = free_port()
        env.update(GATEWAY_BIND="127.0.0.1:%d" % port, **env_overrides)
        with open(os.path.join(ROOT, "Procfile")) as handle:
            command = handle.read().split(":", 1)[1].split()
        assert command[0] == "gunicorn"
        with open(tmp_path / "stderr.log", "wb") as stderr:
            proc = subprocess.Popen(
                [GUNICORN] + command[1:], env=env, cwd=ROOT,
                start_new_session=True, stdout=subprocess.DEVNULL,
                stderr=stderr)
        procs.append(proc)
        url = "http://127.0.0.1:%d" % port
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=2).ok:
                    return proc, url
            except requests.RequestException:
                time.sleep(0.1)
        raise AssertionError("gunicorn did not come up")
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def child_pids(parent):
    pids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name) as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                pids.append(int(name))
    return pids


def worker_pids(master):
    """The web workers: the master's children, less the dirty arbiter
    (whose child is the delivery process)."""
    return [pid for pid in child_pids(master) if not child_pids(pid)]


def test_procfile_workers_metrics_and_logs(procfile_gunicorn, tmp_path,
                                           sandbox):
    account = create_account()
    proc, url = procfile_gunicorn(GATEWAY_WORKERS="3")
    deadline = time.monotonic() + 10
    while len(worker_pids(proc.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(worker_pids(proc.pid)) == 3
    session = requests.Session()
    for n in range(12):
        response = requests.post(url + "/api/send-message", json=send_body(
            phone="+9665012%05d" % n), headers=account.headers, timeout=10)
        assert response.status_code == 200
    # Whichever worker answers, it adds up every worker's counters.
    seen = set()
    for _ in range(8):
        text = requests.get(url + "/metrics", timeout=5).text
        assert metric(text, "gateway_sends_total", outcome="sent",
                      error_code="") == 12
        seen.add(metric(text, "gateway_evolution_request_seconds_count",
                        result="sent"))
    assert seen == {12}
    session.close()
    proc.terminate()
    proc.wait(timeout=30)
    log = (tmp_path / "stderr.log").read_text()
    # Application logs reach stderr (before: only gunicorn's own lines).
    assert re.search(r"INFO \[\d+\] sending send log=\d+ instance=\d+ sent",
                     log), log[-2000:]
