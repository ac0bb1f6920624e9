"""Evolution API webhook intake: authenticate, normalise, act, emit.

Evolution posts each instance's events to
``POST /webhooks/evolution/<instance>`` (with ``byEvents`` on, a suffix such
as ``/messages-upsert`` is appended, which is accepted and ignored; a
trailing slash, and the double slash it gives with ``byEvents``, work
too).  The instance is authenticated by its webhook secret, sent back by
Evolution either as the custom header ``X-Gateway-Secret`` or as the HS256
key of the bearer JWT Evolution 2.3+ sends when the header ``jwt_key`` is
configured (its ``iat``/``exp`` are checked with ``JWT_LEEWAY`` seconds of
clock skew allowed: a 401 is never retried by Evolution, so a strict
check would lose every event of a server whose clock runs ahead).

Identity: every LID <-> phone pair an event reveals is remembered for the
customer (``store.LidPair``); an event from a LID-only contact whose pair
is known is treated as coming from that phone (``from``, suppression,
window), otherwise it is delivered with the LID JID in ``from``.  A
message opens its conversation window from its own timestamp, not its
arrival.

Everything an event causes (customer events and their deliveries, opt-out
suppressions, conversation windows, status ranks, the raw event itself)
is written in one transaction before the 2xx, so an acknowledged event is
never lost; a duplicate or a stale status emits nothing.
"""
import dataclasses
import datetime
import hmac
import json
import logging
import re
import time
import warnings

import jwt
from flask import Blueprint
from flask import current_app
from flask import Response
from flask import request
from peewee import OperationalError

import normalizer
import observability
import store
import threecx_chat
from errors import ApiError
from errors import read_body_within
from store import ConversationWindow
from store import Instance
from store import Suppression
from store import db
from store import find_instance
from store import open_window
from store import phone_for_lid
from store import remember_lid
from store import utcnow
from webhooks import emit_event
from webhooks import log_row_for

log = logging.getLogger(__name__)

bp = Blueprint("intake", __name__)

SECRET_HEADER = "X-Gateway-Secret"
# A body this large is scanned for base64 media before it is stored.
MEDIA_SCAN_BYTES = 64 * 1024
CONNECTION_STATES = {"instance.connected": "open",
                     "instance.disconnected": "close",
                     "instance.connection_updated": "connecting"}
RECEIPT_EVENTS = ("message.delivered", "message.read",
                  "message.status_updated")
JWT_LEEWAY = 120  # seconds of clock skew allowed on iat / exp
# Evolution signs a webhook's JWT once, before its retries (exp = iat +
# 600), and retries for up to ~20 minutes plus a 30 s timeout per
# attempt (reference section 6): a token is taken while its iat is this
# recent, whatever its exp says, or the last attempts of an event that
# failed at first would all be refused (a 401 Evolution never retries).
JWT_MAX_AGE = 30 * 60
# The latest an Evolution retry arrives after its event (same reason).
RETRY_HORIZON = datetime.timedelta(minutes=35)
GONE_STATES = {"instance.logged_out": "close",
               "instance.removed": "not_found"}


@bp.post("/webhooks/evolution/<ref>", merge_slashes=False)
@bp.post("/webhooks/evolution/<ref>/", merge_slashes=False)
@bp.post("/webhooks/evolution/<ref>/<path:suffix>", merge_slashes=False)
# byEvents appends "/<event>" to the stored URL verbatim: a stored
# trailing slash gives "//messages-upsert".
@bp.post("/webhooks/evolution/<ref>//<path:suffix>", merge_slashes=False)
def receive_evolution_webhook(ref, suffix=None):
    """Take one Evolution webhook for instance ``ref`` (id or name)."""
    instance = authenticate_instance(ref)
    limit = current_app.extensions["gateway"]["settings"].INTAKE_MAX_BYTES
    # Evolution retries a 413 and then drops the event: the limit is
    # Evolution's own (GATEWAY_INTAKE_MAX_BYTES), not a smaller one.
    raw = read_body_within(limit, "The webhook body is larger than %d "
                           "bytes (GATEWAY_INTAKE_MAX_BYTES)." % limit)
    summary = accept_evolution_event(
        instance, raw, current_app.extensions["gateway"]["sender"])
    # A handful of possible answers, each encoded once (Evolution sends
    # one of these per message and per receipt).
    body = _ANSWERS.get(summary)
    if body is None:
        body = _ANSWERS[summary] = json.dumps(
            {"success": True, "outcome": summary},
            separators=(",", ":")).encode()
    return Response(body, mimetype="application/json")


