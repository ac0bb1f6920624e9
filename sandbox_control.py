"""The sandbox's control routes: what a test or a demo plays, under /_sandbox/.

These have no Evolution equivalent; they stand in for the phone, the
contacts and the network (a QR scanned, a message received, a call, a
socket that drops).  Every one needs the global API key.
"""
import secrets
import time

from flask import request

from sandbox import EvolutionError
from sandbox_shapes import create_jid
from sandbox_shapes import digits_of
from sandbox_shapes import make_json
from sandbox_shapes import now_iso


def register_control_routes(app, state, require_global):
    """`/_sandbox/*`: knobs and event injection (global key required).

    POST   /_sandbox/connection-closed   {"closed": bool, "instance"?}
    POST   /_sandbox/not-on-whatsapp     {"add": [...], "remove": [...]}
    POST   /_sandbox/lid                 {"phone", "lid"}: a LID-addressed
                                         contact (sends answer its LID)
    POST   /_sandbox/fail-next           {"status"?, "body"?, "hang_s"?,
                                          "route"?, "content_type"?}
    DELETE /_sandbox/fail-next
    GET    /_sandbox/sent[?instance=x]
    POST   /_sandbox/reset
    POST   /_sandbox/inject/message/<n>  {"text", "from", "phone"?,
                                          "group"?, "push_name"?, "id"?}
    POST   /_sandbox/inject/connection/<n> {"state", "status_reason"?,
                                            "wuid"?, "profile_name"?}
    POST   /_sandbox/inject/qrcode/<n>   the next QR of a connecting
                                         session (the limit included)
    POST   /_sandbox/inject/call/<n>     {"from", "is_video"?, "end"?:
                                          "timeout"|"terminate"|"reject"|
                                          "accept"|null, "missed"?}
    POST   /_sandbox/scan/<n>            {"phone"?, "profile_name"?}: the
                                         phone scans the QR (or enters the
                                         pairing code); the connection opens
    """

    def body():
        data = request.environ.get("sandbox.json", {})
        return data if isinstance(data, dict) else {}

    @app.before_request
    def guard_control_routes():
        if request.path.startswith("/_sandbox/"):
            require_global()

    @app.post("/_sandbox/connection-closed")
    def control_connection_closed():
        state.set_connection_closed(body().get("closed", True),
                                    body().get("instance"))
        return make_json({"ok": True})

    @app.post("/_sandbox/not-on-whatsapp")
    def control_not_on_whatsapp():
        state.add_not_on_whatsapp(*body().get("add", []))
        state.remove_not_on_whatsapp(*body().get("remove", []))
        with state.lock:
            numbers = sorted(state.not_on_whatsapp)
        return make_json({"ok": True, "numbers": numbers})

    @app.post("/_sandbox/lid")
    def control_lid():
        if not (body().get("phone") and str(body().get("lid", "")).endswith(
                "@lid")):
            raise EvolutionError(400, ['needs "phone" and "lid" (...@lid)'])
        state.set_lid(body()["phone"], body()["lid"])
        return make_json({"ok": True})

    @app.post("/_sandbox/fail-next")
    def control_fail_next():
        allowed = ("status", "body", "hang_s", "route", "content_type")
        state.set_fail_next(**{k: v for k, v in body().items()
                               if k in allowed})
        return make_json({"ok": True})

    @app.delete("/_sandbox/fail-next")
    def control_clear_fail_next():
        with state.lock:
            state.fail_next = None
        return make_json({"ok": True})

    @app.get("/_sandbox/sent")
    def control_sent():
        return make_json(state.sent_messages(request.args.get("instance")))

    @app.post("/_sandbox/reset")
    def control_reset():
        state.reset()
        return make_json({"ok": True})

    @app.post("/_sandbox/inject/message/<name>")
    def inject_message(name):
        record = control_instance(name)
        data = build_inbound_message(record, body())
        state.emit(name, "messages.upsert", data)
        return make_json(data, 201)

    @app.post("/_sandbox/inject/connection/<name>")
    def inject_connection(name):
        record = control_instance(name)
        data = apply_connection_change(state, record, body())
        return make_json(data, 201)

    @app.post("/_sandbox/inject/qrcode/<name>")
    def inject_qrcode(name):
        control_instance(name)
        return make_json(state.rotate_qr(name), 201)

    @app.post("/_sandbox/scan/<name>")
    def scan(name):
        record = control_instance(name)
        if record["state"] != "connecting":
            raise EvolutionError(400, [
                f'The "{name}" instance has no QR code to scan: call '
                f'/instance/connect/{name} first'])
        data = state.open_session(name, body().get("phone"),
                                  body().get("profile_name"))
        return make_json(data, 201)

    @app.post("/_sandbox/inject/call/<name>")
    def inject_call(name):
        control_instance(name)
        caller = create_jid(str(body().get("from", "")))
        offer = {"chatId": caller, "from": caller,
                 "id": secrets.token_hex(16).upper(), "date": now_iso(),
                 "offline": False, "status": "offer",
                 "isVideo": bool(body().get("is_video", False)),
                 "isGroup": False}
        state.emit(name, "call", offer)
        # Baileys: a caller who hangs up first gives `terminate`; an
        # unanswered ring `timeout`; an answered call `accept` then
        # `terminate`.
        end = body().get("end", "timeout" if body().get("missed", True)
                         else None)
        steps = {"timeout": ["timeout"], "terminate": ["terminate"],
                 "reject": ["reject"], "accept": ["accept", "terminate"]
                 }.get(end, [])
        delay = state.config["call_timeout_s"]
        state.schedule([(delay, _call_step(state, name, offer, status))
                        for status in steps])
        return make_json(offer, 201)

    def control_instance(name):
        """Unknown instances 404 like Evolution (or auto-create)."""
        record = state.get_instance(name)
        if record is None and state.auto_create:
            record = state.add_instance(
                name, webhook=state.config["default_webhook"])
        if record is None:
            raise EvolutionError(
                404, [f'The "{name}" instance does not exist'])
        return record


