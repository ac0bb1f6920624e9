"""WhatsApp Gateway benchmarks: one run, every figure, one table.

    .venv/bin/python bench/run.py [--smoke] [--duration S] [--profile]

Starts, on 127.0.0.1 only: the Evolution sandbox as its own HTTP server,
a bare Flask app and the gateway under gunicorn (gthread, workers = cores,
the same settings for both), webhook receivers; seeds SQLite databases;
drives load with wrk (saturation) and a Python open-loop generator (fixed
rates); prints a Markdown table and writes bench/results.json.  Every
figure comes from this one run.  ``--smoke`` is the CI mode: tiny
durations and databases, well under a minute.  The exit status is
non-zero only when the benchmark itself breaks, never for a missed
target.  bench/README.md explains the method.
"""
import argparse
import datetime
import json
import os
import platform
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

import life  # noqa: E402
import loadgen  # noqa: E402
import profiling  # noqa: E402
import report  # noqa: E402
import store  # noqa: E402
import webhooks  # noqa: E402

BIN = os.path.dirname(sys.executable)
HOST = "127.0.0.1"
THREADS = 4  # gthread threads per worker (`gateway serve` default)
EVO_INSTANCE, EVO_TOKEN = "bench-evo", "BENCH-TOKEN-1"
# Sends rotate over this many instances (one customer, one Evolution
# instance behind them), so that at 300 requests/s each instance stays
# within the default throttles (5 a second, 120 a minute) and the bench
# measures the real guarded path, moving windows included.
INSTANCES = 400
INSTANCE = "bench-line-%N%"
MESSAGE = "Your order #2041 has been shipped."
SEND_BODY = json.dumps({"instance_id": INSTANCE, "phone": "%PHONE%",
                        "message": MESSAGE,
                        "message_purpose": "transactional"})
HIGH = 10 ** 9
# Receipts a second when a receipt's own CPU is measured (a steady,
# realistic rate: three per message at 100 sends a second).
RECEIPT_RATE = 300
# Default instance throttles; per-recipient ones off because the load
# generator reuses a small set of phone numbers.
BENCH_ENV = {
    "GATEWAY_THROTTLE_RECIPIENT_PER_DAY": str(HIGH),
    "GATEWAY_THROTTLE_RECIPIENT_GAP_SECONDS": "0",
    "GATEWAY_DEMO": "false",
    "GATEWAY_WEBHOOK_ALLOW_PRIVATE": "true",
    "GATEWAY_EVOLUTION_TIMEOUT": "10",
}
FULL = {"duration": 10.0, "rows": (10_000, 1_000_000), "events": 3000,
        "rates": (100, 200, 300), "modest": 50, "hung_backlog": 400,
        "life_rounds": 3, "embedded_marks": (2000, 10000)}
SMOKE = {"duration": 1.0, "rows": (10_000, 50_000), "events": 200,
         "rates": (100, 200), "modest": 50, "hung_backlog": 40,
         "life_rounds": 1, "embedded_marks": (200, 500)}



# ------------------------------------------------------------- processes

