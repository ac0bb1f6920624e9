"""Customer webhooks: the outbox, signing, and durable delivery.

``emit_event`` writes an event and one ``Delivery`` row per subscribed
endpoint inside the caller's transaction, so an event exists exactly when
its cause does.  A ``Dispatcher`` thread in every worker claims due
deliveries with a lease (one IMMEDIATE transaction: two workers never hold
the same attempt), posts them from a bounded thread pool, and records the
result.  A worker killed mid-delivery leaves a lease that expires, and
another worker picks the delivery up again: at-least-once, for at least
24 hours, then dead-lettered.
"""
import concurrent.futures
import datetime
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import random
import secrets
import socket
import threading
import time
import uuid
from urllib.parse import urlparse

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool

import delivery_process
import observability
import store
from secretbox import reveal
from store import Delivery
from store import Event
from store import WebhookEndpoint
from store import db
from store import utcnow

log = logging.getLogger(__name__)

EVENT_HEADER = "X-WhatsApp-Gateway-Event"
TIMESTAMP_HEADER = "X-WhatsApp-Gateway-Timestamp"
SIGNATURE_HEADER = "X-WhatsApp-Gateway-Signature"
EVENT_ID_HEADER = "X-WhatsApp-Gateway-Event-Id"
ATTEMPT_HEADER = "X-WhatsApp-Gateway-Attempt"

EVENTS = (
    "message.received", "message.sent", "message.failed",
    "recipient.opted_out", "instance.connected", "instance.disconnected",
    "instance.connection_updated", "instance.qr_updated",
    "message.delivered", "message.read", "message.status_updated",
    "conversation.updated", "call.received", "call.missed",
    "group.message_received", "group.updated",
)
# Seconds to wait after failed attempt n (Svix-like, ~40 h in all), each
# spread by +/- JITTER so endpoints that failed together do not retry in
# lock-step.
RETRY_SCHEDULE = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200,
                  43200)
JITTER = 0.2
MAX_RETRY_AFTER = 6 * 3600
# How long an endpoint that timed out or refused a connection is left
# alone before its deliveries are tried again (at most; a faster retry
# schedule shortens it).
ENDPOINT_BACKOFF = 30
# Most of an endpoint's answer body read; the rest is never wanted.
MAX_ANSWER_BYTES = 64 * 1024
# With a backlog, the dispatcher waits this long after a thread frees up
# so that one claim (one write transaction) serves the several threads
# that free up meanwhile, instead of one claim per delivery.
CLAIM_GATHER_SECONDS = 0.001

_wakeup = threading.Event()
# This process's side of the delivery processes' wake sockets, made on
# first use: ``gateway serve`` imports this module in the master before
# gunicorn.conf.py names the directory, and the workers fork from it.
_wakers = {}


def delivery_waker():
    """The waker of this process, or None without a delivery process."""
    path = delivery_process.directory()
    if path is None:
        return None
    waker = _wakers.get(path)
    if waker is None:
        waker = _wakers.setdefault(path, delivery_process.Waker(path))
    return waker


def wake_here():
    """Wake this process's dispatcher (a delivery is due or a thread
    freed up)."""
    _wakeup.set()


def wake():
    """A delivery was queued: wake this process's dispatcher, and the
    delivery process (if one serves this server) once the transaction
    commits, so it never looks before the row is visible."""
    _wakeup.set()
    waker = delivery_waker()
    if waker is not None:
        db.after_commit(waker)


def create_secret():
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret, timestamp, body):
    """``sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``."""
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    mac.update(str(timestamp).encode("ascii") + b"." + body)
    return "sha256=" + mac.hexdigest()


def iso_timestamp(moment):
    return moment.replace(microsecond=0).isoformat() + "Z"


SQL_ENDPOINTS = ("SELECT id, events FROM webhookendpoint "
                 "WHERE customer_id = ? AND enabled")
SQL_EVENT = ("INSERT INTO event (uid, customer_id, instance_id, name, "
             "payload, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id")
