"""Health and metrics: ``/healthz``, ``/readyz`` and ``/metrics``.

``/healthz`` says the process answers (liveness: restart me if not).
``/readyz`` says it can do its work (readiness: send me traffic): the
database takes a write, Evolution answers, this worker's delivery
dispatcher is looping, and how long the oldest due delivery has waited.

``/metrics`` is Prometheus text from ``prometheus_client``.  Under
gunicorn every worker is a process with its own counters, so
``gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers
start: each one writes its samples to files there and a scrape of any
worker adds them all up (``MultiProcessCollector``).  That is why
``prometheus_client`` is imported only in ``setup``, inside the worker:
its value class is chosen at import time.  Backlog and dead letters
are read from the database at scrape time, so they are the same
whichever worker answers.
"""
import datetime
import hmac
import os
import threading
import time
import types

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from peewee import CharField
from peewee import DateTimeField

import delivery_process
from errors import ApiError
from store import BaseModel
from store import db
from store import utcnow

bp = Blueprint("observability", __name__)

# Evolution answering slower than this is "not reachable" for readiness.
EVOLUTION_PROBE_TIMEOUT = 2.0
# A dispatcher loop wakes at least every poll interval (0.5 s) and runs a
# claim; one silent for this long is stuck or dead.
DISPATCHER_STALE_SECONDS = 30
# Answers of the Evolution probe are reused this long, so a readiness
# probe every second does not become load on Evolution.
PROBE_CACHE_SECONDS = 2.0
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)

_metrics = None
_setup_lock = threading.Lock()


class Heartbeat(BaseModel):
    """One row per writer that proves the database takes writes."""
    name = CharField(primary_key=True)
    beat_at = DateTimeField()


def setup():
    """Create this process's metrics once; return them."""
    global _metrics
    with _setup_lock:
        if _metrics is None:
            import prometheus_client as pc
            registry = pc.CollectorRegistry(auto_describe=True)
            _metrics = types.SimpleNamespace(
                registry=registry,
                sends=pc.Counter(
                    "gateway_sends", "Send attempts by outcome (sent, "
                    "failed, unknown, refused) and error code.",
                    ["outcome", "error_code"], registry=registry),
                evolution_seconds=pc.Histogram(
                    "gateway_evolution_request_seconds",
                    "Time Evolution took to answer a sendText, by result.",
                    ["result"], buckets=LATENCY_BUCKETS, registry=registry),
                intake=pc.Counter(
                    "gateway_intake_events", "Evolution webhooks taken in, "
                    "by outcome.", ["outcome"], registry=registry),
                deliveries=pc.Counter(
                    "gateway_webhook_deliveries", "Customer webhook "
                    "delivery attempts by result.", ["result"],
                    registry=registry),
                chat_skipped=pc.Counter(
                    "gateway_3cx_inbound_skipped", "Inbound WhatsApp "
                    "messages not forwarded to 3CX chat, by reason.",
                    ["reason"], registry=registry),
            )
    return _metrics


def count_send(outcome, error_code=None):
    if _metrics is not None:
        _metrics.sends.labels(outcome, error_code or "").inc()


def observe_evolution(seconds, result):
    if _metrics is not None:
        _metrics.evolution_seconds.labels(result).observe(seconds)


def count_intake(outcome):
    if _metrics is not None:
        _metrics.intake.labels(outcome).inc()


def count_delivery(result):
    if _metrics is not None:
        _metrics.deliveries.labels(result).inc()


def count_chat_skipped(reason):
    if _metrics is not None:
        _metrics.chat_skipped.labels(reason).inc()


# -- the routes -----------------------------------------------------------

def state():
    return current_app.extensions["gateway"]


@bp.get("/healthz")
def healthz():
    """Liveness: the process answers (it touches nothing else)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Readiness: every dependency of real work, each with its figure."""
    gateway = state()
    checks = {"database": check_database(),
              "evolution": check_evolution(gateway["evolution"]),
              "dispatcher": check_dispatcher(gateway["dispatcher"],
                                             gateway.get("delivery_dir")),
              "deliveries": check_deliveries()}
    # The delivery backlog is reported, not a reason to take this worker
    # out of rotation: more traffic is not what made it grow.
    ready = all(checks[name]["ok"] for name in ("database", "evolution",
                                                "dispatcher"))
    if ready:
        return jsonify({"status": "ready", "checks": checks})
    failing = [name for name, check in checks.items() if not check["ok"]]
    raise ApiError(503, "not_ready", "Not ready: %s." % ", ".join(failing),
                   {"checks": checks}, {"Retry-After": "5"})


