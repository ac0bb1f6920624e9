"""What bench/run.py measures beyond request latency: CPU, memory, and a
message's whole life.

* ``cpu_seconds(pids)``: user + system CPU of processes (every thread),
  from ``/proc/<pid>/stat``; ``rss_mb(pid)``: resident memory.
* ``Life``: a message's whole life on one gateway: the guarded send, its
  three receipts (SERVER_ACK, DELIVERY_ACK, READ) posted to the intake as
  Evolution posts them, and the customer deliveries all four cause,
  for the newest messages and for old ones; each step's latency, and the
  gateway workers' CPU from the first request until the outbox is empty.
* ``receipts_at_saturation``: the intake under wrk, then the time until
  every delivery it caused has reached the endpoint.
* ``embedded_memory``: the zero-config default (the Evolution sandbox in
  the worker, its receipts through the intake): worker RSS after 2,000
  and after 10,000 sends, and the CPU per send.
"""
import json
import os
import sqlite3
import time

import loadgen

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
STATUSES = ("SERVER_ACK", "DELIVERY_ACK", "READ")
SECRET_HEADER = "X-Gateway-Secret"


def cpu_seconds(pids):
    """User + system CPU seconds of ``pids`` so far (all threads)."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def rss_mb(pid):
    with open("/proc/%d/statm" % pid) as handle:
        return int(handle.read().split()[1]) * PAGE / 2 ** 20


class CpuMeter:
    """CPU of a server's gunicorn workers (and of other servers apart)."""

    def __init__(self, **servers):
        self.servers = servers
        self.pids = {name: _pids(s) for name, s in servers.items()}
        self.start = {n: cpu_seconds(p) for n, p in self.pids.items()}
        self.started = time.monotonic()

    def stop(self):
        return {"%s_cpu_s" % n: round(cpu_seconds(p) - self.start[n], 3)
                for n, p in self.pids.items()} | {
            "wall_s": round(time.monotonic() - self.started, 2)}


def _pids(server):
    """Every process of a server: a gunicorn master's descendants (its
    workers, and the delivery process with its arbiter), else itself."""
    pids = server.process_pids() if hasattr(server, "process_pids") \
        else server.worker_pids()
    return pids or [server.proc.pid]


def per_request(cpu, name, count):
    value = cpu.get("%s_cpu_s" % name)
    return round(1000 * value / count, 3) if count and value is not None \
        else None


# ------------------------------------------------------------ database

def read_db(db_path, sql, params=()):
    """Rows of ``sql``, sealed secrets (webhook_secret...) opened."""
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        rows = conn.execute(sql, params).fetchall()
    finally:
        conn.close()
    return [tuple(open_secret(db_path, v) for v in row) for row in rows]


def open_secret(db_path, value):
    import secretbox
    if not secretbox.is_sealed(value):
        return value
    if getattr(open_secret, "db_path", None) != db_path:
        # The gateway's key: GATEWAY_SECRET_KEY, else secret.key beside
        # the database.
        secretbox.configure(secretbox.load_key(
            os.environ.get("GATEWAY_SECRET_KEY", ""), db_path))
        open_secret.db_path = db_path
    return secretbox.reveal(value)


def last_log_id(db_path):
    return read_db(db_path, "SELECT COALESCE(MAX(id), 0) FROM messagelog")[
        0][0]


def sent_since(db_path, after_id):
    """(message id, instance name, intake secret) of sends after a row."""
    return read_db(db_path, """
        SELECT m.evolution_message_id, i.name, i.webhook_secret
        FROM messagelog m JOIN instance i ON i.id = m.instance_id
        WHERE m.id > ? AND m.outcome = 'sent' ORDER BY m.id""",
                   (after_id,))


