"""The 3CX bridge: ``POST /integrations/3cx/webhook/{integration_id}``.

3CX (its CRM template's call journaling, a Call Flow app or a Call
Control bridge) posts call events here; the gateway logs them and, for
the customer-facing ones, sends the integration's template to the caller
through the same guarded send path as the API.  Request handling order:

1. from headers only, every failure the same generic 401: integration
   id numeric, integration known and enabled, secret header (constant
   time against its SHA-256), IP allowlist, then with HMAC on: timestamp
   present and within 300 s, signature present;
2. 413 from Content-Length before reading, then the body is read with
   a 256 KB cap (a chunked body is cut off there, also 413);
3. HMAC over ``timestamp + "." + raw body`` (401);
4. 60 requests a minute per integration (429 with Retry-After);
5. the customer's 3cx module (403);
6. JSON (400 invalid_json, also for a non-JSON content type), schema
   (400 validation_error), missing_phone / missing_message_text (400);
7. duplicate check (insert-first on a unique key: 200 duplicate; a
   signed request seen before is a duplicate whatever its
   ``Idempotency-Key``);
8. the event's own rules: toggles, caller checks, conversation window,
   cooldown, then the guarded send.

Call events never answer an error for a refused send: 200 ``skipped``
with the reason, so 3CX does not retry.  An agent's ``outbound_message``
answers the sender's errors with the send API's codes, under the
statuses this path documents (see ``CONTRACT_STATUS``: 423 is 403, 502
is 500, 404 and 422 are 400).
"""
import collections
import datetime
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from limits import RateLimitItemPerMinute
from limits import RateLimitItemPerSecond
from peewee import BooleanField
from peewee import CharField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import IntegrityError
from peewee import TextField

import ratelimit
import store
import threecx_rules as rules
from errors import ApiError
from errors import read_body_within
from schema import load_or_raise
from schema import parse_json
from schema.fields import has_visible_character
from schema.threecx import threecx_webhook_schema
from secretbox import SecretField
from store import BaseModel
from store import Customer
from store import Instance
from store import db
from store import utcnow


log = logging.getLogger(__name__)

bp = Blueprint("threecx", __name__)

SECRET_HEADER = "X-WhatsApp-Gateway-3CX-Secret"
TIMESTAMP_HEADER = "X-WhatsApp-Gateway-Timestamp"
SIGNATURE_HEADER = "X-WhatsApp-Gateway-Signature"
SECRET_PREFIX = "w3cx_"
MAX_BODY_BYTES = 256 * 1024
MAX_CLOCK_SKEW = 300
RATE_LIMIT = RateLimitItemPerMinute(60)
# Failed authentications one address may make before it is refused with
# 429 for the rest of the minute.
AUTH_FAILURE_LIMIT = RateLimitItemPerMinute(20)
# A signed request is processed once across the whole timestamp window;
# a repeat is answered as its duplicate.
SIGNED_ONCE = RateLimitItemPerSecond(1, 2 * MAX_CLOCK_SKEW)
COOLDOWN = datetime.timedelta(minutes=15)
# Per event type; after-hours callers often redial all evening.
COOLDOWNS = {"after_hours": datetime.timedelta(hours=12)}
# One cooldown per caller across the customer-facing (template) events,
# as long as the last one sent asks for (3cx.md 5.2, 5.3): one call gets
# at most one message, whichever of missed_call, voicemail,
# queue_callback or after_hours report it.  "The same call" is
# approximated by the cooldown: CFD and journaling share no call id.
EVENT_RETENTION = datetime.timedelta(days=30)
PURGE_EVERY = 200
_EPOCH = datetime.datetime(1970, 1, 1)
_DUMMY_HASH = rules.hash_secret("no integration")
# The path documents 200, 400, 401, 403, 413, 429 and 500 only: sender
# errors with other statuses keep their code but take the nearest one (a
# paused instance is refused, an Evolution failure is the server's).
CONTRACT_STATUS = {404: 400, 422: 400, 423: 403, 502: 500, 503: 500}
SKIP_REASONS = {
    "daily_message_limit_exceeded": "quota_exceeded",
    "monthly_message_limit_exceeded": "quota_exceeded",
    "gateway_send_failed": "send_failed",
}


