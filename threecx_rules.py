"""3CX bridge rules as pure functions: no Flask, no database.

Payload cleaning, phone classification, call-time parsing, message
templates, the duplicate key, request signatures, client addresses and
the 3CX CRM template XML.  ``threecx`` feeds them what it read from the
request and the store.
"""
import datetime
import hashlib
import hmac
import ipaddress
import re
import xml.etree.ElementTree as ET
import zoneinfo

import phonenumbers

import content_policy
from policy import to_e164

EVENT_TYPES = ("test", "outbound_message", "inbound_reply", "missed_call",
               "call_started", "call_ended", "voicemail", "queue_event",
               "queue_callback", "after_hours")
# Call events that may send a template to the caller.
TEMPLATE_EVENTS = ("missed_call", "voicemail", "queue_callback",
                   "after_hours", "call_ended")

DEFAULT_TEMPLATES = {
    "missed_call": (
        "Sorry we missed your call to {{business_name}} at {{call_time}}. "
        "Reply here and we'll get back to you.", True),
    "voicemail": (
        "We received your voicemail at {{call_time}}. {{business_name}} "
        "will call you back.", True),
    "queue_callback": (
        "You're on the callback list for {{queue}}. {{business_name}} will "
        "call you on {{customer_phone}}.", True),
    "after_hours": (
        "Thanks for calling {{business_name}}. We're closed now (hours: "
        "{{business_hours}}). Reply here and we'll answer when we reopen.",
        True),
    # Off by default: a thank-you after every answered call is noise.
    "call_ended": (
        "Thanks for speaking with {{agent_name}} at {{business_name}}.",
        False),
}
PLACEHOLDERS = ("customer_phone", "agent_extension", "queue", "call_time",
                "business_name", "customer_name", "agent_name",
                "queue_name", "call_date", "business_hours", "duration",
                "callback_time")
MAX_TEMPLATE_CHARS = 1000
# A payload value longer than this is cut before it reaches a message.
MAX_VALUE_CHARS = 100

# Phone fields, most specific first: for a call event the caller is the
# customer; for an agent's reply the destination is.
CALL_PHONE_FIELDS = ("customer_phone", "caller", "from", "phone", "to")
OUTBOUND_PHONE_FIELDS = ("to", "customer_phone", "phone", "caller", "from")
ANONYMOUS_WORDS = frozenset(("anonymous", "withheld", "private", "unknown",
                             "restricted", "unavailable"))
DEFAULT_MIN_PHONE_DIGITS = 7

# 3CX sends a variable it could not fill as its literal name: "[Agent]",
# "[Contact::ContactID]".
_PLACEHOLDER_RE = re.compile(r"^\[[A-Za-z0-9_.:]+\]$")
_TEMPLATE_VAR_RE = re.compile(r"{{\s*([^{}]*?)\s*}}")
_UNIX_RE = re.compile(r"^\d{9,13}(\.\d+)?$")
_HEX_RE = re.compile(r"^[0-9a-f]{64}$")


def is_placeholder(value):
    """True for an unfilled 3CX variable such as ``[Agent]``."""
    return isinstance(value, str) and bool(
        _PLACEHOLDER_RE.match(value.strip()))


def clean_value(value):
    """Return ``value`` as stripped text; None, blanks and placeholders
    become the empty string."""
    if value is None:
        return ""
    text = str(value).strip()
    return "" if is_placeholder(text) else text


def blank_placeholders(payload):
    """Return ``payload`` with every unfilled ``[Variable]`` set to ""."""
    if not isinstance(payload, dict):
        return payload
    return {key: ("" if is_placeholder(value) else value)
            for key, value in payload.items()}


class PhoneInfo:
    """What a payload says about the other party's number.

    ``kind`` is ``ok`` (``e164`` set), ``missing`` (no phone field at
    all), ``anonymous``, ``internal`` (an extension) or ``invalid``.
    """

    def __init__(self, kind, e164=None):
        self.kind = kind
        self.e164 = e164

    def __repr__(self):
        return "PhoneInfo(%r, %r)" % (self.kind, self.e164)