def old_messages(db_path, count, seeded, round_no=0):
    """``count`` of the ``seeded`` first log rows, spread from the oldest
    to the newest of them; each round takes other ones (a receipt seen
    before would be a duplicate, which costs less)."""
    step = max(1, seeded // max(1, count))
    ids = list(range(1 + round_no % step, seeded + 1, step))[:count]
    rows = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows += read_db(db_path, """
            SELECT m.evolution_message_id, i.name, i.webhook_secret
            FROM messagelog m JOIN instance i ON i.id = m.instance_id
            WHERE m.id IN (%s)""" % ",".join("?" * len(chunk)), chunk)
    return rows


def outbox_open(db_path):
    return read_db(db_path, "SELECT COUNT(*) FROM delivery WHERE status "
                   "NOT IN ('delivered', 'dead')")[0][0]


def wait_outbox(db_path, timeout):
    """Wait until every delivery is delivered (or dead); its duration."""
    started = time.monotonic()
    deadline = started + timeout
    while outbox_open(db_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    return round(time.monotonic() - started, 2), outbox_open(db_path)


# ------------------------------------------------------------- receipts

def receipt_body(message_id, evolution_instance, status, phone="966500000001"):
    """``messages.update`` as Evolution 2.3 posts it (one status)."""
    return json.dumps({
        "event": "messages.update", "instance": evolution_instance,
        "data": {"keyId": message_id, "remoteJid": phone + "@s.whatsapp.net",
                 "fromMe": True, "status": status,
                 "instanceId": "bench", "messageId": "cbench"},
        "destination": "http://gateway/webhooks/evolution",
        "date_time": "2026-11-24T10:00:00.000Z",
        "sender": "966500000000@s.whatsapp.net",
        "server_url": "http://evolution", "apikey": None},
        separators=(",", ":"))


def receipt_target(messages, evolution_instance):
    """Every message's three receipts, each status for all messages before
    the next (as they arrive: the server ack at once, delivery and read
    later)."""
    requests = []
    for status in STATUSES:
        for message_id, name, secret in messages:
            requests.append((
                "/webhooks/evolution/%s/messages-update" % name,
                {SECRET_HEADER: secret, "Content-Type": "application/json"},
                receipt_body(message_id, evolution_instance, status)))
    return loadgen.Target.sequence(requests)


def step_stats(stats, cpu, count, scheduled=None):
    stats = dict(stats)
    stats.pop("_latencies", None)
    stats.update(cpu)
    stats["gateway_cpu_ms_per_request"] = per_request(cpu, "gateway",
                                                      count)
    return stats


class Life:
    """A message's whole life on one running gateway."""

    def __init__(self, bench, gateway, sandbox, db_path, send_target,
                 evolution_instance, seeded, round_no=0):
        self.bench = bench
        self.seeded = seeded
        self.round_no = round_no
        self.gateway = gateway
        self.sandbox = sandbox
        self.db_path = db_path
        self.send_target = send_target
        self.evolution_instance = evolution_instance

    def measure(self, rate):
        """One round: sends at ``rate``, receipts for them at 3x ``rate``,
        receipts for as many old messages; each until its deliveries are
        out.  Returns per-step figures and the life cost."""
        duration = self.bench.duration
        before = last_log_id(self.db_path)
        send = self._step(self.send_target, rate, duration)
        newest = sent_since(self.db_path, before)
        result = {"send": send, "messages": len(newest)}
        if not newest:
            return result
        result["receipts_newest"] = self._step(
            receipt_target(newest, self.evolution_instance), 3 * rate,
            duration)
        old = old_messages(self.db_path, len(newest), self.seeded,
                           self.round_no)
        result["receipts_old"] = self._step(
            receipt_target(old, self.evolution_instance), 3 * rate,
            duration)
        for which in ("newest", "old"):
            receipts = result["receipts_" + which]
            cpu = send["gateway_cpu_s"] + receipts["gateway_cpu_s"]
            result["life_cpu_ms_" + which] = round(
                1000 * cpu / len(newest), 3)
        return result

    def _step(self, target, rate, duration):
        meter = CpuMeter(gateway=self.gateway, sandbox=self.sandbox)
        stats = loadgen.run_open_loop(loadgen_host(), self.gateway.port,
                                      target, rate, duration)
        drain_s, left = wait_outbox(self.db_path, 60)
        cpu = meter.stop()
        result = step_stats(stats, cpu, stats["ok"])
        result.update(outbox_drain_s=drain_s, outbox_left=left)
        return result


def loadgen_host():
    return "127.0.0.1"


def pool_life(rounds):
    """Medians over rounds of the same measurement."""
    def median(values):
        values = sorted(v for v in values if v is not None)
        return values[len(values) // 2] if values else None
    summary = {"rounds": len(rounds)}
    for key in ("life_cpu_ms_newest", "life_cpu_ms_old"):
        summary[key] = median([r.get(key) for r in rounds])
        summary[key + "_rounds"] = [r.get(key) for r in rounds]
    for step in ("send", "receipts_newest", "receipts_old"):
        steps = [r[step] for r in rounds if step in r]
        if not steps:
            continue
        summary[step] = {k: median([s.get(k) for s in steps]) for k in (
            "p50_ms", "p99_ms", "gateway_cpu_ms_per_request",
            "outbox_drain_s")}
        summary[step].update(
            ok=sum(s["ok"] for s in steps),
            scheduled=sum(s.get("scheduled", s["ok"]) for s in steps),
            errors=sum(s["errors"] + s["non_2xx"] for s in steps),
            outbox_left=max(s["outbox_left"] for s in steps),
            sandbox_cpu_ms_per_request=median(
                [per_request(s, "sandbox", s["ok"]) for s in steps]))
    summary["rounds_raw"] = rounds
    return summary


# ------------------------------------------------- intake at saturation

def receipts_at_saturation(gateway, db_path, instance, secret,
                           evolution_instance, spread, duration):
    """wrk posts receipts for distinct seeded messages (ids ``3EB0<n>``)
    to one instance; then the outbox drains.  PLAYED, the highest
    status, so that messages the life rounds already took to READ still
    move forward: every receipt is new and causes a delivery."""
    target = loadgen.Target(
        "/webhooks/evolution/%s/messages-update" % instance,
        {SECRET_HEADER: secret, "Content-Type": "application/json"},
        receipt_body("3EB0%N%", evolution_instance, "PLAYED"),
        spread=spread)
    meter = CpuMeter(gateway=gateway)
    started = time.monotonic()
    stats = loadgen.run_saturation("127.0.0.1", gateway.port, target,
                                   duration)
    accepted_s = time.monotonic() - started
    drain_s, left = wait_outbox(db_path, 120)
    cpu = meter.stop()
    stats.pop("_latencies", None)
    stats.update(cpu)
    stats["gateway_cpu_ms_per_receipt"] = per_request(cpu, "gateway",
                                                      stats["ok"])
    stats.update(outbox_drain_s=drain_s, outbox_left=left)
    total = accepted_s + drain_s
    stats["sustained_receipts_per_s"] = round(stats["ok"] / total, 1) \
        if total else None
    delivered = read_db(db_path, "SELECT COUNT(*) FROM delivery WHERE "
                        "status = 'delivered'")[0][0]
    stats["deliveries_delivered_total"] = delivered
    return stats


# --------------------------------------------------- embedded default

def embedded_memory(gateway, target, marks, connections=8):
    """Closed-loop sends to a gateway running the embedded sandbox; RSS
    of its (single) worker at each mark, and CPU per send between the
    first and last marks."""
    pid = gateway.worker_pids()[0]
    figures, done = {"marks": []}, 0
    meter = None
    for mark in marks:
        stats = loadgen.run_count(
            "127.0.0.1", gateway.port, target, mark - done, connections,
            offset=done)
        done = mark
        # The sandbox's receipts (50 ms apart) and the deliveries they
        # cause finish a moment after the last answer.
        time.sleep(1.0)
        figures["marks"].append({"sends": mark, "rss_mb": round(
            rss_mb(pid), 2), "ok": stats["ok"],
            "errors": stats["errors"] + stats["non_2xx"]})
        if meter is None:
            meter = CpuMeter(gateway=gateway)
            first_ok = stats["ok"]
    cpu = meter.stop()
    sends = sum(m["ok"] for m in figures["marks"]) - first_ok
    figures.update(cpu)
    figures["gateway_cpu_ms_per_send"] = per_request(cpu, "gateway", sends)
    first, last = figures["marks"][0], figures["marks"][-1]
    figures["rss_growth_mb"] = round(last["rss_mb"] - first["rss_mb"], 2)
    return figures
