"""Tests for the SQLite rate-limit storage in ratelimit.py."""

import multiprocessing
import os
import sqlite3
import threading
import time

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)

import ratelimit
from ratelimit import SQLiteStorage, create_limiter, seconds_until_available

STRATEGIES = ["moving-window", "fixed-window", "sliding-window-counter"]


@pytest.fixture
def uri(tmp_path):
    return f"sqlite:///{tmp_path / 'ratelimit.db'}"


@pytest.fixture
def make_limiter(uri):
    """Build limiters over the test file and close their connections."""
    limiters = []

    def make(strategy="moving-window"):
        limiters.append(create_limiter(uri, strategy))
        return limiters[-1]

    yield make
    for limiter in limiters:
        limiter.storage.close()


def test_uri_selects_sqlite_storage(uri, tmp_path, monkeypatch):
    storage = storage_from_string(uri)
    assert isinstance(storage, SQLiteStorage)
    assert storage.path == str(tmp_path / "ratelimit.db")
    assert storage.check()
    storage.close()
    monkeypatch.chdir(tmp_path)
    relative = storage_from_string("sqlite:///relative.db")
    assert relative.path == str(tmp_path / "relative.db")
    relative.close()


@pytest.mark.parametrize("bad", ["sqlite://", "sqlite://host/x.db",
                                 "sqlite:///:memory:"])
def test_bad_uri_is_rejected(bad):
    with pytest.raises(Exception, match="sqlite:///"):
        storage_from_string(bad)


@pytest.mark.parametrize("strategy,cls", [
    ("moving-window", MovingWindowRateLimiter),
    ("fixed-window", FixedWindowRateLimiter),
    ("sliding-window-counter", SlidingWindowCounterRateLimiter),
])
def test_create_limiter_over_memory(strategy, cls):
    limiter = create_limiter("memory://", strategy)
    assert isinstance(limiter, cls)
    assert limiter.hit(parse("1/minute"), "k")
    assert not limiter.hit(parse("1/minute"), "k")


def test_create_limiter_rejects_unknown_strategy():
    with pytest.raises(ValueError):
        create_limiter("memory://", "leaky-bucket")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_counts_up_to_limit(make_limiter, strategy):
    limiter, item = make_limiter(strategy), parse("3/minute")
    assert limiter.test(item, "alice")
    assert [limiter.hit(item, "alice") for _ in range(4)] == [
        True, True, True, False]
    assert not limiter.test(item, "alice")
    assert limiter.hit(item, "bob")  # other identifiers are independent
    stats = limiter.get_window_stats(item, "alice")
    assert stats.remaining == 0
    assert time.time() < stats.reset_time <= time.time() + 120
    assert 1 <= seconds_until_available(limiter, item, "alice") <= 120
    limiter.clear(item, "alice")
    assert limiter.get_window_stats(item, "alice").remaining == 3
    assert limiter.hit(item, "alice")


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_cost_larger_than_one(make_limiter, strategy):
    limiter, item = make_limiter(strategy), parse("5/minute")
    assert limiter.hit(item, "k", cost=3)
    assert not limiter.test(item, "k", cost=3)
    assert not limiter.hit(item, "k", cost=3)
    assert not limiter.hit(item, "k", cost=6)


def test_moving_window_is_a_minimum_gap(make_limiter):
    limiter, item = make_limiter(), parse("1 per 2 seconds")
    assert limiter.hit(item, "k")
    time.sleep(1.0)
    assert not limiter.hit(item, "k")  # fixed windows could allow this
    wait = seconds_until_available(limiter, item, "k")
    assert wait == 1
    time.sleep(1.05)
    assert limiter.hit(item, "k")
    assert not limiter.hit(item, "k")


def test_moving_window_stats_track_oldest_hit(uri):
    storage = SQLiteStorage(uri)
    before = time.time()
    assert storage.acquire_entry("k", 2, 60)
    assert storage.acquire_entry("k", 2, 60)
    assert not storage.acquire_entry("k", 2, 60)
    start, count = storage.get_moving_window("k", 2, 60)
    assert count == 2 and before <= start <= time.time()
    assert storage.get_moving_window("none", 2, 60)[1] == 0
    assert not storage.acquire_entry("k", 2, 60, amount=3)
    storage.close()


