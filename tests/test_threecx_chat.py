"""3CX two-way chat against a 3CX stand-in, over real loopback HTTP.

The gateway runs as a real server; the Evolution sandbox posts the
customer's WhatsApp messages to its intake; ``PbxStandIn`` speaks 3CX's
side of the Generic SMS provider contract as
``shared/reference/3cx-sms-provider.md`` describes it: its SMS webhook
(``/sms/generic/<token>``) takes Telnyx-style envelopes and checks them,
and its agents' replies are POSTed to the Provider URL with the Bearer
messaging key, read the way 3CX reads them (a 2xx with a non-empty body
is a tick, anything else a red cross).
"""
import hashlib
import json
import logging
import re
import secrets
import threading
import time
import types

import pytest
import requests
from flask import Flask
from flask import request
from werkzeug.serving import make_server

import cli
import store
import threecx
import threecx_chat_setup
from conftest import wait_until
from conftest import EVOLUTION_INSTANCE
from conftest import PHONE
from conftest import create_account
from conftest import create_endpoint
from conftest import free_port

TRUNK = "+966112345678"
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
INVALID = {"success": False, "error": "invalid_3cx_webhook",
           "message": "Invalid 3CX webhook request.", "details": {}}


class PbxStandIn:
    """3CX's side: an SMS webhook that records, and agents who reply."""

    def __init__(self, trunk=TRUNK, port=0):
        self.trunk = trunk
        self.token = secrets.token_hex(16)
        self.received = []
        self.rejected = []
        self.down = None  # an HTTP status to answer with while "down"
        self.lock = threading.Lock()
        app = Flask("pbx")

        @app.post("/sms/generic/<token>")
        def webhook(token):
            if token != self.token:
                return "", 404
            if self.down:
                return "", self.down
            problem = self.check(request)
            with self.lock:
                if problem:
                    self.rejected.append(problem)
                    return "", 400
                self.received.append({"headers": dict(request.headers),
                                      "body": request.get_json()})
            return "", 200
        self.app = app
        self.port = port or free_port()
        self.start()

    @property
    def webhook_url(self):
        return "http://127.0.0.1:%d/sms/generic/%s" % (self.port,
                                                       self.token)

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self.app,
                                  threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self):
        """Take the PBX off the network: connections are refused."""
        self.server.shutdown()
        self.server.server_close()

    def check(self, req):
        """What 3CX needs of a webhook (reference 3.1, 3.2, 3.4)."""
        if not req.mimetype == "application/json":
            return "content type"
        data = (req.get_json(silent=True) or {}).get("data")
        if not isinstance(data, dict):
            return "no data"
        payload = data.get("payload") or {}
        to = payload.get("to")
        if not isinstance(to, list) or len(to) != 1:
            return "to must be a one-item list"
        if data.get("event_type") == "message.received":
            if to[0].get("phone_number") != self.trunk:
                return "to is not this trunk's number"
            if not E164.fullmatch(str(
                    (payload.get("from") or {}).get("phone_number"))):
                return "from is not E.164 with +"
            if not isinstance(payload.get("text"), str):
                return "text"
            return None
        if data.get("event_type") in ("message.sent", "message.finalized"):
            return None if payload.get("id") else "status without id"
        return "unknown event_type"

    def messages(self, event_type="message.received"):
        with self.lock:
            return [r["body"]["data"] for r in self.received
                    if r["body"]["data"]["event_type"] == event_type]

    def wait_for(self, count, event_type="message.received", timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages(event_type)) >= count:
                return self.messages(event_type)
            time.sleep(0.05)
        raise AssertionError("3CX got %r (rejected %r)" % (
            self.messages(event_type), self.rejected))

    def reply(self, provider_url, key, to, text, sender=None):
        """An agent answers in 3CX Chat: 3CX's send request."""
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = "Bearer " + key
        response = requests.post(provider_url, data=json.dumps(
            {"from": sender or self.trunk, "to": to, "text": text}),
            headers=headers, timeout=15)
        body = response.json() if response.content else None
        shown = "sent" if (200 <= response.status_code < 300
                           and response.content) else "failed"
        message_id = None
        if shown == "sent" and isinstance(body, dict):
            data = body.get("data") or {}
            message_id = data.get("id") or (data.get("payload") or {}).get(
                "id")
        return types.SimpleNamespace(status=response.status_code,
                                     body=body, shown=shown,
                                     message_id=message_id)

    def close(self):
        try:
            self.stop()
        except Exception:
            pass


@pytest.fixture
def pbx():
    stand_in = PbxStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def serve_app(make_app):
    """Run a gateway app as a real HTTP server on loopback."""
    servers = []

    def serve(**overrides):
        app = make_app(**overrides)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever,
                                  args=(0.05,), daemon=True)
        thread.start()
        servers.append(server)
        return types.SimpleNamespace(
            app=app, url="http://127.0.0.1:%d" % server.server_port)
    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def run_cli(base_config, monkeypatch, capsys):
    """``gateway ...`` on the test database; returns parsed stdout."""
    monkeypatch.setenv("GATEWAY_DATABASE_URL", base_config["DATABASE_URL"])

    def run(*argv, expect=0):
        capsys.readouterr()
        status = cli.main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        assert status == expect, err
        return json.loads(out) if expect == 0 else err
    return run


