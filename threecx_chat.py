"""3CX two-way chat: the gateway as 3CX v20's "Generic" SMS provider.

Agents answer WhatsApp in the 3CX Chat they already use.  The contract
is ``shared/reference/3cx-sms-provider.md``; per 3CX integration:

* 3CX -> WhatsApp.  ``POST /integrations/3cx/messaging/{integration_id}``
  is the "Provider URL" pasted into 3CX.  3CX posts ``{"from", "to",
  "text"}`` with ``Authorization: Bearer <messaging key>``; the reply goes
  through ``GuardedSender`` like every message (purpose ``support``, the
  integration's instance, suppressions, content policy, quotas,
  throttles) after the strict conversation window (the customer wrote in
  the last 24 hours).  Order: the generic 401 (id, integration enabled,
  key against its SHA-256, IP allowlist), 413, the 3cx module (403), the
  body (400), ``from`` must be the integration's number (403), outbound
  on (403), duplicate check, window (422), then the sender's own guards
  with their send-API statuses (403, 423, 429, 502).  Success is a 200
  whose JSON carries the WhatsApp message id at ``data.id`` and
  ``data.payload.id`` (3CX may read either); every refusal is non-2xx with
  the contract's error body and a ``chat_send`` row in ``gateway 3cx
  events``.
* WhatsApp -> 3CX.  The intake calls ``on_intake_event`` for every new
  event, inside its transaction: a 1:1 message (after opt-out handling)
  becomes a Telnyx-style ``message.received`` envelope queued in the
  webhook outbox for the integration's 3CX webhook (an endpoint of kind
  ``3cx``): retried, dead-lettered and replayable like customer
  webhooks, under their SSRF rules unless the operator allowed that one
  endpoint a private network; a 4xx from 3CX other than 408 and 429 is
  not retried (``webhooks.is_final_refusal``), and an endpoint 3CX
  disabled with 410 gets nothing more.  Groups and contacts without a
  known phone number are not forwarded (``note_not_forwarded``).  With
  status events on, replies also produce ``message.sent`` and, on
  WhatsApp's delivery receipt or error, ``message.finalized``.

Never logged: message text, keys, the 3CX webhook URL (its path token is
3CX's only credential) and phone numbers.  Set-up (``gateway 3cx
messaging``) lives in ``threecx_chat_setup.py``.
"""
import datetime
import hashlib
import hmac
import logging
import time
import uuid

from flask import Blueprint
from flask import current_app
from flask import jsonify
from flask import request
from limits import RateLimitItemPerMinute
from peewee import OperationalError

import identity
import observability
import store
import threecx
import threecx_rules as rules
import webhooks
from errors import ApiError
from normalizer import jid_to_e164
from policy import to_e164
from schema import parse_json
from schema.fields import has_visible_character
from store import Customer
from store import WebhookEndpoint
from store import db
from store import utcnow
from threecx import ThreeCxEvent
from threecx import ThreeCxIntegration

log = logging.getLogger(__name__)

bp = Blueprint("threecx_chat", __name__)

PATH = "/integrations/3cx/messaging/%d"
KEY_PREFIX = "w3cxm_"
# The 3CX endpoint's ``events``: no customer event has this name, so
# ``webhooks.emit_event`` never queues customer events for a PBX.
ENDPOINT_EVENTS = "3cx.chat"
SEND_EVENT = "chat_send"
INBOUND_EVENT = "chat_inbound"
PURPOSE = "support"
SOURCE = "3cx-chat"
# A request repeated (by 3CX or a proxy) with the same from, to and text
# within this many seconds of the first, and before the customer wrote
# again, is answered from the first one, not sent again.
DEDUPE_SECONDS = 60
# A wrong key lands in ``gateway 3cx events`` at most this often.
AUTH_FAILURE_RECORDS = RateLimitItemPerMinute(1)
# Evolution receipt events -> 3CX status event and Telnyx status.
RECEIPTS = {
    ("message.delivered", "delivered"): ("message.finalized", "delivered"),
    # Read (or played) is delivered too, when no delivery receipt came
    # first (reference 3.4; see relay_receipt).
    ("message.read", "read"): ("message.finalized", "delivered"),
    ("message.read", "played"): ("message.finalized", "delivered"),
    ("message.status_updated", "failed"): ("message.finalized",
                                           "sending_failed"),
}
_DUMMY_HASH = rules.hash_secret("no messaging key")
# Not forwarded and not worth a 3CX event row each (see
# note_not_forwarded): the metric and a debug line say it.
QUIET_SKIPS = ("group_chat", "module_not_enabled", "number_not_configured")
# WhatsApp "messages" that are really actions on other messages: an SMS
# chat has no place for them.
NOT_FORWARDED_TYPES = ("reaction", "protocol", "edited", "poll_update",
                       "keep_in_chat", "pin_in_chat", "message_history_bundle")