class ThreeCxIntegration(BaseModel):
    """One 3CX system posting events for a customer's instance."""
    customer = ForeignKeyField(Customer, backref="threecx_integrations")
    instance = ForeignKeyField(Instance)
    business_name = CharField(default="")
    business_hours = CharField(default="")
    timezone = CharField(default="UTC")
    country = CharField(null=True)
    secret_hash = CharField()
    # HMAC needs the secret itself; it is only for senders that sign.
    hmac_secret = SecretField(null=True)
    allowed_ips = TextField(default="")
    enabled = BooleanField(default=True)
    call_events_enabled = BooleanField(default=True)
    outbound_enabled = BooleanField(default=True)
    strict_window = BooleanField(default=True)
    min_phone_digits = IntegerField(default=rules.DEFAULT_MIN_PHONE_DIGITS)
    # {"event": {"text": ..., "enabled": ...}}: overrides of the defaults.
    templates = TextField(default="{}")
    created_at = DateTimeField(default=utcnow)
    secret_rotated_at = DateTimeField(default=utcnow)
    # Two-way chat (threecx_chat.py): the gateway as 3CX's Generic SMS
    # provider.  The key 3CX sends as a Bearer token, hashed like the
    # secret; the 3CX webhook is a WebhookEndpoint of kind "3cx".
    messaging_key_hash = CharField(null=True)
    messaging_key_rotated_at = DateTimeField(null=True)
    messaging_endpoint_id = IntegerField(null=True)
    # The 3CX trunk's number (E.164): inbound ``to``, outbound ``from``.
    messaging_number = CharField(null=True)
    messaging_inbound = BooleanField(default=True)
    messaging_status_events = BooleanField(default=False)


class ThreeCxEvent(BaseModel):
    """One event received, its outcome, and its duplicate key."""
    integration = ForeignKeyField(ThreeCxIntegration, backref="events")
    event_type = CharField()
    dedupe_key = CharField(null=True)
    phone = CharField(null=True)
    status = CharField(default="processing")
    action = CharField(null=True)
    reason = CharField(null=True)
    message_log_id = IntegerField(null=True)
    message_id = CharField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("integration", "dedupe_key"), True),
                   (("integration", "id"), False),
                   # Delivery receipts of chat replies find their event.
                   (("integration", "message_id"), False))


class ThreeCxCooldown(BaseModel):
    """When an event type last sent to a number, per integration."""
    integration = ForeignKeyField(ThreeCxIntegration)
    group = CharField()
    phone = CharField()
    last_sent_at = DateTimeField()

    class Meta:
        indexes = ((("integration", "group", "phone"), True),)


MODELS = [ThreeCxIntegration, ThreeCxEvent, ThreeCxCooldown]


class IntegrationError(ValueError):
    """A bad integration setting, said in one line."""


# What a verified HMAC covered (hex SHA-256) and whether it came before.
Signature = collections.namedtuple("Signature", "digest replayed")


# -- the webhook ----------------------------------------------------------

@bp.post("/integrations/3cx/webhook/<integration_id>")
def receive_webhook(integration_id):
    """Authenticate, limit and parse one 3CX event, then act on it."""
    check_auth_failures()
    integration = authenticate(integration_id)
    body = read_body()
    digest = verify_signature(integration, body)
    check_rate_limit(integration)
    customer = integration.customer
    if not customer.has_module("3cx"):
        raise ApiError(403, "module_not_enabled",
                       "The 3cx module is not enabled for this account.",
                       {"module": "3cx"})
    data = parse_payload(body)
    return jsonify(handle_event(integration, customer, data, digest))


