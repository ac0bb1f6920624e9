"""Send and message-lifecycle figures on SQLite and on PostgreSQL + Redis.

    python bench/engines.py [--duration 10] [--smoke]
        [--database-url postgresql://...] [--redis-url redis://...]

For each engine, in one run on one machine: a fresh database, the Evolution
sandbox as its own server, a customer webhook receiver, and ``gateway
serve`` (workers = cores, 4 threads each) on it; then

* **send @ R/s**: guarded sends at a fixed rate (latency from each send's
  scheduled time, so queueing counts);
* **send, saturation**: 16 clients sending back to back;
* **lifecycle, saturation**: 16 clients, each living messages back to
  back: the guarded send, then SERVER_ACK, DELIVERY_ACK and READ through
  the Evolution intake as Evolution posts them; every customer event they
  cause (``message.sent`` and three receipts) must reach the receiver.

Without ``--database-url`` / ``--redis-url`` a throwaway PostgreSQL and
Redis start on loopback (``tests/services.py``).  Everything (gateway,
sandbox, receiver, database servers, this client) shares the machine's
cores.  Bounded: each phase runs ``--duration`` seconds, then stops.
"""
import argparse
import concurrent.futures
import datetime
import http.client
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

import secretbox  # noqa: E402
import services  # noqa: E402
import store  # noqa: E402

HOST = "127.0.0.1"
THREADS = 4
CLIENTS = 16
INSTANCES = 200  # sends rotate over them: instance throttles stay default
EVO_INSTANCE, EVO_TOKEN = "bench-evo", "BENCH-TOKEN-1"
MESSAGE = "Your order #2041 has been shipped."
RECEIPTS = ("SERVER_ACK", "DELIVERY_ACK", "READ")


