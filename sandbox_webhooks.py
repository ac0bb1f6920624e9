"""The sandbox's webhook emission: envelopes, headers, a delivery thread.

Evolution 2.3.6 posts ``{event, instance, data, destination, date_time,
sender, server_url, apikey}`` to the instance's webhook URL (plus a
``/<event-key>`` suffix with ``byEvents``), with axios's default headers,
the configured custom headers, and a bearer JWT when ``jwt_key`` is one
of them (reference sections 5.1-5.3).  ``emit`` builds that and queues it;
``WebhookWorker`` posts from one background thread with retries, so a
request never waits on a receiver.
"""
import base64
import datetime
import json
import logging
import queue
import re
import secrets
import threading
import time

import requests
from jwt.algorithms import HMACAlgorithm

log = logging.getLogger("sandbox")

ACK_STEPS = ("SERVER_ACK", "DELIVERY_ACK", "READ")


def local_iso_with_z():
    """Envelope `date_time`: server local time printed with a fake Z."""
    return datetime.datetime.now().isoformat(timespec="milliseconds") + "Z"


def event_key(event):
    """`messages.upsert` -> `MESSAGES_UPSERT` (the per-instance key)."""
    return event.replace(".", "_").replace("-", "_").upper()


class WebhookWorker:
    """One background thread posting queued webhooks, with retries.

    Sandbox: attempts are sequential per event in one thread, so a dead
    receiver delays later events (Evolution retries each on its own).
    """

    def __init__(self, state):
        self._state = state
        self._queue = queue.Queue()
        self._stop = threading.Event()
        self._thread = None
        self._session = None
        self._lock = threading.Lock()
        # With a `webhook_backlog` limit, producers wait for room: the
        # embedded sandbox hands each event to the intake in this same
        # process, so an unbounded queue would only grow while sends
        # outpace the intake (memory rising with every send).
        self._room = threading.Condition()

    def submit(self, url, headers, body):
        """Queue one delivery; starts the thread on first use."""
        with self._lock:
            if self._stop.is_set():
                return
            if self._thread is None:
                self._session = requests.Session()
                self._thread = threading.Thread(
                    target=self._run, name="sandbox-webhooks", daemon=True)
                self._thread.start()
        limit = self._state.config.get("webhook_backlog")
        if limit and threading.current_thread() is not self._thread:
            with self._room:
                while (self._queue.qsize() >= limit
                       and not self._stop.is_set()):
                    self._room.wait(0.5)
        self._queue.put((url, headers, body))

    def wait_stopped(self, seconds):
        """Sleep up to `seconds`; True if close() was called meanwhile."""
        return self._stop.wait(seconds)

    def is_idle(self):
        """True when nothing is queued or being delivered."""
        return self._queue.unfinished_tasks == 0

    def close(self):
        """Stop the thread and close the HTTP session."""
        with self._lock:
            self._stop.set()
            thread, session = self._thread, self._session
        with self._room:
            self._room.notify_all()
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=5)
        if session is not None:
            session.close()

    def _run(self):
        while True:
            job = self._queue.get()
            if self._state.config.get("webhook_backlog"):
                with self._room:
                    self._room.notify()
            try:
                if job is None or self._stop.is_set():
                    return
                self._deliver_with_retries(*job)
            finally:
                self._queue.task_done()

    def _deliver_with_retries(self, url, headers, body):
        config = self._state.config
        delay = config["webhook_retry_delay_s"]
        for attempt in range(1, config["webhook_attempts"] + 1):
            try:
                status = self._post(url, headers, body)
            except Exception as exc:  # any transport error is retryable
                log.warning("webhook %s attempt %d failed: %s",
                            url, attempt, exc)
            else:
                if 200 <= status < 300:
                    return
                log.warning("webhook %s attempt %d got HTTP %d",
                            url, attempt, status)
                if status in config["webhook_non_retryable"]:
                    return
            if self._stop.wait(delay):
                return
            delay *= 2
        log.error("webhook %s dropped after %d attempts", url, attempt)

    def _post(self, url, headers, body):
        deliver = self._state.config["deliver"]
        if deliver is not None:
            status = deliver(url, dict(headers), body)
            return 200 if status is None else int(status)
        timeout = self._state.config["webhook_timeout_s"]
        # Sandbox: axios's timeout bounds the whole request; requests
        # bounds the connect (here at most 3 s) and each read apart.
        response = self._session.post(url, data=body, headers=headers,
                                      timeout=(min(timeout, 3.0), timeout))
        response.close()
        return response.status_code