def set_up(gateway, sandbox, run_cli, pbx, *extra, account=None):
    """The three set-up steps, the admin's way, plus Evolution's webhook
    pointing at the served gateway."""
    account = account or create_account()
    with store.db.connection_context():
        row, _ = threecx.create_integration(account.customer_id,
                                            account.instance_name)
        secret = store.Instance.get_by_id(account.instance_id).webhook_secret
    sandbox.state.set_webhook(
        EVOLUTION_INSTANCE,
        url=gateway.url + "/webhooks/evolution/" + account.instance_name,
        headers={"X-Gateway-Secret": secret})
    # 1. the gateway issues the Provider URL and the key
    first = run_cli("3cx", "messaging", row.id, "--url", gateway.url,
                    "--number", TRUNK)
    # 2. (in 3CX: paste them on the trunk's SMS tab, copy the webhook)
    # 3. the gateway stores 3CX's Webhook URL
    second = run_cli("3cx", "messaging", row.id, "--webhook-url",
                     pbx.webhook_url, "--private-network", "on", *extra)
    assert "messaging_key" not in second
    return types.SimpleNamespace(
        id=row.id, key=first["messaging_key"],
        provider_url=first["provider_url"], account=account,
        endpoint_id=second["webhook_endpoint_id"])


def customer_writes(sandbox, text, sender=PHONE, **spec):
    """A WhatsApp message arrives at Evolution (the sandbox)."""
    body = dict(spec, text=text, **{"from": sender.lstrip("+")})
    response = requests.post(
        sandbox.url + "/_sandbox/inject/message/" + EVOLUTION_INSTANCE,
        json=body, headers={"apikey": sandbox.state.api_key}, timeout=5)
    assert response.status_code == 201, response.text
    return response.json()["key"]["id"]


def chat_events(integration_id):
    with store.db.connection_context():
        return [threecx.event_to_dict(e) for e in threecx.ThreeCxEvent
                .select().where(threecx.ThreeCxEvent.integration
                                == integration_id)
                .order_by(threecx.ThreeCxEvent.id)]


def inbound_events(name):
    with store.db.connection_context():
        return list(store.InboundEvent.select().where(
            store.InboundEvent.evolution_event == name))


def deliveries(endpoint_id):
    with store.db.connection_context():
        return list(store.Delivery.select().where(
            store.Delivery.endpoint == endpoint_id).order_by(
            store.Delivery.id))


# -- the whole loop ----------------------------------------------------

def test_customer_writes_agent_replies_whatsapp_receives(
        serve_app, sandbox, run_cli, pbx):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    whatsapp_id = customer_writes(sandbox, "Hi, is my order ready? 🙂")

    [inbound] = pbx.wait_for(1)
    assert inbound["record_type"] == "event"
    assert re.fullmatch(r"[0-9a-f-]{36}", inbound["id"])
    payload = inbound["payload"]
    assert payload["from"] == {"phone_number": PHONE}
    assert payload["to"] == [{"phone_number": TRUNK}]
    assert payload["text"] == "Hi, is my order ready? 🙂"
    assert payload["id"] == whatsapp_id
    assert (payload["type"], payload["direction"]) == ("SMS", "inbound")
    assert inbound["occurred_at"].endswith(("Z", "+00:00"))

    reply = pbx.reply(chat.provider_url, chat.key, PHONE,
                      "Yes, it ships today.")
    assert (reply.status, reply.shown) == (200, "sent")
    assert reply.body["data"]["payload"]["id"] == reply.message_id
    assert reply.body["data"]["to"][0]["phone_number"] == PHONE
    [sent] = sandbox.state.sent_messages()
    assert (sent["instance"], sent["number"], sent["text"]) == (
        EVOLUTION_INSTANCE, PHONE.lstrip("+"), "Yes, it ships today.")
    assert sent["id"] == reply.message_id
    with store.db.connection_context():
        row = store.MessageLog.get_by_id(reply.body["log_id"])
    assert (row.purpose, row.source, row.outcome) == ("support",
                                                      "3cx-chat", "sent")
    events = run_cli("3cx", "events", chat.id)
    assert [(e["event_type"], e["status"], e["action"]) for e in events] \
        == [("chat_send", "processed", "sent"),
            ("chat_inbound", "processed", "forwarded")]
    assert events[0]["message_id"] == reply.message_id
    assert [d.status for d in deliveries(chat.endpoint_id)] == [
        "delivered"]


def test_reply_outside_the_window_is_refused(serve_app, sandbox, run_cli,
                                             pbx):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    reply = pbx.reply(chat.provider_url, chat.key, PHONE, "Hello there")
    assert (reply.status, reply.shown) == (422, "failed")
    assert reply.body == {
        "success": False, "error": "conversation_window_closed",
        "message": reply.body["message"], "details": {"window_hours": 24}}
    # A customer who wrote 25 hours ago is outside it too.
    with store.db.connection_context():
        store.open_window(chat.account.customer_id, PHONE,
                          at=store.utcnow() - __import__(
                              "datetime").timedelta(hours=25))
    assert pbx.reply(chat.provider_url, chat.key, PHONE,
                     "Hello again").status == 422
    assert sandbox.state.sent_messages() == []
    events = run_cli("3cx", "events", chat.id)
    assert [(e["event_type"], e["status"], e["reason"]) for e in events] \
        == [("chat_send", "error", "conversation_window_closed")] * 2


