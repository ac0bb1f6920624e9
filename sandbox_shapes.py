"""The sandbox's Evolution 2.3.6 shapes: request validation, response bodies.

Functions over plain dicts (an instance record of ``SandboxState``):
Evolution's JID rules (``createJid``), its error envelope, QR codes, the
validation messages of its JSON schemas (``[v2] src/validate/*.schema.ts``),
and the bodies of sendText, fetchInstances, create and webhook/find
(reference sections 1-5).
"""
import datetime
import json
import math
import re
import secrets
import time

import segno
from flask import Response

# Baileys' pairing codes: 8 characters from this alphabet.
PAIRING_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
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


def now_iso():
    """UTC ISO-8601 with milliseconds and Z, like Prisma timestamps."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# What JavaScript's \s matches (Python's differs at the edges).
JS_SPACE = "[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f" \
    "\u205f\u3000\ufeff]"


def create_jid(number, v1=False):
    """Turn a `number` field into a JID as Evolution's createJid does
    ([v2] src/utils/createJid.ts; v1: channel.service.ts createJid)."""
    if not v1:
        # The first `:<digits>` wherever it is (`replace(/:\d+/, '')`).
        number = re.sub(r":\d+", "", number, count=1, flags=re.ASCII)
    if any(s in number for s in ("@g.us", "@s.whatsapp.net", "@lid",
                                 "@broadcast")):
        return number
    number = re.sub(JS_SPACE + r"|[+()]", "", number)
    number = number.split(":")[0].split("@")[0]
    if "-" in number and len(number) >= 24:
        return re.sub(r"[^\d-]", "", number, flags=re.ASCII) + "@g.us"
    digits = re.sub(r"\D", "", number, flags=re.ASCII)
    if len(digits) >= 18:
        return digits + "@g.us"
    return _format_br(_format_mx_or_ar(digits)) + "@s.whatsapp.net"


def _format_mx_or_ar(digits):
    """formatMXOrARNumber: a 13-digit 52/54 number loses its third
    digit, whatever it is."""
    if digits[:2] in ("52", "54") and len(digits) == 13:
        return digits[:2] + digits[3:]
    return digits


def _format_br(digits):
    """formatBRNumber: `^(\\d{2})(\\d{2})\\d(\\d{8})$` with country 55, DDD
    31 or more and the next digit 7-9 loses its fifth digit, whatever it
    is: 5531887654321 -> 553187654321, as 5531987654321 does."""
    match = re.fullmatch(r"(\d{2})(\d{2})\d(\d{8})", digits, re.ASCII)
    if not match or match[1] != "55":
        return digits
    if int(match[3][0]) < 7 or int(match[2]) < 31:
        return digits
    return match[1] + match[2] + match[3]


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


def new_message_id(v1=False):
    """Baileys 7 ids are 3EB0 + 18 hex (22 chars); Baileys 6 BAE5 + 12."""
    if v1:
        return "BAE5" + secrets.token_hex(6).upper()
    return "3EB0" + secrets.token_hex(9).upper()


# ------------------------------------------------------ JSON schemas
#
# Evolution validates bodies with node `jsonschema` 1.5 (package-lock) and
# words each error as dataValidate does ([v2] src/api/abstract/
# abstract.router.ts): the failing schema's `description` when it has
# one, else the error's stack minus its first "instance.".  The schemas
# below are 2.3.6's, keyword for keyword, and `schema_errors` checks the
# keywords they use, in the library's order (a schema's keys in turn;
# `properties` in declared order), so the messages and their order match.

def _is_not_empty(*names):
    """Evolution's isNotEmpty(): `minLength: 1` on the named properties,
    but only when the object has no other property (`if: propertyNames`),
    so `{"url": "", "events": []}` passes."""
    return {"if": {"propertyNames": {"enum": list(names)}},
            "then": {"properties": {
                name: {"minLength": 1,
                       "description": f'The "{name}" cannot be empty'}
                for name in names}}}


# [v2] src/validate/message.schema.ts: quotedOptionsSchema has no `type`,
# so a non-object `quoted` passes, and so does one without `key`.
QUOTED_OPTIONS_SCHEMA = {"properties": {
    "key": {"type": "object",
            "properties": {"id": {"type": "string"},
                           "remoteJid": {"type": "string"},
                           "fromMe": {"type": "boolean",
                                      "enum": [True, False]}},
            "required": ["id"], **_is_not_empty("id")},
    "message": {"type": "object"}}}

# [v2] src/validate/message.schema.ts textMessageSchema: no
# `mentionsEveryOne` (unknown fields are not checked), `everyOne` is.
TEXT_MESSAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "number": {"type": "string", "description": "Invalid format"},
        "text": {"type": "string"},
        "linkPreview": {"type": "boolean"},
        "delay": {"type": "integer",
                  "description": "Enter a value in milliseconds"},
        "quoted": QUOTED_OPTIONS_SCHEMA,
        "everyOne": {"type": "boolean", "enum": [True, False]},
        "mentioned": {
            "type": "array", "minItems": 1, "uniqueItems": True,
            "items": {"type": "string", "pattern": r"^\d+",
                      "description": '"mentioned" must be an array of '
                                     'numeric strings'}}},
    "required": ["number", "text"]}

# [v2] src/api/integrations/event/webhook/webhook.schema.ts
WEBHOOK_SCHEMA = {
    "type": "object",
    "properties": {"webhook": {
        "type": "object",
        "properties": {
            "enabled": {"type": "boolean"},
            "url": {"type": "string"},
            "headers": {"type": "object"},
            "byEvents": {"type": "boolean"},
            "base64": {"type": "boolean"},
            "events": {"type": "array", "minItems": 0,
                       "items": {"type": "string", "enum": ALL_EVENTS}}},
        "required": ["enabled", "url"],
        **_is_not_empty("enabled", "url")}},
    "required": ["webhook"]}


def _js_type(value, name):
    """node jsonschema's type tests on a JSON-decoded Python value."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "integer":  # JS: a number with no fraction (5.0 is one)
        return number and float(value).is_integer()
    return {"string": lambda: isinstance(value, str),
            "boolean": lambda: isinstance(value, bool),
            "number": lambda: number and math.isfinite(value),
            "object": lambda: isinstance(value, dict),
            "array": lambda: isinstance(value, list),
            "null": lambda: value is None}[name]()