def build_webhook_headers(custom):
    """axios-like defaults plus custom headers; `jwt_key` becomes a JWT."""
    headers = {"Content-Type": "application/json",
               "Accept": "application/json, text/plain, */*",
               "User-Agent": "axios/1.7.9"}
    custom = {k: str(v) for k, v in (custom or {}).items()}
    jwt_key = custom.pop("jwt_key", None)
    headers.update(custom)
    if jwt_key is not None:
        iat = int(time.time())
        headers["Authorization"] = "Bearer " + sign_hs256(
            {"iat": iat, "exp": iat + 600, "app": "evolution",
             "action": "webhook"}, jwt_key)
    return headers


def sign_hs256(claims, key):
    """An HS256 JWT built from pyjwt's HMAC primitive.

    jwt.encode() warns on keys under 32 bytes, and Evolution accepts any
    jwt_key; assembling the token ourselves keeps the worker quiet
    without touching the (thread-unsafe) global warning filters.
    """
    def b64url(raw):
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    segments = [b64url(json.dumps(part, separators=(",", ":")).encode())
                for part in ({"alg": "HS256", "typ": "JWT"}, claims)]
    hmac_alg = HMACAlgorithm(HMACAlgorithm.SHA256)
    signature = hmac_alg.sign(".".join(segments).encode("ascii"),
                              hmac_alg.prepare_key(key))
    return ".".join(segments + [b64url(signature)])


def emit(state, name, event, data):
    """Queue `event` for instance `name`'s webhook if it subscribes to it."""
    with state.lock:
        record = state.instances.get(name)
        hook = dict(record["webhook"] or {}) if record else {}
        token, sender = (record or {}).get("token"), (record or {}).get(
            "owner_jid")
    url = hook.get("url") or ""
    if not hook.get("enabled") or not re.match(r"https?://", url):
        return  # Evolution silently skips non-http(s) URLs too
    key = event_key(event)
    if key not in hook["events"]:
        return
    envelope = {"event": event, "instance": name, "data": data,
                "destination": url, "date_time": local_iso_with_z(),
                "sender": sender,
                "server_url": state.config["server_url"],
                "apikey": token if state.config["expose_apikey"] else None}
    if sender is None:
        del envelope["sender"]  # absent before the first connection
    if hook["by_events"]:
        # The stored URL is used verbatim, a trailing slash included.
        url = url + "/" + key.lower().replace("_", "-")
    body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
    state.worker.submit(url, build_webhook_headers(hook["headers"]), body)


def emit_send_events(state, record, message, v1):
    """send.message now; SERVER_ACK -> DELIVERY_ACK -> READ later."""
    name, key = record["name"], message["key"]
    if v1:
        state.emit(name, "send.message", {
            "key": key, "pushName": message["pushName"],
            "message": {"extendedTextMessage": {
                "text": message["message"]["conversation"]}},
            "contextInfo": None, "messageType": "extendedTextMessage",
            "messageTimestamp": message["messageTimestamp"],
            "owner": name, "source": "web"})
    else:
        state.emit(name, "send.message", message)
    delay = state.config["ack_delay_s"]
    if delay is None or delay == "off" or key["remoteJid"].endswith("@g.us"):
        return  # groups get no receipts as messages.update (5.5)
    row_id = "c" + secrets.token_hex(12)  # Evolution's DB cuid

    def ack(status):
        def run():
            state.set_sent_status(key["id"], status)
            if v1:
                data = {"remoteJid": key["remoteJid"], "fromMe": True,
                        "id": key["id"], "status": status,
                        "datetime": int(time.time() * 1000), "owner": name}
            else:
                data = {"keyId": key["id"], "remoteJid": key["remoteJid"],
                        "fromMe": True, "status": status,
                        "instanceId": record["id"], "messageId": row_id}
            state.emit(name, "messages.update", data)
        return run

    state.schedule([(float(delay), ack(s)) for s in ACK_STEPS])