SQL_DELIVERY = ("INSERT INTO delivery (event_id, endpoint_id, status, "
                "attempts, next_attempt_at, created_at) "
                "VALUES (?, ?, 'pending', 0, ?, ?)")


def emit_event(customer_id, instance, name, payload):
    """Write ``payload`` as event ``name`` to every subscribed endpoint.

    Call inside the transaction of the event's cause.  Returns the number
    of deliveries queued.  Hand-written SQL (see ``store.first``): this
    runs for every send and every receipt.
    """
    endpoints = [endpoint_id for endpoint_id, events in store.execute(
        SQL_ENDPOINTS, customer_id).fetchall()
        if store.subscribed(events, name)]
    if not endpoints:
        return 0
    uid = "evt_" + uuid.uuid4().hex
    body = dict(payload, event=name, event_id=uid)
    now = str(utcnow())
    event_id, = store.execute(
        SQL_EVENT, uid, customer_id, instance.id if instance else None,
        name, json.dumps(body, separators=(",", ":")), now).fetchone()
    for endpoint_id in endpoints:
        store.execute(SQL_DELIVERY, event_id, endpoint_id, now, now)
    wake()
    return len(endpoints)


def queue_delivery(customer_id, instance_id, endpoint_id, name,
                   build_body):
    """Queue one event for one endpoint (a 3CX webhook, say).

    ``build_body(uid)`` returns the JSON-ready body to post; it gets the
    event's uid so the body can carry it.  Call inside the transaction of
    the event's cause, like ``emit_event``.  Returns the delivery id.
    """
    uid = "evt_" + uuid.uuid4().hex
    event = Event.create(uid=uid, customer=customer_id,
                         instance=instance_id, name=name,
                         payload=json.dumps(build_body(uid),
                                            separators=(",", ":"),
                                            ensure_ascii=False))
    delivery = Delivery.create(event=event.id, endpoint=endpoint_id)
    wake()
    return delivery.id


def emit_for_send(row, name, instance):
    """``GuardedSender``'s hook: ``message.sent`` / ``message.failed``."""
    payload = {"instance_id": str(instance.id),
               "instance_name": instance.name,
               "timestamp": iso_timestamp(utcnow()),
               "to": row.phone, "message_purpose": row.purpose,
               "log_id": row.id}
    if name == "message.sent":
        payload["message_id"] = row.evolution_message_id
    else:
        payload["error"] = "Delivery could not be completed."
        payload["reason"] = row.reason
    emit_event(row.customer_id, instance, name, payload)


# Both columns by equality and no ORDER BY: the only index that matches
# is (instance_id, evolution_message_id), at any size and without
# ANALYZE (tests/test_query_plans.py holds it to that).
SQL_LOG_ID = ("SELECT id, phone FROM messagelog WHERE instance_id = ? "
              "AND evolution_message_id = ? LIMIT 1")


def log_row_for(instance_id, message_id):
    """``(log id, phone)`` of the send of a WhatsApp message id, if it was
    ours, else None."""
    return store.execute(SQL_LOG_ID, instance_id, message_id).fetchone()


def log_id_for(instance_id, message_id):
    """The send log row of a WhatsApp message id, if it was ours."""
    row = log_row_for(instance_id, message_id)
    return row[0] if row is not None else None


# ---------------------------------------------------------------- SSRF

_METADATA = {ipaddress.ip_address("169.254.169.254"),
             ipaddress.ip_address("fd00:ec2::254"),
             ipaddress.ip_address("100.100.100.200")}


class BlockedDestination(Exception):
    """A webhook URL resolved to an address customers may not reach."""


def is_blocked_address(address):
    """True for loopback, private, link-local, metadata and the like."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip in _METADATA or ip.is_private or ip.is_loopback
            or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


class InvalidWebhookUrl(ValueError):
    """A webhook URL that can never be delivered to, said in one line."""


class NonPublicWebhookUrl(InvalidWebhookUrl):
    """The URL's host is on a private, loopback or metadata address."""