# -- 3CX -> WhatsApp: the provider endpoint --------------------------------

@bp.post("/integrations/3cx/messaging/<integration_id>")
def receive_agent_message(integration_id):
    """Send an agent's reply from 3CX to WhatsApp, or say why not."""
    # The same failed-authentication budget as the call-events route
    # (whose refusals count against it too).
    threecx.check_auth_failures()
    integration = authenticate(integration_id)
    phone = None
    try:
        body = threecx.read_body()
        if not integration.customer.has_module("3cx"):
            raise ApiError(403, "module_not_enabled",
                           "The 3cx module is not enabled for this "
                           "account.", {"module": "3cx"})
        message = parse_send_request(integration, body)
        phone = message["to"]
    except ApiError as error:
        record_refusal(integration, phone, error)
        raise
    body, headers = send_agent_message(integration, message)
    response = jsonify(body)
    response.headers.update(headers)  # the send API's RateLimit fields
    return response


def authenticate(integration_id):
    """The integration whose messaging key this request carries.

    Every failure is the 3CX route's one generic 401; the key is compared
    through its SHA-256 in constant time, for unknown integrations too.
    """
    if not store.ID_PATTERN.fullmatch(integration_id):
        raise threecx.refuse("-", "non-numeric id")
    integration = (ThreeCxIntegration.select(ThreeCxIntegration, Customer)
                   .join(Customer)
                   .where(ThreeCxIntegration.id == int(integration_id))
                   .first())
    scheme, _, given = request.headers.get("Authorization", "").partition(
        " ")
    given = given.strip() if scheme.lower() == "bearer" else ""
    stored = (integration.messaging_key_hash if integration is not None
              and integration.messaging_key_hash else _DUMMY_HASH)
    matches = hmac.compare_digest(rules.hash_secret(given), stored)
    if integration is None or not integration.enabled:
        raise threecx.refuse(integration_id,
                             "unknown or disabled integration")
    if not integration.messaging_key_hash:
        raise threecx.refuse(integration_id, "messaging not set up")
    if not given or not matches:
        note_auth_failure(integration)
        raise threecx.refuse(integration_id,
                             "wrong or missing messaging key")
    networks = rules.parse_networks(integration.allowed_ips)
    if networks:
        trusted = rules.parse_networks(",".join(
            current_app.extensions["gateway"]["settings"].TRUSTED_PROXIES))
        address = rules.find_client_address(
            request.remote_addr, request.headers.get("X-Forwarded-For"),
            trusted)
        if not rules.is_address_allowed(address, networks):
            note_auth_failure(integration)
            raise threecx.refuse(integration_id, "address not allowed")
    return integration


def note_auth_failure(integration):
    """Show a refused key in ``gateway 3cx events`` (once a minute: a
    flood of bad requests must not fill the table)."""
    limiter = current_app.extensions["gateway"]["limiter"]
    if limiter.hit(AUTH_FAILURE_RECORDS, "3cx-chat-401",
                   str(integration.id)):
        threecx.record_event(integration, SEND_EVENT, None, None, "error",
                             "not_sent", "invalid_3cx_webhook")