def extract_phone(data, event_type, region=None,
                  min_digits=DEFAULT_MIN_PHONE_DIGITS):
    """Classify the first non-empty phone field of ``data``."""
    fields = (OUTBOUND_PHONE_FIELDS if event_type == "outbound_message"
              else CALL_PHONE_FIELDS)
    present = False
    for name in fields:
        if name not in data:
            continue
        present = True
        raw = clean_value(data[name])
        if raw:
            return classify_phone(raw, region, min_digits)
    # A field sent empty means 3CX had no number: a withheld caller.
    return PhoneInfo("anonymous" if present else "missing")


def classify_phone(raw, region=None, min_digits=DEFAULT_MIN_PHONE_DIGITS):
    """Classify one raw number; national numbers use ``region``."""
    if raw.strip().lower() in ANONYMOUS_WORDS:
        return PhoneInfo("anonymous")
    digits = sum(ch.isdigit() for ch in raw)
    if digits == 0:
        return PhoneInfo("anonymous")
    if digits < min_digits:
        return PhoneInfo("internal")
    e164 = to_e164(raw, region) if region else None
    # A number without "+" may still be international (3CX "AsIs").
    e164 = e164 or to_e164(raw)
    return PhoneInfo("ok", e164) if e164 else PhoneInfo("invalid")


def is_region(code):
    """True for an ISO country phonenumbers knows, such as ``SA``."""
    return (isinstance(code, str) and code.isalpha() and code.isupper()
            and phonenumbers.country_code_for_region(code) != 0)


def load_zone(name):
    """The ``zoneinfo`` zone called ``name``; ValueError if unknown."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError("unknown time zone %r (use an IANA name such as "
                         "Asia/Riyadh)" % name) from None


def parse_call_time(raw, zone):
    """Return an aware datetime for a payload time, or None.

    Accepts Unix seconds (or milliseconds) and ISO 8601; an ISO time
    without an offset is taken as PBX-local (3CX ``[DateTime]``), i.e.
    in ``zone``.
    """
    text = clean_value(raw)
    if not text:
        return None
    try:
        if _UNIX_RE.match(text):
            seconds = float(text)
            if seconds > 1e11:  # milliseconds
                seconds /= 1000
            moment = datetime.datetime.fromtimestamp(seconds,
                                                     datetime.timezone.utc)
        else:
            moment = datetime.datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
            # Years at the edges overflow when moved to another zone.
            moment.astimezone(datetime.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None
    if not 2000 <= moment.year <= 2100:
        return None
    return moment


def parse_header_timestamp(raw):
    """Return epoch seconds of a Unix or ISO 8601 timestamp, or None.

    An ISO value without an offset is UTC.
    """
    text = (raw or "").strip()
    if re.fullmatch(r"\d{1,12}(\.\d+)?", text):
        return float(text)
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def is_signature_valid(secret, timestamp, body, signature):
    """Check ``sha256=<hex>`` (or bare hex) of ``timestamp + "." + body``.

    ``timestamp`` is the header exactly as sent, ``body`` the raw bytes.
    """
    given = (signature or "").strip().lower()
    if given.startswith("sha256="):
        given = given[len("sha256="):]
    if not _HEX_RE.match(given):
        return False
    expected = hmac.new(secret.encode("utf-8"),
                        timestamp.encode("utf-8") + b"." + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


def hash_secret(secret):
    """The stored form of a webhook secret (256 random bits: no KDF)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_networks(text):
    """Parse ``"203.0.113.7, 10.0.0.0/8"``; ValueError names a bad one."""
    networks = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError("%r is not an IP address or CIDR" % part) \
                from None
    return networks


def _address(text):
    try:
        return ipaddress.ip_address(text.strip())
    except (ValueError, AttributeError):
        return None


def _in_any(address, networks):
    return address is not None and any(
        address.version == net.version and address in net
        for net in networks)


def find_client_address(remote_addr, forwarded_for, trusted):
    """The client's IP behind trusted proxies, or None if unparsable.

    ``X-Forwarded-For`` counts only when the direct peer is a trusted
    proxy; then the right-most address that is not a trusted proxy is
    the client (anything left of it could be forged by the client).
    """
    peer = _address(remote_addr or "")
    if not _in_any(peer, trusted) or not forwarded_for:
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",")]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return None
        if not _in_any(address, trusted):
            return address
    return _address(hops[0])


def is_address_allowed(address, networks):
    """True when no allowlist is set or ``address`` is inside it."""
    return not networks or _in_any(address, networks)