def _call_step(state, name, offer, status):
    def run():
        state.emit(name, "call", dict(offer, status=status,
                                      date=now_iso()))
    return run


def build_inbound_message(record, spec):
    """messages.upsert data (2.3.6 keys) for an injected text message."""
    sender = create_jid(str(spec.get("from", "")))
    phone = create_jid(str(spec["phone"])) if spec.get("phone") else None
    lid = sender.endswith("@lid")
    key = {"id": spec.get("id") or "3A" + secrets.token_hex(9).upper(),
           "fromMe": bool(spec.get("from_me", False))}
    if spec.get("group"):
        key.update(remoteJid=create_jid(str(spec["group"])),
                   participant=sender)
        if lid and phone:
            key["participantAlt"] = phone
    else:
        key["remoteJid"] = sender
        if lid and phone:
            key["remoteJidAlt"] = phone
    key["addressingMode"] = "lid" if lid else "pn"
    return {"key": key,
            "pushName": spec.get("push_name") or digits_of(phone or sender),
            "status": "DELIVERY_ACK",
            "message": {"conversation": str(spec.get("text", ""))},
            "messageType": "conversation",
            "messageTimestamp": int(spec.get("timestamp") or time.time()),
            "instanceId": record["id"], "source": "ios"}


def apply_connection_change(state, record, spec):
    """Update the instance state and emit connection.update (5.5)."""
    name, new = record["name"], spec.get("state", "open")
    reason = spec.get("status_reason") or {
        "open": 200, "connecting": 200, "close": 401, "refused": 428}.get(
        new, 200)
    data = {"instance": name, "state": new, "statusReason": reason}
    if new in ("open", "refused"):
        wuid = spec.get("wuid") or record["owner_jid"]
        wuid = create_jid(str(wuid)) if wuid else None
        data.update(wuid=wuid, profileName=spec.get("profile_name"),
                    profilePictureUrl=None)
        if new == "open" and wuid:
            state.update_instance(name, owner_jid=wuid)
    if new == "close":
        return state.close_session(name, reason)
    # `refused` only exists in the webhook; memory goes back to close.
    state.update_instance(name, state="close" if new == "refused" else new)
    state.emit(name, "connection.update", data)
    return data