class FailureLog:
    """Failed authentication, logged once per address and minute.

    A line per attempt would let anyone fill the disk and bury what
    matters; the first failure in a window is logged, the rest counted
    and reported with the next window's first line.
    """

    def __init__(self, window=60.0, max_addresses=10000):
        self.window = window
        self.max_addresses = max_addresses
        self._lock = threading.Lock()
        self._seen = {}  # address -> [window start, suppressed count]

    def record(self, address, integration_id, why):
        now = time.monotonic()
        with self._lock:
            entry = self._seen.get(address)
            if entry is not None and now - entry[0] < self.window:
                entry[1] += 1
                return False
            suppressed = entry[1] if entry else 0
            if len(self._seen) >= self.max_addresses:
                self._seen = {a: e for a, e in self._seen.items()
                              if now - e[0] < self.window}
            self._seen[address] = [now, 0]
        log.warning("3cx webhook refused from %s (integration=%s): %s%s",
                    address, integration_id, why,
                    "; %d more refused from there in the window before"
                    % suppressed if suppressed else "")
        return True


_failures = FailureLog()


def client_address():
    """The caller's address, X-Forwarded-For believed from trusted
    proxies only."""
    trusted = rules.parse_networks(",".join(
        current_app.extensions["gateway"]["settings"].TRUSTED_PROXIES))
    return rules.find_client_address(
        request.remote_addr, request.headers.get("X-Forwarded-For"),
        trusted) or "-"


def check_auth_failures():
    """429 for an address past its failed-authentication budget: no
    guessing secrets at request speed."""
    limiter = current_app.extensions["gateway"]["limiter"]
    address = client_address()
    if limiter.test(AUTH_FAILURE_LIMIT, "3cx-auth", address):
        return
    retry_after = ratelimit.seconds_until_available(
        limiter, AUTH_FAILURE_LIMIT, "3cx-auth", address)
    _failures.record(address, "-", "too many failed attempts")
    raise ApiError(429, "webhook_rate_limited",
                   "Too many failed 3CX webhook authentications; retry "
                   "after %d seconds." % retry_after,
                   {"retry_after": retry_after},
                   {"Retry-After": str(retry_after)})


def refuse(integration_id, why):
    """The one generic 401: it must not tell which check failed."""
    address = client_address()
    current_app.extensions["gateway"]["limiter"].hit(
        AUTH_FAILURE_LIMIT, "3cx-auth", address)
    _failures.record(address, integration_id, why)
    return ApiError(401, "invalid_3cx_webhook",
                    "Invalid 3CX webhook request.")


def authenticate(integration_id):
    """The integration, after every check that needs only headers."""
    if not store.ID_PATTERN.fullmatch(integration_id):
        raise refuse("-", "non-numeric id")
    integration = (ThreeCxIntegration.select(ThreeCxIntegration, Customer)
                   .join(Customer)
                   .where(ThreeCxIntegration.id == int(integration_id))
                   .first())
    given = request.headers.get(SECRET_HEADER, "")
    # Hash even for an unknown integration: same work either way.
    matches = hmac.compare_digest(
        rules.hash_secret(given),
        integration.secret_hash if integration else _DUMMY_HASH)
    if integration is None or not integration.enabled:
        raise refuse(integration_id, "unknown or disabled integration")
    if not given or not matches:
        raise refuse(integration_id, "wrong or missing secret")
    networks = rules.parse_networks(integration.allowed_ips)
    if networks:
        trusted = rules.parse_networks(",".join(
            current_app.extensions["gateway"]["settings"].TRUSTED_PROXIES))
        address = rules.find_client_address(
            request.remote_addr, request.headers.get("X-Forwarded-For"),
            trusted)
        if not rules.is_address_allowed(address, networks):
            raise refuse(integration_id, "address not allowed")
    if integration.hmac_secret:
        stamp = rules.parse_header_timestamp(
            request.headers.get(TIMESTAMP_HEADER))
        if stamp is None or abs(time.time() - stamp) > MAX_CLOCK_SKEW:
            raise refuse(integration_id, "missing or stale timestamp")
        if not request.headers.get(SIGNATURE_HEADER):
            raise refuse(integration_id, "missing signature")
    return integration