def derive_dedupe_key(integration_id, event_type, data, phone, call_time,
                      idempotency_key=None):
    """The duplicate-detection key of an event, or None when it has none.

    An explicit id (``event_id``, ``call_id``, ``callid``, ``id``,
    ``external_message_id`` or the ``Idempotency-Key`` header) wins; the
    event type is part of the key because one call id spans a call's
    start and end.  Otherwise (3CX journaling has no call id) the key is
    built from the call: without a call time it would merge every call
    of a number, so there is none and the cooldown alone guards sends.
    """
    explicit = clean_value(idempotency_key)
    for name in ("event_id", "call_id", "callid", "id",
                 "external_message_id"):
        explicit = explicit or clean_value(data.get(name))
    if explicit:
        parts = ["id", str(integration_id), event_type, explicit]
    elif call_time is not None and event_type != "outbound_message":
        started = call_time.astimezone(datetime.timezone.utc)
        parts = [str(integration_id), event_type, phone or "",
                 started.strftime("%Y-%m-%dT%H:%M:%SZ"),
                 clean_value(data.get("agent_extension")),
                 clean_value(data.get("queue"))]
    else:
        return None
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()


def find_placeholders(text):
    """The placeholder names used in ``text``."""
    return _TEMPLATE_VAR_RE.findall(text)