_ANSWERS = {}


def unauthorized():
    return ApiError(401, "unauthorized", "Unauthorized.")


def authenticate_instance(ref):
    """The instance whose secret this request carries, else a bare 401."""
    instance = find_instance(ref)
    if instance is None:
        raise unauthorized()
    secret = instance.webhook_secret.encode("utf-8")
    given = request.headers.get(SECRET_HEADER)
    if given is not None:
        if hmac.compare_digest(given.encode("utf-8"), secret):
            return instance
        raise unauthorized()
    scheme, _, token = request.headers.get("Authorization", "").partition(
        " ")
    if scheme.lower() == "bearer" and token:
        if valid_jwt(token.strip(), instance.webhook_secret):
            return instance
    raise unauthorized()


def valid_jwt(token, key, now=None):
    """Evolution's webhook JWT: HS256 under the instance's secret, its
    ``iat`` not in the future and at most ``JWT_MAX_AGE`` old (both with
    ``JWT_LEEWAY`` of clock skew), ``exp`` present and after ``iat``."""
    try:
        with warnings.catch_warnings():
            # Short keys draw PyJWT's InsecureKeyLengthWarning; the key
            # length is Evolution's operator's choice, not ours.
            warnings.simplefilter("ignore")
            claims = jwt.decode(token, key, algorithms=["HS256"],
                                leeway=JWT_LEEWAY,
                                options={"require": ["exp", "iat"],
                                         "verify_exp": False})
    except jwt.PyJWTError:
        return False
    issued, expires = claims["iat"], claims["exp"]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool)
               for v in (issued, expires)) or expires < issued:
        return False
    now = time.time() if now is None else now
    return now - issued <= JWT_MAX_AGE + JWT_LEEWAY


def accept_evolution_event(instance, raw, sender=None):
    """Store and act on one Evolution webhook body; return its outcome."""
    if len(raw) > MEDIA_SCAN_BYTES:
        # Media bytes (base64 on) are neither read nor kept: cut once,
        # before any copy of them is made.
        raw = omit_media(raw)
    try:
        envelope = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        envelope = None
    name = envelope.get("event") if isinstance(envelope, dict) else None
    name = str(name)[:60] if name is not None else None
    # Evolution puts its API key in every webhook body: never stored.
    stored = stored_body(raw)
    try:
        with db.atomic("IMMEDIATE"):
            outcome, emitted, opted_out = process_envelope(instance,
                                                           envelope)
            store.record_inbound(instance.id, name, stored, outcome,
                                 emitted)
    except OperationalError:
        observability.count_intake("unavailable")
        # The database is busy or failing, not the payload: a 503 makes
        # Evolution retry, where a 200 would drop the event.
        log.warning("instance=%s: database busy, asking Evolution to retry",
                    instance.id)
        raise ApiError(503, "unavailable", "Busy; retry shortly.",
                       headers={"Retry-After": "5"})
    except Exception:
        # Never a 500 for Evolution's payloads: keep the body to look at.
        log.exception("instance=%s: could not process %s event",
                      instance.id, name)
        store.record_inbound(instance.id, name, stored, "error")
        observability.count_intake("error")
        return "error"
    observability.count_intake(outcome)
    if opted_out and sender is not None:
        sender.check_breaker(instance)
    return outcome