def read_body():
    """The raw body, refused with 413 past 256 KB (streamed or not)."""
    return read_body_within(MAX_BODY_BYTES,
                            "The request body is larger than 256 KB.")


def verify_signature(integration, body):
    """With HMAC on, the signature must cover this exact body.

    Returns None without HMAC, else the digest of what the HMAC covers
    (``note_signature_use`` says whether it came before).
    """
    if not integration.hmac_secret:
        return None
    timestamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
    if not rules.is_signature_valid(integration.hmac_secret, timestamp,
                                    body,
                                    request.headers.get(SIGNATURE_HEADER)):
        raise refuse(integration.id, "bad signature")
    return hashlib.sha256(timestamp.encode("utf-8") + b"." + body
                          ).hexdigest()


def release_signature(integration, digest):
    """Give a spent signature back (its event was refused, nothing
    sent), so the sender's identical retry is processed."""
    try:
        current_app.extensions["gateway"]["limiter"].clear(
            SIGNED_ONCE, "3cx-signed", str(integration.id), digest)
    except Exception:
        # A store that fails here leaves the retry a duplicate: logged.
        log.warning("3cx integration=%s: could not release a signature",
                    integration.id)


def note_signature_use(integration, digest):
    """None without HMAC, else a ``Signature``: the digest and whether a
    request with it reached its event before, while its timestamp is
    acceptable (``MAX_CLOCK_SKEW`` either way).  Such a repeat is
    answered as the duplicate of the first by ``handle_event`` and never
    processed again, whatever ``Idempotency-Key`` (outside the HMAC) it
    carries."""
    if digest is None:
        return None
    first_use = current_app.extensions["gateway"]["limiter"].hit(
        SIGNED_ONCE, "3cx-signed", str(integration.id), digest)
    return Signature(digest, not first_use)


def check_rate_limit(integration):
    """At most 60 requests a minute per integration, across workers."""
    limiter = current_app.extensions["gateway"]["limiter"]
    ids = ("3cx", str(integration.id))
    if not limiter.hit(RATE_LIMIT, *ids):
        retry_after = ratelimit.seconds_until_available(limiter,
                                                        RATE_LIMIT, *ids)
        log.warning("3cx integration=%s rate limited", integration.id)
        raise ApiError(429, "webhook_rate_limited",
                       "Too many 3CX webhook requests; retry after %d "
                       "seconds." % retry_after,
                       {"limit_per_minute": 60, "retry_after": retry_after},
                       {"Retry-After": str(retry_after)})


def parse_payload(body):
    """The validated event; 400 for anything that is not one."""
    if not request.is_json:
        raise ApiError(400, "invalid_json",
                       "The request body must be JSON "
                       "(Content-Type: application/json).")
    return load_or_raise(threecx_webhook_schema, parse_json(body),
                         status=400)


# -- events ---------------------------------------------------------------

def handle_event(integration, customer, data, digest=None):
    """Act on one validated event; return the response body.

    ``digest``: what a signed request's HMAC covered.  It is spent only
    when the request reaches its duplicate check, and given back when
    the event is refused with nothing sent: a sender's identical retry
    of a refused request (429, 403, 400) is processed, never answered as
    the duplicate of nothing.
    """
    event_type = data["event_type"]
    if event_type == "test":
        record_event(integration, event_type, None, None, "processed",
                     "received")
        return build_answer(event_type, "processed", "received")
    phone = rules.extract_phone(data, event_type, integration.country,
                                integration.min_phone_digits)
    text = None
    if event_type == "outbound_message":
        text = check_outbound(data, phone)
    elif may_send(integration, event_type) and phone.kind == "missing":
        raise missing_phone_error()
    zone = rules.load_zone(integration.timezone)
    received = datetime.datetime.now(datetime.timezone.utc)
    call_time = rules.parse_call_time(data.get("call_time"), zone)
    key = derive_key(integration, event_type, data, phone, call_time,
                     digest)
    signature = note_signature_use(integration, digest)
    if signature is not None and signature.replayed:
        return answer_duplicate(integration, event_type, key)
    row = claim_event(integration, event_type, key, phone.e164)
    if row is None:
        return answer_duplicate(integration, event_type, key)
    try:
        if event_type == "outbound_message":
            result = send_outbound(integration, customer, phone, text,
                                   data["message_purpose"])
        elif event_type in rules.TEMPLATE_EVENTS:
            result = send_template(integration, customer, event_type,
                                   data, phone, call_time or received)
        else:
            result = ("processed", "logged", None, None)
    except ApiError as error:
        if finish_failed(row, error) and signature is not None:
            release_signature(integration, signature.digest)
        raise
    except Exception:
        # Unknown state: the key stays, so a retry cannot send twice.
        finish_event(row, "error", "not_sent", "internal_error", None)
        raise
    return finish_event(row, *result)