def parse_send_request(integration, raw):
    """``{"from", "to", "text"}`` checked; 400 / 403 for what is not."""
    # 3CX sends application/json; the type is not insisted on, a body
    # that parses is taken (one less way for a PBX update to break it).
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise invalid({"_schema": ["Expected a JSON object."]})
    data = fold_field_names(data)
    unknown = sorted(set(data) - set(REQUEST_FIELDS))
    if unknown:
        log.info("3cx integration=%s chat request with unknown fields %s",
                 integration.id, ",".join(k[:30] for k in unknown[:10]))
    to = read_number(data.get("to"), "to", integration.country)
    if to is None:
        raise ApiError(400, "missing_phone",
                       "The request needs the customer's number in to.")
    sender = read_number(data.get("from"), "from", integration.country)
    number = integration.messaging_number
    # Stored as the trunk has it; compared as the guards key numbers.
    if number and sender and sender != canonical(number):
        raise ApiError(403, "number_not_allowed",
                       "from is not this integration's 3CX number.",
                       {"from": sender})
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        raise invalid({"text": ["Not a string."]})
    text = (text or "").strip()
    media = read_media(data.get("media_urls"))
    if media:
        # No media send yet: the links go as text so nothing is dropped.
        log.info("3cx integration=%s chat request with %d media urls",
                 integration.id, len(media))
        text = "\n".join([text] + media if text else media)
    if not has_visible_character(text):
        raise ApiError(400, "missing_message_text",
                       "The request needs text (or media_urls).")
    limit = current_app.extensions["gateway"]["settings"].MAX_MESSAGE_CHARS
    if len(text) > limit:
        raise invalid({"text": ["Longer than %d characters." % limit]})
    return {"from": sender or number, "to": to, "text": text}


def invalid(fields):
    return ApiError(400, "validation_error", "The request body is not "
                    "valid.", {"fields": fields})


REQUEST_FIELDS = ("from", "to", "text", "media_urls")


def fold_field_names(data):
    """The request's fields whatever their case: one 3CX connector
    template spells them ``From``, ``To``, ``Text``.  The lower-case
    spelling wins when both are sent."""
    folded = {}
    for name, value in data.items():
        lower = name.lower()
        if lower in REQUEST_FIELDS and lower != name:
            folded.setdefault(lower, value)
        else:
            folded[name] = value
    for name in REQUEST_FIELDS:
        if name in data:
            folded[name] = data[name]
    return folded


def read_number(value, field, region=None):
    """An E.164 number from a string, ``{"phone_number"}`` or a one-item
    list of either; None when absent; 400 when malformed."""
    if isinstance(value, list):
        if len(value) > 1:
            raise invalid({field: ["Exactly one number."]})
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("phone_number")
    if value is None or value == "":
        return None
    number = canonical(value, region) if isinstance(value, str) else None
    if number is None:
        raise invalid({field: ["Not a valid E.164 phone number."]})
    return number


def canonical(raw, region=None):
    """``raw`` as the one E.164 spelling every guard keys on (a Brazilian
    mobile with its ninth digit, a Mexican one without the 1: see
    ``identity.py``), or None when it is no valid number."""
    return (to_e164(identity.canonical_phone(raw) or raw)
            or to_e164(raw, region))


def read_media(value):
    if value is None:
        return []
    if not isinstance(value, list) or not all(
            isinstance(url, str) and url.startswith(("https://", "http://"))
            for url in value):
        raise invalid({"media_urls": ["Expected a list of http(s) URLs."]})
    return value[:10]


def send_agent_message(integration, message):
    """Window, duplicate check, guarded send: the 200 body and headers."""
    phone = message["to"]
    key, row = claim_send(integration, message)
    if row is None:
        return answer_duplicate(integration, key, message), {}
    try:
        if not integration.outbound_enabled:
            raise ApiError(403, "outbound_disabled",
                           "Outbound messages are off for this 3CX "
                           "integration.")
        if not store.window_is_open(integration.customer_id, phone):
            raise ApiError(422, "conversation_window_closed",
                           "The customer has not written in the last 24 "
                           "hours; WhatsApp replies must wait for them.",
                           {"window_hours": store.WINDOW_HOURS})
        outcome = current_app.extensions["gateway"]["sender"].send(
            integration.customer, str(integration.instance_id), phone,
            message["text"], PURPOSE, source=SOURCE, module="3cx")
    except ApiError as error:
        threecx.finish_failed(row, error)
        log.info("3cx integration=%s event=%s id=%s refused: %d %s",
                 integration.id, SEND_EVENT, row.id, error.status,
                 error.code)
        raise
    except Exception:
        # Unknown state: the key stays, so a repeat cannot send twice.
        threecx.finish_event(row, "error", "not_sent", "internal_error",
                             None)
        raise
    with db.atomic():
        threecx.finish_event(row, "processed", "sent", None, outcome)
        if integration.messaging_status_events and \
                integration.messaging_endpoint_id:
            queue_status(integration, outcome.message_id, message["from"],
                         phone, "message.sent", "sent")
    return (build_send_answer(outcome.message_id, outcome.log_id, message),
            outcome.headers)


