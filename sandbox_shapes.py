"""The sandbox's Evolution 2.3.6 shapes: request validation, response bodies.

Functions over plain dicts (an instance record of ``SandboxState``):
Evolution's JID rules (``createJid``), its error envelope, QR codes, the
validation messages of its JSON schemas (``[v2] src/validate/*.schema.ts``),
and the bodies of sendText, fetchInstances, create and webhook/find
(reference sections 1-5).
"""
import datetime
import json
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
