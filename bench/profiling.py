"""Sample the gateway's gunicorn workers with py-spy under load.

``profile_workers(pids, seconds, out_prefix, load)`` runs ``py-spy record
--format raw`` (collapsed stacks) on every worker while ``load()`` drives
traffic, then folds the samples into self and inclusive time per
function.  py-spy is optional (``.venv/bin/pip install py-spy``); without
it the profile is skipped with a note.
"""
import collections
import os
import re
import shutil
import subprocess
import sys

SEND_VIEW = "register_routes.<locals>.send_message (gateway.py)"
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def find_py_spy():
    local = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return local if os.path.exists(local) else shutil.which("py-spy")


def _label(frame):
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match.group("file")
    parts = path.split("/")
    if "site-packages" in parts:
        short = "/".join(parts[parts.index("site-packages") + 1:])
    else:
        short = parts[-1]
    return "%s (%s)" % (match.group("func"), short)


def fold(paths, through=None):
    """(total samples, self Counter, inclusive Counter) over raw files;
    with ``through``, only stacks that pass through that function."""
    own, inclusive, total = collections.Counter(), collections.Counter(), 0
    for path in paths:
        with open(path) as handle:
            for line in handle:
                stack, _, count = line.rstrip("\n").rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                count = int(count)
                frames = [_label(f) for f in stack.split(";")
                          if not f.startswith(("process ", "thread "))]
                if not frames or (through and through not in frames):
                    continue
                total += count
                own[frames[-1]] += count
                for label in set(frames):
                    inclusive[label] += count
    return total, own, inclusive


def _top(counter, total, n):
    return [(name, round(100.0 * count / total, 1))
            for name, count in counter.most_common(n)]


def profile_workers(pids, seconds, out_prefix, load):
    """Two recordings per worker: on-CPU samples, and wall-clock samples
    (``--idle``: waiting on locks, sleeps and sockets too) of the threads
    inside the send view."""
    py_spy = find_py_spy()
    if not py_spy:
        return {"skipped": "py-spy is not installed"}
    if not pids:
        return {"skipped": "no gunicorn worker found"}
    procs, outputs = [], {"cpu": [], "wall": []}
    for pid in pids:
        for kind, extra in (("cpu", []), ("wall", ["--idle"])):
            out = "%s-%s-%d.raw" % (out_prefix, kind, pid)
            outputs[kind].append(out)
            procs.append(subprocess.Popen(
                [py_spy, "record", "--pid", str(pid), "--duration",
                 str(int(seconds)), "--rate", "200", "--format", "raw",
                 "--output", out, "--nonblocking"] + extra,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    load_stats = load()
    for proc in procs:
        try:
            proc.wait(seconds + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    cpu = [o for o in outputs["cpu"] if os.path.exists(o)]
    wall = [o for o in outputs["wall"] if os.path.exists(o)]
    if not cpu:
        return {"skipped": "py-spy wrote nothing (needs ptrace rights)"}
    total, own, inclusive = fold(cpu)
    wall_total, _, wall_incl = fold(wall, through=SEND_VIEW)
    result = {"load": load_stats, "cpu_samples": total,
              "cpu_self": _top(own, total, 25),
              "cpu_inclusive": _top(inclusive, total, 60),
              "send_wall_samples": wall_total,
              "send_wall_inclusive": _top(wall_incl, wall_total or 1, 60)}
    report = out_prefix + ".txt"
    with open(report, "w") as handle:
        handle.write("py-spy on gunicorn workers %s under saturation "
                     "(%s req/s while sampled)\n" % (pids,
                                                    load_stats.get("rps")))
        for title, key in (
                ("On-CPU self time, %% of %d samples" % total, "cpu_self"),
                ("On-CPU inclusive time", "cpu_inclusive"),
                ("Wall-clock inside %s (idle included), %% of %d samples"
                 % (SEND_VIEW, wall_total), "send_wall_inclusive")):
            handle.write("\n" + title + "\n")
            for name, pct in result[key]:
                handle.write("%6.1f  %s\n" % (pct, name))
    for out in cpu + wall:
        os.unlink(out)
    result["report"] = report
    return result
