"""Local stand-in for Evolution API v2 (2.3.6): state and Evolution routes.

Used two ways:

* embedded: the gateway mounts :class:`WSGIAdapter` on its requests
  Session for a fake base URL (e.g. ``http://evolution.sandbox``), so the
  zero-config default needs no socket and no second process;
* standalone: :func:`run_sandbox` / :func:`start_sandbox_thread` serve the
  same app over real HTTP for tests and demos (``gateway sandbox``).

Shapes, status codes and guard order follow
``/work/shared/reference/evolution-api.md`` (sections 1-6, checklist 8.2)
and ``evolution-audit.md``.  Deliberate simplifications are marked
"Sandbox:" in comments.

Instances are created by API as in real Evolution: ``POST /instance/create``
gives an instance in state ``close``; ``GET /instance/connect/<name>`` starts
a session and answers its QR (``{pairingCode, code, base64, count}``);
``POST /_sandbox/scan/<name>`` plays the phone scanning it.  With
``auto_create`` (tests, the embedded default) an unknown instance named in a
request is created already connected.

Three modules: this one (state + Evolution routes), ``sandbox_control``
(the ``/_sandbox/`` routes, global key only) and ``sandbox_webhooks``
(envelopes and delivery).  Webhook delivery hook:
``config["deliver"] = fn(url, headers, body)`` returns the HTTP status
(``None`` counts as 200) or raises for a failed attempt (retried); it is
called from the background webhook thread, never from the request.
"""

import collections
import datetime
import io
import json
import logging
import re
import secrets
import threading
import time
import uuid
from urllib.parse import urlsplit

import requests
import segno
from flask import Flask, Response, request
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app

import sandbox_webhooks
from sandbox_webhooks import ACK_STEPS  # noqa: F401  (re-exported)
from sandbox_webhooks import build_webhook_headers  # noqa: F401
from sandbox_webhooks import event_key  # noqa: F401
from sandbox_webhooks import local_iso_with_z  # noqa: F401
from sandbox_webhooks import sign_hs256  # noqa: F401

log = logging.getLogger(__name__)

DEFAULT_API_KEY = "BQYHJGJHJ"  # Evolution's own default AUTHENTICATION_API_KEY
# environ key: {"at": monotonic read deadline, "hit": bool}.  A dict, so
# the flag survives run_wsgi_app's shallow copy of the environ.
DEADLINE_KEY = "sandbox.deadline"

DEFAULT_CONFIG = {
    "version": "2.3.6",  # "1.8.6" switches sendText to the v1 body/shape
    "server_url": "http://evolution.sandbox",
    "client_name": "evolution_exchange",
    "max_delay_s": 5.0,  # Sandbox: sendText `delay` is capped here
    "ack_delay_s": 0.05,  # between messages.update steps; None = off
    "call_timeout_s": 0.05,  # offer -> timeout for injected calls
    # Evolution's AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES: the envelope
    # `apikey` is the instance token only when it is on (off by default).
    "expose_apikey": False,
    "qrcode_limit": 30,  # Evolution's QRCODE_LIMIT
    "sent_limit": 1000,  # sent messages kept; the oldest are forgotten
    "webhook_timeout_s": 5.0,
    "webhook_attempts": 3,  # Sandbox: Evolution does 10 (section 6)
    "webhook_retry_delay_s": 0.2,  # doubled after each failed attempt
    "webhook_non_retryable": (400, 401, 403, 404, 422),
    "deliver": None,  # fn(url, headers, body) -> status; see docstring
    "default_webhook": None,  # webhook dict given to auto-created instances
}

ALL_EVENTS = [
    "APPLICATION_STARTUP", "QRCODE_UPDATED", "MESSAGES_SET",
    "MESSAGES_UPSERT", "MESSAGES_EDITED", "MESSAGES_UPDATE",
    "MESSAGES_DELETE", "SEND_MESSAGE", "SEND_MESSAGE_UPDATE",
    "CONTACTS_SET", "CONTACTS_UPSERT", "CONTACTS_UPDATE", "PRESENCE_UPDATE",
    "CHATS_SET", "CHATS_UPSERT", "CHATS_UPDATE", "CHATS_DELETE",
    "GROUPS_UPSERT", "GROUP_UPDATE", "GROUP_PARTICIPANTS_UPDATE",
    "CONNECTION_UPDATE", "LABELS_EDIT", "LABELS_ASSOCIATION", "CALL",
    "TYPEBOT_START", "TYPEBOT_CHANGE_STATUS", "REMOVE_INSTANCE",
    "LOGOUT_INSTANCE", "INSTANCE_CREATE", "INSTANCE_DELETE",
    "STATUS_INSTANCE",
]
# Baileys' pairing codes: 8 characters from this alphabet.
PAIRING_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
QR_LIMIT_MESSAGE = "QR code limit reached, please login again"


class EvolutionError(Exception):
    """An error answered with Evolution's envelope; `message` is final."""

    def __init__(self, status, message):
        super().__init__(status, message)
        self.status = status
        self.message = message


class DeadlineExceeded(Exception):
    """The in-process caller's read timeout expired while we slept."""


# ---------------------------------------------------------------- helpers