def test_reply_to_a_suppressed_number_is_refused(serve_app, sandbox,
                                                 run_cli, pbx):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    customer_writes(sandbox, "Where is my parcel?")
    customer_writes(sandbox, "STOP")
    # Opt-out handling runs first; the STOP still reaches the agent.
    texts = [m["payload"]["text"] for m in pbx.wait_for(2)]
    assert sorted(texts) == ["STOP", "Where is my parcel?"]
    reply = pbx.reply(chat.provider_url, chat.key, PHONE, "Sorry to see "
                      "you go")
    assert (reply.status, reply.shown) == (403, "failed")
    assert reply.body["error"] == "recipient_suppressed"
    assert set(reply.body) == {"success", "error", "message", "details"}
    assert sandbox.state.sent_messages() == []
    [event] = [e for e in run_cli("3cx", "events", chat.id)
               if e["event_type"] == "chat_send"]
    assert (event["status"], event["reason"]) == ("error",
                                                  "recipient_suppressed")


@pytest.mark.parametrize("key", ["w3cxm_wrong", "", None, "secret"])
def test_a_wrong_key_gets_the_generic_401(serve_app, sandbox, run_cli, pbx,
                                          key):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    customer_writes(sandbox, "Hi")
    pbx.wait_for(1)
    given = chat.key[:-1] if key == "secret" else key
    reply = pbx.reply(chat.provider_url, given, PHONE, "Hello")
    assert (reply.status, reply.body, reply.shown) == (401, INVALID,
                                                       "failed")
    # The call-event secret is no messaging key, and the key is
    # only this integration's.
    with store.db.connection_context():
        other, secret = threecx.create_integration(
            chat.account.customer_id, chat.account.instance_name)
    base = chat.provider_url.rsplit("/", 1)[0] + "/"
    for url, token in ((chat.provider_url, secret),
                       (base + str(other.id), chat.key),
                       (base + "999", chat.key), (base + "x1", chat.key)):
        reply = pbx.reply(url, token, PHONE, "Hello")
        assert (reply.status, reply.body) == (401, INVALID)
    assert sandbox.state.sent_messages() == []
    # Visible to the admin, once a minute at most.
    refused = [e for e in run_cli("3cx", "events", chat.id)
               if e["event_type"] == "chat_send"]
    assert [(e["status"], e["reason"]) for e in refused] == [
        ("error", "invalid_3cx_webhook")]


def test_3cx_down_for_a_while_loses_nothing(serve_app, sandbox, run_cli,
                                           pbx):
    gateway = serve_app(WEBHOOK_RETRY_SCHEDULE="0.2,0.3,0.4" + ",0.5" * 20)
    chat = set_up(gateway, sandbox, run_cli, pbx)
    pbx.down = 503
    customer_writes(sandbox, "first")
    wait_until(lambda: any(d.attempts >= 2 for d in deliveries(
        chat.endpoint_id)))
    pbx.stop()  # now the PBX refuses connections altogether
    customer_writes(sandbox, "second")
    customer_writes(sandbox, "third")
    wait_until(lambda: len(deliveries(chat.endpoint_id)) == 3 and all(
        d.attempts >= 1 and d.status != "delivering"
        for d in deliveries(chat.endpoint_id)))
    assert pbx.messages() == []
    pbx.down = None
    pbx.start()
    texts = [m["payload"]["text"] for m in pbx.wait_for(3, timeout=30)]
    assert sorted(texts) == ["first", "second", "third"]
    # Each is recorded once its answer is back, a moment after the PBX
    # has it.
    wait_until(lambda: [d.status for d in deliveries(chat.endpoint_id)]
               == ["delivered"] * 3)


def test_the_backlog_goes_as_soon_as_3cx_answers_again(
        serve_app, sandbox, run_cli, pbx):
    gateway = serve_app(WEBHOOK_RETRY_SCHEDULE="0.1,60,60")
    chat = set_up(gateway, sandbox, run_cli, pbx)
    pbx.down = 503
    customer_writes(sandbox, "first")
    customer_writes(sandbox, "second")
    # Both failed twice and are now a minute from their next attempt.
    wait_until(lambda: [(d.status, d.attempts) for d in deliveries(
        chat.endpoint_id)] == [("failed", 2), ("failed", 2)])
    pbx.down = None
    customer_writes(sandbox, "third")
    started = time.monotonic()
    texts = [m["payload"]["text"] for m in pbx.wait_for(3, timeout=10)]
    assert time.monotonic() - started < 10
    assert texts[0] == "third" and sorted(texts[1:]) == ["first", "second"]