def _js_equal(a, b):
    """helpers.deepCompareStrict: no 1 == true, unlike Python."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_js_equal, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_js_equal(a[k], b[k])
                                            for k in a)
    if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
        return False
    same_kind = type(a) is type(b) or (
        _js_type(a, "number") and _js_type(b, "number"))
    return same_kind and a == b


def _js_string(value):
    """String(value) in JS, for the enum message."""
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    return str(value)


def _check(value, schema, path, out):
    """Append (schema, stack) for each failure of `value`, in order."""
    for key in schema:
        rule = schema[key]
        if key == "type" and not _js_type(value, rule):
            out.append((schema, f"{path} is not of a type(s) {rule}"))
        elif key == "enum" and not any(_js_equal(value, e) for e in rule):
            out.append((schema, f"{path} is not one of enum values: "
                        + ",".join(map(_js_string, rule))))
        elif key == "minLength" and isinstance(value, str) and (
                len(value) < rule):
            out.append((schema, f"{path} does not meet minimum length "
                                f"of {rule}"))
        elif key == "pattern" and isinstance(value, str) and not re.search(
                rule, value, re.ASCII):
            out.append((schema, f'{path} does not match pattern "{rule}"'))
        elif key == "minItems" and isinstance(value, list) and (
                len(value) < rule):
            out.append((schema, f"{path} does not meet minimum length "
                                f"of {rule}"))
        elif key == "uniqueItems" and rule and isinstance(value, list) and (
                any(_js_equal(a, b) for i, a in enumerate(value)
                    for b in value[i + 1:])):
            out.append((schema, f"{path} contains duplicate item"))
        elif key == "items" and isinstance(value, list):
            for i, item in enumerate(value):
                _check(item, rule, f"{path}[{i}]", out)
        elif key == "properties" and isinstance(value, dict):
            for name, sub in rule.items():
                if name in value:
                    _check(value[name], sub, f"{path}.{name}", out)
        elif key == "required" and isinstance(value, dict):
            out.extend((schema, f'{path} requires property "{name}"')
                       for name in rule if name not in value)
        elif key == "propertyNames" and isinstance(value, dict):
            for name in value:
                _check(name, rule, path, out)
        elif key == "if" and "then" in schema:
            test = []
            _check(value, rule, path, test)
            if not test:
                _check(value, schema["then"], path, out)


def schema_errors(body, schema):
    """Evolution's 400 messages for `body`, in its order."""
    found = []
    _check(body, schema, "instance", found)
    return [failing.get("description") or stack.replace("instance.", "", 1)
            for failing, stack in found]


def validate_send_text_v2(body):
    """Schema errors of textMessageSchema (v2), one string each."""
    return schema_errors(body, TEXT_MESSAGE_SCHEMA)


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


def node_json_error(exc):
    """A body-parser-like message for a JSON syntax error."""
    pos = getattr(exc, "pos", 0)
    doc = getattr(exc, "doc", "") or ""
    if pos >= len(doc):
        return "Unexpected end of JSON input"
    return f"Unexpected token {doc[pos]} in JSON at position {pos}"


def validate_webhook_v2(body):
    """Schema errors of the v2 webhook set body (`{"webhook": {...}}`).

    webhookSchema's isNotEmpty('enabled', 'url') only applies when the
    webhook has no other field, so `url: ""` next to `events` passes."""
    return schema_errors(body, WEBHOOK_SCHEMA)


def validate_webhook_v1(hook):
    """Schema errors of the v1 webhook set body (the hook itself)."""
    if not isinstance(hook, dict):
        return ['instance requires property "url"']
    errors = [f'instance requires property "{f}"'
              for f in ("enabled", "url") if f not in hook]
    if "url" in hook and not (isinstance(hook["url"], str) and hook["url"]):
        errors.append("url does not meet minimum length of 1")
    if "enabled" in hook and not isinstance(hook["enabled"], bool):
        errors.append("enabled is not of a type(s) boolean")
    if "headers" in hook and not isinstance(hook["headers"], dict):
        errors.append("headers is not of a type(s) object")
    events = hook.get("events")
    if events is not None:
        if not isinstance(events, list):
            errors.append("events is not of a type(s) array")
        else:
            errors.extend(
                f"events[{i}] is not one of enum values: "
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
        # undefined fields vanish from Express's JSON: no webhook, {}.
        "webhook": {} if not hook else {
            "webhookUrl": hook["url"], "webhookHeaders": hook["headers"],
            "webhookByEvents": hook["by_events"],
            "webhookBase64": hook["base64"]},
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
