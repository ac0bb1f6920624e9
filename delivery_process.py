"""Webhook deliveries in a process of their own, beside the web workers.

Under gunicorn (``gateway serve``, the Procfile) the workers only accept
requests and write the outbox; ``GATEWAY_WEBHOOK_PROCESSES`` processes
(one by default) post the deliveries.  A delivery thread in every worker
shared the GIL with the request threads: at saturation a receipt and the
delivery it caused cost 3.4-3.6 ms of CPU together, 2.9-3.0 ms once
apart (README.md, Performance).

Each is a gunicorn "dirty worker" (gunicorn 25.1+): their arbiter starts
them before the web workers, restarts one that dies, and stops them with
the server; several claim from the outbox as several workers did
(leases: never two on one attempt).  The gunicorn settings come from
``gunicorn_settings`` (read by gunicorn.conf.py, in the master).

Workers tell them "a delivery is due" with a one-byte datagram on each
one's Unix socket, sent after the commit (``webhooks.wake``); a wake lost
to a full buffer or a restart costs at most one poll interval (0.5 s),
as does a delivery another host queued.  Each touches its heartbeat file
at every loop (at most once a second); the workers' ``/readyz`` reads the
oldest of the running ones.
"""
import logging
import os
import signal
import socket
import tempfile
import threading
import time

try:
    from gunicorn.dirty import DirtyApp
except ImportError:  # gunicorn < 25: deliveries stay in the workers
    DirtyApp = object

# Set by gunicorn.conf.py in the master, inherited by every child: the
# directory holding the wake socket and the heartbeat file.
DIRECTORY_ENV = "WHATSAPP_GATEWAY_DELIVERY_DIR"
# w<pid>.sock, one per delivery process; short, as a Unix socket's path
# is at most 107 bytes (a long TMPDIR only costs the wakes, see below).
SOCKET_PREFIX = "w"
OWNER_NAME = "owner"  # the pid of the master that made the directory
HEARTBEAT_NAME = "heartbeat"
APP_PATH = "delivery_process:DeliveryApp"
# Seconds between checks that the dirty arbiter (the parent) still runs.
PARENT_CHECK_SECONDS = 1.0
# How long a worker trusts its list of delivery processes' sockets.
RELIST_SECONDS = 1.0

log = logging.getLogger(__name__)


def supported():
    """gunicorn runs dirty apps with a per-app worker count (25.1+)."""
    return DirtyApp is not object


def gunicorn_settings(settings):
    """The gunicorn settings that start the delivery process, or {} when
    deliveries stay in the workers.  Creates the shared directory once
    per master (a re-read of the settings file keeps it)."""
    count = settings.WEBHOOK_PROCESSES
    if not (settings.WEBHOOK_DISPATCH and count and supported()):
        return {}
    # One directory per master: kept when gunicorn re-reads this file
    # (HUP), made anew by a master that inherited another's (USR2), so
    # the old master's exit cannot remove the new one's.
    if not owns_directory():
        directory = tempfile.mkdtemp(prefix="gwd-")
        # The grace for /readyz while the process starts.
        open(os.path.join(directory, HEARTBEAT_NAME), "w").close()
        with open(os.path.join(directory, OWNER_NAME), "w") as handle:
            handle.write(str(os.getpid()))
        os.environ[DIRECTORY_ENV] = directory
    return {
        "dirty_apps": [APP_PATH],
        "dirty_workers": count,
        # gunicorn kills an orphaned dirty arbiter it finds under the
        # same name at start; a name per master keeps two gateways on
        # one host (or a test run's several) from killing each other's.
        "proc_name": "whatsapp-gateway-%d" % os.getpid(),
    }


def owns_directory():
    """The directory named in the environment was made by this process."""
    path = directory()
    if path is None:
        return False
    try:
        with open(os.path.join(path, OWNER_NAME)) as handle:
            return handle.read().strip() == str(os.getpid())
    except OSError:
        return False


def directory():
    """The shared directory while a delivery process serves this
    server, else None (plain ``create_app()``, tests, gunicorn < 25)."""
    return os.environ.get(DIRECTORY_ENV) or None


def heartbeat_path(path, pid=None):
    """A delivery process's own heartbeat file: with several, one stuck
    beside a live one must still show."""
    return os.path.join(path, "%s-%d" % (HEARTBEAT_NAME, pid or os.getpid()))


def heartbeat_age(path):
    """Seconds since the slowest running delivery process last looped;
    while none has yet, since the master started (the grace for /readyz);
    None: never."""
    now = time.time()
    ages = []
    try:
        names = os.listdir(path)
    except OSError:
        return None
    for name in names:
        prefix, _, pid = name.partition("-")
        if prefix != HEARTBEAT_NAME or not pid.isdigit():
            continue
        if not _running(int(pid)):
            continue  # a replaced process's file: its successor has its own
        try:
            ages.append(now - os.stat(os.path.join(path, name)).st_mtime)
        except OSError:
            continue
    if not ages:
        try:
            ages.append(now - os.stat(
                os.path.join(path, HEARTBEAT_NAME)).st_mtime)
        except OSError:
            return None
    return max(0.0, max(ages))