# Strings as "[^"\\]*(?:\\.[^"\\]*)*" (the loop unrolled): linear, and with
# no per-character state; the "(?:[^"\\]|\\.)*" form held ~170 bytes per
# character of a match (1.8 GB for a 10 MB media string).
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_APIKEY = re.compile(r'("apikey"\s*:\s*)' + _STRING, re.IGNORECASE)


def redact_apikey(text):
    """``text`` with the value of every ``"apikey"`` member blanked."""
    return _APIKEY.sub(r'\1"[redacted]"', text)


_BASE64 = re.compile(rb'("base64"\s*:\s*)' + _STRING.encode())


def omit_media(raw):
    """``raw`` (bytes) with every ``"base64"`` member's value (a media
    file, when Evolution's base64 option is on) replaced by its length:
    cut before the body is decoded, so no text copy of the file is
    made."""
    return _BASE64.sub(
        lambda m: b'%s"[omitted: %d characters]"' % (
            m.group(1), m.end() - m.start() - len(m.group(1)) - 2), raw)


def stored_body(raw):
    """The raw body (its media already cut: ``omit_media``) as text any
    database keeps (PostgreSQL has no NUL), without Evolution's API
    key."""
    return redact_apikey(
        raw.decode("utf-8", "replace").replace("\x00", "\ufffd"))


def process_envelope(instance, envelope):
    """Act on a parsed envelope.

    Returns ``(outcome, events emitted, whether someone opted out)``.
    """
    if envelope is None:
        return "ignored", 0, False
    events = normalizer.normalize(envelope, str(instance.id), instance.name)
    if not events:
        return "ignored", 0, False
    emitted, new, opted_out = 0, False, False
    for event in events:
        if not mark_seen(event.dedupe_key):
            continue
        new = True
        for lid, phone in event.pairs:
            learn_pair(instance.customer_id, lid, phone)
        if event.event in RECEIPT_EVENTS and not advance_status(
                instance, event):
            continue
        payload = dict(event.payload)
        if event.message_id and event.event in RECEIPT_EVENTS:
            row = log_row_for(instance.id, event.message_id)
            if row:
                log_id, sent_to = row
                payload["log_id"] = log_id
                if event.lid and sent_to:
                    # A receipt from the LID of a number we sent to.
                    learn_pair(instance.customer_id, event.lid, sent_to)
        event = resolve_lid(instance, event, payload)
        if event.event in GONE_STATES:
            set_state(instance, GONE_STATES[event.event], event.occurred_at)
            continue
        if event.event not in normalizer.INTERNAL_EVENTS:
            emitted += emit_event(instance.customer_id, instance,
                                  event.event, payload) or 0
        if event.event in CONNECTION_STATES:
            set_state(instance, CONNECTION_STATES[event.event],
                      event.occurred_at)
        if event.event == "message.received" and (event.phone or event.lid):
            count, opted = handle_inbound(instance, event)
            emitted += count
            opted_out = opted_out or opted
        # After opt-out handling: 3CX chat forwarding and receipts.
        emitted += threecx_chat.on_intake_event(instance, event,
                                                envelope.get("sender"))
    return ("processed" if new else "duplicate"), emitted, opted_out


def learn_pair(customer_id, lid, phone):
    """Remember that ``lid`` is ``phone``; what the LID did while its
    phone was unknown (an opt-out, an open window) now holds for the
    phone too."""
    if phone_for_lid(customer_id, lid) == phone:
        return
    remember_lid(customer_id, lid, phone)
    opted_out = Suppression.select(Suppression.instance).where(
        (Suppression.customer == customer_id) & (Suppression.phone == lid)
        & (Suppression.reason == "opt_out")).first()
    if opted_out is not None:
        Suppression.insert(customer=customer_id, phone=phone,
                           reason="opt_out",
                           instance=opted_out.instance_id
                           ).on_conflict_ignore().execute()
    window = ConversationWindow.select().where(
        (ConversationWindow.customer == customer_id)
        & (ConversationWindow.phone == lid)).first()
    if window is not None:
        open_window(customer_id, phone, at=window.last_inbound_at)