def claim_send(integration, message):
    """``(key, event row)``, the row None when this request repeats one
    sent less than ``DEDUPE_SECONDS`` ago in the same turn of the
    conversation (the customer has not written since).

    Keyed on the turn (when the customer last wrote), not on a clock
    bucket: the same "ok" after the customer wrote again is a new
    message, and a retry a second after a minute's boundary is still a
    repeat.  An identical text after the window chains a new key off the
    previous one, so the unique index still decides between workers."""
    turn = store.last_inbound_at(integration.customer_id, message["to"])
    key = dedupe_key(integration.id, message, turn)
    while True:
        row = threecx.claim_event(integration, SEND_EVENT, key,
                                  message["to"])
        if row is not None:
            return key, row
        original = ThreeCxEvent.get_or_none(
            (ThreeCxEvent.integration == integration.id)
            & (ThreeCxEvent.dedupe_key == key))
        # Only a reply certainly sent, longer ago than the window, lets
        # the same text go again: one still sending (Evolution may take
        # a minute) or of unknown outcome (its key kept) is the answer.
        if original is None or original.status != "processed" or \
                utcnow() - original.created_at <= datetime.timedelta(
                    seconds=DEDUPE_SECONDS):
            return key, None
        key = dedupe_key(integration.id, message, original.id)


def dedupe_key(integration_id, message, turn):
    raw = "|".join([str(integration_id), message["from"] or "",
                    message["to"], message["text"], str(turn)])
    return "chat:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


def answer_duplicate(integration, key, message, wait=10.0):
    """The first request's answer (waiting while it is still sending)."""
    deadline = time.monotonic() + wait
    while True:
        original = ThreeCxEvent.get_or_none(
            (ThreeCxEvent.integration == integration.id)
            & (ThreeCxEvent.dedupe_key == key))
        if original is None or original.status != "processing" or \
                time.monotonic() > deadline:
            break
        time.sleep(0.05)
    log.info("3cx integration=%s event=%s duplicate of id=%s",
             integration.id, SEND_EVENT, original and original.id)
    if original is not None and original.message_id:
        return build_send_answer(original.message_id,
                                 original.message_log_id, message)
    if original is None:
        # The first one failed in between and freed its key: not sent.
        raise ApiError(409, "duplicate_request",
                       "An identical request just failed; send again.")
    raise ApiError(502, "gateway_send_failed",
                   "An identical request did not finish; its outcome is "
                   "unknown.", {"reason": "upstream_error",
                                "outcome": "unknown"})


def build_send_answer(message_id, log_id, message):
    """Telnyx's send answer (``data.id``) plus httpsms's
    ``data.payload.id``: 3CX may read either; ``success``, ``message_id``
    and ``log_id`` are the gateway's own."""
    return {
        "success": True, "message_id": message_id, "log_id": log_id,
        "data": {
            "id": message_id, "record_type": "message",
            "direction": "outbound", "type": "SMS",
            "from": {"phone_number": message["from"]},
            "to": [{"phone_number": message["to"], "status": "sent"}],
            "text": message["text"],
            "payload": {"id": message_id},
        },
    }


def record_refusal(integration, phone, error):
    row = threecx.record_event(integration, SEND_EVENT, None, phone,
                               "error", "not_sent", error.code)
    log.info("3cx integration=%s event=%s id=%s refused: %d %s",
             integration.id, SEND_EVENT, row.id, error.status, error.code)


# -- WhatsApp -> 3CX: forwarding through the outbox ------------------------

def on_intake_event(instance, event, owner_jid=None):
    """The intake's hook, once per new event, inside its transaction.

    Forwards inbound messages and relays delivery receipts to the 3CX
    integrations of ``instance``; returns the deliveries queued.  A
    failure here is logged and rolled back to a savepoint: it must never
    cost the customer's own events.
    """
    if event.event in ("message.received", "group.message_received"):
        act = forward_inbound
    elif (event.event, event.payload.get("status")) in RECEIPTS:
        act = relay_receipt
    else:
        return 0
    integrations = find_chat_integrations(instance.id,
                                          warn=act is forward_inbound)
    if not integrations:
        return 0
    if not isinstance(owner_jid, str):
        owner_jid = None
    try:
        with db.atomic():
            return act(instance, event, integrations, owner_jid)
    except OperationalError:
        raise  # a busy database: the intake answers 503, Evolution retries
    except Exception:
        log.exception("instance=%s: 3cx chat hook failed on %s",
                      instance.id, event.event)
        return 0