def check_url(url, allow_private=False):
    """Refuse, at creation, a URL delivery would refuse anyway.

    http(s) only, no credentials, and (unless ``allow_private``) every
    address its host resolves to must be public.  Delivery checks the
    connected address again, so a DNS answer changed later is caught
    there.  Returns the URL.
    """
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError:
        raise InvalidWebhookUrl("%r is not a valid URL" % url) from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise InvalidWebhookUrl("%r is not an http(s) URL" % url)
    if parsed.username or parsed.password:
        raise InvalidWebhookUrl("a webhook URL must not carry credentials")
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parsed.hostname, port or 443,
                                   proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise InvalidWebhookUrl("the host %r does not resolve"
                                % parsed.hostname) from None
    for info in infos:
        if is_blocked_address(info[4][0]):
            raise NonPublicWebhookUrl(
                "the host %r resolves to a non-public address (%s); "
                "customer webhooks may only reach public addresses"
                % (parsed.hostname, info[4][0]))
    return url


def _check_peer(sock):
    # Checked on the connected socket, so a DNS answer that changes
    # between a check and the dial (rebinding) cannot slip through.
    address = sock.getpeername()[0]
    if is_blocked_address(address):
        sock.close()
        raise BlockedDestination("destination address is not public")


# Delivery threads' current connections and total deadlines, keyed by
# thread id: see ``Watchdog``.
_inflight = {}


class _DeadlineMixin:
    """Peer check on connect; registers itself for the watchdog."""
    check_peer = True

    def _new_conn(self):
        sock = super()._new_conn()
        if self.check_peer:
            _check_peer(sock)
        return sock

    def request(self, *args, **kwargs):
        entry = _inflight.get(threading.get_ident())
        if entry is not None:
            entry[1] = self
        return super().request(*args, **kwargs)


class _GuardedHTTPConnection(_DeadlineMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_DeadlineMixin, HTTPSConnection):
    pass


class _OpenHTTPConnection(_DeadlineMixin, HTTPConnection):
    check_peer = False


class _OpenHTTPSConnection(_DeadlineMixin, HTTPSConnection):
    check_peer = False


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _OpenHTTPPool(HTTPConnectionPool):
    ConnectionCls = _OpenHTTPConnection


class _OpenHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _OpenHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter that refuses to connect to non-public addresses
    (unless ``allow_private``) and whose connections the watchdog can cut.
    """

    def __init__(self, allow_private=False, **kwargs):
        self.pools = ({"http": _OpenHTTPPool, "https": _OpenHTTPSPool}
                      if allow_private else
                      {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool})
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self.pools)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        # A proxy would dial the customer's host itself, past the address
        # check: customer webhooks never use one.
        raise BlockedDestination("webhook deliveries do not use proxies")


def build_session(allow_private):
    """The delivery session: direct connections only.

    ``trust_env`` is off, so ``HTTP_PROXY``/``HTTPS_PROXY``/``.netrc``
    in the environment are ignored: through a proxy the address check
    would see the proxy, not the customer's host, and loopback or
    metadata addresses would be reachable.
    """
    session = requests.Session()
    session.trust_env = False
    # Only what a receiver needs: requests' Accept and Connection
    # defaults say what HTTP/1.1 already means, and the answer's body is
    # never decoded (http.client asks for identity).
    session.headers.clear()
    session.headers["User-Agent"] = "WhatsApp-Gateway-Webhooks/1"
    adapter = GuardedAdapter(allow_private, pool_maxsize=32)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class Watchdog:
    """Cuts deliveries that run past their total deadline.

    ``requests`` timeouts bound each socket read, so an endpoint that
    drips a byte at a time could hold a thread for ever; this thread
    shuts the socket of any delivery past its deadline, which ends the
    blocked read at once.
    """

    def __init__(self, interval=0.25):
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="webhook-watchdog")
        self._thread.start()

    def arm(self, seconds):
        _inflight[threading.get_ident()] = [time.monotonic() + seconds,
                                            None, False]

    def disarm(self):
        """Forget this thread's delivery; True if it was cut."""
        entry = _inflight.pop(threading.get_ident(), None)
        return bool(entry and entry[2])

    def _run(self):
        while not self._stop.wait(self.interval):
            now = time.monotonic()
            for entry in list(_inflight.values()):
                deadline, conn, _ = entry
                if now < deadline or conn is None:
                    continue
                sock = getattr(conn, "sock", None)
                if sock is None:
                    continue
                entry[2] = True
                try:
                    # socket.shutdown, not SSLSocket's: wake the reader
                    # without touching the TLS object it is using.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        self._stop.set()