def set_state(instance, state, at=None):
    """Store the state an event reports, unless the state already came
    from a later event (Evolution retries each webhook on its own, so a
    late ``connecting`` can follow the ``open`` it preceded).  One
    conditional UPDATE: no read to race with."""
    if at is None:
        Instance.update(connection_state=state).where(
            Instance.id == instance.id).execute()
        return
    at = at.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    Instance.update(connection_state=state, state_event_at=at).where(
        (Instance.id == instance.id)
        & (Instance.state_event_at.is_null()
           | (Instance.state_event_at <= at)
           # Older than any retry can be late: Evolution's clock moved
           # (its date_time is local time with a "Z"; a new time zone,
           # the end of summer time), not a late retry.
           | (Instance.state_event_at > at + RETRY_HORIZON))).execute()


def resolve_lid(instance, event, payload):
    """A LID-only counterpart whose phone is known becomes that phone."""
    if event.phone or not event.lid:
        return event
    phone = phone_for_lid(instance.customer_id, event.lid)
    if phone is None:
        return event  # delivered as is: ``from`` holds the LID JID
    for name in ("from", "conversation_id"):
        if name in payload:
            payload[name] = phone
    event.payload.update({k: payload[k] for k in ("from", "conversation_id")
                          if k in payload})
    return dataclasses.replace(event, phone=phone)


def mark_seen(key):
    """True the first time ``key`` is seen: one fact, one event."""
    return store.mark_seen(key)


def advance_status(instance, event):
    """Record a status rank; False when it would move backwards."""
    if event.status_rank is None or not event.message_id:
        return True
    # One upsert whose RETURNING row exists only if it inserted or raised
    # the rank: no read to race with.
    if not store.raise_status(instance.id, event.message_id,
                              event.status_rank):
        return False
    # When each status was reached: the console's message timeline.
    store.record_receipt(instance.id, event.message_id, event.status_rank)
    return True


def handle_inbound(instance, event):
    """Open the number's window; act on STOP / START keywords.

    Keyed on the sender's canonical phone, or on its LID (``...@lid``)
    while its phone is unknown: ``learn_pair`` carries both over to the
    phone once it is learned.  Returns ``(events emitted, whether the
    sender just opted out)``.
    """
    who = event.phone or event.lid
    # From the message's own time: a late or backlog message must not
    # open a fresh 24 hours (never later than now, whatever its clock).
    now = utcnow()
    at = now
    if event.occurred_at is not None:
        at = min(now, event.occurred_at.astimezone(
            datetime.timezone.utc).replace(tzinfo=None))
    open_window(instance.customer_id, who, at=at)
    keyword = normalizer.classify_keyword(event.text or "")
    if keyword == "opt_out":
        created = list(Suppression.insert(
            customer=instance.customer_id, phone=who,
            reason="opt_out", instance=instance.id)
            .on_conflict_ignore().returning(Suppression.id).execute())
        if not created:
            return 0, False
        log.info("instance=%s: recipient opted out", instance.id)
        payload = {k: event.payload[k] for k in (
            "instance_id", "instance_name", "timestamp")}
        payload.update({"from": event.payload.get("from") or who,
                        "reason": "recipient_requested_stop",
                        "message_text": (event.text or "").strip()[:40]})
        return emit_event(instance.customer_id, instance,
                          "recipient.opted_out", payload), True
    if keyword == "opt_in":
        # Only an opt-out the recipient made is theirs to lift.
        Suppression.delete().where(
            (Suppression.customer == instance.customer_id)
            & (Suppression.phone == who)
            & (Suppression.reason == "opt_out")).execute()
    return 0, False
