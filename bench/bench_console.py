"""p95 of every console page with a million message-log rows.

    .venv/bin/python bench/bench_console.py [--rows 1000000] [--runs 40]

Builds a SQLite database through the real migrations, fills it with
``--rows`` message-log rows spread over the last 30 days (5 customers,
10 numbers, 50,000 recipients, realistic outcomes and purposes), plus
webhook deliveries, receipts and suppressions, with plain ``executemany``
(about a minute).  Then serves the gateway app over HTTP on 127.0.0.1
(werkzeug, threaded) and asks every console page ``--runs`` times, signed
in as an operator and as a customer's user; prints p50 / p95 / max per
page against the 200 ms target.  No ``ANALYZE`` is run: the planner sees
the database as a real one would.
"""
import argparse
import datetime
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import requests  # noqa: E402

TARGET_MS = 200
PASSWORD = "bench password 123"
OUTCOMES = [("sent", 85), ("refused", 10), ("failed", 3), ("unknown", 2)]
PURPOSES = [("transactional", 50), ("operational", 20), ("support", 15),
            ("authentication", 12), ("internal_team", 3)]
REFUSALS = ["recipient_suppressed", "daily_message_limit_exceeded",
            "content_policy_violation", "sending_throttled",
            "instance_paused_for_review"]


def weighted(pairs, n, rng):
    names = [p[0] for p in pairs]
    weights = [p[1] for p in pairs]
    return rng.choices(names, weights, k=n)


def build(path, rows, rng):
    """Schema through the migrations, then bulk rows with executemany."""
    import store
    store.init_db("sqlite:///" + path)
    import console_auth
    with store.db.connection_context():
        customers = [store.Customer.create(
            name="Customer %d" % n, daily_limit=100000,
            monthly_limit=2000000,
            plan_active_until=datetime.date.today()
            + datetime.timedelta(days=90)) for n in range(1, 6)]
        for n in range(10):
            store.Instance.create(
                customer=customers[n % 5], name="line-%d" % n,
                evolution_instance="evo-%d" % n, connection_state="open")
        for c in customers:
            store.create_api_key(c.id, "bench")
        console_auth.create_operator("ops@bench.example", PASSWORD)
        console_auth.create_operator("user@bench.example", PASSWORD,
                                     customer_id=customers[0].id)
    store.close_pool()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("PRAGMA synchronous=off")
    now = datetime.datetime.utcnow()
    start = now - datetime.timedelta(days=30)
    step = (now - start) / rows
    phones = ["+9665%08d" % rng.randrange(10 ** 8) for _ in range(50000)]
    batch = 100000
    t0 = time.monotonic()
    log_id = 0
    for first in range(0, rows, batch):
        n = min(batch, rows - first)
        outcomes = weighted(OUTCOMES, n, rng)
        purposes = weighted(PURPOSES, n, rng)
        values = []
        for i in range(n):
            log_id += 1
            inst = rng.randrange(10)
            outcome = outcomes[i]
            at = start + step * (first + i)
            error = reason = msg_id = None
            if outcome == "refused":
                error = rng.choice(REFUSALS)
            elif outcome in ("failed", "unknown"):
                error = "gateway_send_failed"
                reason = "upstream_timeout" if outcome == "unknown" \
                    else "not_on_whatsapp"
            else:
                msg_id = "3EB0%016X" % log_id
            values.append((inst % 5 + 1, inst + 1, rng.choice(phones),
                           purposes[i], "api", outcome, error, reason,
                           msg_id, "Your order #%d has shipped." % log_id,
                           str(at), str(at + datetime.timedelta(
                               milliseconds=300))))
        conn.executemany(
            "INSERT INTO messagelog (customer_id, instance_id, phone, "
            "purpose, source, outcome, error_code, reason, "
            "evolution_message_id, message_text, created_at, completed_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", values)
        conn.commit()
    receipts = [(rng.randrange(10) + 1, "3EB0%016X" % i, rank,
                 str(now)) for i in range(rows - 20000, rows)
                for rank in (2, 3)]
    conn.executemany("INSERT INTO messagereceipt (instance_id, message_id, "
                     "rank, at) VALUES (?,?,?,?)", receipts)
    conn.executemany(
        "INSERT INTO webhookendpoint (customer_id, url, secret, events, "
        "enabled, created_at) VALUES (?,?,?,?,1,?)",
        [(c, "https://hooks.example/%d" % c, "whsec_x", "", str(now))
         for c in range(1, 6)])
    events = [("evt_%d" % i, i % 5 + 1, "message.sent",
               '{"log_id": %d}' % i, str(now)) for i in range(50000)]
    conn.executemany("INSERT INTO event (uid, customer_id, name, payload, "
                     "created_at) VALUES (?,?,?,?,?)", events)
    conn.executemany(
        "INSERT INTO delivery (event_id, endpoint_id, status, attempts, "
        "next_attempt_at, last_status_code, created_at) "
        "VALUES (?,?,?,?,?,?,?)",
        [(i + 1, i % 5 + 1, "dead" if i % 50 == 0 else "delivered", 1,
          str(now), 200, str(now)) for i in range(50000)])
    conn.executemany(
        "INSERT OR IGNORE INTO suppression (customer_id, phone, reason, "
        "created_at) VALUES (?,?,?,?)",
        [(i % 5 + 1, phones[i], "opt_out", str(now)) for i in range(5000)])
    conn.commit()
    conn.close()
    return time.monotonic() - t0