def test_dead_lettered_forwards_are_replayed(serve_app, sandbox, run_cli,
                                             pbx):
    gateway = serve_app(WEBHOOK_RETRY_SCHEDULE="0.1,0.1")
    chat = set_up(gateway, sandbox, run_cli, pbx)
    pbx.down = 500
    customer_writes(sandbox, "are you there?")
    [dead] = wait_until(lambda: [d for d in deliveries(chat.endpoint_id)
                                 if d.status == "dead"])
    pbx.down = None
    assert run_cli("deliveries", "replay", dead.id) == {"replayed": 1}
    [message] = pbx.wait_for(1)
    assert message["payload"]["text"] == "are you there?"


def test_groups_and_lid_only_contacts_are_not_forwarded(
        serve_app, sandbox, run_cli, pbx, receiver, caplog):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    create_endpoint(chat.account.customer_id, receiver.url)
    caplog.set_level(logging.INFO)
    customer_writes(sandbox, "hello group", group="120363041234567890@g.us")
    customer_writes(sandbox, "hello from a LID", sender="123456789012345@lid")
    # A LID whose phone Evolution gives (remoteJidAlt) is forwarded.
    customer_writes(sandbox, "LID with phone", sender="223456789012345@lid",
                    phone="966551234567")
    [message] = pbx.wait_for(1)
    assert message["payload"]["from"] == {"phone_number": "+966551234567"}
    assert message["payload"]["text"] == "LID with phone"
    # The customer's own webhook still gets all three.
    receiver.wait_for(lambda r: len(r.events()) >= 3)
    assert sorted(e["event"] for e in receiver.events()) == [
        "group.message_received", "message.received", "message.received"]
    time.sleep(0.5)
    assert len(pbx.messages()) == 1 and pbx.rejected == []
    skipped = [(e["status"], e["reason"]) for e in run_cli(
        "3cx", "events", chat.id) if e["status"] == "skipped"]
    # A group message is counted, not a row each (tests of the metric:
    # test_threecx_chat_ops.py).
    assert skipped == [("skipped", "no_phone_number")]
    logged = caplog.text
    assert "not forwarded: no_phone_number" in logged


def post_intake(gateway, account, data):
    """An Evolution messages.upsert of any shape, straight to the intake."""
    with store.db.connection_context():
        secret = store.Instance.get_by_id(account.instance_id).webhook_secret
    response = requests.post(
        gateway.url + "/webhooks/evolution/" + account.instance_name,
        json={"event": "messages.upsert", "instance": EVOLUTION_INSTANCE,
              "data": data, "sender": "966112345678@s.whatsapp.net"},
        headers={"X-Gateway-Secret": secret}, timeout=5)
    assert response.status_code == 200


def test_media_is_named_and_reactions_are_not_forwarded(
        serve_app, sandbox, run_cli, pbx):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    key = {"remoteJid": "966501234567@s.whatsapp.net", "fromMe": False}
    post_intake(gateway, chat.account, {
        "key": dict(key, id="3A01"), "messageTimestamp": int(time.time()),
        "message": {"reactionMessage": {"text": "👍", "key": {"id": "X"}}}})
    post_intake(gateway, chat.account, {
        "key": dict(key, id="3A02"), "messageTimestamp": int(time.time()),
        "message": {"imageMessage": {"caption": "the broken part",
                                     "mimetype": "image/jpeg"}}})
    [message] = pbx.wait_for(1)
    assert message["payload"]["text"] == (
        "the broken part\n[WhatsApp image message: open it on the "
        "WhatsApp phone]")
    assert message["payload"]["id"] == "3A02"
    assert [(e["status"], e["reason"]) for e in chat_events(chat.id)] == [
        ("skipped", "message_type"), ("processed", None)]


def test_inbound_off_stops_forwarding(serve_app, sandbox, run_cli, pbx):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx, "--inbound", "off")
    customer_writes(sandbox, "anyone?")
    wait_until(lambda: inbound_events("messages.upsert"))
    time.sleep(0.3)
    assert chat_events(chat.id) == []
    assert pbx.messages() == []
    run_cli("3cx", "messaging", chat.id, "--inbound", "on")
    customer_writes(sandbox, "hello?")
    assert [m["payload"]["text"] for m in pbx.wait_for(1)] == ["hello?"]


def test_a_text_longer_than_one_webhook_goes_in_marked_parts(chat, sandbox,
                                                             pbx):
    """3cx-sms-provider.md 6: past 4096 characters, several webhooks."""
    words = " ".join("word%d" % n for n in range(1200))  # ~9,000 chars
    message_id = customer_writes(sandbox, words)
    parts = pbx.wait_for(4)[1:]  # the fixture's "hi" came first
    assert len(parts) == 3
    parts.sort(key=lambda p: p["payload"]["text"])
    texts = [p["payload"]["text"] for p in parts]
    assert all(len(t) <= 4096 for t in texts)
    assert [t[:6] for t in texts] == ["[1/3] ", "[2/3] ", "[3/3] "]
    assert " ".join(t[6:] for t in texts) == words
    assert sorted(p["payload"]["id"] for p in parts) == sorted(
        [message_id, message_id + "-2", message_id + "-3"])
    assert pbx.rejected == []