# Asked for every inbound message and every delivered receipt, while
# most instances have no chat integration: a plain indexed probe first,
# the joined model query (about 1 ms to build) only when there is one.
SQL_ANY_CHAT = ("SELECT 1 FROM threecxintegration WHERE instance_id = ? "
                "AND enabled AND messaging_endpoint_id IS NOT NULL LIMIT 1")


def find_chat_integrations(instance_id, warn=False):
    """Enabled integrations on the instance with a live 3CX webhook;
    ``warn``: say so of each whose webhook is disabled."""
    if store.execute(SQL_ANY_CHAT, instance_id).fetchone() is None:
        return []
    rows = (ThreeCxIntegration.select(
        ThreeCxIntegration, Customer, WebhookEndpoint.enabled,
        WebhookEndpoint.disabled_reason)
        .join(Customer).switch(ThreeCxIntegration)
        .join(WebhookEndpoint, on=(ThreeCxIntegration.messaging_endpoint_id
                                   == WebhookEndpoint.id))
        .where((ThreeCxIntegration.instance == instance_id)
               & ThreeCxIntegration.enabled))
    live = []
    for row in rows:
        if row.webhookendpoint.enabled:
            live.append(row)
        elif warn:
            # Queued into a disabled endpoint it would only die there,
            # while looking forwarded: said once per message instead
            # (not per receipt: every send on the instance has some).
            log.warning("3cx integration=%s webhook endpoint=%s disabled "
                        "(%s): nothing goes to 3CX until gateway 3cx "
                        "messaging --webhook-url sets it again",
                        row.id, row.messaging_endpoint_id,
                        row.webhookendpoint.disabled_reason or "no reason")
    return live


def forward_inbound(instance, event, integrations, owner_jid):
    queued = 0
    for integration in integrations:
        if not integration.messaging_inbound:
            continue
        reason = None
        number = find_number(integration, owner_jid)
        if not integration.customer.has_module("3cx"):
            reason = "module_not_enabled"
        elif event.event == "group.message_received":
            reason = "group_chat"
        elif not event.phone:
            # A LID-only contact: 3CX speaks E.164 only.
            reason = "no_phone_number"
        elif number is None:
            reason = "number_not_configured"
        elif event.payload.get("message_type") in NOT_FORWARDED_TYPES:
            reason = "message_type"
        if reason:
            note_not_forwarded(integration, reason)
            continue
        received = iso(utcnow())
        occurred = event.payload.get("timestamp") or received
        parts = split_text(describe_text(event))
        for index, text in enumerate(parts):
            if len(parts) > 1:
                text = "[%d/%d] %s" % (index + 1, len(parts), text)
            # The first part keeps WhatsApp's id; the others get their own.
            suffix = "-%d" % (index + 1) if index else ""

            def build(uid, event=event, number=number, text=text,
                      occurred=occurred, received=received, suffix=suffix):
                message_id = (event.message_id + suffix
                              if event.message_id else uid_to_uuid(uid))
                return envelope("message.received", uid, occurred, {
                    "record_type": "message", "direction": "inbound",
                    "id": message_id, "type": "SMS",
                    "from": {"phone_number": event.phone},
                    "to": [{"phone_number": number}],
                    "text": text, "received_at": received, "media": []})
            webhooks.queue_delivery(integration.customer_id, instance.id,
                                    integration.messaging_endpoint_id,
                                    "3cx.message.received", build)
        row = ThreeCxEvent.create(
            integration=integration.id, event_type=INBOUND_EVENT,
            phone=event.phone, status="processed", action="forwarded",
            message_id=(event.message_id or "")[:250] or None)
        log.info("3cx integration=%s event=%s id=%s processed/forwarded",
                 integration.id, INBOUND_EVENT, row.id)
        if row.id % threecx.PURGE_EVERY == 0:
            threecx.purge_old(utcnow())  # as threecx.record_event does
        queued += 1
    return queued


# What one webhook to 3CX carries at most (3cx-sms-provider.md 6:
# WhatsApp's own limit; a longer WhatsApp text, up to 65,536
# characters, goes as several webhooks, each marked "[1/3] ...").
CHAT_TEXT_LIMIT = 4096
PART_MARK_ROOM = 12  # "[12/17] "


