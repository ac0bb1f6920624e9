"""Webhook deliveries from a process of their own (delivery_process.py).

Under ``gateway serve`` the web workers only write the outbox and wake
one delivery process (gunicorn's dirty worker) over a datagram socket,
after the commit; the process posts, and gunicorn restarts it when it
dies.
"""
import os
import signal
import socket
import threading
import time

import pytest
import requests

import delivery_process
import store
from conftest import create_account
from conftest import create_endpoint
from conftest import send_body
from conftest import wait_until
from test_observability import metric

pytestmark = pytest.mark.skipif(not delivery_process.supported(),
                                reason="gunicorn < 25.1 has no dirty apps")


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def delivery_pids(master):
    """(dirty arbiter, delivery process) under a gunicorn master: the
    master's one child that has a child of its own."""
    for pid in children(master):
        grandchildren = children(pid)
        if grandchildren:
            return pid, grandchildren[0]
    return None, None


def started_delivery(server):
    """(dirty arbiter, delivery process) of a served gateway, once up."""
    return wait_until(lambda: all(delivery_pids(server.proc.pid))
                      and delivery_pids(server.proc.pid), timeout=20,
                      what="the delivery process")


def replaced_delivery(server, old):
    """The delivery process that replaced ``old``."""
    return wait_until(
        lambda: delivery_pids(server.proc.pid)[1] not in (None, old)
        and delivery_pids(server.proc.pid)[1], timeout=20,
        what="a new delivery process")


def wake_socket(pid):
    """The path of the wake socket process ``pid`` bound, if any."""
    suffix = "/%s%d.sock" % (delivery_process.SOCKET_PREFIX, pid)
    with open("/proc/net/unix") as handle:
        for line in handle:
            if line.rstrip().endswith(suffix):
                return line.split()[-1]
    return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) is gone for our purposes.
    with open("/proc/%d/stat" % pid) as handle:
        return handle.read().rsplit(")", 1)[1].split()[0] != "Z"


def send(server, account, **fields):
    return requests.post(server.url + "/api/send-message",
                         json=send_body(**fields), headers=account.headers,
                         timeout=30)


def readiness(server):
    return requests.get(server.url + "/readyz", timeout=10).json()


def test_workers_leave_deliveries_to_one_process(serve_gateway, receiver):
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url)
    receiver.secret = endpoint.secret
    server = serve_gateway(workers=2)
    arbiter, delivery = started_delivery(server)
    # Two web workers and the dirty arbiter; the delivery process below.
    assert len(children(server.proc.pid)) == 3
    check = wait_until(
        lambda: readiness(server)["checks"]["dispatcher"].get("running")
        and readiness(server)["checks"]["dispatcher"],
        what="the delivery process's heartbeat")
    assert check["process"] is True and check["ok"] is True
    # The workers wake the delivery process (no waiting for its poll):
    # listen beside its wake socket, found in /proc/net/unix.
    wake_path = wait_until(lambda: wake_socket(delivery),
                           what="the wake socket")
    ours = os.path.join(os.path.dirname(wake_path), "%s%d.sock" % (
        delivery_process.SOCKET_PREFIX, os.getpid()))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(ours)
    listener.settimeout(10)
    try:
        time.sleep(delivery_process.RELIST_SECONDS + 0.2)
        for n in range(5):
            assert send(server, account,
                        phone="+9665012345%02d" % n).status_code == 200
        assert listener.recv(8) == b"!"
    finally:
        listener.close()
        os.unlink(ours)
    receiver.wait_for(lambda r: len(r.events("message.sent")) == 5)
    assert all(r["valid"] for r in receiver.received)
    # Counted by the delivery process, added up by any worker's /metrics.
    wait_until(lambda: metric(requests.get(server.url + "/metrics",
                                           timeout=10).text,
                              "gateway_webhook_deliveries_total",
                              result="delivered") == 5,
               what="the delivery count in /metrics")


def test_two_delivery_processes_share_the_outbox(serve_gateway, receiver):
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url)
    receiver.secret = endpoint.secret
    server = serve_gateway(workers=1, WEBHOOK_PROCESSES=2)
    wait_until(lambda: any(len(children(pid)) == 2
                           for pid in children(server.proc.pid)),
               timeout=20, what="two delivery processes")
    for n in range(20):
        assert send(server, account,
                    phone="+9665012345%02d" % n).status_code == 200
    receiver.wait_for(lambda r: len(r.events("message.sent")) == 20)
    time.sleep(1)
    # Each event once: leases keep the two processes apart.
    ids = [r["headers"]["X-Whatsapp-Gateway-Event-Id"]
           for r in receiver.received]
    assert len(ids) == len(set(ids)) == 20