def derive_key(integration, event_type, data, phone, call_time, digest):
    """The event's duplicate key (``rules.derive_dedupe_key``).

    ``Idempotency-Key`` counts for a signed request too: a sender that
    lost an answer signs its retry anew (a new timestamp) and keeps the
    key.  A captured request replayed with a fresh key is stopped by its
    signature, spent already (``note_signature_use``).  Where neither
    the header nor the body gives a key, the signature stands in, so an
    identical repeat finds the first request's answer.
    """
    key = rules.derive_dedupe_key(
        integration.id, event_type, data, phone.e164, call_time,
        request.headers.get("Idempotency-Key"))
    if key is None and digest is not None:
        key = "signed:" + digest
    return key


def may_send(integration, event_type):
    """Whether ``event_type`` may send, so must name the caller."""
    if event_type == "call_ended":
        return load_templates(integration)["call_ended"][1]
    return event_type in rules.TEMPLATE_EVENTS


def missing_phone_error():
    return ApiError(400, "missing_phone",
                    "The event needs a phone number in to, from, "
                    "customer_phone, caller or phone.")


def check_outbound(data, phone):
    """The agent's text, after the checks only an agent can fix."""
    if phone.kind in ("missing", "anonymous"):
        raise missing_phone_error()
    if phone.kind != "ok":
        raise ApiError(400, "validation_error",
                       "The request body is not valid.",
                       {"fields": {"to": [
                           "Not a valid international phone number."]}})
    text = (rules.clean_value(data.get("message_text"))
            or rules.clean_value(data.get("message")))
    if not text:
        raise ApiError(400, "missing_message_text",
                       "outbound_message needs message_text or message.")
    if not has_visible_character(text):
        raise invalid_text("Must contain visible text, not only invisible "
                           "or zero-width characters.")
    if "\x00" in text:
        # As the send API's StrictString: PostgreSQL cannot store it.
        raise invalid_text("Must not contain NUL characters.")
    limit = current_app.extensions["gateway"]["settings"].MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise invalid_text("Longer than %d characters." % limit)
    return text


def invalid_text(why):
    return ApiError(400, "validation_error", "The request body is not "
                    "valid.", {"fields": {"message_text": [why]}})


def send_outbound(integration, customer, phone, text, purpose):
    """An agent's reply: errors stay errors, the agent must see them."""
    if not integration.outbound_enabled:
        return ("skipped", "not_sent", "outbound_disabled", None)
    if integration.strict_window and not store.window_is_open(
            customer.id, phone.e164):
        return ("skipped", "not_sent", "conversation_window_closed", None)
    try:
        outcome = get_sender().send(
            customer, integration.instance.name, phone.e164, text, purpose,
            source="3cx", module="3cx")
    except ApiError as error:
        error.status = CONTRACT_STATUS.get(error.status, error.status)
        raise
    return ("processed", "sent", None, outcome)


