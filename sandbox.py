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

Five modules along its seams: this one (state + Evolution routes),
``sandbox_control`` (the ``/_sandbox/`` routes, global key only),
``sandbox_webhooks`` (envelopes and delivery), ``sandbox_shapes``
(validation and response bodies) and ``sandbox_http`` (the in-process
adapter and the real server).  Webhook delivery hook:
``config["deliver"] = fn(url, headers, body)`` returns the HTTP status
(``None`` counts as 200) or raises for a failed attempt (retried); it is
called from the background webhook thread, never from the request.
"""

import collections
import json
import logging
import secrets
import threading
import time
import uuid

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

import sandbox_webhooks
from sandbox_http import DEADLINE_KEY
from sandbox_http import EncodedSegments
from sandbox_http import SegmentConverter
from sandbox_shapes import ALL_EVENTS
from sandbox_shapes import create_jid
from sandbox_shapes import describe_qr
from sandbox_shapes import digits_of
from sandbox_shapes import make_error
from sandbox_shapes import make_json
from sandbox_shapes import new_qr
from sandbox_shapes import now_iso
from sandbox_shapes import build_sent_message
from sandbox_shapes import describe_created
from sandbox_shapes import describe_instance_v1
from sandbox_shapes import describe_instance_v2
from sandbox_shapes import describe_webhook_v1
from sandbox_shapes import describe_webhook_v2
from sandbox_shapes import node_json_error
from sandbox_shapes import validate_send_text_v1
from sandbox_shapes import validate_send_text_v2
from sandbox_shapes import validate_webhook_v1
from sandbox_shapes import validate_webhook_v2

# The names other modules and tests use, wherever they now live.
from sandbox_http import WSGIAdapter  # noqa: F401,E402
from sandbox_http import main  # noqa: F401
from sandbox_http import run_sandbox  # noqa: F401
from sandbox_http import start_sandbox_thread  # noqa: F401
from sandbox_webhooks import ACK_STEPS  # noqa: F401
from sandbox_webhooks import build_webhook_headers  # noqa: F401
from sandbox_webhooks import event_key  # noqa: F401
from sandbox_webhooks import local_iso_with_z  # noqa: F401
from sandbox_webhooks import sign_hs256  # noqa: F401

log = logging.getLogger(__name__)

DEFAULT_API_KEY = "BQYHJGJHJ"  # Evolution's own default AUTHENTICATION_API_KEY

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
    # Evolution's WEBHOOK_REQUEST_TIMEOUT_MS default (env.config.ts).
    "webhook_timeout_s": 30.0,
    "webhook_attempts": 3,  # Sandbox: Evolution does 10 (section 6)
    "webhook_retry_delay_s": 0.2,  # doubled after each failed attempt
    "webhook_non_retryable": (400, 401, 403, 404, 422),
    "deliver": None,  # fn(url, headers, body) -> status; see docstring
    # Events queued at most; a full queue makes the emitter wait (None:
    # unbounded, as Evolution never holds a send back for its webhooks).
    "webhook_backlog": None,
    "default_webhook": None,  # webhook dict given to auto-created instances
}

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

def pause(seconds):
    """Sleep, but stop at the in-process caller's read deadline."""
    deadline = request.environ.get(DEADLINE_KEY)
    if deadline and time.monotonic() + seconds > deadline["at"]:
        time.sleep(max(0.0, deadline["at"] - time.monotonic()))
        deadline["hit"] = True
        raise DeadlineExceeded()
    time.sleep(seconds)


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
            self.lids = {}  # phone JID -> LID JID of LID-addressed contacts

    def set_lid(self, phone, lid):
        """Make `phone` a LID-addressed contact: sends to it answer (and
        are receipted) with `lid` as remoteJid, as 2.3.6 does."""
        with self.lock:
            self.lids[create_jid(str(phone))] = lid

    def lid_for(self, jid):
        with self.lock:
            return self.lids.get(jid, jid)

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
        """Closed for good (logged out 401, forbidden 403, ...): as
        ``connectionUpdate`` does, `status.instance`, `logout.instance`
        (the monitor's), then `connection.update` ``close``."""
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
        self.emit(name, "logout.instance", None)
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


# ----------------------------------------------------------- app and views

