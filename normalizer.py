"""Turn Evolution API webhook bodies into the gateway's customer events.

Pure module: no Flask, no database, no HTTP. ``normalize()`` takes one
webhook POST body (v1 or v2 envelope ``{event, instance, data, ...}``) and
returns a list of ``CustomerEvent``; it never raises, and anything unknown
or malformed yields ``[]`` (the caller stores and acknowledges it anyway).

Mapping (Evolution event -> customer event):

==========================  =============================================
messages.upsert, 1:1        message.received (from, message_text,
                            message_type, external_message_id)
messages.upsert, @g.us      group.message_received (group_id, from,
                            message_text, external_message_id)
messages.upsert, fromMe     conversation.updated (conversation_id): a
                            human answered from the phone or another
                            device (API sends never produce upserts)
messages.update             DELIVERY_ACK -> message.delivered "delivered";
                            READ/PLAYED -> message.read "read"/"played";
                            PENDING/SERVER_ACK -> message.status_updated
                            "pending"/"sent"; ERROR ->
                            message.status_updated "failed"; DELETED,
                            unknown, missing status or id, and receipts
                            with fromMe false (our own reads) -> nothing
connection.update           open -> instance.connected "connected";
                            close -> instance.disconnected "disconnected";
                            refused (QR limit) -> instance.disconnected
                            "refused"; connecting ->
                            instance.connection_updated "connecting"
qrcode.updated              instance.qr_updated (qr_available only; the
                            contract has no field for the image or code);
                            the QR-limit body ({message, statusCode}, no
                            QR) -> nothing: the connection.update
                            "refused" that follows says it
call                        offer/ringing -> call.received; timeout/reject
                            -> call.missed; terminate -> call.missed
                            unless the call was accepted (accept emits
                            nothing but takes call.missed's dedupe key,
                            so a later terminate is a duplicate)
logout.instance,            internal events (not sent to customers) that
remove.instance,            keep the stored connection state true
instance.delete
groups.upsert,              group.updated (group_id), one per group
groups.update,
group-participants.update
anything else               nothing: chats.* carry no fact of their own
                            (they echo messages and have no id to dedupe
                            on); send.message is the gateway's own send
                            (message.sent/failed come from that path);
                            messages.set is history backfill; statuses
                            (status@broadcast) and newsletters are skipped
==========================  =============================================

``from`` / ``conversation_id`` hold the counterpart's canonical E.164
number (``identity.canonical_phone``: Brazil with its ninth digit, Mexico
without the 1) when the payload carries it, and the raw JID (e.g.
``...@lid``) otherwise, so a LID-only contact is never dropped; the intake
then replaces a LID by the phone it learned for it, if any.  Every
LID <-> phone pair a payload reveals is returned in ``pairs``.
``timestamp`` is the message or call time when the payload carries one,
else ``received_at``; the envelope ``date_time``
is never used because Evolution prints local time with a fake ``Z``.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import phonenumbers

import identity

log = logging.getLogger(__name__)

# Baileys/Evolution delivery states in the order they can only move forward.
STATUS_RANKS = {
    "PENDING": 0, "SERVER_ACK": 1, "DELIVERY_ACK": 2, "READ": 3, "PLAYED": 4,
}
# Older builds send the Baileys enum number instead of its name.
_STATUS_CODES = ["ERROR", "PENDING", "SERVER_ACK", "DELIVERY_ACK", "READ",
                 "PLAYED"]
_STATUS_EVENTS = {
    "PENDING": ("message.status_updated", "pending"),
    "SERVER_ACK": ("message.status_updated", "sent"),
    "DELIVERY_ACK": ("message.delivered", "delivered"),
    "READ": ("message.read", "read"),
    "PLAYED": ("message.read", "played"),
    "ERROR": ("message.status_updated", "failed"),
}
_CONNECTION_EVENTS = {
    "open": ("instance.connected", "connected"),
    "close": ("instance.disconnected", "disconnected"),
    "refused": ("instance.disconnected", "refused"),
    "connecting": ("instance.connection_updated", "connecting"),
}
_CALL_EVENTS = {
    "offer": "call.received", "ringing": "call.received",
    "timeout": "call.missed", "reject": "call.missed",
    "terminate": "call.missed", "accept": "call.answered",
}
# Events that act inside the gateway but are never sent to customers.
INTERNAL_EVENTS = ("call.answered", "instance.logged_out",
                   "instance.removed")
# Containers whose real content sits one level down in ``.message``.
_WRAPPERS = ("ephemeralMessage", "viewOnceMessage", "viewOnceMessageV2",
             "viewOnceMessageV2Extension", "documentWithCaptionMessage")
_TYPE_ALIASES = {
    "conversation": "text", "extended_text": "text",
    "contacts_array": "contact", "live_location": "location",
    "ptv": "video", "poll_creation": "poll",
}
# Epoch seconds accepted as a real message time (2001..2100).
_MIN_EPOCH, _MAX_EPOCH = 1_000_000_000, 4_102_444_800


@dataclass(frozen=True)
class CustomerEvent:
    """One customer webhook event derived from an Evolution event."""

    event: str
    payload: dict = field(hash=False)
    dedupe_key: str
    message_id: str | None = None
    status_rank: int | None = None
    phone: str | None = None
    text: str | None = None
    lid: str | None = None  # the counterpart's LID when no phone is known
    pairs: tuple = ()  # (lid, canonical phone) pairs the payload reveals
    occurred_at: dt.datetime | None = None  # the fact's own time, if given


class _Context(NamedTuple):
    instance_id: str
    instance_name: str
    received_at: dt.datetime
    evolution_event: str
    date_time: Any


def normalize(envelope: Any, instance_id: str, instance_name: str,
              received_at: dt.datetime | None = None) -> list[CustomerEvent]:
    """Return the customer events for one Evolution webhook body."""
    try:
        return build_events(envelope, instance_id, instance_name,
                            received_at)
    except Exception:  # the intake must always be able to acknowledge
        log.exception("normalizer failed on a %s body",
                      type(envelope).__name__)
        return []


def build_events(envelope: Any, instance_id: str, instance_name: str,
                 received_at: dt.datetime | None = None
                 ) -> list[CustomerEvent]:
    """Do the work of ``normalize()`` without its safety net."""
    if not isinstance(envelope, dict):
        return []
    name = _text(envelope.get("event"))
    if name is None:
        return []
    # v1 builds and by-event URLs spell names as MESSAGES_UPSERT etc.
    name = re.sub(r"[_\-.]", ".", name.strip().lower())
    handler = _HANDLERS.get(name)
    if handler is None:
        return []
    if not isinstance(received_at, dt.datetime):
        received_at = dt.datetime.now(dt.timezone.utc)
    elif received_at.tzinfo is None:
        received_at = received_at.replace(tzinfo=dt.timezone.utc)
    ctx = _Context(str(instance_id), str(instance_name), received_at, name,
                   envelope.get("date_time"))
    events = []
    items = _items(envelope.get("data"))
    if not items and name in _DATA_OPTIONAL:
        items = [{}]
    for item in items:
        events.extend(handler(ctx, item))
    return events


def map_message_upsert(ctx: _Context, item: dict) -> list[CustomerEvent]:
    """Map one received (or phone-sent) message."""
    key = item.get("key")
    if not isinstance(key, dict):
        return []
    jid = _text(key.get("remoteJid"))
    if jid is None or jid.endswith(("@broadcast", "@newsletter")):
        return []
    msg_id = _text(key.get("id"))
    dedupe = _dedupe_key(ctx, item, msg_id)
    when = parse_epoch(item.get("messageTimestamp")) or ctx.received_at
    is_group = jid.endswith("@g.us")
    pairs = tuple(identity.pairs_in_key(key))
    stamped = parse_epoch(item.get("messageTimestamp"))
    if key.get("fromMe") is True:
        phone = None if is_group else find_phone(
            key, "remoteJidAlt", "senderPn", "remoteJid")
        body = {"conversation_id": phone or jid}
        return [_event(ctx, "conversation.updated", when, body, dedupe,
                       msg_id, phone=phone, pairs=pairs,
                       lid=None if phone or is_group else identity.lid_of(
                           jid))]
    message = unwrap_message(item.get("message"))
    text = extract_text(message)
    if is_group:
        phone = find_phone(key, "participantAlt", "participantPn",
                           "participant")
        body = {"group_id": jid}
        sender = phone or _text(key.get("participant"))
        event = "group.message_received"
        lid = None if phone else identity.lid_of(_text(key.get(
            "participant")))
    else:
        phone = find_phone(key, "remoteJidAlt", "senderPn", "remoteJid")
        body = {"message_text": text or "",
                "message_type": classify_message_type(message)}
        sender = phone or jid
        event = "message.received"
        lid = None if phone else identity.lid_of(jid)
    if sender:
        body["from"] = sender
    if text is not None and is_group:
        body["message_text"] = text
    if msg_id:
        body["external_message_id"] = msg_id
    return [_event(ctx, event, when, body, dedupe, msg_id, phone=phone,
                   text=text, lid=lid, pairs=pairs, occurred_at=stamped)]


def map_message_update(ctx: _Context, item: dict) -> list[CustomerEvent]:
    """Map one delivery receipt of a message the instance sent."""
    status = item.get("status")
    if type(status) is int and 0 <= status < len(_STATUS_CODES):
        status = _STATUS_CODES[status]
    status = _text(status)
    key = item.get("key") if isinstance(item.get("key"), dict) else {}
    # v2 carries the WhatsApp id in keyId, v1 in id (``messageId`` is
    # Evolution's database row id, not a WhatsApp id).
    msg_id = _text(item.get("keyId")) or _text(item.get("id")) or _text(
        key.get("id"))
    # fromMe false receipts are this account reading incoming messages.
    if status not in _STATUS_EVENTS or not msg_id or item.get(
            "fromMe") is False:
        return []
    event, label = _STATUS_EVENTS[status]
    phone = find_phone(item, "remoteJidAlt", "remoteJid")
    body = {"external_message_id": msg_id, "status": label}
    sender = phone or _text(item.get("remoteJid"))
    if sender:
        body["from"] = sender
    when = parse_epoch(item.get("datetime")) or ctx.received_at
    dedupe = f"{ctx.instance_id}:{ctx.evolution_event}:{msg_id}:{status}"
    return [_event(ctx, event, when, body, dedupe, msg_id,
                   status_rank=STATUS_RANKS.get(status), phone=phone,
                   lid=None if phone else identity.lid_of(
                       _text(item.get("remoteJid"))),
                   pairs=tuple(identity.pairs_in_key(item)))]


def map_connection_update(ctx: _Context, item: dict) -> list[CustomerEvent]:
    """Map a connection state change of the instance."""
    state = _text(item.get("state"))
    if state not in _CONNECTION_EVENTS:
        return []
    event, label = _CONNECTION_EVENTS[state]
    # Evolution's own time of the change: retries arrive in no order.
    return [_event(ctx, event, ctx.received_at, {"connection_state": label},
                   _dedupe_key(ctx, item,
                               f"{state}:{_fingerprint(ctx, item)}"),
                   occurred_at=parse_iso(ctx.date_time))]


def map_qrcode_update(ctx: _Context, item: dict) -> list[CustomerEvent]:
    """Say a new QR code exists, without leaking the code or its image."""
    qrcode = item.get("qrcode") if isinstance(item.get("qrcode"),
                                              dict) else {}
    code = _text(qrcode.get("code"))
    available = bool(code or _text(qrcode.get("base64")))
    if not available:
        # The QR-limit body {message, statusCode} carries no QR; the
        # connection.update "refused" that follows reports it.
        return []
    # Hash the code: the key must stay stable without storing the secret.
    ident = hashlib.sha256(code.encode()).hexdigest()[:20] if code else None
    return [_event(ctx, "instance.qr_updated", ctx.received_at,
                   {"qr_available": available},
                   _dedupe_key(ctx, item, ident))]


def map_call(ctx: _Context, item: dict) -> list[CustomerEvent]:
    """Map an incoming call offer or a call nobody answered."""
    status = _text(item.get("status"))
    event = _CALL_EVENTS.get(status.lower()) if status else None
    if event is None:
        return []
    call_id = _text(item.get("id"))
    raw_from = _text(item.get("from")) or _text(item.get("chatId"))
    phone = jid_to_e164(raw_from)
    body = {"call_status": status}
    if phone or raw_from:
        body["from"] = phone or raw_from
    # offer and ringing are the same fact for a customer: one key; and
    # an accept takes call.missed's key, so its terminate is no miss.
    keyed = "call.missed" if event == "call.answered" else event
    ident = f"{call_id}:{keyed}" if call_id else None
    if call_id is None and event == "call.answered":
        return []
    when = parse_iso(item.get("date")) or ctx.received_at
    # With msgCall set, Evolution rewrites ``from`` to the phone while
    # ``chatId`` keeps the LID: a pair.
    pair = identity.pair_from(_text(item.get("from")),
                              _text(item.get("chatId")))
    return [_event(ctx, event, when, body, _dedupe_key(ctx, item, ident),
                   phone=phone, lid=None if phone else identity.lid_of(
                       raw_from), pairs=(pair,) if pair else ())]


def map_instance_gone(ctx: _Context, item: dict) -> list[CustomerEvent]:
    """logout.instance / remove.instance / instance.delete: internal."""
    event = ("instance.logged_out" if ctx.evolution_event
             == "logout.instance" else "instance.removed")
    return [_event(ctx, event, ctx.received_at, {},
                   _dedupe_key(ctx, item, None),
                   occurred_at=parse_iso(ctx.date_time))]


def map_group_update(ctx: _Context, item: dict) -> list[CustomerEvent]:
    """Map group metadata or membership changes to group.updated."""
    group_id = _text(item.get("id"))
    if group_id is None:
        return []
    # No version or id exists for these facts: identify them by content.
    ident = f"{group_id}:{_fingerprint(ctx, item)}"
    return [_event(ctx, "group.updated", ctx.received_at,
                   {"group_id": group_id}, _dedupe_key(ctx, item, ident),
                   pairs=participant_pairs(item))]


def participant_pairs(item: dict) -> tuple:
    """LID <-> phone pairs of a group's participants: 2.3.6 (Baileys
    rc.6) gives them as ``{id, phoneNumber?, lid?}`` objects, 2.3.5
    adds ``participantsData: [{jid, phoneNumber}]``; plain strings
    reveal nothing."""
    pairs = []
    people = item.get("participants")
    extra = item.get("participantsData")
    for person in (people if isinstance(people, list) else []) + (
            extra if isinstance(extra, list) else []):
        if not isinstance(person, dict):
            continue
        jid = _text(person.get("id")) or _text(person.get("jid"))
        for first, second in ((jid, _text(person.get("phoneNumber"))),
                              (_text(person.get("lid")), jid)):
            pair = identity.pair_from(first, second)
            if pair and pair not in pairs:
                pairs.append(pair)
    return tuple(pairs)


_HANDLERS: dict[str, Callable[[_Context, dict], list[CustomerEvent]]] = {
    "messages.upsert": map_message_upsert,
    "messages.update": map_message_update,
    "connection.update": map_connection_update,
    "qrcode.updated": map_qrcode_update,
    "call": map_call,
    "groups.upsert": map_group_update,
    "groups.update": map_group_update,
    "group.participants.update": map_group_update,
    "logout.instance": map_instance_gone,
    "remove.instance": map_instance_gone,
    "instance.delete": map_instance_gone,
}
# Events whose ``data`` is null in Evolution (5.3).
_DATA_OPTIONAL = ("logout.instance", "remove.instance", "instance.delete")


def unwrap_message(message: Any) -> dict:
    """Return the content dict, looking through view-once/ephemeral."""
    for _ in range(3):
        if not isinstance(message, dict):
            return {}
        inner = next((message[k].get("message") for k in _WRAPPERS
                      if isinstance(message.get(k), dict)), None)
        if not isinstance(inner, dict):
            return message
        message = inner
    return message if isinstance(message, dict) else {}


def extract_text(message: dict) -> str | None:
    """Return conversation ?? extendedTextMessage.text ?? any caption."""
    if isinstance(message.get("conversation"), str):
        return message["conversation"]
    extended = message.get("extendedTextMessage")
    if isinstance(extended, dict) and isinstance(extended.get("text"), str):
        return extended["text"]
    for part in message.values():
        if isinstance(part, dict) and isinstance(part.get("caption"), str):
            return part["caption"]
    return None


def classify_message_type(message: dict) -> str:
    """Name the content kind like Baileys' getContentType, shortened."""
    for name in message:
        base = re.sub(r"Message(V\d+)?$", "", name)
        if name == "conversation" or (
                base != name and name != "senderKeyDistributionMessage"):
            kind = re.sub(r"(?<!^)([A-Z])", r"_\1", base).lower()
            return _TYPE_ALIASES.get(kind, kind) or "unknown"
    return "unknown"