# ------------------------------------------------------------ delivery

class _Target:
    """What ``HTTPAdapter.get_connection_with_tls_context`` reads of a
    request: its URL."""

    __slots__ = ("url",)

    def __init__(self, url):
        self.url = url


@functools.lru_cache(maxsize=1024)
def _prepared_url(url):
    """(url, path, Authorization or None) as ``requests`` prepares them
    (IDNA host, requoted path, Basic credentials from ``user:pass@``),
    once per endpoint URL."""
    request = requests.PreparedRequest()
    request.prepare_url(url, None)
    request.prepare_headers(None)
    request.prepare_auth(None, url)
    return (request.url, request.path_url,
            request.headers.get("Authorization"))


def post(session, url, body, headers, timeout):
    """POST without following redirects; the answer (a urllib3 response)
    is left streaming for the caller to read a bounded part of.

    Through the session's adapter and its urllib3 pool (where the SSRF
    guard and the watchdog's hooks are), with TLS verified as the adapter
    verifies, but without requests' PreparedRequest and Response: their
    header dictionaries, cookie jar and hooks cost ~0.25 ms a delivery
    and nothing of them is wanted for a customer's URL.  The session
    ignores the environment (``trust_env`` off).  Errors are requests'
    own, mapped as ``HTTPAdapter.send`` maps them.
    """
    url, path, authorization = _prepared_url(url)
    headers = dict(session.headers, **headers)
    if authorization:
        headers["Authorization"] = authorization
    adapter = session.get_adapter(url)
    try:
        conn = adapter.get_connection_with_tls_context(_Target(url), True)
    except urllib3.exceptions.LocationValueError as exc:
        raise requests.exceptions.InvalidURL(exc) from None
    adapter.cert_verify(conn, url, True, None)
    try:
        return conn.urlopen(
            "POST", path, body=body, headers=headers,
            redirect=False, assert_same_host=False, preload_content=False,
            decode_content=False, retries=adapter.max_retries,
            timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]))
    except urllib3.exceptions.MaxRetryError as exc:
        if isinstance(exc.reason, urllib3.exceptions.ConnectTimeoutError) \
                and not isinstance(exc.reason,
                                   urllib3.exceptions.NewConnectionError):
            raise requests.exceptions.ConnectTimeout(exc) from None
        if isinstance(exc.reason, urllib3.exceptions.SSLError):
            raise requests.exceptions.SSLError(exc) from None
        raise requests.exceptions.ConnectionError(exc) from None
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ReadTimeout(exc) from None
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from None
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.HTTPError,
            OSError) as exc:
        raise requests.exceptions.ConnectionError(exc) from None