def test_a_killed_delivery_process_is_replaced_and_delivers(
        serve_gateway, receiver):
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url)
    receiver.secret = endpoint.secret
    server = serve_gateway(workers=2)
    _, first = started_delivery(server)
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: not alive(first), what="the old process to go")
    # Queued while no process delivers: the replacement finds it.
    assert send(server, account).status_code == 200
    replaced_delivery(server, first)
    receiver.wait_for(lambda r: r.events("message.sent"), timeout=30)


def test_an_orphaned_delivery_process_stops_by_itself(serve_gateway,
                                                      receiver):
    account = create_account()
    create_endpoint(account.customer_id, receiver.url)
    server = serve_gateway(workers=1)
    arbiter, first = started_delivery(server)
    os.kill(arbiter, signal.SIGKILL)
    # Its parent gone, the old process leaves; the master starts a new
    # arbiter with a new delivery process, so only one ever delivers.
    wait_until(lambda: not alive(first), what="the orphan to stop")
    replaced_delivery(server, first)
    assert send(server, account).status_code == 200
    receiver.wait_for(lambda r: r.events("message.sent"), timeout=30)


def test_turned_off_every_worker_delivers_itself(serve_gateway, receiver):
    account = create_account()
    create_endpoint(account.customer_id, receiver.url)
    server = serve_gateway(workers=2, WEBHOOK_PROCESSES=0)
    time.sleep(1)  # time enough for a dirty arbiter to appear, if any
    assert delivery_pids(server.proc.pid) == (None, None)
    check = readiness(server)["checks"]["dispatcher"]
    assert check["running"] is True and "process" not in check
    assert send(server, account).status_code == 200
    receiver.wait_for(lambda r: r.events("message.sent"))


# -- the pieces, in this process ---------------------------------------

def test_a_wake_datagram_reaches_the_listener(tmp_path):
    woken = threading.Event()
    # A socket left by a process killed with -9 is cleared away.
    stale = tmp_path / (delivery_process.SOCKET_PREFIX + "999999999.sock")
    stale.write_bytes(b"")
    listener = delivery_process.WakeListener(str(tmp_path),
                                             woken.set).start()
    try:
        assert not stale.exists()
        waker = delivery_process.Waker(str(tmp_path))
        waker()
        waker.close()
        assert woken.wait(5)
        # Only its owner may write to it.
        assert os.stat(listener.path).st_mode & 0o077 == 0
    finally:
        listener.close()
    assert not os.path.exists(listener.path)


def test_a_busy_dispatcher_takes_its_wake_when_it_next_waits(tmp_path):
    woken, idle = threading.Event(), threading.Event()
    listener = delivery_process.WakeListener(str(tmp_path), woken.set,
                                             idle).start()
    waker = delivery_process.Waker(str(tmp_path))
    try:
        for _ in range(3):
            waker()
        # Busy (not idle): the datagrams wait in the socket.
        assert not woken.wait(0.3)
        idle.set()
        assert woken.wait(5)
    finally:
        waker.close()
        listener.close()


def test_every_delivery_process_is_woken(tmp_path):
    received = []
    sockets = []
    for pid in (101, 102):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(tmp_path / ("%s%d.sock" % (
            delivery_process.SOCKET_PREFIX, pid))))
        sock.settimeout(5)
        sockets.append(sock)
    waker = delivery_process.Waker(str(tmp_path))
    try:
        waker()
        received = [sock.recv(8) for sock in sockets]
    finally:
        waker.close()
        for sock in sockets:
            sock.close()
    assert received == [b"!", b"!"]


def test_a_wake_with_nobody_listening_is_dropped_quietly(tmp_path):
    waker = delivery_process.Waker(str(tmp_path))
    waker()  # no socket: no error
    waker.close()
    # A full buffer does not block the sender either.
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(tmp_path / (delivery_process.SOCKET_PREFIX
                                  + "1.sock")))
    waker = delivery_process.Waker(str(tmp_path))
    try:
        started = time.monotonic()
        for _ in range(5000):
            waker()
        assert time.monotonic() - started < 5
    finally:
        waker.close()
        receiver.close()


def test_after_commit_runs_once_after_the_commit(app):
    calls = []

    def seen_elsewhere():
        # Another thread has its own connection: it sees the row only
        # once the transaction has committed.
        found = []

        def look():
            with store.db.connection_context():
                found.append(store.Customer.select().where(
                    store.Customer.name == "after-commit").exists())
        thread = threading.Thread(target=look)
        thread.start()
        thread.join(10)
        return found[0]

    def note():
        calls.append(seen_elsewhere())

    with store.db.connection_context():
        store.db.after_commit(note)  # outside a transaction: at once
        assert calls == [False]
        with store.db.atomic("IMMEDIATE"):
            store.Customer.create(name="after-commit")
            store.db.after_commit(note)
            with store.db.atomic():  # a savepoint: still the outer commit
                store.db.after_commit(note)  # once per transaction
            assert calls == [False]
        assert calls == [False, True]