def serve(app):
    import logging
    from werkzeug.serving import make_server
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, "http://127.0.0.1:%d" % server.server_port


def sign_in(url, email):
    session = requests.Session()
    page = session.get(url + "/console/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    answer = session.post(url + "/console/login", data={
        "email": email, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.status_code
    return session


def measure(session, url, path, runs):
    for _ in range(3):
        session.get(url + path, timeout=60)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        answer = session.get(url + path, timeout=60)
        times.append((time.perf_counter() - t0) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    times.sort()
    return {"p50": statistics.median(times),
            "p95": times[max(0, int(round(0.95 * len(times))) - 1)],
            "max": times[-1]}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--db", help="reuse (or build) this database file")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    rng = random.Random(12)
    workdir = tempfile.mkdtemp(prefix="bench-console-")
    path = args.db or os.path.join(workdir, "gateway.db")
    if not os.path.exists(path):
        print("building %d message-log rows in %s ..." % (args.rows, path),
              flush=True)
        took = build(path, args.rows, rng)
        print("built in %.0f s" % took, flush=True)
    from gateway import create_app
    app = create_app({
        "DATABASE_URL": "sqlite:///" + path,
        "RATELIMIT_STORAGE_URI": "memory://",
        "DEMO": False, "WEBHOOK_DISPATCH": False})
    import store
    with store.db.connection_context():
        last = store.MessageLog.select(store.MessageLog.id).order_by(
            store.MessageLog.id.desc()).first().id
        phone = store.MessageLog.get_by_id(last // 2).phone
        dead = store.Delivery.select().where(
            store.Delivery.status == "dead").first().id
    server, url = serve(app)
    day = (datetime.datetime.utcnow() - datetime.timedelta(days=5)
           ).date().isoformat()
    ops = sign_in(url, "ops@bench.example")
    user = sign_in(url, "user@bench.example")
    pages = [
        ("operator", "/console/"),
        ("operator", "/console/numbers"),
        ("operator", "/console/numbers/1"),
        ("operator", "/console/messages"),
        ("operator", "/console/messages?outcome=failed"),
        ("operator", "/console/messages?outcome=unknown&purpose=support"),
        ("operator", "/console/messages?purpose=internal_team"),
        ("operator", "/console/messages?phone=" + phone.replace("+",
                                                                  "%2B")),
        ("operator", "/console/messages?instance=line-3"),
        ("operator", "/console/messages?customer_id=2&outcome=refused"),
        ("operator", "/console/messages?day=" + day),
        ("operator", "/console/messages?day=%s&outcome=failed" % day),
        ("operator", "/console/messages?before=%d" % (last // 3)),
        ("operator", "/console/messages/%d" % (last - 10)),
        ("operator", "/console/customers"),
        ("operator", "/console/customers/1"),
        ("operator", "/console/keys"),
        ("operator", "/console/suppressions"),
        ("operator", "/console/webhooks"),
        ("operator", "/console/webhooks/deliveries"),
        ("operator", "/console/webhooks/deliveries?status=dead"),
        ("operator", "/console/webhooks/deliveries/%d" % dead),
        ("operator", "/console/3cx"),
        ("user", "/console/"),
        ("user", "/console/messages"),
        ("user", "/console/messages?outcome=failed"),
        ("user", "/console/messages?purpose=authentication&outcome=sent"),
    ]
    results = []
    print("%-9s %-58s %8s %8s %8s  %s" % ("who", "page", "p50 ms", "p95 ms",
                                         "max ms", "target 200"))
    for who, path in pages:
        r = measure(ops if who == "operator" else user, url, path,
                    args.runs)
        ok = r["p95"] <= TARGET_MS
        results.append(dict(r, who=who, page=path, ok=ok))
        print("%-9s %-58s %8.1f %8.1f %8.1f  %s" % (
            who, path[:58], r["p50"], r["p95"], r["max"],
            "ok" if ok else "MISSED"), flush=True)
    server.shutdown()
    worst = max(results, key=lambda r: r["p95"])
    print("rows=%d worst p95 %.1f ms (%s); %d of %d pages within %d ms"
          % (args.rows, worst["p95"], worst["page"],
             sum(r["ok"] for r in results), len(results), TARGET_MS))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"rows": args.rows, "runs": args.runs,
                       "date": datetime.date.today().isoformat(),
                       "pages": results}, handle, indent=1)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
