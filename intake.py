"""Evolution API webhook intake: authenticate, normalise, act, emit.

Evolution posts each instance's events to
``POST /webhooks/evolution/<instance>`` (with ``byEvents`` on, a suffix such
as ``/messages-upsert`` is appended, which is accepted and ignored).  The
instance is authenticated by its webhook secret, sent back by Evolution
either as the custom header ``X-Gateway-Secret`` or as the HS256 key of the
bearer JWT Evolution 2.3+ sends when the header ``jwt_key`` is configured.

Everything an event causes (customer events and their deliveries, opt-out
suppressions, conversation windows, status ranks, the raw event itself)
is written in one transaction before the 2xx, so an acknowledged event is
never lost; a duplicate or a stale status emits nothing.
"""
import hmac
import json
import logging
import warnings

import jwt
from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from peewee import OperationalError

import normalizer
import store
from errors import ApiError
from store import Instance
from store import Suppression
from store import db
from store import find_instance
from store import open_window
from webhooks import emit_event
from webhooks import log_id_for

log = logging.getLogger(__name__)

bp = Blueprint("intake", __name__)

SECRET_HEADER = "X-Gateway-Secret"
MAX_INTAKE_BYTES = 8 * 1024 * 1024
CONNECTION_STATES = {"instance.connected": "open",
                     "instance.disconnected": "close",
                     "instance.connection_updated": "connecting"}
RECEIPT_EVENTS = ("message.delivered", "message.read",
                  "message.status_updated")


@bp.post("/webhooks/evolution/<ref>")
@bp.post("/webhooks/evolution/<ref>/<path:suffix>")
def receive_evolution_webhook(ref, suffix=None):
    """Take one Evolution webhook for instance ``ref`` (id or name)."""
    request.max_content_length = MAX_INTAKE_BYTES
    instance = authenticate_instance(ref)
    raw = request.get_data(cache=False)
    summary = accept_evolution_event(
        instance, raw, current_app.extensions["gateway"]["sender"])
    return jsonify({"success": True, "outcome": summary})


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
        try:
            with warnings.catch_warnings():
                # Short keys draw PyJWT's InsecureKeyLengthWarning; the
                # key length is Evolution's operator's choice, not ours.
                warnings.simplefilter("ignore")
                jwt.decode(token.strip(), instance.webhook_secret,
                           algorithms=["HS256"],
                           options={"require": ["exp", "iat"]})
            return instance
        except jwt.PyJWTError:
            pass
    raise unauthorized()


def accept_evolution_event(instance, raw, sender=None):
    """Store and act on one Evolution webhook body; return its outcome."""
    try:
        envelope = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        envelope = None
    name = envelope.get("event") if isinstance(envelope, dict) else None
    name = str(name)[:60] if name is not None else None
    try:
        with db.atomic("IMMEDIATE"):
            outcome, emitted, opted_out = process_envelope(instance,
                                                           envelope)
            store.record_inbound(instance.id, name,
                                 stored_body(raw), outcome,
                                 emitted)
    except OperationalError:
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
        store.record_inbound(instance.id, name,
                             stored_body(raw), "error")
        return "error"
    if opted_out and sender is not None:
        sender.check_breaker(instance)
    return outcome


def stored_body(raw):
    """The raw body as text any database keeps (PostgreSQL has no NUL)."""
    return raw.decode("utf-8", "replace").replace("\x00", "\ufffd")


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
        if event.event in RECEIPT_EVENTS and not advance_status(
                instance, event):
            continue
        payload = dict(event.payload)
        if event.message_id and event.event in RECEIPT_EVENTS:
            log_id = log_id_for(instance.id, event.message_id)
            if log_id:
                payload["log_id"] = log_id
        emitted += emit_event(instance.customer_id, instance, event.event,
                              payload) or 0
        if event.event in CONNECTION_STATES:
            Instance.update(
                connection_state=CONNECTION_STATES[event.event]).where(
                Instance.id == instance.id).execute()
        if event.event == "message.received" and event.phone:
            count, opted = handle_inbound(instance, event)
            emitted += count
            opted_out = opted_out or opted
    return ("processed" if new else "duplicate"), emitted, opted_out


def mark_seen(key):
    """True the first time ``key`` is seen: one fact, one event."""
    return store.mark_seen(key)


def advance_status(instance, event):
    """Record a status rank; False when it would move backwards."""
    if event.status_rank is None or not event.message_id:
        return True
    # One upsert whose RETURNING row exists only if it inserted or raised
    # the rank: no read to race with.
    return store.raise_status(instance.id, event.message_id,
                              event.status_rank)


def handle_inbound(instance, event):
    """Open the number's window; act on STOP / START keywords.

    Returns ``(events emitted, whether the sender just opted out)``.
    """
    open_window(instance.customer_id, event.phone)
    keyword = normalizer.classify_keyword(event.text or "")
    if keyword == "opt_out":
        created = list(Suppression.insert(
            customer=instance.customer_id, phone=event.phone,
            reason="opt_out", instance=instance.id)
            .on_conflict_ignore().returning(Suppression.id).execute())
        if not created:
            return 0, False
        log.info("instance=%s: recipient opted out", instance.id)
        payload = {k: event.payload[k] for k in (
            "instance_id", "instance_name", "timestamp")}
        payload.update({"from": event.phone,
                        "reason": "recipient_requested_stop",
                        "message_text": (event.text or "").strip()[:40]})
        return emit_event(instance.customer_id, instance,
                          "recipient.opted_out", payload), True
    if keyword == "opt_in":
        # Only an opt-out the recipient made is theirs to lift.
        Suppression.delete().where(
            (Suppression.customer == instance.customer_id)
            & (Suppression.phone == event.phone)
            & (Suppression.reason == "opt_out")).execute()
    return 0, False