def percentile(values, pct):
    if not values:
        return None
    values = sorted(values)
    return round(values[max(0, -(-len(values) * pct // 100) - 1)] * 1000, 2)


class Client:
    """One keep-alive HTTP connection."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)

    def post(self, path, body, headers):
        self.conn.request("POST", path, body=json.dumps(body),
                          headers=dict(headers, **{
                              "Content-Type": "application/json"}))
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data

    def close(self):
        self.conn.close()


def wait_up(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError("%s did not come up" % url)


def start(command, env, port, path, workdir, name):
    log = open(os.path.join(workdir, name + ".log"), "wb")
    proc = subprocess.Popen(command, env=env, cwd=workdir, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    wait_up("http://%s:%d%s" % (HOST, port, path))
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# One key sealing the stored secrets for the whole run: PostgreSQL
# requires one, and the seeding process and the served gateway share it.
SECRET_KEY = os.environ.get("GATEWAY_SECRET_KEY") or secretbox.generate_key()


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GATEWAY_")}
    env["GATEWAY_SECRET_KEY"] = SECRET_KEY
    env.update(extra)
    return env


def seed(url, receiver_url):
    """A customer with INSTANCES instances, one key and one endpoint."""
    store.init_db(url, secret_key=SECRET_KEY)
    with store.db.connection_context(), store.db.atomic():
        customer = store.Customer.create(
            name="Bench", daily_limit=10 ** 9, monthly_limit=10 ** 9,
            modules="api", plan_active_until=datetime.date.today()
            + datetime.timedelta(days=365))
        instances = [store.Instance.create(
            customer=customer, name="line-%d" % n,
            evolution_instance=EVO_INSTANCE, evolution_token=EVO_TOKEN,
            connection_state="open") for n in range(INSTANCES)]
        _, key = store.create_api_key(customer)
        import webhooks
        store.WebhookEndpoint.create(customer=customer, url=receiver_url,
                                     secret=webhooks.create_secret())
    secrets = {i.name: i.webhook_secret for i in instances}
    store.close_pool()
    return key, secrets


class Lives:
    """Numbers and message ids handed out to the load's threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.n = 0

    def next(self):
        with self.lock:
            self.n += 1
            return self.n


def send_body(n):
    return {"instance_id": "line-%d" % (n % INSTANCES),
            "phone": "+96650%07d" % (n % 10_000_000), "message": MESSAGE,
            "message_purpose": "transactional"}


def receipt(message_id, phone, status):
    return {"event": "messages.update", "instance": EVO_INSTANCE,
            "data": {"keyId": message_id, "fromMe": True, "status": status,
                     "remoteJid": phone.lstrip("+") + "@s.whatsapp.net",
                     "instanceId": "bench", "messageId": "c%x" % id(phone)},
            "destination": "", "server_url": "http://%s" % HOST,
            "date_time": datetime.datetime.now().isoformat() + "Z",
            "apikey": None}


def live(client, key, secrets, n, with_receipts):
    """One message: the send, then (lifecycle) its three receipts."""
    body = send_body(n)
    status, data = client.post("/api/send-message", body,
                               {"Authorization": "Bearer " + key})
    if status != 200 or not with_receipts:
        return status == 200
    message_id = json.loads(data)["message_id"]
    name = body["instance_id"]
    for step in RECEIPTS:
        status, _ = client.post(
            "/webhooks/evolution/" + name,
            receipt(message_id, body["phone"], step),
            {"X-Gateway-Secret": secrets[name]})
        if status != 200:
            return False
    return True


def closed_loop(port, key, secrets, duration, with_receipts):
    lives, latencies, failures = Lives(), [], [0]
    deadline = time.monotonic() + duration

    def worker():
        client = Client(port)
        try:
            while time.monotonic() < deadline:
                started = time.monotonic()
                ok = live(client, key, secrets, lives.next(), with_receipts)
                latencies.append(time.monotonic() - started)
                if not ok:
                    failures[0] += 1
        finally:
            client.close()
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda _: worker(), range(CLIENTS)))
    elapsed = time.monotonic() - began
    return {"per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99), "count": len(latencies),
            "failed": failures[0]}


def fixed_rate(port, key, secrets, rate, duration):
    """Sends scheduled at ``rate``/s; latency from the scheduled time."""
    count = int(rate * duration)
    latencies, failures = [], [0]
    clients = threading.local()
    start_at = time.monotonic() + 0.2

    def one(i):
        scheduled = start_at + i / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        client = getattr(clients, "c", None) or Client(port)
        clients.c = client
        if not live(client, key, secrets, 10 ** 6 + i, False):
            failures[0] += 1
        latencies.append(time.monotonic() - scheduled)
    with concurrent.futures.ThreadPoolExecutor(32) as pool:
        list(pool.map(one, range(count)))
    return {"rate": rate, "p50_ms": percentile(latencies, 50),
            "p99_ms": percentile(latencies, 99), "count": count,
            "failed": failures[0]}


def receiver_count(url):
    with urllib.request.urlopen(url + "/stats", timeout=5) as answer:
        return json.loads(answer.read())["unique"]


def settled_count(url, quiet=1.0, timeout=60):
    """The receiver's count once deliveries of earlier phases stopped."""
    deadline = time.monotonic() + timeout
    count = receiver_count(url)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = receiver_count(url)
        if now == count:
            return count
        count = now
    return count


def bench_engine(label, url, ratelimit_url, sandbox_url, args, workdir):
    receiver_port = services.free_port()
    receiver = start([sys.executable, os.path.join(HERE, "servers.py"),
                      "receiver", "--port", str(receiver_port)],
                     clean_env(), receiver_port, "/stats", workdir,
                     "receiver-" + label)
    receiver_url = "http://%s:%d" % (HOST, receiver_port)
    key, secrets = seed(url, receiver_url + "/hook")
    port = services.free_port()
    gateway = start(
        [os.path.join(BIN, "gateway"), "serve", "--port", str(port),
         "--workers", str(os.cpu_count() or 2), "--threads", str(THREADS)],
        clean_env(GATEWAY_DATABASE_URL=url,
                  GATEWAY_RATELIMIT_STORAGE_URI=ratelimit_url,
                  GATEWAY_EVOLUTION_URL=sandbox_url,
                  GATEWAY_THROTTLE_RECIPIENT_PER_DAY=str(10 ** 9),
                  GATEWAY_THROTTLE_RECIPIENT_GAP_SECONDS="0",
                  GATEWAY_DEMO="false", GATEWAY_WEBHOOK_ALLOW_PRIVATE="true"),
        port, "/healthz", workdir, "gateway-" + label)
    figures = {}
    try:
        closed_loop(port, key, secrets, min(2, args.duration), False)
        for rate in args.rates:
            figures["send_%d" % rate] = fixed_rate(port, key, secrets, rate,
                                                   args.duration)
        figures["send_saturation"] = closed_loop(port, key, secrets,
                                                 args.duration, False)
        before = settled_count(receiver_url)
        began = time.monotonic()
        lifecycle = closed_loop(port, key, secrets, args.duration, True)
        expected = before + lifecycle["count"] * (1 + len(RECEIPTS))
        deadline = time.monotonic() + 60
        while receiver_count(receiver_url) < expected and \
                time.monotonic() < deadline:
            time.sleep(0.1)
        delivered = receiver_count(receiver_url) - before
        lifecycle["events_delivered"] = delivered
        lifecycle["events_expected"] = expected - before
        lifecycle["all_delivered_after_s"] = round(
            time.monotonic() - began, 1)
        figures["lifecycle_saturation"] = lifecycle
    finally:
        stop(gateway)
        stop(receiver)
    return figures


def print_table(results):
    engines = list(results["engines"])
    print("\n| figure | " + " | ".join(engines) + " |")
    print("|---|" + "---|" * len(engines))
    rows = [(k, k) for k in results["engines"][engines[0]]]
    for key, _ in rows:
        cells = []
        for engine in engines:
            f = results["engines"][engine][key]
            if key.startswith("send_") and "rate" in f:
                cells.append("p50 %s ms, p99 %s ms (%d sends, %d failed)"
                             % (f["p50_ms"], f["p99_ms"], f["count"],
                                f["failed"]))
            elif key == "send_saturation":
                cells.append("%s sends/s (p50 %s ms, %d failed)"
                             % (f["per_s"], f["p50_ms"], f["failed"]))
            else:
                cells.append("%s lives/s = %s requests/s (p50 %s ms per "
                             "life; %d/%d events delivered, %d failed)"
                             % (f["per_s"], round(f["per_s"] * 4, 1),
                                f["p50_ms"], f["events_delivered"],
                                f["events_expected"], f["failed"]))
        label = {"send_saturation": "send, saturation",
                 "lifecycle_saturation": "lifecycle (send + 3 receipts + "
                 "4 deliveries), saturation"}.get(
            key, "send @ %s req/s" % key.split("_")[1])
        print("| %s | %s |" % (label, " | ".join(cells)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--smoke", action="store_true",
                        help="2 s phases, one rate")
    parser.add_argument("--rates", default="50,100")
    parser.add_argument("--database-url", help="an empty PostgreSQL "
                        "database (default: a throwaway server)")
    parser.add_argument("--redis-url", help="default: a throwaway server")
    parser.add_argument("--output", default=os.path.join(
        HERE, "results-engines.json"))
    args = parser.parse_args(argv)
    args.rates = [int(r) for r in args.rates.split(",")]
    if args.smoke:
        args.duration, args.rates = 2, [20]
    workdir = tempfile.mkdtemp(prefix="gateway-bench-engines-")
    servers, procs = [], []
    results = {"date": datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": "%s cores, %s, Python %s" % (
            os.cpu_count(), platform.machine(), platform.python_version()),
        "duration_s": args.duration, "engines": {}}
    try:
        sandbox_port = services.free_port()
        procs.append(start(
            [os.path.join(BIN, "gunicorn"), "--bind", "%s:%d" % (
                HOST, sandbox_port), "--workers", "1", "--worker-class",
             "gthread", "--threads", "16", "--chdir", HERE,
             "servers:create_sandbox_app()"],
            clean_env(BENCH_SANDBOX_INSTANCE=EVO_INSTANCE,
                      BENCH_SANDBOX_TOKEN=EVO_TOKEN), sandbox_port, "/",
            workdir, "sandbox"))
        sandbox_url = "http://%s:%d" % (HOST, sandbox_port)
        sqlite_url = "sqlite:///" + os.path.join(workdir, "gateway.db")
        print("== SQLite", flush=True)
        results["engines"]["SQLite"] = bench_engine(
            "sqlite", sqlite_url, "sqlite:///" + os.path.join(
                workdir, "ratelimit.db"), sandbox_url, args, workdir)
        pg_url, redis_url = args.database_url, args.redis_url
        if not pg_url:
            # PostgreSQL's defaults (fsync, synchronous commit): as
            # durable as it is run in production.
            servers.append(services.start_postgres(durable=True))
            pg_url = servers[-1].url
        if not redis_url:
            servers.append(services.start_redis())
            redis_url = servers[-1].url
        print("== PostgreSQL + Redis", flush=True)
        results["engines"]["PostgreSQL + Redis"] = bench_engine(
            "postgres", pg_url, redis_url, sandbox_url, args, workdir)
    finally:
        for proc in procs:
            stop(proc)
        for server in servers:
            server.stop()
    with open(args.output, "w") as handle:
        json.dump(results, handle, indent=2)
    print("%s; %s; %s s per phase" % (results["date"], results["machine"],
                                      args.duration))
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