def test_status_events_when_asked(serve_app, sandbox, run_cli, pbx):
    sandbox.state.config["ack_delay_s"] = 0.05
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx, "--status-events", "on")
    customer_writes(sandbox, "hi")
    pbx.wait_for(1)
    reply = pbx.reply(chat.provider_url, chat.key, PHONE, "hello!")
    assert reply.shown == "sent"
    [sent] = pbx.wait_for(1, "message.sent")
    [final] = pbx.wait_for(1, "message.finalized")
    for event in (sent, final):
        assert event["payload"]["id"] == reply.message_id
        assert event["payload"]["from"] == {"phone_number": TRUNK}
        assert event["payload"]["to"][0]["phone_number"] == PHONE
    assert sent["payload"]["to"][0]["status"] == "sent"
    assert final["payload"]["to"][0]["status"] == "delivered"
    # READ after DELIVERY_ACK adds nothing.
    time.sleep(0.5)
    assert len(pbx.messages("message.finalized")) == 1


def test_a_read_receipt_alone_finalizes_as_delivered(serve_app, sandbox,
                                                     run_cli, pbx):
    """WhatsApp may report a reply read with no delivery receipt first
    (or the delivery one lost): read is delivered too, said once."""
    sandbox.state.config["ack_delay_s"] = None  # receipts by hand below
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx, "--status-events", "on")
    customer_writes(sandbox, "hi")
    pbx.wait_for(1)
    reply = pbx.reply(chat.provider_url, chat.key, PHONE, "on its way")
    pbx.wait_for(1, "message.sent")
    with store.db.connection_context():
        secret = store.Instance.get_by_id(
            chat.account.instance_id).webhook_secret

    def receipt(status):
        body = {"event": "messages.update", "instance": EVOLUTION_INSTANCE,
                "data": {"keyId": reply.message_id, "fromMe": True,
                         "remoteJid": PHONE.lstrip("+") + "@s.whatsapp.net",
                         "status": status},
                "date_time": "2026-12-02T10:00:00.000Z"}
        assert requests.post(
            gateway.url + "/webhooks/evolution/"
            + chat.account.instance_name, json=body, timeout=10,
            headers={"X-Gateway-Secret": secret}).status_code == 200
    receipt("READ")
    [final] = pbx.wait_for(1, "message.finalized")
    assert final["payload"]["to"][0]["status"] == "delivered"
    receipt("DELIVERY_ACK")  # late: lower than READ, nothing more
    receipt("PLAYED")
    time.sleep(0.5)
    assert len(pbx.messages("message.finalized")) == 1


def test_no_status_events_unless_asked(serve_app, sandbox, run_cli, pbx):
    sandbox.state.config["ack_delay_s"] = 0.05
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    customer_writes(sandbox, "hi")
    pbx.wait_for(1)
    assert pbx.reply(chat.provider_url, chat.key, PHONE, "ok").shown == \
        "sent"
    time.sleep(0.8)
    assert [r["body"]["data"]["event_type"] for r in pbx.received] == [
        "message.received"]


# -- the provider endpoint's edges -----------------------------------------

@pytest.fixture
def chat(serve_app, sandbox, run_cli, pbx):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    customer_writes(sandbox, "hi")
    pbx.wait_for(1)
    return chat


def post(chat, body, key="own", content_type="application/json"):
    headers = {"Content-Type": content_type,
               "Authorization": "Bearer " + (chat.key if key == "own"
                                             else key)}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    response = requests.post(chat.provider_url, data=data, headers=headers,
                             timeout=15)
    return response.status_code, response.json()


@pytest.mark.parametrize("body, status, code", [
    ("{not json", 400, "invalid_json"),
    ([1, 2], 400, "validation_error"),
    ({"from": TRUNK, "text": "x"}, 400, "missing_phone"),
    ({"from": TRUNK, "to": "12", "text": "x"}, 400, "validation_error"),
    ({"from": TRUNK, "to": [PHONE, "+966551234567"], "text": "x"}, 400,
     "validation_error"),
    ({"from": TRUNK, "to": PHONE, "text": "  "}, 400,
     "missing_message_text"),
    ({"from": TRUNK, "to": PHONE, "text": "\u200b\u200b"}, 400,
     "missing_message_text"),
    ({"from": TRUNK, "to": PHONE, "text": 5}, 400, "validation_error"),
    ({"from": TRUNK, "to": PHONE, "text": "x" * 4097}, 400,
     "validation_error"),
    ({"from": "+966112345679", "to": PHONE, "text": "x"}, 403,
     "number_not_allowed"),
])
def test_bad_requests_get_the_contract_error(chat, sandbox, body, status,
                                             code):
    got, answer = post(chat, body)
    assert (got, answer["error"]) == (status, code)
    assert set(answer) == {"success", "error", "message", "details"}
    assert answer["success"] is False
    assert sandbox.state.sent_messages() == []
    [event] = [e for e in chat_events(chat.id)
               if e["event_type"] == "chat_send"]
    assert (event["status"], event["reason"]) == ("error", code)


def test_field_names_in_any_case(chat, sandbox):
    """One 3CX REST connector template capitalises the fields."""
    status, answer = post(chat, {"From": TRUNK, "To": PHONE,
                                 "Text": "Your parcel left today."})
    assert status == 200, answer
    status, answer = post(chat, {"from": TRUNK, "TO": "+966551234567",
                                 "to": PHONE, "text": "Lower wins."})
    assert status == 200, answer
    assert [m["text"] for m in sandbox.state.sent_messages()] == [
        "Your parcel left today.", "Lower wins."]