def create_sandbox_app(state=None, config=None):
    """Build the Flask app; `config` updates `state.config`.

    The state is available as ``app.extensions["sandbox"]``.
    """
    state = state or SandboxState()
    state.config.update(config or {})
    app = Flask(__name__)
    # `<name>` is one raw path segment, decoded after routing, as
    # Express's `:instanceName` (a name may hold "/", sent as %2F).
    app.url_map.converters["default"] = SegmentConverter
    app.wsgi_app = EncodedSegments(app.wsgi_app)
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
        if isinstance(body, list):
            # dataValidate copies the body into a DTO (Object.assign):
            # an array arrives as an object keyed by its indexes.
            body = {str(i): item for i, item in enumerate(body)}
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
        # A LID-addressed contact: WhatsApp answers with its LID.
        jid = state.lid_for(jid)
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
        # An empty query value filters nothing (`instanceName || undefined`).
        wanted = request.args.get("instanceName") or None
        wanted_id = request.args.get("instanceId") or None
        if key != state.api_key:
            # An instance token: one findMany({token, name, id}); no match,
            # even for an instance that exists under another token, is
            # 401, never 404 (instance.controller.ts fetchInstances).
            records = [r for r in records if r["token"] == key
                       and wanted in (None, r["name"])
                       and wanted_id in (None, r["id"])]
            if not records:
                raise EvolutionError(401, "Unauthorized")
        elif wanted_id is not None:
            # monitor.service.ts instanceInfoById
            records = [r for r in records if r["id"] == wanted_id]
            if not records:
                raise EvolutionError(
                    404, [f'Instance "{wanted_id}" not found'])
        elif wanted is not None:
            records = [r for r in records if r["name"] == wanted]
            if not records:
                raise EvolutionError(
                    404, [f'Instance "{wanted}" not found'])
        if is_v1():
            return make_json([describe_instance_v1(r) for r in records])
        return make_json([describe_instance_v2(r, state) for r in records])

    @app.post("/instance/create")
    def create_instance():
        body = read_json() if isinstance(read_json(), dict) else {}
        name = body.get("instanceName")
        # instanceLoggedGuard runs before the API key is checked.
        if isinstance(name, str) and state.get_instance(name) is not None:
            raise EvolutionError(
                403, [f'This name "{name}" is already in use.'])
        require_global_key()
        if not name or not isinstance(name, str):
            raise EvolutionError(
                400, [['instance requires property "instanceName"']])
        if not is_v1() and body.get("integration") != "WHATSAPP-BAILEYS":
            raise EvolutionError(400, ["Invalid integration"])
        hook = body.get("webhook")
        if isinstance(hook, dict) and not isinstance(hook.get("events"),
                                                     list):
            # 2.3.6's webhook controller reads webhook.events.length, and
            # create turns any error into a 400 with its message.
            raise EvolutionError(400, [
                "Cannot read properties of undefined (reading 'length')"])
        if isinstance(hook, dict) and hook.get("url"):
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
            # restartInstance catches its own BadRequestException (a
            # plain object) and answers 200 with its toString().
            return make_json({"error": True, "message": "[object Object]"})
        # restartInstance ends the socket, then answers connectToWhatsapp,
        # which reads the state before the close is processed: `open`
        # answers connectionState, `connecting` the current qrCode
        # (instance.controller.ts restartInstance, connectToWhatsapp).
        if record["state"] == "connecting":
            answer = describe_qr(record)
            # The reconnect: a new socket, `connecting`, and its first QR
            # (the count goes on; at QRCODE_LIMIT it is refused).
            state.emit(name, "connection.update", {
                "instance": name, "state": "connecting",
                "statusReason": 200})
            state.rotate_qr(name)
            return make_json(answer)
        # The socket is dropped and reopened: a transient close is not
        # reported, only connecting then open (5.5).
        state.emit(name, "connection.update", {
            "instance": name, "state": "connecting", "statusReason": 200})
        state.open_session(name)
        return make_json({"instance": {"instanceName": name,
                                       "state": "open"}})

    @app.delete("/instance/logout/<name>")
    def logout_instance(name):
        record = require_instance(name)
        if record["state"] == "close":
            raise EvolutionError(
                400, [f'The "{name}" instance is not connected'])
        state.close_session(name, 401)
        return make_json({"status": "SUCCESS", "error": False,
                          "response": {"message": "Instance logged out"}})

    @app.delete("/instance/delete/<name>")
    def delete_instance(name):
        record = require_instance(name)
        if record["state"] != "close":
            state.close_session(name, 401)  # logs out first
        state.emit(name, "instance.delete", {"instanceName": name,
                                             "instanceId": record["id"]})
        state.emit(name, "remove.instance", None)
        state.remove_instance(name)
        return make_json({"status": "SUCCESS", "error": False,
                          "response": {"message": "Instance deleted"}})

    @app.post("/webhook/set/<name>")
    def set_webhook(name):
        require_instance(name)
        body = read_json()
        if isinstance(body, list):  # Object.assign into the DTO
            body = {str(i): item for i, item in enumerate(body)}
        body = body if isinstance(body, dict) else {}
        if is_v1():
            hook = dict(body, byEvents=body.get("webhook_by_events", False),
                        enabled=body.get("enabled", True))
            errors = validate_webhook_v1(hook)
        else:
            # webhook.schema.ts: an empty url passes next to `events`
            # (isNotEmpty's `if` needs only enabled and url present);
            # Evolution stores it and never posts to it (no http(s)).
            hook = body.get("webhook")
            errors = validate_webhook_v2(body)
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


if __name__ == "__main__":
    main()