def test_counter_expiry_get_and_reset(uri):
    storage = SQLiteStorage(uri)
    assert storage.incr("k", 0.3) == 1
    assert storage.incr("k", 0.3, amount=4) == 5
    assert storage.get("k") == 5
    assert time.time() < storage.get_expiry("k") <= time.time() + 0.3
    assert storage.get("missing") == 0
    time.sleep(0.35)
    assert storage.get("k") == 0
    assert storage.incr("k", 60) == 1  # expired counter restarts
    storage.acquire_entry("m", 5, 60)
    assert storage.reset() == 2
    assert storage.get("k") == 0
    assert storage.get_moving_window("m", 5, 60)[1] == 0
    storage.close()


def test_expired_rows_are_pruned(uri, monkeypatch):
    monkeypatch.setattr(ratelimit, "CLEANUP_EVERY", 1)
    storage = SQLiteStorage(uri)
    for n in range(20):
        storage.incr(f"old{n}", 0)
        storage.acquire_entry(f"old{n}", 1, 0)
    storage.incr("fresh", 60)
    conn = sqlite3.connect(storage.path)
    tables = ("rl_counters", "rl_entries")
    counts = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in tables]
    conn.close()
    storage.close()
    assert counts == [1, 0]


def test_sliding_window_is_weighted(uri):
    storage = SQLiteStorage(uri)
    assert storage.acquire_sliding_window_entry("k", 2, 60)
    previous, _, current, current_ttl = storage.get_sliding_window("k", 60)
    assert (previous, current) == (0, 1)
    assert 60 <= current_ttl <= 120
    storage.clear_sliding_window("k", 60)
    assert storage.get_sliding_window("k", 60)[2] == 0
    storage.close()


def test_threads_share_exact_count(make_limiter):
    limiter, item = make_limiter(), parse("60/minute")
    results = []

    def run():
        results.extend(limiter.hit(item, "shared") for _ in range(20))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 60 and len(results) == 160


def hit_from_process(uri, strategy, barrier, queue):
    """Process body: hit a shared 60/minute limit 50 times."""
    limiter = create_limiter(uri, strategy)
    item = parse("60/minute")
    barrier.wait()
    queue.put(sum(limiter.hit(item, "shared") for _ in range(50)))
    limiter.storage.close()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_processes_share_exact_count(uri, strategy):
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=hit_from_process,
                         args=(uri, strategy, barrier, queue))
             for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    granted = [queue.get(timeout=5) for _ in procs]
    queue.close()
    queue.join_thread()
    assert sum(granted) == 60


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_fork_opens_new_connection(uri):
    storage = SQLiteStorage(uri)
    assert storage.incr("k", 60) == 1
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=storage.incr, args=("k", 60))
    proc.start()
    proc.join(timeout=30)
    assert proc.exitcode == 0
    assert storage.incr("k", 60) == 3
    storage.close()
    assert os.path.exists(storage.path)


# -- every throttle of a send in one transaction ------------------------

@pytest.mark.parametrize("uri_kind", ["sqlite", "memory"])
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_hit_all_stops_at_the_first_refusal(uri, uri_kind, strategy):
    """The first throttle without room is named; those before it count,
    those after it are not tried (as hitting them one by one would)."""
    limiter = create_limiter(uri if uri_kind == "sqlite" else "memory://",
                             strategy)
    first, second, daily = (parse("5/minute"), parse("3/minute"),
                            parse("100/day"))
    hits = [(first, ("i", "1")), (second, ("i", "2")),
            (daily, ("r", "7", "+966501234567"))]
    assert [ratelimit.hit_all(limiter, hits) for _ in range(6)] == [
        None, None, None, 1, 1, 0]
    # The first throttle counted the sends the second refused; the day
    # counted only the three that went.
    assert limiter.get_window_stats(first, "i", "1").remaining == 0
    assert limiter.get_window_stats(second, "i", "2").remaining == 0
    assert limiter.get_window_stats(daily, "r", "7",
                                    "+966501234567").remaining == 97
    if hasattr(limiter.storage, "close"):
        limiter.storage.close()


def hit_all_from_process(uri, barrier, queue):
    limiter = create_limiter(uri)
    items = [(parse("1000/minute"), ("a",)), (parse("60/minute"), ("b",))]
    barrier.wait()
    queue.put(sum(ratelimit.hit_all(limiter, items) is None
                  for _ in range(50)))
    limiter.storage.close()


def test_hit_all_is_exact_across_processes(uri):
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=hit_all_from_process,
                         args=(uri, barrier, queue)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    granted = [queue.get(timeout=5) for _ in procs]
    queue.close()
    queue.join_thread()
    assert sum(granted) == 60
    limiter = create_limiter(uri)
    # 200 hits on "a" (all within its limit), 60 on "b".
    assert limiter.get_window_stats(parse("1000/minute"),
                                    "a").remaining == 800
    limiter.storage.close()