def test_body_over_256_kb_is_413(chat, sandbox):
    status, answer = post(chat, {"from": TRUNK, "to": PHONE,
                                 "text": "x" * (256 * 1024)})
    assert (status, answer["error"]) == (413, "payload_too_large")
    assert sandbox.state.sent_messages() == []


def test_to_as_a_list_and_plain_text_content_type(chat, sandbox):
    status, answer = post(chat, {"from": TRUNK, "to": [PHONE],
                                 "text": "one"}, content_type="text/plain")
    assert status == 200 and answer["data"]["id"] == answer["message_id"]
    status, answer = post(chat, {"from": TRUNK,
                                 "to": [{"phone_number": PHONE}],
                                 "text": "two", "media_urls": [
                                     "https://pbx.example.com/f/1.jpg"]})
    assert status == 200
    assert [m["text"] for m in sandbox.state.sent_messages()] == [
        "one", "two\nhttps://pbx.example.com/f/1.jpg"]


def test_a_brazilian_number_without_its_ninth_digit_is_one_person(
        serve_app, sandbox, run_cli, pbx):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    # Evolution carries the old JID form; the customer is +5531987654321.
    customer_writes(sandbox, "oi", sender="+553187654321")
    [message] = pbx.wait_for(1)
    assert message["payload"]["from"] == {"phone_number": "+5531987654321"}
    for to in ("+5531987654321", "+553187654321"):
        reply = pbx.reply(chat.provider_url, chat.key, to, "Olá " + to)
        assert reply.status == 200, reply.body
        assert reply.body["data"]["to"][0]["phone_number"] == \
            "+5531987654321"
    assert len(sandbox.state.sent_messages()) == 2


def test_a_repeated_request_sends_once(chat, sandbox):
    body = {"from": TRUNK, "to": PHONE, "text": "Your ticket is closed."}
    first = post(chat, body)
    second = post(chat, body)
    assert first[0] == second[0] == 200
    assert first[1]["data"]["id"] == second[1]["data"]["id"]
    assert len(sandbox.state.sent_messages()) == 1


def test_the_same_reply_after_the_customer_wrote_again_is_sent(
        chat, sandbox, pbx, monkeypatch):
    """De-duplication follows the conversation, not a clock bucket: the
    same "ok" after the customer wrote again is a new message (it was
    answered from the first one and never sent); a repeat within the
    window is one even across a minute's boundary; past the window the
    same text goes again."""
    import threecx_chat
    body = {"from": TRUNK, "to": PHONE, "text": "ok"}
    first = post(chat, body)[1]["data"]["id"]
    time.sleep(1.1)  # WhatsApp stamps messages to the second
    customer_writes(sandbox, "and the invoice?")
    pbx.wait_for(2)
    second = post(chat, body)[1]["data"]["id"]
    assert second != first
    assert post(chat, body)[1]["data"]["id"] == second  # a repeat
    monkeypatch.setattr(threecx_chat, "DEDUPE_SECONDS", 0.2)
    time.sleep(0.4)
    third = post(chat, body)[1]["data"]["id"]
    assert third not in (first, second)
    assert post(chat, body)[1]["data"]["id"] == third
    assert [m["text"] for m in sandbox.state.sent_messages()] == [
        "ok", "ok", "ok"]


def test_guard_refusals_keep_their_status(chat, sandbox, run_cli,
                                          monkeypatch):
    body = {"from": TRUNK, "to": PHONE, "text": "Thanks for waiting"}
    run_cli("3cx", "set", chat.id, "--outbound", "off")
    assert post(chat, body)[1]["error"] == "outbound_disabled"
    run_cli("3cx", "set", chat.id, "--outbound", "on")
    sandbox.state.set_connection_closed(True)
    status, answer = post(chat, body)
    assert (status, answer["error"]) == (502, "gateway_send_failed")
    # Its outcome is unknown (it may have gone out): the same text within
    # the de-dupe window is not sent again.
    sandbox.state.set_connection_closed(False)
    assert post(chat, body)[1]["details"]["outcome"] == "unknown"
    # Nor after the window: only a reply certainly sent lets it go again.
    import threecx_chat
    monkeypatch.setattr(threecx_chat, "DEDUPE_SECONDS", 0)
    time.sleep(0.05)
    assert post(chat, body)[1]["details"]["outcome"] == "unknown"
    assert sandbox.state.sent_messages() == []
    run_cli("instances", "pause", chat.account.instance_name, "--reason",
            "review")
    body["text"] = "Thanks for waiting!"
    assert post(chat, body)[0] == 423
    run_cli("instances", "resume", chat.account.instance_name)
    status, answer = post(chat, {"from": TRUNK, "to": PHONE,
                                 "text": "Huge SALE today! 50% off all "
                                 "items, buy now, limited offer!"})
    assert (status, answer["error"]) == (403, "policy_violation")
    with store.db.connection_context():
        store.Customer.update(modules="api").execute()
    assert post(chat, body)[1]["error"] == "module_not_enabled"
    reasons = [e["reason"] for e in chat_events(chat.id)
               if e["event_type"] == "chat_send"]
    assert reasons == ["outbound_disabled", "gateway_send_failed",
                       "instance_paused_for_review", "policy_violation",
                       "module_not_enabled"]


