"""Print rate-limit hits/second: SQLite storage vs memory://.

Single process, single thread, moving window; each run is bounded to
about one second.  Run: ``python bench/bench_ratelimit.py``.
"""

import os
import sys
import tempfile
import time

from limits import parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from ratelimit import create_limiter  # noqa: E402

SECONDS = 1.0


def measure_hits_per_second(uri: str, strategy: str) -> float:
    """Hit 100 keys for SECONDS; return hits (allowed or not) per second.

    With 100 per minute, a moving-window key holds at most 100 entries.
    """
    limiter = create_limiter(uri, strategy)
    item = parse("100/minute")
    hits, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < SECONDS:
        for n in range(100):
            limiter.hit(item, f"user{n}")
        hits += 100
    if hasattr(limiter.storage, "close"):
        limiter.storage.close()
    return hits / elapsed


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_uri = f"sqlite:///{tmp}/ratelimit.db"
        for uri in (sqlite_uri, "memory://"):
            for strategy in ("moving-window", "fixed-window"):
                rate = measure_hits_per_second(uri, strategy)
                name = uri.split(":")[0]
                print(f"{name:7} {strategy:14} {rate:10,.0f} hits/s")


if __name__ == "__main__":
    main()