def check_database():
    started = time.monotonic()
    try:
        with db.atomic():
            now = utcnow()
            (Heartbeat.insert(name="readyz", beat_at=now)
             .on_conflict(conflict_target=[Heartbeat.name],
                          update={Heartbeat.beat_at: now}).execute())
    except Exception as exc:  # any failure to write is "not ready"
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000, 1)}


_probe = {"at": 0.0, "result": None}
_probe_lock = threading.Lock()


def check_evolution(evolution):
    with _probe_lock:
        if (_probe["result"] is not None and time.monotonic()
                - _probe["at"] < PROBE_CACHE_SECONDS
                and _probe["client"] is evolution):
            return _probe["result"]
    started = time.monotonic()
    try:
        response = evolution.session.get(
            evolution.base_url + "/",
            timeout=(EVOLUTION_PROBE_TIMEOUT, EVOLUTION_PROBE_TIMEOUT))
        result = {"ok": response.status_code < 500,
                  "status": response.status_code}
        response.close()
    except Exception as exc:  # refused, timed out, DNS: all unreachable
        result = {"ok": False, "error": type(exc).__name__}
    result["ms"] = round((time.monotonic() - started) * 1000, 1)
    with _probe_lock:
        _probe.update(at=time.monotonic(), result=result, client=evolution)
    return result


def check_dispatcher(dispatcher, delivery_dir=None):
    if delivery_dir:
        # The delivery process's heartbeat (delivery_process.py).
        age = delivery_process.heartbeat_age(delivery_dir)
        ok = age is not None and age < DISPATCHER_STALE_SECONDS
        return {"ok": ok, "running": ok, "process": True,
                "seconds_since_loop": None if age is None else round(age, 1)}
    if dispatcher is None:
        return {"ok": True, "running": False,
                "note": "GATEWAY_WEBHOOK_DISPATCH is off"}
    alive = dispatcher.is_alive()
    idle = time.monotonic() - dispatcher.last_loop
    return {"ok": alive and idle < DISPATCHER_STALE_SECONDS,
            "running": alive, "seconds_since_loop": round(idle, 1)}


def delivery_figures():
    """(oldest due age in seconds, backlog, dead letters)."""
    now = utcnow()
    oldest = db.execute_sql(
        "SELECT MIN(next_attempt_at) FROM delivery WHERE status IN "
        "('pending', 'failed') AND next_attempt_at <= ?",
        (str(now),)).fetchone()[0]
    counts = dict(db.execute_sql(
        "SELECT status, COUNT(*) FROM delivery WHERE status IN "
        "('pending', 'failed', 'delivering', 'dead') GROUP BY status"
    ).fetchall())
    age = 0.0
    if oldest is not None:
        if isinstance(oldest, str):
            oldest = _parse_time(oldest)
        age = max(0.0, (now - oldest).total_seconds())
    backlog = sum(counts.get(s, 0) for s in ("pending", "failed",
                                               "delivering"))
    return age, backlog, counts.get("dead", 0)


def _parse_time(text):
    return datetime.datetime.fromisoformat(text)


def check_deliveries():
    try:
        age, backlog, dead = delivery_figures()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "oldest_due_seconds": round(age, 1),
            "backlog": backlog, "dead": dead}


@bp.get("/metrics")
def metrics():
    """Prometheus text; with GATEWAY_METRICS_TOKEN, a bearer token."""
    token = state()["settings"].METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization",
                                               "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode(), token.encode()):
            raise ApiError(401, "unauthorized",
                           "A valid metrics token is required: send "
                           "Authorization: Bearer <token>.")
    import prometheus_client as pc
    from prometheus_client import multiprocess
    metrics = setup()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = pc.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = metrics.registry
    body = pc.generate_latest(registry) + render_database_gauges(pc)
    return Response(body, mimetype=pc.CONTENT_TYPE_LATEST)


class DatabaseGauges:
    """Backlog, dead letters and oldest due age, read at scrape time.

    Metric families, not ``Gauge`` objects: in multiprocess mode a Gauge
    would write per-process files and be counted once per worker.
    """

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily
        age, backlog, dead = delivery_figures()
        yield GaugeMetricFamily("gateway_webhook_backlog",
                                "Deliveries waiting or in flight.", backlog)
        yield GaugeMetricFamily("gateway_webhook_dead_letters",
                                "Deliveries dead-lettered (retries "
                                "exhausted or endpoint gone).", dead)
        yield GaugeMetricFamily("gateway_webhook_oldest_due_seconds",
                                "How long the oldest due delivery has "
                                "waited.", age)


def render_database_gauges(pc):
    registry = pc.CollectorRegistry()
    registry.register(DatabaseGauges())
    return pc.generate_latest(registry)
