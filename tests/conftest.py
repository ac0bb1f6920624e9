"""Shared fixtures: a real database, the Evolution sandbox on loopback.

The suite runs on a SQLite file per test by default.  With
``GATEWAY_TEST_ENGINE=postgres`` every test gets a fresh PostgreSQL
database instead (a copy of a migrated template) and a flushed Redis for
its throttles.  The servers come from ``GATEWAY_TEST_POSTGRES_URL`` and
``GATEWAY_TEST_REDIS_URL`` (``tests/services.py`` starts both), or are
started here once per session when installed.  Where a test needs one
that cannot be had, it is skipped, except under ``CI=true``, where it
fails: CI proves the suite on the real servers.
"""
import datetime
import itertools
import os
import socket
import sys
import types

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import sandbox as sandbox_module  # noqa: E402
import store  # noqa: E402
from gateway import create_app  # noqa: E402

import services  # noqa: E402

TEST_ENGINE = os.environ.get("GATEWAY_TEST_ENGINE", "sqlite")
if TEST_ENGINE not in ("sqlite", "postgres"):
    raise RuntimeError("GATEWAY_TEST_ENGINE must be sqlite or postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# One key seals stored secrets for every process of the run, as on
# several hosts (PostgreSQL requires it).  Tests of the key generated
# beside a SQLite file clear it (and `gateway serve` tests that drop the
# GATEWAY_ environment use that file).
import secretbox  # noqa: E402
os.environ.setdefault("GATEWAY_SECRET_KEY", secretbox.generate_key())
SECRET_KEY = os.environ["GATEWAY_SECRET_KEY"]
sqlite_only = pytest.mark.skipif(
    TEST_ENGINE != "sqlite", reason="about the SQLite file itself")
EVOLUTION_INSTANCE = "evo-support"
EVOLUTION_TOKEN = "TOKEN-SUPPORT-1"
PHONE = "+966501234567"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sandbox():
    """The Evolution sandbox as a real HTTP server on 127.0.0.1."""
    state = sandbox_module.SandboxState(config={"ack_delay_s": None})
    state.add_instance(EVOLUTION_INSTANCE, token=EVOLUTION_TOKEN)
    server, url = sandbox_module.start_sandbox_thread(state=state)
    yield types.SimpleNamespace(state=state, url=url, server=server)
    server.shutdown()
    server.server_close()
    state.close()


def pytest_collection_modifyitems(config, items):
    """In the PostgreSQL pass, tests about SQLite itself (its files, its
    query plans) are left to the SQLite pass, which ran them."""
    if TEST_ENGINE != "postgres":
        return
    skip = pytest.mark.skip(reason="about SQLite itself: run in the "
                            "SQLite pass of the suite")
    for item in items:
        if item.get_closest_marker("sqlite_only"):
            item.add_marker(skip)


def unavailable(reason):
    """Skip a test for a server this machine lacks; in CI, fail it."""
    if IN_CI:
        pytest.fail("%s (CI runs every test on the real servers)" % reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server():
    """The admin URL of a PostgreSQL server for this session."""
    url = os.environ.get("GATEWAY_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    try:
        import psycopg2  # noqa: F401
        server = services.start_postgres()
    except (ImportError, RuntimeError) as exc:
        unavailable("no PostgreSQL: %s" % exc)
    yield server.url
    server.stop()


def _admin(server_url, statement):
    """Run ``statement`` outside a transaction; return the server's
    version number."""
    import psycopg2
    conn = psycopg2.connect(server_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(statement)
        return conn.server_version
    finally:
        conn.close()


def _database_url(server_url, name):
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def postgres_template(postgres_server):
    """A database at today's schema, copied for each test (fast)."""
    name = "gateway_template_%d" % os.getpid()
    _admin(postgres_server, "DROP DATABASE IF EXISTS %s" % name)
    version = _admin(postgres_server, "CREATE DATABASE %s" % name)
    url = _database_url(postgres_server, name)
    store.init_db(url)
    store.close_pool()
    # What follows TEMPLATE in CREATE DATABASE: the name, and copying
    # as files, fastest for a small database (PostgreSQL 15+).
    yield name + (" STRATEGY FILE_COPY" if version >= 150000 else "")
    store.close_pool()
    _admin(postgres_server, "DROP DATABASE IF EXISTS %s WITH (FORCE)"
           % name)


_DATABASE_NUMBERS = itertools.count(1)


@pytest.fixture
def new_postgres_database(postgres_server):
    """Make new, empty PostgreSQL databases; each is dropped after the
    test.  Returns its URL."""
    names = []

    def make():
        name = "gateway_empty_%d_%d" % (os.getpid(),
                                        next(_DATABASE_NUMBERS))
        _admin(postgres_server, "CREATE DATABASE %s" % name)
        names.append(name)
        return _database_url(postgres_server, name)
    yield make
    store.close_pool()
    for name in names:
        _admin(postgres_server, "DROP DATABASE IF EXISTS %s WITH (FORCE)"
               % name)


@pytest.fixture
def empty_postgres_url(new_postgres_database):
    """A new, empty PostgreSQL database, dropped after the test."""
    return new_postgres_database()


@pytest.fixture
def postgres_url(postgres_server, postgres_template):
    """A fresh PostgreSQL database at today's schema, for this test."""
    name = "gateway_test_%d_%d" % (os.getpid(), next(_DATABASE_NUMBERS))
    _admin(postgres_server, "CREATE DATABASE %s TEMPLATE %s"
           % (name, postgres_template))
    yield _database_url(postgres_server, name)
    # The test's apps and servers are gone; its pooled connections too.
    store.close_pool()
    _admin(postgres_server, "DROP DATABASE IF EXISTS %s WITH (FORCE)"
           % name)


@pytest.fixture(scope="session")
def redis_server():
    """The URL of a redis-server for this session."""
    url = os.environ.get("GATEWAY_TEST_REDIS_URL")
    if url:
        yield url
        return
    try:
        import redis  # noqa: F401
        server = services.start_redis()
    except (ImportError, RuntimeError) as exc:
        unavailable("no Redis: %s" % exc)
    yield server.url
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    """The session's Redis, emptied for this test."""
    import redis
    client = redis.Redis.from_url(redis_server)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server


@pytest.fixture
def database_url(request, tmp_path):
    """This test's database: a SQLite file, or PostgreSQL when the suite
    runs on it."""
    if TEST_ENGINE == "postgres":
        return request.getfixturevalue("postgres_url")
    return "sqlite:///%s" % (tmp_path / "gateway.db")


@pytest.fixture
def ratelimit_url(request, tmp_path):
    """This test's throttle storage: SQLite, or Redis with PostgreSQL."""
    if TEST_ENGINE == "postgres":
        return request.getfixturevalue("redis_url")
    return "sqlite:///%s" % (tmp_path / "rl.db")


@pytest.fixture
def base_config(sandbox, database_url, ratelimit_url):
    return {
        "DATABASE_URL": database_url,
        "RATELIMIT_STORAGE_URI": ratelimit_url,
        "EVOLUTION_URL": sandbox.url,
        "EVOLUTION_API_KEY": sandbox.state.api_key,
        "EVOLUTION_TIMEOUT": 2.0,
        "DEMO": False,
        "WEBHOOK_ALLOW_PRIVATE": True,
        "WEBHOOK_RETRY_SCHEDULE": "0.2,0.4,0.8",
        "THROTTLE_RECIPIENT_GAP_SECONDS": 0,
        "THROTTLE_INSTANCE_PER_SECOND": 1000,
        "THROTTLE_INSTANCE_PER_MINUTE": 10000,
        "THROTTLE_RECIPIENT_PER_DAY": 10000,
        "SECRET_KEY": SECRET_KEY,
        "STATE_REFRESH_SECONDS": 0,
    }


@pytest.fixture
def make_app(base_config):
    apps = []

    def make(**overrides):
        config = dict(base_config)
        config.update(overrides)
        app = create_app(config)
        app.config["TESTING"] = True
        apps.append(app)
        return app
    yield make
    for app in apps:
        state = app.extensions["gateway"]
        if state["dispatcher"]:
            state["dispatcher"].stop()
        if state.get("refresher"):
            state["refresher"].stop()
        if state["sandbox"]:
            state["sandbox"].close()
        state["evolution"].close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


def create_account(name="Acme", modules="api,3cx", daily_limit=None,
                   monthly_limit=None, plan_active_until=None,
                   instance_name="support-line",
                   evolution_instance=EVOLUTION_INSTANCE,
                   evolution_token=EVOLUTION_TOKEN):
    """Create a customer with one instance and one key, in the current DB."""
    with store.db.connection_context():
        customer = store.Customer.create(
            name=name, modules=modules, daily_limit=daily_limit,
            monthly_limit=monthly_limit,
            plan_active_until=plan_active_until or (
                datetime.date.today() + datetime.timedelta(days=30)))
        instance = store.Instance.create(
            customer=customer, name=instance_name,
            evolution_instance=evolution_instance,
            evolution_token=evolution_token)
        key_row, key = store.create_api_key(customer)
    return types.SimpleNamespace(
        customer_id=customer.id, instance_id=instance.id,
        instance_name=instance_name, key=key, key_id=key_row.id,
        headers={"Authorization": "Bearer " + key})


@pytest.fixture
def account(app):
    return create_account()


def send_body(**overrides):
    body = {"instance_id": "support-line", "phone": PHONE,
            "message": "Your order #2041 has been shipped.",
            "message_purpose": "transactional"}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def message_rows():
    with store.db.connection_context():
        return list(store.MessageLog.select().order_by(store.MessageLog.id))


GATEWAY_BIN = os.path.join(os.path.dirname(sys.executable), "gateway")


@pytest.fixture
def serve_gateway(tmp_path, base_config):
    """Start ``gateway serve`` (gunicorn) on ``base_config``; return its URL.

    The database is initialised in this process first, so tests can seed
    it with ``create_account`` before the workers start.
    """
    import subprocess
    import time

    import requests
    procs = []
    store.init_db(base_config["DATABASE_URL"])

    def start(workers=4, **overrides):
        config = dict(base_config, **overrides)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("GATEWAY_")}
        env.update({"GATEWAY_" + k: str(v).lower() if isinstance(v, bool)
                    else str(v) for k, v in config.items()})
        port = free_port()
        log_path = tmp_path / ("serve-%d.log" % port)
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(
                [GATEWAY_BIN, "serve", "--port", str(port), "--workers",
                 str(workers)], env=env, cwd=tmp_path,
                start_new_session=True, stdout=subprocess.DEVNULL,
                stderr=log_file)
        procs.append(proc)
        url = "http://127.0.0.1:%d" % port
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=1).ok:
                    return types.SimpleNamespace(url=url, proc=proc)
            except requests.RequestException:
                # A loaded machine may take over a second to answer.
                time.sleep(0.1)
        raise AssertionError("gateway serve did not come up:\n%s"
                             % log_path.read_text()[-3000:])
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


def wait_until(predicate, timeout=15, what="the condition"):
    """``predicate()``'s first true value, polled every 50 ms."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out after %ss waiting for %s"
                         % (timeout, what))


def kill_hard(server):
    """kill -9 a served gateway: master and every worker at once."""
    import signal
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=10)


def read_readme():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as handle:
        return handle.read()


class Receiver:
    """A customer's webhook endpoint: a real HTTP server on 127.0.0.1.

    Records every request and checks its signature with the endpoint
    secret; ``script`` is a list of (status, headers) answers to give
    first, ``hold`` an Event that blocks answers until set.
    """

    def __init__(self, port=0, delay=0):
        import threading

        from flask import Flask
        from flask import request
        from werkzeug.serving import make_server
        self.secret = None
        self.received = []
        self.script = []
        self.hold = None
        self.lock = threading.Lock()
        app = Flask("receiver")

        @app.post("/", defaults={"path": ""})
        @app.post("/<path:path>")
        def receive(path):
            if self.hold is not None:
                self.hold.wait(30)
            if delay:
                import time
                time.sleep(delay)
            body = request.get_data()
            headers = dict(request.headers)
            with self.lock:
                self.received.append({"headers": headers, "body": body,
                                      "path": path,
                                      "valid": self.verify(headers, body)})
                answer = self.script.pop(0) if self.script else (200, {})
            status, extra = answer
            return "", status, extra
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def verify(self, headers, body):
        import hashlib
        import hmac
        if self.secret is None:
            return None
        timestamp = headers.get("X-Whatsapp-Gateway-Timestamp", "")
        expected = "sha256=" + hmac.new(
            self.secret.encode(), timestamp.encode() + b"." + body,
            hashlib.sha256).hexdigest()
        return hmac.compare_digest(
            expected, headers.get("X-Whatsapp-Gateway-Signature", ""))

    def events(self, name=None):
        import json as _json
        with self.lock:
            items = [_json.loads(r["body"]) for r in self.received]
        return [e for e in items if name is None or e["event"] == name]

    def wait_for(self, predicate, timeout=15):
        import time
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.05)
        raise AssertionError("receiver got: %r" % [
            e["event"] for e in self.events()])

    def close(self):
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    recv = Receiver()
    yield recv
    recv.close()


def create_endpoint(customer_id, url, events=""):
    """Register a webhook endpoint; return its secret."""
    import webhooks
    with store.db.connection_context():
        endpoint = store.WebhookEndpoint.create(
            customer=customer_id, url=url, secret=webhooks.create_secret(),
            events=events)
    return endpoint