# -- set-up, keys, SSRF ------------------------------------------------------

def test_messaging_key_is_shown_once_and_stored_hashed(
        serve_app, sandbox, run_cli, pbx, base_config, tmp_path):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    assert chat.key.startswith("w3cxm_") and len(chat.key) > 40
    assert chat.provider_url == "%s/integrations/3cx/messaging/%d" % (
        gateway.url, chat.id)
    shown = run_cli("3cx", "messaging", chat.id)
    assert "messaging_key" not in shown and chat.key not in json.dumps(shown)
    assert pbx.token not in json.dumps(shown)
    assert shown["webhook_url"].startswith("http://127.0.0.1:")
    [integration] = run_cli("3cx", "list")
    assert integration["messaging"] == {
        "enabled": True, "provider_path": "/integrations/3cx/messaging/%d"
        % chat.id, "webhook_endpoint_id": chat.endpoint_id,
        "webhook_problem": None, "number": TRUNK, "inbound": True,
        "status_events": False}
    assert chat.key not in json.dumps(integration)
    [endpoint] = run_cli("webhooks", "list")
    assert endpoint["kind"] == "3cx" and pbx.token not in endpoint["url"]
    with store.db.connection_context():
        row = threecx.ThreeCxIntegration.get_by_id(chat.id)
        stored = json.dumps(list(threecx.ThreeCxIntegration.select()
                                 .dicts()), default=str)
    assert row.messaging_key_hash == hashlib.sha256(
        chat.key.encode()).hexdigest()
    assert chat.key not in stored
    store.db.close()
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("gateway.db*"))
    assert chat.key.encode() not in on_disk
    rotated = run_cli("3cx", "messaging", chat.id, "--rotate-key")
    customer_writes(sandbox, "hi")
    pbx.wait_for(1)
    assert pbx.reply(chat.provider_url, chat.key, PHONE, "x").status == 401
    assert pbx.reply(chat.provider_url, rotated["messaging_key"], PHONE,
                     "x").status == 200


def test_send_test_posts_a_test_message_to_3cx(serve_app, sandbox,
                                               run_cli, pbx):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    shown = run_cli("3cx", "messaging", chat.id, "--send-test", PHONE)
    [message] = pbx.wait_for(1)
    assert message["payload"]["text"] == threecx_chat_setup.TEST_TEXT
    assert message["payload"]["to"] == [{"phone_number": TRUNK}]
    assert [d.id for d in deliveries(chat.endpoint_id)] == [
        shown["test_delivery_id"]]
    assert "--number" in run_cli("3cx", "messaging", chat.id, "--number",
                                 "", "--send-test", PHONE, expect=2)


def test_the_pbx_webhook_gets_no_customer_events(serve_app, sandbox,
                                                 run_cli, pbx, receiver):
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    endpoint = create_endpoint(chat.account.customer_id, receiver.url)
    receiver.secret = endpoint.secret
    customer_writes(sandbox, "hi")
    pbx.wait_for(1)
    reply = pbx.reply(chat.provider_url, chat.key, PHONE, "hello")
    receiver.wait_for(lambda r: r.events("message.sent"))
    assert sorted(e["event"] for e in receiver.events()) == [
        "message.received", "message.sent"]
    assert receiver.events("message.sent")[0]["message_id"] == \
        reply.message_id
    time.sleep(0.3)
    assert [r["body"]["data"]["event_type"] for r in pbx.received] == [
        "message.received"]
    # Deliveries to the PBX are signed like every webhook (3CX ignores it).
    headers = pbx.received[0]["headers"]
    assert headers["X-Whatsapp-Gateway-Signature"].startswith("sha256=")


def test_private_pbx_needs_the_operators_opt_in(serve_app, sandbox, run_cli,
                                                pbx):
    gateway = serve_app(WEBHOOK_ALLOW_PRIVATE=False,
                        WEBHOOK_RETRY_SCHEDULE="0.1,0.1")
    account = create_account()
    with store.db.connection_context():
        row, _ = threecx.create_integration(account.customer_id,
                                            account.instance_name)
    err = run_cli("3cx", "messaging", row.id, "--webhook-url",
                  pbx.webhook_url, expect=2)
    assert "--private-network on" in err
    chat = set_up(gateway, sandbox, run_cli, pbx, account=account)
    customer_writes(sandbox, "on the LAN")
    assert [m["payload"]["text"] for m in pbx.wait_for(1)] == ["on the LAN"]
    # Without the opt-in the dispatcher refuses the private address.
    with store.db.connection_context():
        store.WebhookEndpoint.update(allow_private=False).where(
            store.WebhookEndpoint.id == chat.endpoint_id).execute()
    customer_writes(sandbox, "blocked")
    [dead] = wait_until(lambda: [d for d in deliveries(chat.endpoint_id)
                                 if d.status == "dead"])
    assert dead.last_error.startswith("blocked")
    assert len(pbx.messages()) == 1


