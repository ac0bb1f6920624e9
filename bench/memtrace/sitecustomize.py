"""Debug aid, never loaded by the gateway itself: tracemalloc snapshots
from inside forked workers (gunicorn's, of `gateway serve`).

    PYTHONPATH=bench/memtrace MEMTRACE_DIR=/tmp/snaps gateway serve ...
    touch /tmp/snaps/req-2000    # later: touch /tmp/snaps/req-10000

Each worker writes ``snap-<pid>-<tag>`` (a tracemalloc snapshot, after a
full collection) and ``threads-<pid>-<tag>`` (its live thread names) for
every ``req-<tag>`` file it has not answered yet.  Compare two with
``Snapshot.load(b).compare_to(Snapshot.load(a), "traceback")``.  This is
how the embedded default's growth was found: the in-process sandbox's
webhook queue outgrowing the intake that drains it (12 frames of
traceback cost about 5x the CPU; use it only to find, not to measure).
"""
import gc
import glob
import os
import threading
import time
import tracemalloc

DIRECTORY = os.environ.get("MEMTRACE_DIR")


def watch():
    while True:
        time.sleep(0.3)
        for request in sorted(glob.glob(os.path.join(DIRECTORY, "req-*"))):
            tag = request.rsplit("-", 1)[1]
            out = os.path.join(DIRECTORY, "snap-%d-%s" % (os.getpid(), tag))
            if os.path.exists(out):
                continue
            gc.collect()
            tracemalloc.take_snapshot().dump(out + ".tmp")
            os.rename(out + ".tmp", out)
            with open(os.path.join(DIRECTORY, "threads-%d-%s" % (
                    os.getpid(), tag)), "w") as handle:
                handle.write("\n".join(sorted(
                    t.name for t in threading.enumerate())))


def start_in_child():
    tracemalloc.start(12)
    threading.Thread(target=watch, name="memtrace", daemon=True).start()


if DIRECTORY:
    os.makedirs(DIRECTORY, exist_ok=True)
    os.register_at_fork(after_in_child=start_in_child)