def find_phone(source: dict, *fields: str) -> str | None:
    """Return the E.164 number from the first field holding a phone JID."""
    for name in fields:
        phone = jid_to_e164(_text(source.get(name)))
        if phone:
            return phone
    return None


def jid_to_e164(jid: str | None) -> str | None:
    """Turn ``5511...[:device]@s.whatsapp.net`` into canonical ``+5511...``.

    LIDs, groups and anything that is not a plausible number give None.
    """
    if not jid or not isinstance(jid, str):
        return None
    if len(jid) > 64:  # never a cached key: no JID is this long
        return _jid_to_e164.__wrapped__(jid)
    return _jid_to_e164(jid)


# A pure function of the JID, and every receipt of a conversation names
# the same one: phonenumbers' parse is a third of the normaliser's CPU.
# Bounded, so arbitrary JIDs cannot grow it.
@functools.lru_cache(maxsize=4096)
def _jid_to_e164(jid: str) -> str | None:
    user, _, server = jid.partition("@")
    if server not in ("", "s.whatsapp.net", "c.us"):
        return None
    digits = user.split(":")[0].strip().lstrip("+")
    if not (digits.isascii() and digits.isdigit() and 7 <= len(digits) <= 15):
        return None
    digits = identity.canonical_digits(digits)
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number,
                                      phonenumbers.PhoneNumberFormat.E164)