def now_iso():
    """UTC ISO-8601 with milliseconds and Z, like Prisma timestamps."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_message_id(v1=False):
    """Baileys 7 ids are 3EB0 + 18 hex (22 chars); Baileys 6 BAE5 + 12."""
    if v1:
        return "BAE5" + secrets.token_hex(6).upper()
    return "3EB0" + secrets.token_hex(9).upper()


def create_jid(number, v1=False):
    """Turn a `number` field into a JID like Evolution's createJid (3.4)."""
    if not v1:
        number = re.sub(r":\d+(?=@|$)", "", number)  # device suffix
    if any(s in number for s in ("@g.us", "@s.whatsapp.net", "@lid",
                                 "@broadcast")):
        return number
    number = re.sub(r"[ +()]", "", number)
    number = re.split(r"[:@]", number, maxsplit=1)[0]
    if "-" in number and len(number) >= 24:
        return number + "@g.us"
    digits = re.sub(r"\D", "", number)
    if len(digits) >= 18:
        return digits + "@g.us"
    if len(digits) == 13 and digits[:2] in ("52", "54"):
        digits = digits[:2] + digits[3:]
    elif (len(digits) == 13 and digits.startswith("55")
          and int(digits[2:4]) >= 31 and digits[4] == "9"
          and digits[5] in "789"):
        digits = digits[:4] + digits[5:]  # Brazil: drop the extra 9
    return digits + "@s.whatsapp.net"


def digits_of(value):
    """Digits of the user part of a JID or number."""
    return re.sub(r"\D", "", str(value).split("@")[0].split(":")[0])


def make_json(payload, status=200):
    """Compact JSON with Express's content type."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode("utf-8"), status=status,
                    content_type="application/json; charset=utf-8")


def make_error(status, message, reason=None):
    """Evolution's error envelope; callers wrap `message` themselves."""
    reason = reason or {
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
        404: "Not Found"}.get(status, "Internal Server Error")
    return make_json({"status": status, "error": reason,
                      "response": {"message": message}}, status)


def pause(seconds):
    """Sleep, but stop at the in-process caller's read deadline."""
    deadline = request.environ.get(DEADLINE_KEY)
    if deadline and time.monotonic() + seconds > deadline["at"]:
        time.sleep(max(0.0, deadline["at"] - time.monotonic()))
        deadline["hit"] = True
        raise DeadlineExceeded()
    time.sleep(seconds)


def new_qr(record, pairing_number=None):
    """A fresh QR for `record` (mutated): Baileys' `ref,noiseKey,...` code.

    The PNG is a real QR of the code, as Evolution renders it.
    """
    code = "2@%s,%s,%s,%s" % (
        secrets.token_urlsafe(72), secrets.token_urlsafe(32),
        secrets.token_urlsafe(32), secrets.token_urlsafe(16))
    if pairing_number:
        record["pairing_code"] = "".join(
            secrets.choice(PAIRING_ALPHABET) for _ in range(8))
    record["qr"] = {"code": code, "base64": segno.make(
        code, error="l").png_data_uri(scale=4)}
    record["qr_count"] = record.get("qr_count", 0) + 1
    return describe_qr(record)


def describe_qr(record):
    """`{pairingCode, code, base64, count}` of Evolution's qrCode getter."""
    qr = record.get("qr") or {}
    return {"pairingCode": record.get("pairing_code"),
            "code": qr.get("code"), "base64": qr.get("base64"),
            "count": record.get("qr_count", 0)}


# ------------------------------------------------------------------ state