def next_delay(attempts, schedule, retry_after=None):
    """Seconds before the next attempt, or None when retries are over."""
    if attempts > len(schedule):
        return None
    delay = schedule[attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def parse_retry_after(value):
    if not value:
        return None
    try:
        return max(0, int(value))
    except ValueError:
        pass
    try:
        moment = datetime.datetime.strptime(
            value, "%a, %d %b %Y %H:%M:%S GMT")
    except ValueError:
        return None
    return max(0, int((moment - utcnow()).total_seconds()))


DUE = ("((d.status IN ('pending', 'failed') AND d.next_attempt_at <= ?) "
       "OR (d.status = 'delivering' AND d.locked_until < ?))")
SQL_ANY_DUE = "SELECT 1 FROM delivery d WHERE " + DUE + " LIMIT 1"
SQL_BUSY = ("SELECT endpoint_id, COUNT(*) FROM delivery WHERE status = "
            "'delivering' AND locked_until >= ? GROUP BY endpoint_id")
# %s: "AND d.endpoint_id NOT IN (...)" for endpoints already full.
SQL_DUE = ("SELECT d.id, d.endpoint_id FROM delivery d WHERE " + DUE +
           " AND d.endpoint_id NOT IN (SELECT id FROM webhookendpoint "
           "WHERE blocked_until > ?) %sORDER BY d.next_attempt_at LIMIT ?")
SQL_LEASE = ("UPDATE delivery SET status = 'delivering', locked_until = ?, "
             "attempts = attempts + 1 WHERE id IN (%s)")


class Dispatcher:
    """Claims due deliveries and posts them from a bounded pool."""

    def __init__(self, timeout=10.0, pool_size=8, per_endpoint=8,
                 schedule=RETRY_SCHEDULE, allow_private=False,
                 poll_interval=0.5, housekeeping=None, heartbeat=None):
        self.timeout = timeout
        self.per_endpoint = per_endpoint
        # Claim no more than the pool can post at once: a claimed delivery
        # must not wait in a queue while its lease runs out.
        self.batch = pool_size
        self.schedule = schedule
        self.poll_interval = poll_interval
        self.allow_private = allow_private
        # A lease outlives a normal attempt (connect + read timeouts) and
        # starts when a free thread is already reserved for it, so no
        # other worker claims a delivery still being posted.  An endpoint
        # that drips bytes for longer than the lease can still see a
        # second attempt: that is at-least-once, and the event id header
        # lets it dedupe.
        self.lease = datetime.timedelta(
            seconds=min(5.0, timeout) + timeout + 5)
        # The most one attempt may take from connect to last byte; the
        # lease above outlasts it, so no other worker claims it meanwhile.
        self.deadline = min(5.0, timeout) + timeout
        self.backoff = datetime.timedelta(
            seconds=min(ENDPOINT_BACKOFF, schedule[0] * 6))
        self.housekeeping = housekeeping
        # A file whose mtime says when this dispatcher last looped, for
        # workers in other processes (delivery_process.py); touched at
        # most once a second.
        self.heartbeat = heartbeat
        self._beat_at = 0.0
        self._pool = concurrent.futures.ThreadPoolExecutor(
            pool_size, thread_name_prefix="webhook")
        self._slots = threading.Semaphore(pool_size)
        self._local = threading.local()
        self._secrets = {}
        self._sessions = []
        self._sessions_lock = threading.Lock()
        self._stop = threading.Event()
        # Set while the loop waits for work: only then is a wake from
        # another process worth taking (delivery_process.WakeListener).
        self.idle = threading.Event()
        self._thread = None
        self._watchdog = Watchdog()
        self.last_loop = time.monotonic()  # for readiness

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name="webhook-dispatcher")
        self._thread.start()
        return self

    def is_alive(self):
        return self._thread is not None and self._thread.is_alive()

    def stop(self):
        self._stop.set()
        _wakeup.set()
        if self._thread:
            self._thread.join(timeout=self.timeout + 5)
        self._pool.shutdown(wait=True)
        self._watchdog.stop()
        with self._sessions_lock:
            for session in self._sessions:
                session.close()

    def _run(self):
        last_housekeeping = 0.0
        backlog = False
        while not self._stop.is_set():
            self.last_loop = time.monotonic()
            if self.heartbeat and self.last_loop - self._beat_at >= 1.0:
                self._beat_at = self.last_loop
                self._touch_heartbeat()
            # Claim only for free pool threads, so a slow endpoint holds
            # its own threads and never the deliveries queued behind it.
            if not self._slots.acquire(timeout=self.poll_interval):
                continue
            if backlog:
                # The last claim took all it could: more is due, and a
                # moment's wait lets one claim fill several threads.
                self._stop.wait(CLAIM_GATHER_SECONDS)
            free = 1
            while free < self.batch and self._slots.acquire(blocking=False):
                free += 1
            # Cleared before claiming, so a delivery that finishes while
            # this claim runs still wakes the wait below.
            _wakeup.clear()
            try:
                with db.connection_context():
                    claimed = self.claim(free)
                    if self.housekeeping and (
                            time.monotonic() - last_housekeeping > 60):
                        last_housekeeping = time.monotonic()
                        self.housekeeping()
            except Exception:
                log.exception("webhook dispatcher loop failed")
                claimed = []
            backlog = len(claimed) == free
            for _ in range(free - len(claimed)):
                self._slots.release()
            for delivery_id in claimed:
                self._pool.submit(self._deliver_in_context, delivery_id)
            if not claimed:
                self.idle.set()
                _wakeup.wait(self.poll_interval)
                self.idle.clear()

    def _touch_heartbeat(self):
        # Never fatal to the loop: a missing directory only costs
        # readiness its figure.
        try:
            try:
                os.utime(self.heartbeat)
            except FileNotFoundError:
                open(self.heartbeat, "a").close()
        except OSError as exc:
            log.warning("cannot touch the heartbeat file: %s",
                        type(exc).__name__)

    def claim(self, limit):
        """Lease up to ``limit`` due deliveries; return their ids.

        No endpoint gets more than ``per_endpoint`` deliveries in flight
        across all workers, so one that hangs cannot take every thread
        from the endpoints behind it.  Hand-written SQL: it runs after
        every delivery.
        """
        now = str(utcnow())
        # A plain read first: when nothing is due (the usual wake-up
        # after a delivery) no write lock is taken.
        if store.execute(SQL_ANY_DUE, now, now).fetchone() is None:
            return []
        with db.atomic("IMMEDIATE"):
            busy = dict(store.execute(SQL_BUSY, now).fetchall())
            full = [e for e, n in busy.items() if n >= self.per_endpoint]
            sql = SQL_DUE % ("AND d.endpoint_id NOT IN (%s) " % ", ".join(
                "?" * len(full)) if full else "")
            if store.engine() == "postgres":
                # Hosts claiming at once each get deliveries no other
                # holds (SQLite's IMMEDIATE transaction already serialised
                # them).
                sql += " FOR UPDATE OF d SKIP LOCKED"
            due = store.execute(sql, now, now, now, *full,
                                limit * 8).fetchall()
            ids = []
            for delivery_id, endpoint_id in due:
                if busy.get(endpoint_id, 0) >= self.per_endpoint:
                    continue
                busy[endpoint_id] = busy.get(endpoint_id, 0) + 1
                ids.append(delivery_id)
                if len(ids) == limit:
                    break
            if ids:
                store.execute(SQL_LEASE % ", ".join("?" * len(ids)),
                              str(utcnow() + self.lease), *ids)
        return ids

    def _reveal(self, sealed):
        # Opening a sealed secret (Fernet) is ~10 us; an endpoint's
        # stays the same for thousands of deliveries.  Keyed by the
        # sealed text, so a rotated secret is opened afresh.
        clear = self._secrets.get(sealed)
        if clear is None:
            if len(self._secrets) >= 1024:
                self._secrets.clear()
            clear = self._secrets[sealed] = reveal(sealed)
        return clear

    def _session(self, allow_private=False):
        # A second session for the endpoints an operator let reach a
        # private network (one PBX on the LAN), the rest stay guarded.
        private = self.allow_private or bool(allow_private)
        name = "private_session" if private else "session"
        session = getattr(self._local, name, None)
        if session is None:
            session = build_session(private)
            setattr(self._local, name, session)
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _deliver_in_context(self, delivery_id):
        try:
            with db.connection_context():
                self.deliver(delivery_id)
        except Exception:
            log.exception("delivery=%s failed unexpectedly", delivery_id)
        finally:
            self._slots.release()
            # A freed thread (and a freed per-endpoint place) may let a
            # waiting delivery go now rather than at the next poll.
            _wakeup.set()

    def deliver(self, delivery_id):
        """Post one claimed delivery and record what happened."""
        # Hand-written (see store.first): this runs once per delivery.
        row = db.execute_sql(
            "SELECT d.status, d.attempts, e.enabled, e.url, e.secret, "
            "v.name, v.uid, v.payload, e.id, e.blocked_until, "
            "e.allow_private, e.kind "
            "FROM delivery d "
            "JOIN webhookendpoint e ON e.id = d.endpoint_id "
            "JOIN event v ON v.id = d.event_id WHERE d.id = ?",
            (delivery_id,)).fetchone()
        if row is None or row[0] != "delivering":
            return
        delivery = Delivery(id=delivery_id, attempts=row[1])
        endpoint = WebhookEndpoint(id=row[8], enabled=row[2], url=row[3],
                                   secret=self._reveal(row[4]),
                                   blocked_until=row[9])
        event = Event(name=row[5], uid=row[6], payload=row[7])
        if not endpoint.enabled:
            self._finish(delivery, "dead", error="endpoint disabled")
            return
        body = event.payload.encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: event.name,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
            EVENT_ID_HEADER: event.uid,
            ATTEMPT_HEADER: str(delivery.attempts),
        }
        status, error, retry_after = None, None, None
        started = time.monotonic()
        self._watchdog.arm(self.deadline)
        try:
            response = post(self._session(row[10]), endpoint.url, body,
                            headers, (min(5.0, self.timeout), self.timeout))
            status = response.status
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"))
            # The answer's body is not needed: read a little of it (so a
            # short one leaves the connection reusable), then drop the
            # connection rather than take whatever else comes.
            whole = False
            try:
                read = 0
                for chunk in response.stream(16384):
                    read += len(chunk)
                    if read > MAX_ANSWER_BYTES:
                        break
                else:
                    whole = True
            except (urllib3.exceptions.HTTPError, OSError):
                pass  # the status is what counts
            if not whole:
                response.close()
            response.release_conn()
        except BlockedDestination as exc:
            error = "blocked: %s" % exc
        except requests.Timeout:
            error = "timeout"
            self._back_off(endpoint)
        except requests.RequestException as exc:
            error = "connection error: %s" % type(exc).__name__
            self._back_off(endpoint)
        finally:
            if self._watchdog.disarm() and status is None:
                # Cut by the watchdog (seen above as a connection error,
                # already backed off): say what really happened.
                status, error = None, (
                    "timeout: no complete answer in %gs" % self.deadline)
        observability.count_delivery(delivery_result(status, error))
        # The attempt and its outcome in one transaction: one commit (one
        # turn of the write lock) per delivery instead of two.
        with db.atomic("IMMEDIATE"):
            store.execute(
                "INSERT INTO deliveryattempt (delivery_id, attempt, "
                "status_code, error, duration_ms, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                delivery.id, delivery.attempts, status, error,
                int((time.monotonic() - started) * 1000), str(utcnow()))
            self._record(delivery, endpoint, row[11], status, error,
                         retry_after)

    def _record(self, delivery, endpoint, kind, status, error, retry_after):
        """Settle the delivery after an attempt (inside its transaction)."""
        if status is not None and 200 <= status < 300:
            self._finish(delivery, "delivered", status)
            if endpoint.blocked_until is not None:
                WebhookEndpoint.update(blocked_until=None).where(
                    WebhookEndpoint.id == endpoint.id).execute()
            if kind == "3cx":
                self._pull_forward(endpoint.id)
        elif status == 410:
            # Gone: the customer removed the endpoint; stop trying.
            WebhookEndpoint.update(enabled=False,
                                   disabled_reason="410 Gone").where(
                WebhookEndpoint.id == Delivery.select(Delivery.endpoint)
                .where(Delivery.id == delivery.id)).execute()
            self._finish(delivery, "dead", status, "410 Gone")
        elif kind == "3cx" and is_final_refusal(status):
            self._refuse(delivery, endpoint.id, status)
        else:
            self._retry(delivery, status, error or "HTTP %s" % status,
                        retry_after, endpoint.id)

    def _refuse(self, delivery, endpoint_id, status):
        """3CX said no for good (a wrong or rotated Webhook URL): dead
        now, replayable once fixed, instead of 40 hours of retries."""
        error = ("3CX refused with HTTP %d: check the Webhook URL / key"
                 % status)
        # Ids only: the URL's path token is 3CX's only credential.
        log.warning("delivery=%s endpoint=%s dead, not retried: %s",
                    delivery.id, endpoint_id, error)
        observability.count_delivery("dead")
        self._finish(delivery, "dead", status, error)

    def _pull_forward(self, endpoint_id):
        """A PBX answers again: its chat backlog goes now, not each
        message on its own retry clock (hours, after a long outage)."""
        now = utcnow()
        if Delivery.update(next_attempt_at=now).where(
                (Delivery.endpoint == endpoint_id)
                & (Delivery.status == "failed")
                & (Delivery.next_attempt_at > now)).execute():
            _wakeup.set()

    def _back_off(self, endpoint):
        WebhookEndpoint.update(blocked_until=utcnow() + self.backoff).where(
            WebhookEndpoint.id == endpoint.id).execute()

    def _mine(self, delivery):
        """The delivery is still this worker's claim."""
        return ((Delivery.id == delivery.id)
                & (Delivery.status == "delivering")
                & (Delivery.attempts == delivery.attempts))

    def _retry(self, delivery, status, error, retry_after,
               endpoint_id=None):
        # Endpoint id and attempt only: the URL may carry a customer's
        # token and the secret never leaves the signing call.
        log.warning("delivery=%s endpoint=%s attempt=%d failed: %s",
                    delivery.id, endpoint_id, delivery.attempts,
                    error[:120])
        delay = next_delay(delivery.attempts, self.schedule, retry_after)
        if delay is None:
            observability.count_delivery("dead")
            log.warning("delivery=%s endpoint=%s dead after %d attempts",
                        delivery.id, endpoint_id, delivery.attempts)
            self._finish(delivery, "dead", status, error)
            return
        Delivery.update(status="failed", last_status_code=status,
                        last_error=error[:250], locked_until=None,
                        next_attempt_at=utcnow() + datetime.timedelta(
                            seconds=delay)).where(
            self._mine(delivery)).execute()

    def _finish(self, delivery, status, code=None, error=None):
        db.execute_sql(
            "UPDATE delivery SET status = ?, last_status_code = ?, "
            "last_error = ?, locked_until = NULL, delivered_at = ? "
            "WHERE id = ? AND status = 'delivering' AND attempts = ?",
            (status, code, error, str(utcnow()) if status == "delivered"
             else None, delivery.id, delivery.attempts))