def send_template(integration, customer, event_type, data, phone,
                  call_time):
    """A call event's template to the caller, or why not."""
    text, enabled = load_templates(integration)[event_type]
    call_type = rules.clean_value(data.get("call_type")).lower()
    if event_type == "call_ended" and (
            not enabled or call_type in ("notanswered", "unanswered")):
        return ("processed", "logged", None, None)
    reason = None
    if not integration.call_events_enabled:
        reason = "call_events_disabled"
    elif not enabled:
        reason = "template_disabled"
    elif phone.kind == "anonymous":
        reason = "anonymous_caller"
    elif phone.kind == "internal":
        reason = "internal_extension"
    elif phone.kind != "ok":
        reason = "invalid_phone"
    elif integration.strict_window and not store.window_is_open(
            customer.id, phone.e164):
        reason = "conversation_window_closed"
    if reason:
        return ("skipped", "not_sent", reason, None)
    zone = rules.load_zone(integration.timezone)
    values = rules.build_template_values(
        data, phone.e164, call_time, zone, integration.business_name,
        integration.business_hours)
    missing = rules.empty_placeholders(text, values)
    if missing:
        # Never a message with a hole in it: skipped, and the log says
        # which placeholder had no value (names only).
        log.info("3cx integration=%s %s not sent: no value for %s",
                 integration.id, event_type, ",".join(missing))
        return ("skipped", "not_sent", "template_incomplete", None)
    claimed_at = claim_cooldown(integration.id, event_type, phone.e164)
    if claimed_at is None:
        return ("skipped", "not_sent", "cooldown", None)
    message = rules.render_template(text, values)
    try:
        outcome = get_sender().send(
            customer, integration.instance.name, phone.e164, message,
            "support", source="3cx", module="3cx")
    except ApiError as error:
        if error.details.get("outcome") != "unknown":
            release_cooldown(integration.id, event_type, phone.e164,
                             claimed_at)
        log.info("3cx integration=%s %s not sent: %s", integration.id,
                 event_type, error.code)
        return ("skipped", "not_sent",
                SKIP_REASONS.get(error.code, error.code), None)
    return ("processed", "sent", None, outcome)


def get_sender():
    return current_app.extensions["gateway"]["sender"]


def build_answer(event_type, status, action, reason=None, outcome=None):
    """A ``ThreeCxWebhookResponse`` body."""
    body = {"success": True, "status": status, "event_type": event_type,
            "action": action}
    if reason:
        body["reason"] = reason
    if outcome is not None:
        body["message_id"] = outcome.message_id
        body["log_id"] = outcome.log_id
    return body


def record_event(integration, event_type, key, phone, status, action,
                 reason=None):
    row = ThreeCxEvent.create(integration=integration.id,
                              event_type=event_type, dedupe_key=key,
                              phone=phone, status=status, action=action,
                              reason=reason)
    log.info("3cx integration=%s event=%s id=%s %s/%s", integration.id,
             event_type, row.id, status, action)
    if row.id % PURGE_EVERY == 0:
        purge_old(utcnow())
    return row


def claim_event(integration, event_type, key, phone):
    """Insert the event first; None when its key is taken (a repeat).

    The unique index decides between concurrent workers, so exactly
    one of them processes a repeated event.
    """
    try:
        with db.atomic():
            return record_event(integration, event_type, key, phone,
                                "processing", None)
    except IntegrityError:
        return None


def answer_duplicate(integration, event_type, key):
    """The 200 ``duplicate`` answer, with what the original did."""
    original = ThreeCxEvent.get_or_none(
        (ThreeCxEvent.integration == integration.id)
        & (ThreeCxEvent.dedupe_key == key))
    log.info("3cx integration=%s event=%s duplicate of id=%s",
             integration.id, event_type, original and original.id)
    body = build_answer(event_type, "duplicate", "ignored")
    if original is not None:
        body["original_status"] = original.status
        if original.message_id:
            body["message_id"] = original.message_id
    return body


def finish_event(row, status, action, reason, outcome):
    (ThreeCxEvent.update(
        status=status, action=action, reason=reason,
        message_log_id=outcome.log_id if outcome else None,
        message_id=outcome.message_id if outcome else None)
     .where(ThreeCxEvent.id == row.id).execute())
    log.info("3cx integration=%s event=%s id=%s %s/%s%s",
             row.integration_id, row.event_type, row.id, status, action,
             " (%s)" % reason if reason else "")
    return build_answer(row.event_type, status, action, reason, outcome)