def parse_epoch(value: Any) -> dt.datetime | None:
    """Read epoch seconds or ms from a number, numeric string or Long."""
    if isinstance(value, dict):  # protobuf Long {low, high, unsigned}
        low, high = value.get("low"), value.get("high")
        if not all(type(part) is int for part in (low, high)):
            return None
        value = (high << 32) | (low & 0xFFFFFFFF)
    elif isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if _MAX_EPOCH < value <= _MAX_EPOCH * 1000:
        value = value / 1000  # milliseconds (v1 messages.update datetime)
    if not _MIN_EPOCH <= value <= _MAX_EPOCH:  # also rejects NaN
        return None
    return dt.datetime.fromtimestamp(value, dt.timezone.utc)


def parse_iso(value: Any) -> dt.datetime | None:
    """Read an ISO 8601 string with an offset (Baileys call ``date``)."""
    if not isinstance(value, str):
        return None
    try:
        # Python 3.10's fromisoformat does not accept a trailing Z.
        parsed = dt.datetime.fromisoformat(re.sub(r"Z$", "+00:00", value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _event(ctx: _Context, event: str, when: dt.datetime, body: dict,
           dedupe_key: str, message_id: str | None = None, *,
           status_rank: int | None = None, phone: str | None = None,
           text: str | None = None, lid: str | None = None,
           pairs: tuple = (), occurred_at: dt.datetime | None = None
           ) -> CustomerEvent:
    stamp = when.astimezone(dt.timezone.utc).isoformat()
    payload = {"event": event, "instance_id": ctx.instance_id,
               "instance_name": ctx.instance_name,
               "timestamp": stamp.replace("+00:00", "Z"), **body}
    return CustomerEvent(event, payload, dedupe_key, message_id, status_rank,
                         phone, text, lid, pairs, occurred_at)


def _dedupe_key(ctx: _Context, item: dict, ident: str | None) -> str:
    """Key on the fact's own id, else on the exact body redelivered."""
    ident = ident or _fingerprint(ctx, item)
    return f"{ctx.instance_id}:{ctx.evolution_event}:{ident}"


def _fingerprint(ctx: _Context, item: dict) -> str:
    # Retries re-post the same body, so date_time + data is stable for a
    # redelivery yet differs when the same state recurs later.
    raw = json.dumps([ctx.date_time, item], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:20]


def _items(data: Any) -> list[dict]:
    """Accept one object or an array of objects as ``data``."""
    if isinstance(data, dict):
        return [data]
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    return []


def _text(value: Any) -> str | None:
    """Return a non-blank string, else None."""
    return value if isinstance(value, str) and value.strip() else None


# --- opt-out / opt-in keywords -------------------------------------------

_OPT_OUT = {
    "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout",
    "opt-out", "opt out", "revoke",
    # Arabic, written after _fold_keyword (no hamza seats, no diacritics).
    "الغاء", "توقف", "ايقاف", "اوقف", "الغاء الاشتراك", "ستوب", "انهاء",
}
_OPT_IN = {"start", "unstop", "yes", "ابدا", "نعم", "اشتراك", "اشترك",
           "ستارت"}
_TATWEEL = "\u0640"


def classify_keyword(text: Any) -> str | None:
    """Return "opt_out"/"opt_in" when the message is only such a keyword.

    Like Twilio, the whole message must be the keyword: "STOP please" or
    "don't stop" are ordinary messages.
    """
    if not isinstance(text, str):
        return None
    word = _fold_keyword(text)
    if word in _OPT_OUT:
        return "opt_out"
    if word in _OPT_IN:
        return "opt_in"
    return None


def _fold_keyword(text: str) -> str:
    """Casefold, drop marks/tatweel/format chars, trim punctuation."""
    # NFKD splits hamza forms (أ إ آ ؤ ئ) into base letter + combining
    # hamza, so dropping marks also unifies alef forms and diacritics.
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if ch != _TATWEEL and
                   unicodedata.category(ch) not in ("Mn", "Cf"))
    text = text.replace("\u0671", "\u0627").replace("\u0649", "\u064a")
    # Strip surrounding punctuation, symbols (emoji) and spaces.
    start, end = 0, len(text)
    while start < end and _is_filler(text[start]):
        start += 1
    while end > start and _is_filler(text[end - 1]):
        end -= 1
    return " ".join(text[start:end].split())


def _is_filler(char: str) -> bool:
    return unicodedata.category(char)[0] in "PSZC" or char.isspace()
