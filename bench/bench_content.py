"""Print the content check's cost: model load, and µs per message.

    python bench/bench_content.py

"Typical" is the allowed messages of the corpus (what a gateway mostly
sends: orders, OTPs, reminders); refused ones cost more because the
model then also picks a category and the signals.  Each figure is the
median of 5 runs over the whole set (bounded: a few seconds in all), on
one thread, in CPU time of this process (the machine is shared); first
calls (cold per-word cache) are counted in the "cold" row.  Targets (issue 17): model load < 200 ms, whole content
check < 150 µs per typical message.
"""

import json
import os
import platform
import statistics
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

import content_model  # noqa: E402
import content_policy  # noqa: E402

RUNS = 5


def per_message_us(texts, policy):
    """CPU µs per message: this process's CPU time, so other work on a
    shared machine does not inflate it (wall time is printed too)."""
    start = time.process_time()
    for text in texts:
        content_policy.evaluate(text, policy)
    return (time.process_time() - start) / len(texts) * 1e6


def main():
    with open(os.path.join(ROOT, "tests", "data", "content_messages.json"),
              encoding="utf-8") as fh:
        items = json.load(fh)["items"]
    allowed = [i["text"] for i in items if i["label"] == "allow"]
    refused = [i["text"] for i in items if i["label"] == "refuse"]
    loads = []
    for _ in range(RUNS):
        start = time.process_time()
        content_model.load_model()
        loads.append((time.process_time() - start) * 1e3)
    start = time.process_time()
    policy = content_policy.load_policy()
    policy_ms = (time.process_time() - start) * 1e3
    cold = per_message_us(allowed, policy)
    wall = time.perf_counter()
    rows = [
        ("model load (ms)", statistics.median(loads), 200),
        ("rules + model load (ms)", policy_ms, None),
        ("typical message, cold cache (µs)", cold, None),
        ("typical (allowed) message (µs)",
         statistics.median(per_message_us(allowed, policy)
                           for _ in range(RUNS)), 150),
        ("refused message (µs)",
         statistics.median(per_message_us(refused, policy)
                           for _ in range(RUNS)), None),
        ("rules only, typical message (µs)",
         statistics.median(per_message_us(
             allowed, content_policy.load_policy(model_path="off"))
             for _ in range(RUNS)), None),
    ]
    wall = time.perf_counter() - wall
    print(f"content policy bench: {len(allowed)} allowed, {len(refused)} "
          f"refused messages; Python {platform.python_version()}, "
          f"{platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d')}; CPU "
          f"time (the timed runs took {wall:.1f} s of wall time)")
    for name, value, target in rows:
        mark = "" if target is None else (
            f"  target < {target}  {'ok' if value < target else 'MISSED'}")
        print(f"{name:36} {value:9.1f}{mark}")


if __name__ == "__main__":
    main()