def finish_failed(row, error):
    """Record an error answer; free the key unless it may have sent.
    True when the key was freed (certainly nothing sent)."""
    unknown = error.details.get("outcome") == "unknown"
    changes = {"status": "error", "action": "not_sent",
               "reason": error.code}
    if not unknown:
        # Nothing went out: the same event may be retried.
        changes["dedupe_key"] = None
    ThreeCxEvent.update(**changes).where(
        ThreeCxEvent.id == row.id).execute()
    return not unknown


def claim_cooldown(integration_id, event_type, phone):
    """Take the cooldown of ``event_type`` for ``phone``; None if busy.

    One IMMEDIATE transaction: concurrent workers queue on SQLite's write
    lock, so the conditional UPDATE lets exactly one of them through.
    """
    now = utcnow()
    own = COOLDOWNS.get(event_type, COOLDOWN)
    with db.atomic("IMMEDIATE"):
        # One phone's cooldowns are read and taken by one worker at a
        # time, on any host (PostgreSQL locks rows, not the database).
        store.lock("3cx-cooldown:%s:%s" % (integration_id, phone))
        if is_caller_cooling_down(integration_id, phone, now):
            return None
        (ThreeCxCooldown.insert(integration=integration_id,
                                group=event_type, phone=phone,
                                last_sent_at=_EPOCH)
         .on_conflict_ignore().execute())
        taken = (ThreeCxCooldown.update(last_sent_at=now)
                 .where((ThreeCxCooldown.integration == integration_id)
                        & (ThreeCxCooldown.group == event_type)
                        & (ThreeCxCooldown.phone == phone)
                        & (ThreeCxCooldown.last_sent_at <= now - own))
                 .execute())
    return now if taken else None


def is_caller_cooling_down(integration_id, phone, now):
    """Whether any customer-facing event sent to ``phone`` within its
    own cooldown (one row per event type, on the unique index)."""
    sent = (ThreeCxCooldown.select(ThreeCxCooldown.group,
                                   ThreeCxCooldown.last_sent_at)
            .where((ThreeCxCooldown.integration == integration_id)
                   & ThreeCxCooldown.group.in_(rules.TEMPLATE_EVENTS)
                   & (ThreeCxCooldown.phone == phone)).tuples())
    return any(last_sent_at > now - COOLDOWNS.get(group, COOLDOWN)
               for group, last_sent_at in sent)


def release_cooldown(integration_id, event_type, phone, claimed_at):
    """Give back a cooldown whose send was refused (not if re-taken)."""
    (ThreeCxCooldown.update(last_sent_at=_EPOCH)
     .where((ThreeCxCooldown.integration == integration_id)
            & (ThreeCxCooldown.group == event_type)
            & (ThreeCxCooldown.phone == phone)
            & (ThreeCxCooldown.last_sent_at == claimed_at))
     .execute())


def purge_old(now):
    """Drop events past retention (keys live 30 days, over the 24 h
    minimum) and cooldowns long expired; bounded per call."""
    cutoff = now - EVENT_RETENTION
    old = (ThreeCxEvent.select(ThreeCxEvent.id)
           .where(ThreeCxEvent.created_at < cutoff).limit(500))
    ThreeCxEvent.delete().where(ThreeCxEvent.id.in_(old)).execute()
    stale = now - max(COOLDOWNS.values()) - COOLDOWN
    ThreeCxCooldown.delete().where(
        ThreeCxCooldown.last_sent_at < stale).execute()


# -- integrations ---------------------------------------------------------

def generate_secret():
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def load_templates(integration):
    """``{event: (text, enabled)}``: defaults with this one's overrides."""
    overrides = json.loads(integration.templates or "{}")
    result = {}
    for event, (text, enabled) in rules.DEFAULT_TEMPLATES.items():
        custom = overrides.get(event, {})
        result[event] = (custom.get("text", text),
                         custom.get("enabled", enabled))
    return result