def split_text(text, limit=CHAT_TEXT_LIMIT):
    """``text`` in parts that fit one 3CX webhook each with their mark,
    cut at a space or line break near the end when there is one."""
    if len(text) <= limit:
        return [text]
    size = limit - PART_MARK_ROOM
    parts = []
    while len(text) > size:
        cut = max(text.rfind(" ", size - 200, size),
                  text.rfind("\n", size - 200, size))
        if cut <= 0:
            cut = size
        parts.append(text[:cut])
        text = text[cut:].lstrip(" \n") if cut < size else text[cut:]
    if text:
        parts.append(text)
    return parts


def note_not_forwarded(integration, reason):
    """Count a message 3CX does not get; a row in ``gateway 3cx events``
    only for a contact's own message, not for every group message or
    every message of a setting still missing (they would push the real
    rows out, at a write each inside the intake's transaction)."""
    observability.count_chat_skipped(reason)
    if reason in QUIET_SKIPS:
        log.debug("3cx integration=%s inbound message not forwarded: %s",
                  integration.id, reason)
        return
    log.info("3cx integration=%s inbound message not forwarded: %s",
             integration.id, reason)
    threecx.record_event(integration, INBOUND_EVENT, None, None,
                         "skipped", "not_forwarded", reason)


def relay_receipt(instance, event, integrations, owner_jid):
    """``message.finalized`` for a reply 3CX sent, when asked for."""
    wanted = {i.id: i for i in integrations if i.messaging_status_events}
    if not wanted or not event.message_id:
        return 0
    sent = (ThreeCxEvent.select()
            .where(ThreeCxEvent.integration.in_(list(wanted))
                   & (ThreeCxEvent.message_id == event.message_id)
                   & (ThreeCxEvent.event_type == SEND_EVENT)).first())
    if sent is None:
        return 0
    if event.event == "message.read" and already_delivered(
            instance.id, event):
        return 0  # 3CX had its finalized from the delivery receipt
    integration = wanted[sent.integration_id]
    name, status = RECEIPTS[(event.event, event.payload.get("status"))]
    queue_status(integration, event.message_id,
                 find_number(integration, owner_jid), sent.phone, name,
                 status)
    return 1


def already_delivered(instance_id, event):
    """A lower delivered-or-read receipt of the message came before this
    one (the intake records each rank as it rises, this one included)."""
    return store.MessageReceipt.select().where(
        (store.MessageReceipt.instance == instance_id)
        & (store.MessageReceipt.message_id == event.message_id)
        & (store.MessageReceipt.rank >= 2)
        & (store.MessageReceipt.rank < event.status_rank)).exists()


def queue_status(integration, message_id, number, phone, name, status):
    now = iso(utcnow())
    payload = {"record_type": "message", "direction": "outbound",
               "id": message_id, "type": "SMS",
               "from": {"phone_number": number},
               "to": [{"phone_number": phone, "status": status}]}
    if name == "message.sent":
        payload["sent_at"] = now
    else:
        payload["completed_at"] = now
    if status == "sending_failed":
        payload["errors"] = [{"code": "gateway_send_failed",
                              "title": "Not delivered",
                              "detail": "WhatsApp reported an error."}]
    webhooks.queue_delivery(
        integration.customer_id, integration.instance_id,
        integration.messaging_endpoint_id, "3cx." + name,
        lambda uid: envelope(name, uid, now, payload))


def envelope(name, uid, occurred_at, payload):
    """The Telnyx-style webhook 3CX's generic provider reads."""
    return {"data": {"record_type": "event", "event_type": name,
                     "id": uid_to_uuid(uid), "occurred_at": occurred_at,
                     "payload": payload}}


def uid_to_uuid(uid):
    return str(uuid.UUID(hex=uid[len("evt_"):]))


def iso(moment):
    return moment.replace(tzinfo=datetime.timezone.utc).isoformat(
        timespec="milliseconds")


def find_number(integration, owner_jid):
    """The 3CX side's number: configured, else the instance's own."""
    return integration.messaging_number or jid_to_e164(owner_jid)


def describe_text(event):
    """The text 3CX shows; non-text messages are named, not dropped."""
    text = (event.text or "").strip()
    kind = event.payload.get("message_type") or "text"
    if kind in ("text", "unknown") and text:
        return text
    note = "[WhatsApp %s message: open it on the WhatsApp phone]" % (
        kind.replace("_", " "))
    return "%s\n%s" % (text, note) if text else note