def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """A subprocess in its own session, stopped by its process group."""

    running = []

    def __init__(self, name, argv, port, workdir, env=None, health="/"):
        self.name, self.port = name, port
        self.url = "http://%s:%d" % (HOST, port)
        self.log_path = os.path.join(workdir, name + ".log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            argv, env=env, cwd=workdir, start_new_session=True,
            stdout=self.log, stderr=subprocess.STDOUT)
        Server.running.append(self)
        self.wait_ready(health)

    def wait_ready(self, path, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                urllib.request.urlopen(self.url + path, timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # it answers: up
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("%s did not start; log %s:\n%s" % (
            self.name, self.log_path, self.tail()))

    def tail(self, chars=2000):
        with open(self.log_path, "rb") as handle:
            return handle.read()[-chars:].decode(errors="replace")

    def worker_pids(self):
        """The gunicorn web workers: the master's children, less the
        dirty arbiter (the one with a child: the delivery process)."""
        return [pid for pid in child_pids(self.proc.pid)
                if not child_pids(pid)]

    def process_pids(self):
        """Every process under the master (web workers, the delivery
        process and its arbiter): what the server's CPU is counted on."""
        pids, queue = [], child_pids(self.proc.pid)
        while queue:
            pid = queue.pop()
            pids.append(pid)
            queue.extend(child_pids(pid))
        return pids

    def stop(self, grace=15):
        if self in Server.running:
            Server.running.remove(self)
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self.log.close()

    @classmethod
    def stop_all(cls):
        for server in list(reversed(cls.running)):
            server.stop()


def child_pids(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def gunicorn_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATEWAY_")}
    env.update(extra or {})
    return env


def start_gateway(workdir, name, db_path, sandbox_url, workers, root=None):
    """`gateway serve`; with ``root``, the same command from another
    source tree (a patched copy to compare)."""
    env = gunicorn_env(dict(
        BENCH_ENV, GATEWAY_DATABASE_URL="sqlite:///" + db_path,
        GATEWAY_EVOLUTION_URL=sandbox_url))
    command = [os.path.join(BIN, "gateway")]
    if root:
        command = [sys.executable, os.path.join(root, "gateway.py")]
        env["PYTHONPATH"] = root
    port = free_port()
    return Server(name, command + ["serve", "--port", str(port),
                                   "--workers", str(workers), "--threads",
                                   str(THREADS)], port, workdir, env,
                  "/healthz")


def start_bare(workdir, workers):
    port = free_port()
    # The settings `gateway serve` gives gunicorn (serve.run).
    return Server("bare-flask", [
        os.path.join(BIN, "gunicorn"), "--bind", "%s:%d" % (HOST, port),
        "--workers", str(workers), "--worker-class", "gthread",
        "--threads", str(THREADS), "--timeout", "40",
        "--graceful-timeout", "10", "--access-logfile", "-",
        "--chdir", HERE, "servers:create_bare_app()"], port, workdir,
        gunicorn_env(), "/")


def start_sandbox(workdir, kind):
    """The Evolution sandbox as its own server: gunicorn (keep-alive,
    like Evolution's Express server) or its own werkzeug server."""
    if kind == "werkzeug":
        return start_helper(workdir, "sandbox", "sandbox", "--instance",
                            EVO_INSTANCE, "--token", EVO_TOKEN)
    port = free_port()
    return Server("sandbox", [
        os.path.join(BIN, "gunicorn"), "--bind", "%s:%d" % (HOST, port),
        "--workers", "1", "--worker-class", "gthread", "--threads", "16",
        "--chdir", HERE, "servers:create_sandbox_app()"], port, workdir,
        gunicorn_env({"BENCH_SANDBOX_INSTANCE": EVO_INSTANCE,
                      "BENCH_SANDBOX_TOKEN": EVO_TOKEN}), "/")


def start_helper(workdir, name, *args):
    port = free_port()
    return Server(name, [sys.executable, os.path.join(HERE, "servers.py")]
                  + list(args) + ["--port", str(port)], port, workdir,
                  gunicorn_env(), "/")


def settle(server, timeout=30):
    """Wait until ``server`` has worked off requests whose clients gave
    up (an overloaded phase leaves them queued), so the next phase starts
    on an idle server: two quick answers in a row, or ``timeout``."""
    deadline, quick = time.monotonic() + timeout, 0
    path = "/healthz" if "gateway" in server.name else "/"
    while quick < 2 and time.monotonic() < deadline:
        started = time.monotonic()
        try:
            urllib.request.urlopen(server.url + path, timeout=timeout).close()
        except urllib.error.HTTPError:
            pass
        except OSError:
            time.sleep(0.2)
            continue
        quick = quick + 1 if time.monotonic() - started < 0.02 else 0
        time.sleep(0.1)


def get_json(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


# ----------------------------------------------------------------- data

def open_db(db_path):
    """Point the store at ``db_path`` and migrate it (every table)."""
    store.init_db("sqlite:///" + db_path)


def create_account(name, modules="api,3cx", instances=()):
    """A customer with high limits and one API key (plus instances)."""
    with store.db.connection_context():
        customer = store.Customer.create(
            name=name, daily_limit=HIGH, monthly_limit=HIGH, modules=modules,
            plan_active_until=datetime.date.today()
            + datetime.timedelta(days=365))
        for instance in instances:
            store.Instance.create(customer=customer, name=instance,
                                  evolution_instance=EVO_INSTANCE,
                                  evolution_token=EVO_TOKEN,
                                  connection_state="open")
        _, key = store.create_api_key(customer)
    return customer.id, key


def seed_database(db_path, log_rows, endpoint_url=None, embedded=False):
    """A fresh database: the bench account, then ``log_rows`` log rows.

    The rows go straight into ``messagelog`` with one INSERT ... SELECT
    from a recursive CTE (a few seconds for a million); row n's WhatsApp
    message id is ``3EB0<n>``, so load generators can name them.  With
    ``endpoint_url`` the customer gets that webhook endpoint; with
    ``embedded`` each instance is its own instance of the embedded
    sandbox.
    """
    open_db(db_path)
    names = [INSTANCE.replace("%N%", str(n)) for n in range(INSTANCES)]
    customer_id, key = create_account("Bench Customer", instances=names)
    with store.db.connection_context():
        instance_id = store.Instance.get(store.Instance.name == names[0]).id
        if embedded:
            store.Instance.update(
                evolution_instance=store.Instance.name,
                evolution_token="").execute()
    if endpoint_url:
        add_endpoint(customer_id, endpoint_url)
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("""
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL
                                    SELECT i + 1 FROM n WHERE i < ?)
            INSERT INTO messagelog (customer_id, instance_id, phone,
                purpose, source, outcome, evolution_message_id,
                message_text, created_at, completed_at)
            SELECT ?, ?, printf('+96650%07d', i % 9000000),
                   'transactional', 'api', 'sent',
                   '3EB0' || i, ?,
                   datetime('now', '-30 days', printf('+%d seconds',
                                                      i * 2)),
                   datetime('now', '-30 days', printf('+%d seconds',
                                                      i * 2 + 1))
            FROM n""", (log_rows, customer_id, instance_id, MESSAGE))
    conn.close()
    return key


def count_log_rows(db_path):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT COUNT(*) FROM messagelog").fetchone()[0]
    finally:
        conn.close()


def add_endpoint(customer_id, url):
    with store.db.connection_context():
        return store.WebhookEndpoint.create(
            customer=customer_id, url=url, secret=webhooks.create_secret())


def emit_events(customer_id, count):
    """Queue ``count`` signed events (and deliveries) in one transaction."""
    with store.db.connection_context():
        # IMMEDIATE: take the write lock up front (the busy timeout
        # applies) instead of failing to upgrade a read under load.
        with store.db.atomic("IMMEDIATE"):
            for n in range(count):
                webhooks.emit_event(customer_id, None, "message.sent", {
                    "to": loadgen.phone(n), "message_id": "3EB0BENCH%d" % n,
                    "timestamp": webhooks.iso_timestamp(store.utcnow())})
    return time.time()


def threecx_ready():
    """(create_integration, None) when the 3CX module can be benched."""
    try:
        import threecx
    except Exception as exc:  # being written: anything may be missing
        return None, "threecx.py does not import: %s" % exc
    create = getattr(threecx, "create_integration", None)
    if create is None or not hasattr(threecx, "bp"):
        return None, "threecx.py has no create_integration/blueprint yet"
    return create, None


# -------------------------------------------------------------- phases

class Bench:
    def __init__(self, args):
        self.smoke = args.smoke
        self.plan = dict(SMOKE if args.smoke else FULL)
        if args.duration:
            self.plan["duration"] = args.duration
        self.profile = args.profile
        self.only = set(args.only.replace(",", "")) if args.only else None
        self.root = args.root
        self.sandbox_server = args.sandbox_server
        self.workers = os.cpu_count() or 2
        self.workdir = tempfile.mkdtemp(prefix="gateway-bench-")
        self.results = {"figures": {}, "notes": [], "errors": []}
        self.started = time.monotonic()

    @property
    def duration(self):
        return self.plan["duration"]

    def note(self, text):
        self.results["notes"].append(text)

    def phase(self, name, fn, *args):
        """Run one phase; a crash is recorded, and the run goes on."""
        print("== %s (%.0fs)" % (name, time.monotonic() - self.started),
              flush=True)
        try:
            return fn(*args)
        except Exception as exc:
            traceback.print_exc()
            self.results["errors"].append("%s: %s" % (name, exc))
            return None

    def send_target(self, key):
        return loadgen.Target("/api/send-message", {
            "Authorization": "Bearer " + key,
            "Content-Type": "application/json"}, SEND_BODY,
            spread=INSTANCES)

    def fixed(self, server, target, rate, keep=False, cpu=None):
        """``cpu``: {name: server} whose workers' CPU is measured too."""
        meter = life.CpuMeter(**(cpu or {"server": server}))
        stats = loadgen.run_open_loop(HOST, server.port, target, rate,
                                      self.duration)
        spent = meter.stop()
        spent.pop("wall_s")
        stats.update(spent)
        for name in (cpu or {"server": server}):
            stats["%s_cpu_ms_per_request" % name] = life.per_request(
                spent, name, stats["ok"])
        settle(server)
        if not keep:
            stats.pop("_latencies")
        return stats

    def saturate(self, server, target):
        stats = loadgen.run_saturation(HOST, server.port, target,
                                       self.duration)
        settle(server)
        stats.pop("_latencies")
        return stats

    def warm_up(self, server, target):
        loadgen.run_open_loop(HOST, server.port, target, 50,
                              min(3.0, self.duration))

    # -- a/b: the gateway against bare Flask ------------------------------

    def bare_flask(self):
        server = start_bare(self.workdir, self.workers)
        try:
            target = loadgen.Target("/echo", {
                "Content-Type": "application/json"}, SEND_BODY)
            self.warm_up(server, target)
            figures = {"saturation": self.saturate(server, target)}
            for rate in self.plan["rates"]:
                figures["fixed_%d" % rate] = self.fixed(server, target, rate)
            self.results["figures"]["bare_flask"] = figures
        finally:
            server.stop()

    def gateway_main(self, gateway, key, sandbox):
        target = self.send_target(key)
        self.warm_up(gateway, target)
        figures = {}
        modest = self.plan["modest"]
        both = {"server": gateway, "sandbox": sandbox}
        figures["fixed_%d" % modest] = self.fixed(gateway, target, modest,
                                                  cpu=both)
        figures["saturation"] = self.saturate(gateway, target)
        for rate in self.plan["rates"]:
            if rate != modest:
                figures["fixed_%d" % rate] = self.fixed(
                    gateway, target, rate, cpu=both)
        self.results["figures"]["gateway_send"] = figures
        # c: the same sends straight to the sandbox's sendText.
        direct = loadgen.Target(
            "/message/sendText/" + EVO_INSTANCE,
            {"apikey": EVO_TOKEN, "Content-Type": "application/json"},
            json.dumps({"number": "%PHONE%", "text": MESSAGE}))
        self.results["figures"]["sandbox_direct"] = {
            "fixed_%d" % modest: self.fixed(sandbox, direct, modest)}

    # -- the intake on its own: receipts that cause no delivery -----------

    def intake_own(self, gateway, db_path, rows):
        """A receipt's own cost: PLAYED receipts for distinct seeded
        messages of an instance whose customer has no webhook endpoint
        (every step of the intake runs; no delivery follows), at a fixed
        rate (worker CPU per receipt, the target's figure) and at
        saturation."""
        (name, secret), = life.read_db(
            db_path, "SELECT name, webhook_secret FROM instance WHERE "
            "name = ?", (INSTANCE.replace("%N%", "0"),))
        target = loadgen.Target(
            "/webhooks/evolution/%s/messages-update" % name,
            {life.SECRET_HEADER: secret, "Content-Type": "application/json"},
            life.receipt_body("3EB0%N%", EVO_INSTANCE, "SERVER_ACK"),
            spread=rows)
        # Three steps, each status higher than the last so every receipt
        # moves its message on (past ``rows`` receipts the ids repeat, and
        # a repeat is cheaper); CPU per receipt varies by 10-20 % from one
        # step to the next on a shared VM, so the figure is their median.
        runs, status = [], "SERVER_ACK"
        for higher in ("DELIVERY_ACK", "READ", "PLAYED"):
            runs.append(self.fixed(gateway, target, RECEIPT_RATE))
            target.body = target.body.replace(status, higher)
            status = higher
        runs.sort(key=lambda run: run["server_cpu_ms_per_request"])
        figures = {"fixed_%d" % RECEIPT_RATE: dict(
            runs[1], server_cpu_ms_runs=[
                run["server_cpu_ms_per_request"] for run in runs])}
        figures["saturation"] = self.saturate(gateway, target)
        self.results["figures"]["intake_own"] = figures

    # -- d: a message's whole life, 10 thousand vs 1 million log rows --

    def message_life(self, databases, sandbox):
        """A fresh gateway on each database, both up at once; rounds
        alternate between them so drift hits both alike.  Then the
        intake at saturation on the small one."""
        gateways, figures = {}, {}
        rounds = self.plan["life_rounds"]
        try:
            for label, (db_path, key, rows) in databases.items():
                gateways[label] = start_gateway(
                    self.workdir, "gateway-" + label, db_path, sandbox.url,
                    self.workers, self.root)
                self.warm_up(gateways[label], self.send_target(key))
                life.wait_outbox(db_path, 30)
            runs = {label: [] for label in databases}
            for round_no in range(rounds):
                for label, (db_path, key, rows) in databases.items():
                    runs[label].append(life.Life(
                        self, gateways[label], sandbox, db_path,
                        self.send_target(key), EVO_INSTANCE, rows,
                        round_no).measure(self.plan["modest"]))
                    settle(gateways[label])
            for label, (db_path, _, rows) in databases.items():
                figures[label] = life.pool_life(runs[label])
                figures[label]["log_rows"] = count_log_rows(db_path)
            self.results["figures"]["life"] = figures
            db_path, key, rows = databases["small"]
            (name, secret), = life.read_db(
                db_path, "SELECT name, webhook_secret FROM instance WHERE "
                "name = ?", (INSTANCE.replace("%N%", "0"),))
            self.results["figures"]["intake_saturation"] = \
                life.receipts_at_saturation(
                    gateways["small"], db_path, name, secret, EVO_INSTANCE,
                    rows, self.duration)
        finally:
            for gateway in gateways.values():
                gateway.stop()

    # -- g: the embedded default's memory ---------------------------------

    def embedded(self):
        """`gateway serve` with no Evolution URL (the in-process sandbox
        answers, and its receipts go through the intake), one worker."""
        db_path = os.path.join(self.workdir, "embedded", "gateway.db")
        os.makedirs(os.path.dirname(db_path))
        key = seed_database(db_path, 0, embedded=True)
        env = gunicorn_env(dict(BENCH_ENV,
                                GATEWAY_DATABASE_URL="sqlite:///" + db_path))
        port = free_port()
        gateway = Server("gateway-embedded", [
            os.path.join(BIN, "gateway"), "serve", "--port", str(port),
            "--workers", "1", "--threads", str(THREADS)], port,
            self.workdir, env, "/healthz")
        try:
            self.results["figures"]["embedded"] = life.embedded_memory(
                gateway, self.send_target(key),
                self.plan["embedded_marks"])
        finally:
            gateway.stop()

    # -- e: webhook delivery and a hung endpoint --------------------------

    def webhook_throughput(self, receiver, gateway):
        """``count`` events queued at once; the rate at which the running
        gateway's dispatchers deliver them, and its CPU per delivery."""
        customer_id, _ = create_account("Webhook Throughput")
        add_endpoint(customer_id, receiver.url + "/hook")
        count = self.plan["events"]
        urllib.request.urlopen(urllib.request.Request(
            receiver.url + "/", method="DELETE"), timeout=5).close()
        meter = life.CpuMeter(gateway=gateway)
        committed = emit_events(customer_id, count)
        deadline = time.monotonic() + max(30, count / 50)
        stats = get_json(receiver.url + "/stats")
        while stats["unique"] < count and time.monotonic() < deadline:
            time.sleep(0.05)
            stats = get_json(receiver.url + "/stats")
        elapsed = (stats["last_at"] or committed) - committed
        cpu = meter.stop()
        self.results["figures"]["webhook_delivery"] = {
            "gateway_cpu_s": cpu["gateway_cpu_s"],
            "gateway_cpu_ms_per_delivery": life.per_request(
                cpu, "gateway", stats["unique"]),
            "events": count, "received": stats["count"],
            "unique": stats["unique"], "elapsed_s": round(elapsed, 2),
            "events_per_s": round(stats["unique"] / elapsed, 1)
            if elapsed > 0 else None}

    def hung_endpoint(self, gateway, receiver, hang_receiver):
        """Send p99 with a fast endpoint, then with another customer's
        endpoint hanging (a backlog of its deliveries stuck in every
        worker's dispatcher)."""
        names = ["hooks-line-%d" % n for n in range(INSTANCES)]
        customer_id, key = create_account("Webhook Sender", instances=names)
        add_endpoint(customer_id, receiver.url + "/hook")
        target = loadgen.Target("/api/send-message", {
            "Authorization": "Bearer " + key,
            "Content-Type": "application/json"},
            SEND_BODY.replace("bench-line-", "hooks-line-"),
            spread=INSTANCES)
        rate = self.plan["modest"]
        normal = self.fixed(gateway, target, rate)
        hung_id, _ = create_account("Hung Endpoint")
        add_endpoint(hung_id, hang_receiver.url + "/hook")
        emit_events(hung_id, self.plan["hung_backlog"])
        time.sleep(1.0)  # let both dispatchers claim and block on them
        before = get_json(receiver.url + "/stats")["unique"]
        hung = self.fixed(gateway, target, rate)
        time.sleep(1.0)
        after = get_json(receiver.url + "/stats")["unique"]
        hung["fast_endpoint_deliveries_during_phase"] = after - before
        self.results["figures"]["hung_endpoint"] = {
            "normal": normal, "hung": hung, "rate": rate}

    # -- f: 3CX -----------------------------------------------------------

    def threecx(self, gateway):
        create, why = threecx_ready()
        if create is None:
            self.results["figures"]["threecx"] = {"skipped": why}
            self.note("3CX figure skipped: " + why)
            return
        # 60 requests a minute per integration: spread the load over
        # enough integrations that the per-integration limit never bites.
        count = int(max(20, 12 * self.duration * 10))
        customer_id, _ = create_account("3CX Bench",
                                        instances=["bench-3cx"])
        alternates = []
        with store.db.connection_context(), store.db.atomic():
            for _ in range(count):
                row, secret = create(customer_id, "bench-3cx")
                alternates.append((
                    "/integrations/3cx/webhook/%d" % row.id,
                    {"X-WhatsApp-Gateway-3CX-Secret": secret,
                     "Content-Type": "application/json"}))
        target = loadgen.Target(alternates[0][0], alternates[0][1],
                                json.dumps({"event_type": "test"}),
                                alternates)
        figures = self.saturate(gateway, target)
        figures["integrations"] = count
        self.results["figures"]["threecx"] = figures

    # -- the whole run ----------------------------------------------------

    def wants(self, letter):
        return self.only is None or letter in self.only

    def run(self):
        small, large = self.plan["rows"]
        # d compares two fresh databases; a/c/e/f run on a third one.
        paths = {name: os.path.join(self.workdir, name, "gateway.db")
                 for name in ("d-small", "d-large", "main")}
        for path in paths.values():
            os.makedirs(os.path.dirname(path))
        receiver = start_helper(self.workdir, "receiver", "receiver")
        life_receiver = start_helper(self.workdir, "life-receiver",
                                     "receiver")
        hang = start_helper(self.workdir, "hang-receiver", "receiver",
                            "--hang", "30")
        print("== seeding %d and %d message-log rows" % (small, large),
              flush=True)
        hook = life_receiver.url + "/hook"
        if self.wants("d"):
            key_large = seed_database(paths["d-large"], large, hook)
            key_d_small = seed_database(paths["d-small"], small, hook)
        db_small = paths["main"]
        key_small = seed_database(db_small, small)  # store stays on it
        sandbox = start_sandbox(self.workdir, self.sandbox_server)
        if self.wants("b"):
            self.phase("b: bare Flask", self.bare_flask)
        gateway = start_gateway(self.workdir, "gateway-small", db_small,
                                sandbox.url, self.workers, self.root)
        if self.wants("a"):
            self.phase("a/c: gateway send", self.gateway_main, gateway,
                       key_small, sandbox)
        if self.wants("i"):
            self.phase("i: intake, receipts alone", self.intake_own,
                       gateway, db_small, small)
        if self.profile:
            self.phase("profile", self.run_profile, gateway, key_small)
        if self.wants("f"):
            self.phase("f: 3CX webhook", self.threecx, gateway)
        if self.wants("e"):
            self.phase("e: webhook delivery", self.webhook_throughput,
                       receiver, gateway)
            self.phase("e: hung endpoint", self.hung_endpoint, gateway,
                       receiver, hang)
        hang.stop()  # frees the stuck deliveries so the gateway stops fast
        gateway.stop()
        # d: a fresh gateway on each database, the same warm-up and rates.
        if self.wants("d"):
            self.phase("d: message life, %d vs %d log rows" % (small, large),
                       self.message_life,
                       {"small": (paths["d-small"], key_d_small, small),
                        "large": (paths["d-large"], key_large, large)},
                       sandbox)
        sandbox.stop()
        if self.wants("g"):
            self.phase("g: embedded default", self.embedded)
        self.results["wall_s"] = round(time.monotonic() - self.started, 1)

    def run_profile(self, gateway, key):
        out = os.path.join(HERE, "profile")
        report = profiling.profile_workers(
            gateway.worker_pids(), max(5.0, self.duration), out,
            lambda: self.saturate(gateway, self.send_target(key)))
        self.results["profile"] = report


# ------------------------------------------------------------- reporting

def machine_info():
    def run(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except OSError:
            return ""
    return {"date": datetime.datetime.now(datetime.timezone.utc)
            .isoformat(timespec="seconds"),
            "nproc": run(["nproc"]),
            "lscpu": "\n".join(run(["lscpu"]).splitlines()[:15]),
            "python": platform.python_version(),
            "platform": platform.platform()}


def print_report(results):
    meta = results["meta"]
    print("\n## WhatsApp Gateway benchmark (%s)\n" % meta["mode"])
    print("%s; nproc %s; %s; Python %s; %s workers x %s threads (gthread);"
          " saturation by %s; fixed rates by the Python open loop.\n" % (
              meta["date"], meta["nproc"], meta["cpu"], meta["python"],
              meta["workers"], THREADS, meta["saturation_tool"]))
    print("| figure | value | target | |")
    print("|---|---|---|---|")
    for row in report.build_rows(results["figures"], meta["plan"]["modest"]):
        print("| %s | %s | %s | %s |" % row)
    print()
    for note in results["notes"]:
        print("- " + note)
    if results["errors"]:
        print("\nBROKEN PHASES:")
        for error in results["errors"]:
            print("- " + error)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true",
                        help="CI mode: tiny durations and databases")
    parser.add_argument("--duration", type=float,
                        help="seconds per measured phase (default 10, "
                             "smoke 1)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the gateway workers with py-spy "
                             "during an extra saturation run")
    parser.add_argument("--root", help="run the gateway from this source "
                        "tree instead (a patched copy to compare)")
    parser.add_argument("--sandbox-server", choices=("gunicorn", "werkzeug"),
                        default="gunicorn",
                        help="serve the sandbox with keep-alive (gunicorn, "
                             "default) or on its own werkzeug server")
    parser.add_argument("--only", help="run only these phases, e.g. "
                        "'a,b' or 'd' (letters of the table: a send, b "
                        "bare Flask, d life and intake, e webhooks, f 3CX, "
                        "g embedded, i receipts alone); the table then has those rows only")
    parser.add_argument("--output", help="default bench/results.json "
                        "(smoke: bench/results-smoke.json)")
    args = parser.parse_args(argv)
    args.output = args.output or os.path.join(
        HERE, "results-smoke.json" if args.smoke else "results.json")
    bench = Bench(args)
    info = machine_info()
    bench.results["meta"] = {
        "mode": "smoke" if args.smoke else "full", "date": info["date"],
        "nproc": info["nproc"], "lscpu": info["lscpu"],
        "cpu": next((ln.split(":", 1)[1].strip() for ln in
                     info["lscpu"].splitlines()
                     if ln.startswith("Model name")), platform.machine()),
        "python": info["python"], "platform": info["platform"],
        "workers": bench.workers, "threads": THREADS,
        "duration_s": bench.duration, "plan": bench.plan,
        "saturation_tool": "wrk" if loadgen.wrk_available()
        else "Python closed loop (wrk not installed)",
        "gateway_env": BENCH_ENV, "gateway_root": args.root or ROOT,
        "sandbox_server": args.sandbox_server}
    bench.note("Instance throttles at their defaults (moving windows, 5 a "
               "second and 120 a minute per instance); per-recipient "
               "throttles off (gap 0, daily cap %d) because the load "
               "generator reuses numbers." % HIGH)
    bench.note("Everything shares the same %s cores: gunicorn, the sandbox "
               "process, receivers and the load generators."
               % info["nproc"])
    bench.note("Sends rotate over %d instances of one customer (rotating "
               "recipients too), so each instance's throttle windows hold "
               "what a real instance's would; see bench/README.md for one "
               "instance taking everything." % INSTANCES)
    if args.smoke:
        bench.note("Smoke run: 1-second steps and CPU counted in 10 ms ticks "
                   "per process, so its figures are coarse; the targets are "
                   "for the full run.")
    if not loadgen.wrk_available():
        bench.note("wrk is not installed: saturation used the Python "
                   "closed-loop generator (apt-get install wrk).")

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        bench.phase("run", bench.run)
    except KeyboardInterrupt:
        bench.results["errors"].append("interrupted")
    finally:
        Server.stop_all()
    with open(args.output, "w") as handle:
        json.dump(bench.results, handle, indent=2, default=str)
    print_report(bench.results)
    print("\nresults: %s; logs: %s" % (args.output, bench.workdir))
    return 1 if bench.results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