def test_after_commit_is_dropped_on_rollback(app):
    calls = []
    with store.db.connection_context():
        with pytest.raises(RuntimeError):
            with store.db.atomic():
                store.db.after_commit(lambda: calls.append(1))
                raise RuntimeError("rolled back")
        with store.db.atomic():
            pass
    assert calls == []


def test_a_failing_after_commit_callback_leaves_the_commit_standing(app):
    def broken():
        raise OSError("too many open files")

    with store.db.connection_context():
        with store.db.atomic("IMMEDIATE"):
            store.Customer.create(name="kept")
            store.db.after_commit(broken)
        assert store.Customer.select().where(
            store.Customer.name == "kept").exists()


def test_a_worker_finds_the_directory_named_after_it_imported(
        monkeypatch, tmp_path):
    # ``gateway serve`` imports webhooks in the master before
    # gunicorn.conf.py names the directory; the forked workers must
    # still wake the delivery process.
    import webhooks
    monkeypatch.delenv(delivery_process.DIRECTORY_ENV, raising=False)
    assert webhooks.delivery_waker() is None
    monkeypatch.setenv(delivery_process.DIRECTORY_ENV, str(tmp_path))
    waker = webhooks.delivery_waker()
    assert waker is not None and waker.directory == str(tmp_path)
    woken = threading.Event()
    listener = delivery_process.WakeListener(str(tmp_path),
                                             woken.set).start()
    try:
        waker()
        assert woken.wait(5)
    finally:
        listener.close()
        waker.close()


def test_a_socket_path_too_long_leaves_polling(tmp_path):
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    with pytest.raises(OSError):
        delivery_process.WakeListener(str(deep), lambda: None)
    waker = delivery_process.Waker(str(deep))
    waker()  # nothing listens; no error
    waker.close()


def test_gunicorn_settings_follow_the_configuration(monkeypatch):
    from config import load_settings
    monkeypatch.delenv(delivery_process.DIRECTORY_ENV, raising=False)
    assert delivery_process.gunicorn_settings(load_settings(
        environ={"GATEWAY_WEBHOOK_PROCESSES": "0"})) == {}
    assert delivery_process.gunicorn_settings(load_settings(
        environ={"GATEWAY_WEBHOOK_DISPATCH": "false"})) == {}
    settings = delivery_process.gunicorn_settings(load_settings(environ={}))
    try:
        assert delivery_process.owns_directory()
        assert settings["dirty_workers"] == 1
        assert settings["dirty_apps"] == [delivery_process.APP_PATH]
        directory = os.environ[delivery_process.DIRECTORY_ENV]
        assert delivery_process.heartbeat_age(directory) < 5
        # Read again (a reload): the same directory.
        assert delivery_process.gunicorn_settings(load_settings(
            environ={"GATEWAY_WEBHOOK_PROCESSES": "2"}))[
                "dirty_workers"] == 2
        assert os.environ[delivery_process.DIRECTORY_ENV] == directory
    finally:
        import shutil
        shutil.rmtree(os.environ.pop(delivery_process.DIRECTORY_ENV),
                      ignore_errors=True)


def test_readiness_sees_the_slowest_running_delivery_process(tmp_path):
    """With two delivery processes, one stuck beside a live one shows;
    a dead one's file (gunicorn started a successor) does not count;
    before any has looped, the master's start is the grace."""
    import subprocess
    now = time.time()
    grace = tmp_path / delivery_process.HEARTBEAT_NAME
    grace.write_text("")
    os.utime(grace, (now - 3, now - 3))
    assert 2.5 < delivery_process.heartbeat_age(str(tmp_path)) < 10
    live = subprocess.Popen(["sleep", "60"])
    dead = subprocess.Popen(["true"])
    dead.wait()
    try:
        mine = delivery_process.heartbeat_path(str(tmp_path))
        open(mine, "w").close()
        assert delivery_process.heartbeat_age(str(tmp_path)) < 2
        stuck = delivery_process.heartbeat_path(str(tmp_path), live.pid)
        open(stuck, "w").close()
        os.utime(stuck, (now - 100, now - 100))
        assert delivery_process.heartbeat_age(str(tmp_path)) > 99
        gone = delivery_process.heartbeat_path(str(tmp_path), dead.pid)
        os.rename(stuck, gone)
        assert delivery_process.heartbeat_age(str(tmp_path)) < 2
    finally:
        live.kill()
        live.wait()
    assert delivery_process.heartbeat_age(str(tmp_path / "none")) is None