class SandboxState:
    """Thread-safe in-memory state of the fake Evolution server.

    Memory stays flat however long it runs: sent messages are kept in an
    insertion-ordered dict bounded by ``config["sent_limit"]`` (the
    oldest are dropped), and a receipt finds its message by id.
    """

    def __init__(self, api_key=DEFAULT_API_KEY, auto_create=False,
                 config=None):
        self.api_key = api_key
        self.auto_create = auto_create
        self.config = dict(DEFAULT_CONFIG)
        self.config.update(config or {})
        self.lock = threading.RLock()
        self.instances = {}
        self.worker = sandbox_webhooks.WebhookWorker(self)
        self._timers = 0  # scheduled background emissions still pending
        self.reset()

    def reset(self):
        """Clear knobs and sent messages; instances are kept."""
        with self.lock:
            self.not_on_whatsapp = set()
            self.connection_closed = False
            self.closed_instances = set()
            self.fail_next = None
            self.sent = collections.OrderedDict()

    def add_instance(self, name, token=None, state="open", owner_jid=None,
                     webhook=None):
        """Create (or replace) an instance and return a copy of it.

        Tests call this directly for an instance that is already
        connected (the default); the API creates them ``close``.
        """
        stamp = now_iso()
        record = {"id": str(uuid.uuid4()), "name": name,
                  "token": token or str(uuid.uuid4()).upper(),
                  "state": state, "owner_jid": owner_jid,
                  "profile_name": None, "qr": None, "qr_count": 0,
                  "pairing_code": None, "disconnection": None,
                  "created_at": stamp, "updated_at": stamp, "webhook": None}
        with self.lock:
            self.instances[name] = record
            if webhook:
                self.set_webhook(name, **webhook)
            return json.loads(json.dumps(record))

    def get_instance(self, name):
        """A copy of the instance, or None."""
        with self.lock:
            record = self.instances.get(name)
            return json.loads(json.dumps(record)) if record else None

    def remove_instance(self, name):
        with self.lock:
            return self.instances.pop(name, None) is not None

    def update_instance(self, name, **fields):
        with self.lock:
            self.instances[name].update(fields, updated_at=now_iso())

    def set_webhook(self, name, url, headers=None, events=None,
                    by_events=False, enabled=True, base64_media=False):
        """Store the instance webhook; empty `events` means all events."""
        with self.lock:
            stamp = now_iso()
            old = self.instances[name]["webhook"] or {}
            self.instances[name]["webhook"] = {
                "id": old.get("id") or secrets.token_hex(12),
                "url": url, "headers": dict(headers or {}),
                "enabled": bool(enabled),
                "events": list(events or ALL_EVENTS) if enabled else [],
                "by_events": bool(by_events),
                "base64": bool(base64_media),
                "created_at": old.get("created_at", stamp),
                "updated_at": stamp}
            return dict(self.instances[name]["webhook"])

    # -- lifecycle (what Baileys does to the socket)

    def start_session(self, name, pairing_number=None):
        """`close` -> `connecting` with a first QR; returns the QR body."""
        with self.lock:
            record = self.instances[name]
            record.update(state="connecting", qr_count=0, pairing_code=None,
                          updated_at=now_iso())
            qr = new_qr(record, pairing_number)
        self.emit(name, "connection.update", {
            "instance": name, "state": "connecting", "statusReason": 200})
        self.emit(name, "qrcode.updated", {"qrcode": dict(qr, instance=name)})
        return qr

    def rotate_qr(self, name):
        """The next QR of a session (Baileys: every ~45 s), up to the limit.

        At ``qrcode_limit`` Evolution gives up: a `qrcode.updated` with an
        error body, `connection.update` ``refused``, and the in-memory
        state goes back to ``close``.  Returns the event data emitted.
        """
        with self.lock:
            record = self.instances[name]
            if record["state"] != "connecting":
                raise EvolutionError(
                    400, [f'The "{name}" instance is not connecting'])
            if record["qr_count"] >= self.config["qrcode_limit"]:
                record.update(state="close", qr=None, qr_count=0,
                              pairing_code=None, updated_at=now_iso())
                limited = True
            else:
                qr = new_qr(record, record["pairing_code"] is not None)
                limited = False
            wuid, profile = record["owner_jid"], record["profile_name"]
        if not limited:
            data = {"qrcode": dict(qr, instance=name)}
            self.emit(name, "qrcode.updated", data)
            return data
        data = {"message": QR_LIMIT_MESSAGE, "statusCode": 500}
        self.emit(name, "qrcode.updated", data)
        self.emit(name, "connection.update", {
            "instance": name, "state": "refused", "statusReason": 428,
            "wuid": wuid, "profileName": profile, "profilePictureUrl": None})
        return data

    def open_session(self, name, phone=None, profile_name=None):
        """The phone scanned the QR: the connection opens."""
        with self.lock:
            record = self.instances[name]
            wuid = create_jid(str(phone)) if phone else (
                record["owner_jid"] or create_jid(
                    "55119" + str(secrets.randbelow(10 ** 8)).zfill(8)))
            record.update(state="open", owner_jid=wuid, qr=None, qr_count=0,
                          pairing_code=None, disconnection=None,
                          profile_name=profile_name or record["profile_name"],
                          updated_at=now_iso())
            profile = record["profile_name"]
        data = {"instance": name, "wuid": wuid, "profileName": profile,
                "profilePictureUrl": None, "state": "open",
                "statusReason": 200}
        self.emit(name, "connection.update", data)
        return data

    def close_session(self, name, reason=401):
        """Closed for good (logged out 401, forbidden 403, ...)."""
        stamp = now_iso()
        disconnection = {"statusCode": reason}
        with self.lock:
            self.instances[name].update(
                state="close", qr=None, qr_count=0, pairing_code=None,
                disconnection={"at": stamp, "code": reason,
                               "object": json.dumps(disconnection)},
                updated_at=stamp)
        self.emit(name, "status.instance", {
            "instance": name, "status": "closed", "disconnectionAt": stamp,
            "disconnectionReasonCode": reason,
            "disconnectionObject": json.dumps(disconnection)})
        data = {"instance": name, "state": "close", "statusReason": reason}
        self.emit(name, "connection.update", data)
        return data

    # -- knobs

    def set_connection_closed(self, closed=True, instance=None):
        """Make sendText fail with `Connection Closed` (global or one)."""
        with self.lock:
            if instance is None:
                self.connection_closed = bool(closed)
            elif closed:
                self.closed_instances.add(instance)
            else:
                self.closed_instances.discard(instance)

    def is_connection_closed(self, name):
        with self.lock:
            record = self.instances.get(name)
            return (self.connection_closed or name in self.closed_instances
                    or (record is not None and record["state"] != "open"))

    def add_not_on_whatsapp(self, *numbers):
        with self.lock:
            self.not_on_whatsapp.update(digits_of(n) for n in numbers)

    def remove_not_on_whatsapp(self, *numbers):
        with self.lock:
            self.not_on_whatsapp.difference_update(
                digits_of(n) for n in numbers)

    def is_on_whatsapp(self, number, jid):
        if jid.endswith("@lid"):
            return True  # Evolution assumes LIDs exist
        with self.lock:
            return not ({digits_of(number), digits_of(jid)}
                        & self.not_on_whatsapp)

    def set_fail_next(self, status=None, body=None, hang_s=None,
                      route=None, content_type="text/plain"):
        """Force the next Evolution-route response (or hang first).

        `route` limits it to paths containing that substring.  With only
        `hang_s`, the request proceeds normally after the hang.
        """
        with self.lock:
            self.fail_next = {"status": status, "body": body,
                              "hang_s": hang_s, "route": route,
                              "content_type": content_type}

    def take_fail_next(self, path):
        with self.lock:
            fail = self.fail_next
            if fail and (not fail["route"] or fail["route"] in path):
                self.fail_next = None
                return fail
            return None

    # -- sent messages: bounded, found by id

    def record_sent(self, entry):
        with self.lock:
            self.sent[entry["id"]] = entry
            while len(self.sent) > self.config["sent_limit"]:
                self.sent.popitem(last=False)

    def sent_messages(self, instance=None):
        """Copies of the kept sent-message records, oldest first."""
        with self.lock:
            return [dict(m) for m in self.sent.values()
                    if instance is None or m["instance"] == instance]

    def set_sent_status(self, message_id, status):
        with self.lock:
            entry = self.sent.get(message_id)
            if entry is not None:
                entry["status"] = status

    # -- webhooks

    def emit(self, name, event, data):
        """Queue `event` for the instance webhook if it subscribes to it."""
        sandbox_webhooks.emit(self, name, event, data)

    def schedule(self, steps):
        """Run [(delay_s, fn), ...] in order; inline when all delays are 0."""
        if all(delay == 0 for delay, _ in steps):
            for _, fn in steps:
                fn()
            return

        def run():
            try:
                for delay, fn in steps:
                    if self.worker.wait_stopped(delay):
                        return
                    fn()
            finally:
                with self.lock:
                    self._timers -= 1

        with self.lock:
            self._timers += 1
        threading.Thread(target=run, daemon=True,
                         name="sandbox-schedule").start()

    def wait_for_webhooks(self, timeout=5.0):
        """Block until scheduled emissions and deliveries are done."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                timers = self._timers
            if timers == 0 and self.worker.is_idle():
                return True
            time.sleep(0.01)
        return False

    def close(self):
        """Stop background delivery and close its HTTP session."""
        self.worker.close()


# ------------------------------------------------------------- validation

def validate_send_text_v2(body):
    """Schema errors of textMessageSchema (v2), one string each."""
    errors = [f'instance requires property "{f}"'
              for f in ("number", "text") if f not in body]
    if "number" in body and not isinstance(body["number"], str):
        errors.append("Invalid format")
    if "text" in body and not isinstance(body["text"], str):
        errors.append("text is not of a type(s) string")
    if "delay" in body and (not isinstance(body["delay"], int)
                            or isinstance(body["delay"], bool)):
        errors.append("Enter a value in milliseconds")
    for flag in ("linkPreview", "mentionsEveryOne"):
        if flag in body and not isinstance(body[flag], bool):
            errors.append(f"{flag} is not of a type(s) boolean")
    mentioned = body.get("mentioned")
    if "mentioned" in body and not (
            isinstance(mentioned, list) and mentioned
            and len(set(map(str, mentioned))) == len(mentioned)
            and all(isinstance(m, str) and re.match(r"^\d+", m)
                    for m in mentioned)):
        errors.append('"mentioned" must be an array of numeric strings')
    if "quoted" in body:
        quoted = body["quoted"]
        if not isinstance(quoted, dict):
            errors.append("quoted is not of a type(s) object")
        elif not isinstance(quoted.get("key"), dict):
            errors.append('quoted requires property "key"')
        elif not quoted["key"].get("id"):
            errors.append('quoted.key requires property "id"')
    return errors


def validate_send_text_v1(body):
    """Schema errors of the v1 textMessageSchema."""
    errors = [f'instance requires property "{f}"'
              for f in ("number", "textMessage") if f not in body]
    if "number" in body and not isinstance(body["number"], str):
        errors.append("Invalid format")
    message = body.get("textMessage")
    if "textMessage" in body:
        if not isinstance(message, dict):
            errors.append("textMessage is not of a type(s) object")
        elif "text" not in message:
            errors.append('textMessage requires property "text"')
        elif not isinstance(message["text"], str):
            errors.append("textMessage.text is not of a type(s) string")
        elif not message["text"]:
            errors.append('The "text" cannot be empty')
    options = body.get("options", {})
    if not isinstance(options, dict):
        errors.append("options is not of a type(s) object")
    elif "delay" in options and (not isinstance(options["delay"], int)
                                 or isinstance(options["delay"], bool)):
        errors.append("Enter a value in milliseconds")
    return errors


# ----------------------------------------------------------- app and views

def create_sandbox_app(state=None, config=None):
    """Build the Flask app; `config` updates `state.config`.

    The state is available as ``app.extensions["sandbox"]``.
    """
    state = state or SandboxState()
    state.config.update(config or {})
    app = Flask(__name__)
    app.extensions["sandbox"] = state

    def is_v1():
        return str(state.config["version"]).startswith("1.")

    def read_json():
        """body-parser: JSON only with a JSON content type, else {}."""
        return request.environ.get("sandbox.json", {})

    @app.before_request
    def parse_body_and_faults():
        if request.mimetype == "application/json" and request.get_data():
            try:
                request.environ["sandbox.json"] = json.loads(
                    request.get_data())
            except ValueError as exc:
                # body-parser errors carry no name: the handler falls
                # back to "Internal Server Error" while keeping 400.
                return make_error(400, node_json_error(exc),
                                  reason="Internal Server Error")
        path = request.path
        if path == "/" or path.startswith("/_sandbox/"):
            return None
        fail = state.take_fail_next(path)
        if fail:
            if fail["hang_s"]:
                pause(fail["hang_s"])
            if fail["status"] is not None:
                return Response(fail["body"] or "", status=fail["status"],
                                content_type=fail["content_type"])
        return None

    @app.errorhandler(EvolutionError)
    def answer_evolution_error(exc):
        return make_error(exc.status, exc.message)

    @app.errorhandler(DeadlineExceeded)
    def answer_deadline(_exc):
        return Response("sandbox read deadline exceeded", status=504)

    @app.errorhandler(HTTPException)
    def answer_unknown_route(exc):
        if exc.code in (404, 405):
            return make_error(404, [f"Cannot {request.method} "
                                    f"{request.path}"])
        return make_error(exc.code or 500, [exc.description])

    @app.errorhandler(Exception)
    def answer_crash(exc):
        log.exception("sandbox view failed")
        return make_error(500, str(exc))  # Evolution: bare error message

    def require_instance(name):
        """instanceExistsGuard then authGuard (404 before 401)."""
        key = request.headers.get("apikey")
        record = state.get_instance(name)
        if record is None:
            if not (state.auto_create and key):
                raise EvolutionError(
                    404, [f'The "{name}" instance does not exist'])
            token = None if key == state.api_key else key
            record = state.add_instance(
                name, token=token, webhook=state.config["default_webhook"])
            log.info("sandbox auto-created instance %r", name)
        if key not in (state.api_key, record["token"]):
            raise EvolutionError(401, "Unauthorized")
        return record

    def require_global_key():
        if request.headers.get("apikey") != state.api_key:
            raise EvolutionError(401, "Unauthorized")

    @app.get("/")
    def welcome():
        body = {"status": 200,
                "message": "Welcome to the Evolution API, it is working!",
                "version": state.config["version"],
                "clientName": state.config["client_name"],
                "manager": state.config["server_url"] + "/manager",
                "documentation": "https://doc.evolution-api.com"}
        if not is_v1():
            body["whatsappWebVersion"] = "2.3000.1028450369"
        return make_json(body)

    @app.post("/message/sendText/<name>")
    def send_text(name):
        record = require_instance(name)
        body = read_json()
        if not isinstance(body, dict):
            raise EvolutionError(
                400, [["instance is not of a type(s) object"]])
        v1 = is_v1()
        errors = (validate_send_text_v1 if v1 else validate_send_text_v2)(
            body)
        if errors:
            raise EvolutionError(400, [errors])
        if v1:
            text = body["textMessage"]["text"]
            delay = body.get("options", {}).get("delay") or 0
        else:
            text, delay = body["text"], body.get("delay") or 0
            if not text.strip():
                raise EvolutionError(400, ["Text is required"])
        number = body["number"]
        jid = create_jid(number, v1=v1)
        if state.is_connection_closed(name):
            # The existence query fails first on a dead socket (3.6).
            raise EvolutionError(500, "Connection Closed")
        if not state.is_on_whatsapp(number, jid):
            raise EvolutionError(
                400, [{"jid": jid, "exists": False, "number": number}])
        if delay > 0:
            # Sandbox: capped so a test cannot stall for minutes.
            pause(min(delay / 1000.0, state.config["max_delay_s"]))
        message = build_sent_message(record, jid, text, v1)
        options = body.get("options", {}) if v1 else body
        state.record_sent({"instance": name, "number": number, "jid": jid,
                           "text": text, "id": message["key"]["id"],
                           "delay": delay, "status": "PENDING",
                           "link_preview": options.get("linkPreview"),
                           "timestamp": int(time.time())})
        sandbox_webhooks.emit_send_events(state, record, message, v1)
        if v1:
            message = {"key": message["key"],
                       "message": {"extendedTextMessage": {"text": text}},
                       "messageTimestamp": str(message["messageTimestamp"]),
                       "status": "PENDING"}
        return make_json(message, 201)

    @app.post("/chat/whatsappNumbers/<name>")
    def whatsapp_numbers(name):
        require_instance(name)
        numbers = read_json().get("numbers") if isinstance(
            read_json(), dict) else None
        if not isinstance(numbers, list):
            raise EvolutionError(
                400, [['instance requires property "numbers"']])
        if state.is_connection_closed(name):
            raise EvolutionError(500, "Connection Closed")
        return make_json([
            {"jid": create_jid(str(n)), "number": str(n),
             "exists": state.is_on_whatsapp(str(n), create_jid(str(n)))}
            for n in numbers])

    @app.get("/instance/connectionState/<name>")
    def connection_state(name):
        record = require_instance(name)
        return make_json({"instance": {"instanceName": name,
                                       "state": record["state"]}})

    @app.get("/instance/fetchInstances")
    def fetch_instances():
        key = request.headers.get("apikey")
        with state.lock:
            records = [state.get_instance(n) for n in state.instances]
        if key != state.api_key:
            records = [r for r in records if r["token"] == key]
            if not records:
                raise EvolutionError(401, "Unauthorized")
        wanted = request.args.get("instanceName")
        if wanted is not None:
            records = [r for r in records if r["name"] == wanted]
            if not records:
                raise EvolutionError(
                    404, [f'Instance "{wanted}" not found'])
        if is_v1():
            return make_json([describe_instance_v1(r) for r in records])
        return make_json([describe_instance_v2(r, state) for r in records])

    @app.post("/instance/create")
    def create_instance():
        require_global_key()
        body = read_json() if isinstance(read_json(), dict) else {}
        name = body.get("instanceName")
        if not name or not isinstance(name, str):
            raise EvolutionError(
                400, [['instance requires property "instanceName"']])
        if not is_v1() and body.get("integration") != "WHATSAPP-BAILEYS":
            raise EvolutionError(400, ["Invalid integration"])
        if state.get_instance(name) is not None:
            raise EvolutionError(
                403, [f'This name "{name}" is already in use.'])
        hook = body.get("webhook")
        if isinstance(hook, dict) and hook.get("url"):
            if not isinstance(hook.get("events"), list):
                # 2.3.6's event manager reads webhook.events.length.
                raise EvolutionError(400, [
                    "Cannot read properties of undefined (reading "
                    "'length')"])
            hook = {"url": hook["url"], "headers": hook.get("headers"),
                    "events": hook["events"],
                    "by_events": bool(hook.get("byEvents", False)),
                    "base64_media": bool(hook.get("base64", False))}
        else:
            hook = None
        token = body.get("token") if isinstance(body.get("token"),
                                                str) else None
        record = state.add_instance(name, token=token or None, state="close",
                                    webhook=hook)
        state.emit(name, "instance.create", {"instanceName": name,
                                             "instanceId": record["id"]})
        qrcode = None
        if body.get("qrcode") is True:
            qrcode = state.start_session(name, body.get("number"))
            record = state.get_instance(name)
        return make_json(describe_created(record, state, is_v1(), qrcode),
                         201)

    @app.get("/instance/connect/<name>")
    def connect_instance(name):
        record = require_instance(name)
        if record["state"] == "open":
            return make_json({"instance": {"instanceName": name,
                                           "state": "open"}})
        if record["state"] == "connecting":
            return make_json(describe_qr(record))
        return make_json(state.start_session(name,
                                             request.args.get("number")))

    @app.post("/instance/restart/<name>")
    def restart_instance(name):
        record = require_instance(name)
        if record["state"] == "close":
            raise EvolutionError(
                400, [f'The "{name}" instance is not connected'])
        if record["state"] == "open":
            # The socket is dropped and reopened: a transient close is
            # not reported, only connecting then open (5.5).
            state.emit(name, "connection.update", {
                "instance": name, "state": "connecting",
                "statusReason": 200})
            state.open_session(name)
        return make_json({"instance": {
            "instanceName": name,
            "state": state.get_instance(name)["state"]}})

    @app.delete("/instance/logout/<name>")
    def logout_instance(name):
        record = require_instance(name)
        if record["state"] == "close":
            raise EvolutionError(
                400, [f'The "{name}" instance is not connected'])
        state.close_session(name, 401)
        state.emit(name, "logout.instance", None)
        return make_json({"status": "SUCCESS", "error": False,
                          "response": {"message": "Instance logged out"}})

    @app.delete("/instance/delete/<name>")
    def delete_instance(name):
        record = require_instance(name)
        if record["state"] != "close":
            state.close_session(name, 401)  # logs out first
            state.emit(name, "logout.instance", None)
        state.emit(name, "instance.delete", {"instanceName": name,
                                             "instanceId": record["id"]})
        state.emit(name, "remove.instance", None)
        state.remove_instance(name)
        return make_json({"status": "SUCCESS", "error": False,
                          "response": {"message": "Instance deleted"}})

    @app.post("/webhook/set/<name>")
    def set_webhook(name):
        require_instance(name)
        body = read_json() if isinstance(read_json(), dict) else {}
        if is_v1():
            hook = dict(body, byEvents=body.get("webhook_by_events", False),
                        enabled=body.get("enabled", True))
        else:
            hook = body.get("webhook")
        errors = validate_webhook(hook, v1=is_v1())
        if errors:
            raise EvolutionError(400, [errors])
        if hook["enabled"] and hook.get("events") is None and not is_v1():
            # Faithful 2.3.6 bug: the controller reads events.length.
            raise EvolutionError(500, "Cannot read properties of undefined"
                                      " (reading 'length')")
        state.set_webhook(name, url=hook["url"], headers=hook.get("headers"),
                          events=hook.get("events"),
                          by_events=hook.get("byEvents", False),
                          enabled=hook["enabled"],
                          base64_media=hook.get("base64", False))
        record = state.get_instance(name)
        if is_v1():
            return make_json({"webhook": {"instanceName": name, "webhook":
                                          describe_webhook_v1(record)}}, 201)
        return make_json(describe_webhook_v2(record), 201)

    @app.get("/webhook/find/<name>")
    def find_webhook(name):
        record = require_instance(name)
        if is_v1():
            return make_json(describe_webhook_v1(record))
        if record["webhook"] is None:
            return make_json(None)
        return make_json(describe_webhook_v2(record))

    import sandbox_control  # it imports this module's helpers
    sandbox_control.register_control_routes(app, state, require_global_key)
    return app


def node_json_error(exc):
    """A body-parser-like message for a JSON syntax error."""
    pos = getattr(exc, "pos", 0)
    doc = getattr(exc, "doc", "") or ""
    if pos >= len(doc):
        return "Unexpected end of JSON input"
    return f"Unexpected token {doc[pos]} in JSON at position {pos}"


def validate_webhook(hook, v1=False):
    """Schema errors of the webhook set body."""
    if not isinstance(hook, dict):
        return ['instance requires property "webhook"'] if not v1 else [
            'instance requires property "url"']
    prefix = "" if v1 else "webhook."
    where = "instance" if v1 else "webhook"
    errors = [f'{where} requires property "{f}"'
              for f in ("enabled", "url") if f not in hook]
    if "url" in hook and not (isinstance(hook["url"], str) and hook["url"]):
        errors.append(f"{prefix}url does not meet minimum length of 1")
    if "enabled" in hook and not isinstance(hook["enabled"], bool):
        errors.append(f"{prefix}enabled is not of a type(s) boolean")
    if "headers" in hook and not isinstance(hook["headers"], dict):
        errors.append(f"{prefix}headers is not of a type(s) object")
    events = hook.get("events")
    if events is not None:
        if not isinstance(events, list):
            errors.append(f"{prefix}events is not of a type(s) array")
        else:
            errors.extend(
                f"{prefix}events[{i}] is not one of enum values: "
                + ",".join(ALL_EVENTS)
                for i, e in enumerate(events) if e not in ALL_EVENTS)
    return errors


# ------------------------------------------------------------ shapes

def build_sent_message(record, jid, text, v1):
    """The "prepared message" of 3.5 (v2); v1 converts it afterwards."""
    message = {"key": {"remoteJid": jid, "fromMe": True,
                       "id": new_message_id(v1)},
               "pushName": "Você", "status": "PENDING",
               "message": {"conversation": text},
               "contextInfo": {"mentionedJid": [], "groupMentions": []},
               "messageType": "conversation",
               "messageTimestamp": int(time.time()),
               "instanceId": record["id"], "source": "web"}
    if jid.endswith("@g.us"):
        del message["contextInfo"]  # only 1:1 sends carry it
    return message



def describe_instance_v2(record, state):
    """A Prisma Instance row as fetchInstances returns it (4.2)."""
    gone = record.get("disconnection") or {}
    return {
        "id": record["id"], "name": record["name"],
        "connectionStatus": record["state"],
        "ownerJid": record["owner_jid"],
        "profileName": record.get("profile_name"),
        "profilePicUrl": None, "integration": "WHATSAPP-BAILEYS",
        "number": None, "businessId": None, "token": record["token"],
        "clientName": state.config["client_name"],
        "disconnectionReasonCode": gone.get("code"),
        "disconnectionObject": gone.get("object"),
        "disconnectionAt": gone.get("at"), "createdAt": record["created_at"],
        "updatedAt": record["updated_at"], "Chatwoot": None, "Proxy": None,
        "Rabbitmq": None, "Nats": None, "Sqs": None, "Websocket": None,
        "Setting": {"rejectCall": False, "msgCall": "",
                    "groupsIgnore": False, "alwaysOnline": False,
                    "readMessages": False, "readStatus": False,
                    "syncFullHistory": False},
        "_count": {"Message": 0, "Contact": 0, "Chat": 0}}


def describe_instance_v1(record):
    inner = {"instanceName": record["name"], "instanceId": record["id"],
             "status": record["state"]}
    if record["state"] == "open":
        inner.update(owner=record["owner_jid"],
                     profileName=record.get("profile_name"),
                     profilePictureUrl=None, profileStatus="")
    return {"instance": inner}


def describe_created(record, state, v1, qrcode=None):
    """The 201 of /instance/create (4.3); `qrcode` only when asked for."""
    hook = record["webhook"] or {}
    body = {
        "instance": {"instanceName": record["name"],
                     "instanceId": record["id"],
                     "integration": "WHATSAPP-BAILEYS",
                     "webhookWaBusiness": None,
                     "accessTokenWaBusiness": "",
                     # v1 answered "created"; 2.x the connection state.
                     "status": "created" if v1 else record["state"]},
        "hash": {"apikey": record["token"]} if v1 else record["token"],
        "webhook": {"webhookUrl": hook.get("url"),
                    "webhookHeaders": hook.get("headers"),
                    "webhookByEvents": hook.get("by_events", False),
                    "webhookBase64": hook.get("base64", False)},
        "websocket": {}, "rabbitmq": {}, "nats": {}, "sqs": {},
        "settings": {"rejectCall": False, "msgCall": "",
                     "groupsIgnore": False, "alwaysOnline": False,
                     "readMessages": False, "readStatus": False,
                     "syncFullHistory": False}}
    if qrcode is not None:
        body["qrcode"] = qrcode
    return body


def describe_webhook_v2(record):
    hook = record["webhook"]
    return {"id": hook["id"], "url": hook["url"], "headers": hook["headers"],
            "enabled": hook["enabled"], "events": hook["events"],
            "webhookByEvents": hook["by_events"],
            "webhookBase64": hook["base64"], "createdAt": hook["created_at"],
            "updatedAt": hook["updated_at"], "instanceId": record["id"]}


def describe_webhook_v1(record):
    hook = record["webhook"] or {"enabled": False, "url": "", "events": [],
                                 "by_events": False, "base64": False}
    return {"enabled": hook["enabled"], "url": hook["url"],
            "events": hook["events"],
            "webhook_by_events": hook["by_events"],
            "webhook_base64": hook["base64"]}


# -------------------------------------------------------- in-process HTTP

class WSGIAdapter(BaseAdapter):
    """A requests transport that calls a WSGI app in the caller's thread.

    Mount it for the sandbox base URL::

        session.mount("http://evolution.sandbox", WSGIAdapter(app))

    The read timeout is passed to the app as a monotonic deadline in the
    environ; the sandbox's sleeps (`delay`, fail_next hangs) stop at it
    and the adapter raises ``requests.exceptions.ReadTimeout``.  Other
    slow code in the app is not interrupted.
    """

    def __init__(self, app):
        super().__init__()
        self.app = app

    def send(self, request, stream=False, timeout=None, verify=True,
             cert=None, proxies=None):
        """Serve one PreparedRequest through the WSGI app."""
        read_timeout = timeout[1] if isinstance(timeout, tuple) else timeout
        parts = urlsplit(request.url)
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif not isinstance(body, bytes):
            body = b"".join(body)  # generators / iterables
        builder = EnvironBuilder(
            path=parts.path or "/", query_string=parts.query,
            base_url=f"{parts.scheme}://{parts.netloc}",
            method=request.method, headers=dict(request.headers),
            data=body)
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        deadline = None
        if read_timeout is not None:
            deadline = {"at": time.monotonic() + read_timeout, "hit": False}
            environ[DEADLINE_KEY] = deadline
        app_iter, status, headers = run_wsgi_app(self.app, environ,
                                                 buffered=True)
        try:
            content = b"".join(app_iter)
        finally:
            getattr(app_iter, "close", lambda: None)()
        if deadline and deadline["hit"]:
            raise requests.exceptions.ReadTimeout(
                f"sandbox read timed out (read timeout={read_timeout})",
                request=request)
        return self.build_response(request, status, headers, content)

    def build_response(self, request, status, headers, content):
        """A requests.Response equivalent to what HTTPAdapter returns."""
        response = requests.Response()
        response.status_code = int(status.split(" ", 1)[0])
        response.reason = (status.split(" ", 1)[1:] or [
            HTTP_STATUS_CODES.get(response.status_code, "")])[0]
        response.headers = CaseInsensitiveDict(headers.to_wsgi_list())
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = io.BytesIO(content)
        response._content = content
        response._content_consumed = True
        response.url = request.url
        response.request = request
        response.connection = self
        return response

    def close(self):
        """Nothing to release: no sockets, no pools."""


# --------------------------------------------------------------- serving

def start_sandbox_thread(host="127.0.0.1", port=0, state=None, config=None):
    """Serve the sandbox in a daemon thread; returns (server, base_url).

    Call ``server.shutdown()`` and ``server.server_close()`` when done,
    and ``state.close()`` to stop webhook delivery.  The state is also
    available as ``server.sandbox_state``.
    """
    state = state or SandboxState()
    app = create_sandbox_app(state, config)
    server = make_server(host, port, app, threaded=True)
    server.sandbox_state = state
    base_url = f"http://{host}:{server.server_port}"
    if state.config["server_url"] == DEFAULT_CONFIG["server_url"]:
        state.config["server_url"] = base_url  # envelope `server_url`
    # A short poll interval makes shutdown() return quickly in tests.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,),
                              name="sandbox-http", daemon=True)
    thread.start()
    return server, base_url


def run_sandbox(host="127.0.0.1", port=8081, state=None, config=None):
    """Serve the sandbox over HTTP until interrupted (Ctrl-C)."""
    state = state or SandboxState()
    app = create_sandbox_app(state, config)
    server = make_server(host, port, app, threaded=True)
    if state.config["server_url"] == DEFAULT_CONFIG["server_url"]:
        state.config["server_url"] = f"http://{host}:{server.server_port}"
    print(f"Evolution sandbox {state.config['version']} on "
          f"http://{host}:{server.server_port}")
    print(f"Global API key: {state.api_key}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        state.close()


def main(argv=None):
    """`python sandbox.py [--port N] [--api-key K] [--version V]`."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--version", default=DEFAULT_CONFIG["version"])
    parser.add_argument("--auto-create", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    state = SandboxState(api_key=args.api_key, auto_create=args.auto_create,
                         config={"version": args.version})
    run_sandbox(args.host, args.port, state)


if __name__ == "__main__":
    main()