def validate_template(text, rules):
    """Raise ValueError saying why ``text`` cannot be a call template."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a template must not be blank")
    if len(text) > MAX_TEMPLATE_CHARS:
        raise ValueError("a template is at most %d characters"
                         % MAX_TEMPLATE_CHARS)
    unknown = sorted(set(find_placeholders(text)) - set(PLACEHOLDERS))
    if unknown:
        raise ValueError("unknown placeholder %s; use %s" % (
            ", ".join("{{%s}}" % name for name in unknown),
            ", ".join("{{%s}}" % name for name in PLACEHOLDERS)))
    rest = _TEMPLATE_VAR_RE.sub("", text)
    if "{{" in rest or "}}" in rest:
        raise ValueError("unbalanced {{ or }} in the template")
    sample = render_template(text, {name: name.replace("_", " ")
                                    for name in PLACEHOLDERS})
    violation = content_policy.check_content(sample, rules)
    if violation is not None:
        raise ValueError(
            "the template looks like %s (rule %s); call templates must be "
            "support messages" % (violation.category.replace("_", " "),
                                  violation.rule))


def empty_placeholders(text, values):
    """Placeholders of ``text`` that would render empty with ``values``:
    a template with any is not sent (no "closed now (hours: )")."""
    return sorted({name for name in find_placeholders(text)
                   if not str(values.get(name) or "").strip()})


def check_business_hours(templates, business_hours):
    """Raise ValueError when ``after_hours`` is on without hours to show.

    ``templates`` maps events to ``(text, enabled)``.
    """
    _, enabled = templates["after_hours"]
    if enabled and not (business_hours or "").strip():
        raise ValueError(
            "the after_hours template is on, so business hours are "
            "required: set --business-hours (e.g. \"Sun-Thu 9-17\") or "
            "turn it off with --template-enabled after_hours=off")


def render_template(text, values):
    """Fill ``{{name}}`` placeholders; a missing value renders empty."""
    return _TEMPLATE_VAR_RE.sub(
        lambda match: values.get(match.group(1), ""), text)


def build_template_values(data, phone, call_time, zone, business_name,
                    business_hours):
    """The placeholder values of one event, times in ``zone``."""
    local = call_time.astimezone(zone)
    callback = parse_call_time(data.get("callback_time"), zone)
    values = {
        "customer_phone": phone or "",
        "agent_extension": clean_value(data.get("agent_extension")),
        "queue": (clean_value(data.get("queue"))
                  or clean_value(data.get("queue_name"))),
        "queue_name": clean_value(data.get("queue_name")),
        "customer_name": clean_value(data.get("customer_name")),
        "agent_name": clean_value(data.get("agent_name")),
        "duration": clean_value(data.get("duration")),
        "call_time": local.strftime("%H:%M"),
        "call_date": local.strftime("%Y-%m-%d"),
        "callback_time": (callback.astimezone(zone).strftime("%H:%M")
                          if callback else
                          clean_value(data.get("callback_time"))),
    }
    values = {name: value[:MAX_VALUE_CHARS]
              for name, value in values.items()}
    values["business_name"] = business_name or ""
    values["business_hours"] = business_hours or ""
    return values


def build_crm_template(webhook_url, name="WhatsApp Gateway",
                       country=None):
    """Return a 3CX server-side CRM template (XML) for one integration.

    Call journaling (``ReportCall``, once per call at its end) posts
    ``missed_call`` for ``[CallType]==Missed`` and ``call_ended`` for
    the rest, as two chained scenarios; the contact lookup, which runs
    at ring time for every call, may post ``call_started`` (off).
    """
    crm = ET.Element("Crm", {
        "Country": country or "US", "Name": name, "Version": "1",
        "SupportsEmojis": "true", "ListPageSize": "0"})
    # Plus: 3CX renders [Number] as +<country><number>, i.e. E.164.
    ET.SubElement(crm, "Number", {"Prefix": "Plus", "MaxLength": "20"})
    ET.SubElement(crm, "Connection", {"MaxConcurrentRequests": "2"})
    params = ET.SubElement(crm, "Parameters")
    for attrs in (
            {"Name": "GatewayUrl", "Type": "String", "Editor": "String",
             "Title": "Gateway webhook URL:", "Default": webhook_url},
            {"Name": "WebhookSecret", "Type": "Password",
             "Editor": "String", "Title": "Webhook secret:"},
            {"Name": "SendMissedCalls", "Type": "Boolean",
             "Editor": "String", "Title": "Report missed calls",
             "Default": "True"},
            {"Name": "SendCallEnded", "Type": "Boolean",
             "Editor": "String", "Title": "Report answered calls",
             "Default": "True"},
            {"Name": "SendCallStarted", "Type": "Boolean",
             "Editor": "String", "Title": "Report call starts (lookup)",
             "Default": "False"}):
        ET.SubElement(params, "Parameter", attrs)
    # The CRM engine cannot sign requests: the secret header is the
    # authentication (HMAC is for Call Flow apps and bridges).
    ET.SubElement(crm, "Authentication", {"Type": "No"})
    scenarios = ET.SubElement(crm, "Scenarios")
    _add_scenario(scenarios, "", "[SendCallStarted]!=True",
                  "call_started", None, lookup=True)
    _add_scenario(scenarios, "ReportCall",
                  "[SendMissedCalls]!=True||[CallType]!=Missed",
                  "missed_call", "ReportCallEnded")
    _add_scenario(scenarios, "ReportCallEnded",
                  "[SendCallEnded]!=True||[CallType]==Missed",
                  "call_ended", None)
    ET.indent(crm)
    return ('<?xml version="1.0" encoding="utf-8"?>\n'
            + ET.tostring(crm, encoding="unicode") + "\n")


_JOURNAL_VALUES = (
    ("customer_phone", "[Number]"),
    ("customer_name", "[Name]"),
    ("agent_extension", "[Agent]"),
    ("agent_name", "[AgentFirstName]"),
    ("queue", "[QueueExtension]"),
    ("call_type", "[CallType]"),
    ("call_direction", "[CallDirection]"),
    ("duration", "[Duration]"),
    ("call_time", '[[CallStartTimeUTC].ToString("yyyy-MM-ddTHH:mm:ssZ")]'),
)


def _add_scenario(parent, ident, skip_if, event_type, next_id,
                  lookup=False):
    scenario = ET.SubElement(parent, "Scenario",
                             {"Id": ident, "Type": "REST"})
    request = ET.SubElement(scenario, "Request", {
        "SkipIf": skip_if, "Url": "[GatewayUrl]", "MessagePasses": "0",
        "RequestContentType": "application/json",
        "RequestEncoding": "Json", "RequestType": "Post",
        "ResponseType": "Json"})
    headers = ET.SubElement(request, "Headers")
    ET.SubElement(headers, "Value",
                  {"Key": "X-WhatsApp-Gateway-3CX-Secret"}).text = (
        "[WebhookSecret]")
    values = ET.SubElement(request, "PostValues", {"Key": ""})
    pairs = [("event_type", event_type)]
    pairs += ([("customer_phone", "[Number]"),
               ("call_direction", "[CallDirection]")] if lookup
              else list(_JOURNAL_VALUES))
    for key, value in pairs:
        ET.SubElement(values, "Value", {"Key": key, "Passes": "1",
                                        "Type": "String"}).text = value
    ET.SubElement(scenario, "Variables")
    outputs = {"AllowEmpty": "true"}
    if next_id:
        outputs["Next"] = next_id
    ET.SubElement(scenario, "Outputs", outputs)