class Waker:
    """A worker's side: one datagram to each delivery process per commit
    that queued a delivery, never blocking and never failing the
    caller."""

    def __init__(self, path):
        self.directory = path
        self._lock = threading.Lock()
        self._sock = None
        self._pid = None
        self._paths = []
        self._listed_at = -RELIST_SECONDS

    def __call__(self):
        try:
            self._wake_all()
        except OSError as exc:
            # Out of descriptors, say: the delivery process's poll finds
            # the delivery within 0.5 s; the caller's commit stands.
            log.warning("cannot wake the delivery process: %s",
                        type(exc).__name__)

    def _wake_all(self):
        with self._lock:
            sock = self._sock
            if sock is None or self._pid != os.getpid():
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.setblocking(False)
                self._sock, self._pid = sock, os.getpid()
        now = time.monotonic()
        if now - self._listed_at >= RELIST_SECONDS:
            self._listed_at = now
            try:
                self._paths = [os.path.join(self.directory, name)
                               for name in os.listdir(self.directory)
                               if name.startswith(SOCKET_PREFIX)
                               and name.endswith(".sock")]
            except OSError:
                self._paths = []
        for path in self._paths:
            try:
                sock.sendto(b"!", path)
            except OSError:
                # Restarting or gone (its replacement's poll finds the
                # delivery), or its buffer is full (it is awake already).
                pass

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class WakeListener:
    """A delivery process's side: a datagram wakes its dispatcher.

    With ``idle`` (set while the dispatcher waits for work), datagrams
    are read only then: a busy dispatcher claims again anyway, and under
    load most wakes would only cost it turns at the GIL.  What queues
    meanwhile is one wake when it next waits; a full queue only makes
    the workers' sends fail, which they ignore.
    """

    def __init__(self, path, wake, idle=None):
        self.path = os.path.join(path, "%s%d.sock" % (SOCKET_PREFIX,
                                                     os.getpid()))
        self.wake = wake
        self.idle = idle
        self._remove_stale(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.sock.bind(self.path)
            os.chmod(self.path, 0o600)
        except OSError:
            self.sock.close()
            raise
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="delivery-wake")

    @staticmethod
    def _remove_stale(path):
        """Sockets of delivery processes that were killed (-9)."""
        for name in os.listdir(path):
            if not (name.startswith(SOCKET_PREFIX)
                    and name.endswith(".sock")):
                continue
            pid = name[len(SOCKET_PREFIX):].partition(".")[0]
            if pid.isdigit() and not _running(int(pid)):
                try:
                    os.unlink(os.path.join(path, name))
                except OSError:
                    pass

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while True:
            if self.idle is not None:
                self.idle.wait()
            try:
                self.sock.recv(64)
                # A burst of wakes is one: drain what queued meanwhile.
                while self.sock.recv(64, socket.MSG_DONTWAIT):
                    pass
            except BlockingIOError:
                pass
            except OSError:
                return  # closed
            self.wake()

    def close(self):
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


def _running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DeliveryApp(DirtyApp):
    """The dirty app: a webhook dispatcher (and the minute's
    housekeeping) in each dirty worker; it answers no calls."""

    def init(self):
        # Imported here: the master reads this module without the app.
        import observability
        import store
        import webhooks
        from config import load_settings
        from gateway import make_housekeeping

        # First: a parent that goes while this starts must be noticed.
        self._parent = os.getppid()
        settings = load_settings()
        logging.getLogger().setLevel(settings.LOG_LEVEL)
        observability.setup()  # deliveries count in /metrics too
        path = directory()
        store.init_db(settings.DATABASE_URL,
                      pool_size=settings.DATABASE_POOL_SIZE,
                      secret_key=settings.SECRET_KEY, serving=True)
        self.dispatcher = webhooks.Dispatcher(
            timeout=settings.WEBHOOK_TIMEOUT,
            pool_size=settings.WEBHOOK_POOL_SIZE,
            per_endpoint=settings.WEBHOOK_ENDPOINT_CONCURRENCY,
            schedule=settings.WEBHOOK_RETRY_SCHEDULE,
            allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
            housekeeping=make_housekeeping(settings),
            heartbeat=heartbeat_path(path) if path else None)
        self.listener = None
        if path:
            try:
                self.listener = WakeListener(
                    path, webhooks.wake_here, self.dispatcher.idle).start()
            except OSError as exc:
                # A path too long for a Unix socket (a long TMPDIR), say:
                # deliveries still go, found by the 0.5 s poll.
                log.warning("delivery process: no wake socket (%s); "
                            "polling only", exc)
        self.dispatcher.start()
        threading.Thread(target=self._watch_parent, daemon=True,
                         name="delivery-parent").start()
        log.info("delivering webhooks from process %d", os.getpid())

    def _watch_parent(self):
        # gunicorn's dirty arbiter leaves when the master goes, but its
        # worker does not notice its own parent going: without this, a
        # killed arbiter would leave this process posting beside the
        # replacement's (harmless, leases keep them apart, but a leak).
        while os.getppid() == self._parent:
            time.sleep(PARENT_CHECK_SECONDS)
        log.warning("delivery process: parent gone, stopping")
        os.kill(os.getpid(), signal.SIGTERM)

    def close(self):
        if self.listener:
            self.listener.close()
        self.dispatcher.stop()