def is_final_refusal(status):
    """A 3CX answer not worth retrying (3cx-sms-provider.md 3.1): a 4xx
    other than 408 and 429; network errors and 5xx are retried."""
    return status is not None and 400 <= status < 500 and status not in (
        408, 429)


def delivery_result(status, error):
    """The metrics label of one attempt."""
    if status is not None:
        if 200 <= status < 300:
            return "delivered"
        return "gone" if status == 410 else "http_%dxx" % (status // 100)
    if error.startswith("blocked"):
        return "blocked"
    return "timeout" if error.startswith("timeout") else "connection_error"


def replay_deliveries(ids=None, since=None):
    """Queue deliveries again now.

    By id: whatever their state (an operator asking for one delivery by
    name means it), except one being posted right now.  ``since``: only
    those not delivered, so a replay after an outage never sends a
    customer what it already acknowledged.
    """
    query = Delivery.update(status="pending", next_attempt_at=utcnow(),
                            attempts=0, locked_until=None)
    in_flight = ((Delivery.status == "delivering")
                 & (Delivery.locked_until >= utcnow()))
    if ids:
        query = query.where(Delivery.id.in_(ids) & ~in_flight)
    elif since is not None:
        query = query.where((Delivery.created_at >= since)
                            & Delivery.status.in_(("pending", "failed",
                                                   "dead")))
    else:
        return 0
    count = query.execute()
    wake()
    return count