def create_integration(customer_id, instance_ref, business_name="",
                       timezone="UTC", country=None, business_hours=""):
    """Create an integration; return ``(row, secret)``.

    The secret is returned once here; only its hash is stored.
    """
    customer = Customer.get_or_none(Customer.id == customer_id)
    if customer is None:
        raise IntegrationError("no customer with id %s" % customer_id)
    instance = find_instance(customer, instance_ref)
    check_zone(timezone)
    country = check_country(country)
    secret = generate_secret()
    # after_hours shows the hours: without them it starts switched off.
    templates = "{}" if (business_hours or "").strip() else json.dumps(
        {"after_hours": {"enabled": False}})
    row = ThreeCxIntegration.create(
        customer=customer, instance=instance, business_name=business_name,
        business_hours=business_hours, timezone=timezone, country=country,
        secret_hash=rules.hash_secret(secret), templates=templates)
    log.info("3cx integration=%s created for customer=%s", row.id,
             customer.id)
    return row, secret


def find_instance(customer, ref):
    row = store.find_instance(ref, customer.id)
    if row is None:
        raise IntegrationError("customer %s has no instance %r"
                               % (customer.id, ref))
    return row


def check_zone(name):
    try:
        rules.load_zone(name)
    except ValueError as exc:
        raise IntegrationError(str(exc)) from None


def check_country(code):
    if code is None or code == "":
        return None
    code = code.upper()
    if not rules.is_region(code):
        raise IntegrationError("unknown country %r (use an ISO code such "
                               "as SA)" % code)
    return code


def rotate_secret(integration):
    """Replace the secret at once; return the new one (shown once)."""
    secret = generate_secret()
    (ThreeCxIntegration.update(secret_hash=rules.hash_secret(secret),
                               secret_rotated_at=utcnow())
     .where(ThreeCxIntegration.id == integration.id).execute())
    log.info("3cx integration=%s secret rotated", integration.id)
    return secret


def set_template(integration, event, text=None, enabled=None,
                 content_rules=None):
    """Change one call template's text and/or switch; validates text."""
    if event not in rules.TEMPLATE_EVENTS:
        raise IntegrationError("no template for %r; events with templates: "
                               "%s" % (event, ", ".join(
                                   rules.TEMPLATE_EVENTS)))
    overrides = json.loads(integration.templates or "{}")
    custom = overrides.setdefault(event, {})
    if text is not None:
        try:
            rules.validate_template(text, content_rules)
        except ValueError as exc:
            raise IntegrationError("template %s: %s" % (event, exc)) \
                from None
        custom["text"] = text
    if enabled is not None:
        custom["enabled"] = bool(enabled)
    integration.templates = json.dumps(overrides, sort_keys=True)


def integration_to_dict(row):
    """An integration for the admin; never a secret."""
    return {
        "id": row.id,
        "customer_id": row.customer_id,
        "instance": row.instance.name,
        "webhook_path": "/integrations/3cx/webhook/%d" % row.id,
        "enabled": row.enabled,
        "business_name": row.business_name,
        "business_hours": row.business_hours,
        "timezone": row.timezone,
        "country": row.country,
        "call_events": row.call_events_enabled,
        "outbound": row.outbound_enabled,
        "strict_window": row.strict_window,
        "min_phone_digits": row.min_phone_digits,
        "hmac": bool(row.hmac_secret),
        "allowed_ips": [str(n) for n in rules.parse_networks(
            row.allowed_ips)],
        "templates": {event: {"text": text, "enabled": enabled}
                      for event, (text, enabled)
                      in load_templates(row).items()},
        "created_at": row.created_at,
        "secret_rotated_at": row.secret_rotated_at,
    }


def event_to_dict(row):
    return {"id": row.id, "event_type": row.event_type, "phone": row.phone,
            "status": row.status, "action": row.action,
            "reason": row.reason, "message_id": row.message_id,
            "log_id": row.message_log_id, "created_at": row.created_at}