def test_number_defaults_to_the_instances_own(serve_app, sandbox, run_cli,
                                              pbx):
    sandbox.state.update_instance(EVOLUTION_INSTANCE,
                                  owner_jid="966112345678@s.whatsapp.net")
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    run_cli("3cx", "messaging", chat.id, "--number", "")
    customer_writes(sandbox, "hi")
    [message] = pbx.wait_for(1)
    assert message["payload"]["to"] == [{"phone_number": TRUNK}]
    # Any well-formed from is taken when no number is set.
    assert pbx.reply(chat.provider_url, chat.key, PHONE, "ok",
                     sender="+966112345679").status == 200


def test_logs_carry_no_key_text_or_webhook_token(serve_app, sandbox,
                                                 run_cli, pbx, caplog):
    caplog.set_level(logging.DEBUG)
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    customer_writes(sandbox, "my secret question")
    pbx.wait_for(1)
    pbx.reply(chat.provider_url, chat.key, PHONE, "my private answer")
    pbx.reply(chat.provider_url, "w3cxm_bad", PHONE, "second answer")
    # The gateway's own log lines (werkzeug's access log is the test
    # servers', and the stand-in's path carries its token by design).
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if r.name != "werkzeug")
    for secret in (chat.key, pbx.token, "my secret question",
                   "my private answer", "second answer"):
        assert secret not in logged


# -- any JSON ---------------------------------------------------------------

def test_the_provider_endpoint_never_500s_on_any_json(app, sandbox):
    """Hypothesis throws arbitrary JSON (and 3CX-shaped bodies) at the
    endpoint with a valid key: every answer is a 200 or the contract's
    error body, never a 500."""
    import hypothesis
    from hypothesis import strategies as st

    account = create_account()
    with store.db.connection_context():
        row, _ = threecx.create_integration(account.customer_id,
                                            account.instance_name)
        row, key = threecx_chat_setup.configure(
            row, app.extensions["gateway"]["settings"], number=TRUNK)
        store.open_window(account.customer_id, PHONE)
    client = app.test_client()
    scalars = (st.none() | st.booleans() | st.integers() |
               st.floats(allow_nan=False) | st.text(max_size=20))
    values = st.recursive(scalars, lambda inner: st.lists(
        inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                             max_size=4), max_leaves=12)
    numbers = st.sampled_from([PHONE, TRUNK, "966501234567", "+1", "",
                               "0501234567", "[Number]"]) | values
    shaped = st.fixed_dictionaries({}, optional={
        "from": numbers, "to": numbers | st.lists(numbers, max_size=2),
        "text": st.text(max_size=40) | values,
        "media_urls": st.lists(st.sampled_from(
            ["https://x.example/a.jpg", "ftp://x", ""]), max_size=2) | values})

    @hypothesis.settings(max_examples=150, deadline=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(body=st.one_of(shaped, shaped, values))
    def check(body):
        response = client.post(
            "/integrations/3cx/messaging/%d" % row.id, data=json.dumps(body),
            headers={"Authorization": "Bearer " + key,
                     "Content-Type": "application/json"})
        answer = response.get_json()
        assert response.status_code != 500, answer
        if response.status_code == 200:
            assert answer["data"]["id"] == answer["data"]["payload"]["id"]
        else:
            assert set(answer) == {"success", "error", "message",
                                   "details"}, answer
    check()


def test_wrong_keys_are_locked_out_like_on_the_call_route(chat, sandbox):
    """Guessing the messaging key meets the same failed-authentication
    budget as the call-events route: a 429, not another 401."""
    codes = [post(chat, {"from": TRUNK, "to": PHONE, "text": "x"},
                  key="w3cxm_" + "0" * 40)[0] for _ in range(25)]
    assert codes[0] == 401
    assert codes[-1] == 429
    assert sandbox.state.sent_messages() == []


def test_the_trunk_number_is_kept_as_the_admin_typed_it(serve_app, sandbox,
                                                        run_cli, pbx):
    """3CX matches an inbound message's ``to`` against its trunk's number
    exactly: a Mexican number with the 1 after 52 stays so (the guards
    still compare the canonical form, so 3CX's replies from either
    spelling pass)."""
    gateway = serve_app()
    chat = set_up(gateway, sandbox, run_cli, pbx)
    # The trunk as 3CX has it; the stand-in refuses any other "to".
    pbx.trunk = "+5215512345678"
    assert run_cli("3cx", "messaging", chat.id, "--number",
                   "+52 1 55 1234 5678")["number"] == "+5215512345678"
    customer_writes(sandbox, "hola")
    [message] = pbx.wait_for(1)
    assert message["payload"]["to"] == [{"phone_number": "+5215512345678"}]
    assert pbx.rejected == []
    for sender in ("+5215512345678", "+525512345678"):
        status, answer = post(chat, {"from": sender, "to": PHONE,
                                     "text": "Con gusto"})
        assert status == 200, answer
    status, answer = post(chat, {"from": TRUNK, "to": PHONE, "text": "x"})
    assert (status, answer["error"]) == (403, "number_not_allowed")
