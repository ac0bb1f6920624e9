"""The benchmark's table: (figure, value, target, verdict) rows from the
figures bench/run.py collected.  Targets are the issue's; a missed one
says MISSED, never fails the run."""

CPU_RATE = 100
LEAN_TARGET = 3.5        # guarded send CPU / empty endpoint CPU
LIFE_GROWTH = 0.10       # life cost, 10 thousand -> 1 million rows
RECEIPT_CPU_MS = 1.0     # worker CPU per receipt
RECEIPTS_PER_S = 800     # sustained, with the deliveries they cause
RECEIPT_RATE = 300       # receipts/s when a receipt's own CPU is measured
EMBEDDED_GROWTH_MB = 5.0


def verdict(ok):
    return "n/a" if ok is None else ("met" if ok else "MISSED")


def build_rows(fig, modest):
    rows = []

    def get(*path):
        node = fig
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return None
            node = node[part]
        return node

    def lat(stats):
        if not stats:
            return "n/a"
        return "p50 %s ms, p99 %s ms (%s/%s ok)" % (
            stats["p50_ms"], stats["p99_ms"], stats["ok"],
            stats.get("scheduled", stats["ok"]))

    def ratio_row(label, value, base, target, fmt="%.2fx"):
        ok = None if value is None or not base else value / base <= target
        rows.append((label, fmt % (value / base) if ok is not None
                     else "n/a", "<= %sx" % target, verdict(ok)))

    # -- lean send path: worker CPU, same gunicorn, same run
    send = get("gateway_send", "fixed_%d" % CPU_RATE)
    bare = get("bare_flask", "fixed_%d" % CPU_RATE)
    send_cpu = send and send.get("server_cpu_ms_per_request")
    bare_cpu = bare and bare.get("server_cpu_ms_per_request")
    rows.append(("a. worker CPU per guarded send @ %d req/s" % CPU_RATE,
                 "%s ms (the sandbox, apart: %s ms)" % (
                     send_cpu, send.get("sandbox_cpu_ms_per_request"))
                 if send else "n/a", "", ""))
    rows.append(("b. worker CPU per empty Flask request @ %d req/s"
                 % CPU_RATE, "%s ms" % bare_cpu if bare else "n/a", "", ""))
    ratio_row("**a/b worker CPU per request (headline)**", send_cpu,
              bare_cpu, LEAN_TARGET)
    for name, key in (("a. guarded send", "gateway_send"),
                      ("b. empty Flask", "bare_flask")):
        sat = get(key, "saturation")
        rows.append((name + ", saturation", "%s req/s" % sat["rps"]
                     if sat else "n/a", "", ""))
    for rate in sorted({modest, 100, 200, 300}):
        stats = get("gateway_send", "fixed_%d" % rate)
        target, ok = "", None
        if rate == 200 and stats:
            target = "p99 <= 25 ms"
            ok = stats["p99_ms"] is not None and stats["p99_ms"] <= 25 \
                and stats["errors"] == 0
        rows.append(("a. guarded send @ %d req/s" % rate, lat(stats),
                     target, verdict(ok) if target else ""))
    via, direct = get("gateway_send", "fixed_%d" % modest), get(
        "sandbox_direct", "fixed_%d" % modest)
    if via and direct and via["p50_ms"] is not None \
            and direct["p50_ms"] is not None:
        value = "%.2f ms (%.2f - %.2f, p50 @ %d req/s)" % (
            via["p50_ms"] - direct["p50_ms"], via["p50_ms"],
            direct["p50_ms"], modest)
    else:
        value = "n/a"
    rows.append(("c. gateway overhead (send p50 - sandbox sendText p50)",
                 value, "", ""))

    # -- d: a message's whole life
    small, large = get("life", "small"), get("life", "large")
    for label, data in (("small", small), ("large", large)):
        if not data:
            continue
        size = "{:,} rows".format(data["log_rows"])
        for step, what in (("send", "send @ %d/s" % modest),
                           ("receipts_newest",
                            "receipt, newest messages @ %d/s" % (3 * modest)),
                           ("receipts_old",
                            "receipt, old messages @ %d/s" % (3 * modest))):
            stats = data.get(step)
            if stats:
                rows.append(("d. %s, %s" % (what, size), "%s; worker CPU "
                             "%s ms/request" % (lat(stats), stats[
                                 "gateway_cpu_ms_per_request"]), "", ""))
        for which in ("newest", "old"):
            rows.append(("d. life (send + 3 receipts + 4 deliveries), %s "
                         "messages, %s" % (which, size),
                         "%s ms worker CPU (rounds %s)" % (
                             data.get("life_cpu_ms_" + which),
                             data.get("life_cpu_ms_%s_rounds" % which)),
                         "", ""))
    for which in ("newest", "old"):
        a = small and small.get("life_cpu_ms_" + which)
        b = large and large.get("life_cpu_ms_" + which)
        growth = b / a - 1 if a and b else None
        rows.append(("**d. life cost growth, 10 thousand -> 1 million rows "
                     "(%s messages)**" % which,
                     "%+.1f %%" % (growth * 100) if growth is not None
                     else "n/a", "<= +10 %", verdict(
                         None if growth is None else growth <= LIFE_GROWTH)))
    for step in ("send", "receipts_newest", "receipts_old"):
        a = small and small.get(step, {}).get("p50_ms")
        b = large and large.get(step, {}).get("p50_ms")
        growth = b / a - 1 if a and b else None
        rows.append(("d. %s p50 growth, small -> large log" % step,
                     "%+.1f %%" % (growth * 100) if growth is not None
                     else "n/a", "", ""))

    # -- intake
    own = get("intake_own", "fixed_%d" % RECEIPT_RATE)
    own_cpu = own and own.get("server_cpu_ms_per_request")
    rows.append(("**intake: worker CPU per receipt @ %d/s, no delivery "
                 "to cause**" % RECEIPT_RATE,
                 "%s ms, median of %s (%s)" % (
                     own_cpu, own.get("server_cpu_ms_runs"), lat(own))
                 if own_cpu else "n/a",
                 "<= %s ms" % RECEIPT_CPU_MS,
                 verdict(None if own_cpu is None
                         else own_cpu <= RECEIPT_CPU_MS)))
    own_sat = get("intake_own", "saturation")
    rows.append(("intake: receipts alone, saturation",
                 "%s receipts/s" % own_sat["rps"] if own_sat else "n/a",
                 "", ""))
    sat = get("intake_saturation")
    cpu = sat and sat.get("gateway_cpu_ms_per_receipt")
    rows.append(("intake: worker CPU per receipt with its delivery, "
                 "saturation", "%s ms" % cpu if cpu else "n/a", "", ""))
    delivery = get("webhook_delivery", "gateway_cpu_ms_per_delivery")
    rows.append(("intake: the same minus e's CPU per delivery (%s ms)"
                 % delivery, "%.3f ms" % (cpu - delivery) if cpu and delivery
                 else "n/a", "", ""))
    rate = sat and sat.get("sustained_receipts_per_s")
    rows.append(("**intake: receipts/s sustained, deliveries included**",
                 "%s receipts/s (%s accepted at %s/s, outbox empty %s s "
                 "later, %s left)" % (rate, sat["ok"], sat["rps"],
                                      sat["outbox_drain_s"],
                                      sat["outbox_left"]) if sat else "n/a",
                 ">= %d/s" % RECEIPTS_PER_S,
                 verdict(None if rate is None else rate >= RECEIPTS_PER_S)))

    # -- e: webhook delivery
    hooks = get("webhook_delivery")
    rate = hooks and hooks.get("events_per_s")
    rows.append(("e. webhook delivery", "%s events/s (%s/%s events; "
                 "worker CPU %s ms per delivery)" % (
                     rate, hooks["unique"], hooks["events"],
                     hooks.get("gateway_cpu_ms_per_delivery"))
                 if hooks else "n/a",
        ">= 300 events/s", verdict(None if rate is None else rate >= 300)))
    normal, hung = get("hung_endpoint", "normal"), get("hung_endpoint",
                                                      "hung")
    rows.append(("e. send @ %d req/s, endpoints answer" % modest,
                 lat(normal), "", ""))
    rows.append(("e. send @ %d req/s, another endpoint hangs" % modest,
                 lat(hung), "", ""))
    factor = None
    if normal and hung and normal["p99_ms"] and hung["p99_ms"]:
        factor = hung["p99_ms"] / normal["p99_ms"]
    rows.append(("e. send p99 hung / normal",
                 "%.2fx" % factor if factor is not None else "n/a",
                 "<= 1.2x", verdict(None if factor is None
                                    else factor <= 1.2)))
    if hung:
        rows.append(("e. other customer's deliveries during hang",
                     "%s delivered (of ~%s sends)" % (
                         hung.get("fast_endpoint_deliveries_during_phase"),
                         hung["ok"]), "", ""))
    cx = get("threecx")
    if cx and "skipped" in cx:
        value = "skipped: " + cx["skipped"]
    elif cx:
        value = "%s req/s (%s integrations, %s non-2xx)" % (
            cx["rps"], cx["integrations"], cx["non_2xx"])
    else:
        value = "n/a"
    rows.append(("f. 3CX webhook (`test` events), saturation", value, "",
                 ""))

    # -- g: the embedded default
    emb = get("embedded")
    if emb:
        marks = emb["marks"]
        rows.append(("g. embedded default: worker RSS after %s / %s sends"
                     % (marks[0]["sends"], marks[-1]["sends"]),
                     "%s MB / %s MB (%s errors)" % (
                         marks[0]["rss_mb"], marks[-1]["rss_mb"],
                         sum(m["errors"] for m in marks)), "", ""))
        growth = emb["rss_growth_mb"]
        rows.append(("**g. embedded default: worker memory growth**",
                     "%+.2f MB" % growth, "<= %s MB" % EMBEDDED_GROWTH_MB,
                     verdict(growth <= EMBEDDED_GROWTH_MB)))
        external = send_cpu
        rows.append(("g. embedded default: worker CPU per send (sandbox "
                     "and its 3 receipts in-process)",
                     "%s ms (external sandbox: %s ms, so the sandbox's "
                     "share is ~%s ms)" % (
                         emb["gateway_cpu_ms_per_send"], external,
                         round(emb["gateway_cpu_ms_per_send"] - external, 2)
                         if external and emb["gateway_cpu_ms_per_send"]
                         else "n/a"), "", ""))
    return rows
