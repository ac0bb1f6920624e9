"""Real Evolution traffic through the intake: identity, calls, windows,
QR limit, JWT skew, trailing slashes, pauses (evolution-audit fixtures)."""
import datetime
import json
import logging
import time

import jwt
import pytest

import sending
import store
from conftest import create_account
from conftest import create_endpoint
from conftest import send_body
from test_webhooks import envelope

INTAKE = "/webhooks/evolution/support-line"
LID = "214567890123456@lid"


def upsert(text, key, msg_id, timestamp=None):
    key = dict(key, fromMe=False, id=msg_id)
    return envelope("messages.upsert", {
        "key": key, "pushName": "Maria", "status": "DELIVERY_ACK",
        "message": {"conversation": text}, "messageType": "conversation",
        "messageTimestamp": int(timestamp or time.time()),
        "source": "ios"})


def secret():
    with store.db.connection_context():
        return store.Instance.get().webhook_secret


def post(client, body, path=INTAKE, headers=None):
    response = client.post(path, data=json.dumps(body), headers=dict(
        headers or {"X-Gateway-Secret": secret()},
        **{"Content-Type": "application/json"}))
    assert response.status_code == 200, response.get_data()
    return response


def send(client, account, phone):
    return client.post("/api/send-message", json=send_body(phone=phone),
                       headers=account.headers)


@pytest.fixture
def hooked(app, receiver):
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url)
    receiver.secret = endpoint.secret
    return account


# --- one person, one identity ------------------------------------------

@pytest.mark.parametrize("jid, sent_to", [
    # Evolution drops Brazil's ninth digit; customers send with it.
    ("553187654321@s.whatsapp.net", ["+5531987654321", "+553187654321"]),
    # Mexican JIDs keep the 1 after 52; customers send without it.
    ("5215512345678@s.whatsapp.net", ["+525512345678", "+5215512345678"]),
])
def test_stop_suppresses_the_number_customers_send_to(client, hooked, jid,
                                                      sent_to, receiver):
    post(client, upsert("STOP", {"remoteJid": jid}, "3A01"))
    for phone in sent_to:
        response = send(client, hooked, phone)
        assert response.status_code == 403, phone
        assert response.get_json()["error"] == "recipient_suppressed"
    # Deliveries run concurrently: wait for both events, in any order.
    receiver.wait_for(lambda r: r.events("recipient.opted_out")
                      and r.events("message.received"))
    [received] = receiver.events("message.received")
    assert received["from"] == sent_to[0]
    assert receiver.events("recipient.opted_out")[0]["from"] == sent_to[0]
    with store.db.connection_context():
        assert store.window_is_open(hooked.customer_id, sent_to[0])


def test_lid_only_stop_after_a_pair_was_seen(client, hooked, receiver):
    post(client, upsert("Hi", {"remoteJid": LID, "addressingMode": "lid",
                               "remoteJidAlt": "553187654321@s.whatsapp.net"},
                        "3A02"))
    post(client, upsert("STOP", {"remoteJid": LID}, "3A03"))
    assert send(client, hooked, "+5531987654321").status_code == 403
    receiver.wait_for(lambda r: len(r.events("message.received")) == 2)
    assert [e["from"] for e in receiver.events("message.received")] == [
        "+5531987654321", "+5531987654321"]


def test_lid_only_stop_before_the_pair_is_learned(client, hooked,
                                                  receiver):
    post(client, upsert("STOP", {"remoteJid": LID}, "3A04"))
    receiver.wait_for(lambda r: r.events("message.received"))
    # No pair known yet: delivered, with the LID JID in `from`.
    assert receiver.events("message.received")[0]["from"] == LID
    assert send(client, hooked, "+5511987654321").status_code == 200
    # Later a payload pairs the LID with its phone (pn addressing).
    post(client, upsert("ok", {"remoteJid": "5511987654321@s.whatsapp.net",
                               "remoteJidAlt": LID, "addressingMode": "pn"},
                        "3A05"))
    assert send(client, hooked, "+5511987654321").status_code == 403


def test_lid_learned_from_a_receipt_of_our_send(client, hooked, receiver):
    response = send(client, hooked, "+5511987654321")
    message_id = response.get_json()["message_id"]
    post(client, envelope("messages.update", {
        "keyId": message_id, "remoteJid": LID, "fromMe": True,
        "status": "DELIVERY_ACK"}))
    receiver.wait_for(lambda r: r.events("message.delivered"))
    assert receiver.events("message.delivered")[0]["from"] == \
        "+5511987654321"
    post(client, upsert("stop", {"remoteJid": LID}, "3A06"))
    assert send(client, hooked, "+5511987654321").status_code == 403


def test_lid_learned_from_a_send_text_answer(client, hooked, sandbox,
                                             receiver):
    # 2.3.6 answers a send to a LID-addressed contact with its LID.
    sandbox.state.set_lid("5511987654321", LID)
    response = send(client, hooked, "+5511987654321")
    assert response.status_code == 200
    assert sandbox.state.sent_messages()[0]["jid"] == LID
    # A later LID-only STOP now suppresses the number.
    post(client, upsert("STOP", {"remoteJid": LID}, "3A11"))
    assert send(client, hooked, "+5511987654321").status_code == 403
    receiver.wait_for(lambda r: r.events("recipient.opted_out"))
    assert receiver.events("recipient.opted_out")[0]["from"] == \
        "+5511987654321"


def test_a_lid_only_contact_can_be_answered(client, hooked, sandbox,
                                            receiver):
    """``message.received`` gives a LID-only contact's ``from`` as its
    LID JID: a reply to that JID goes to it whole (bare digits would be
    taken for a phone number), under the same guards."""
    post(client, upsert("Where is my order?", {"remoteJid": LID}, "3A21"))
    receiver.wait_for(lambda r: r.events("message.received"))
    [received] = receiver.events("message.received")
    assert received["from"] == LID
    answer = send(client, hooked, received["from"])
    assert answer.status_code == 200, answer.get_json()
    [sent] = sandbox.state.sent_messages()
    assert sent["jid"] == LID
    receiver.wait_for(lambda r: r.events("message.sent"))
    assert receiver.events("message.sent")[0]["to"] == LID
    # Its STOP suppresses replies to the LID.
    post(client, upsert("STOP", {"remoteJid": LID}, "3A22"))
    refused = send(client, hooked, LID)
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "recipient_suppressed"
    # Bare digits are no LID: refused as a phone number would be.
    assert send(client, hooked, "abc@lid").status_code == 422


def test_a_reply_to_a_lid_goes_to_its_phone_once_learned(client, hooked,
                                                         sandbox):
    post(client, upsert("Hi", {"remoteJid": LID, "addressingMode": "lid",
                               "remoteJidAlt": "553187654321@s.whatsapp.net"},
                        "3A23"))
    assert send(client, hooked, LID).status_code == 200
    [sent] = sandbox.state.sent_messages()
    assert sent["jid"] == "553187654321@s.whatsapp.net"
    with store.db.connection_context():
        assert store.MessageLog.select().order_by(
            store.MessageLog.id.desc()).get().phone == "+5531987654321"


# --- windows from the message's own time ----------------------------------

def test_late_message_opens_no_fresh_window(client, hooked):
    three_days_ago = time.time() - 3 * 86400
    post(client, upsert("old", {"remoteJid": "966501234567@s.whatsapp.net"},
                        "3A07", timestamp=three_days_ago))
    with store.db.connection_context():
        assert not store.window_is_open(hooked.customer_id, "+966501234567")
        row = store.ConversationWindow.get()
        assert abs((row.last_inbound_at - datetime.datetime.utcfromtimestamp(
            three_days_ago)).total_seconds()) < 2


def test_backlog_never_closes_a_newer_window(client, hooked):
    post(client, upsert("new", {"remoteJid": "966501234567@s.whatsapp.net"},
                        "3A08"))
    post(client, upsert("old", {"remoteJid": "966501234567@s.whatsapp.net"},
                        "3A09", timestamp=time.time() - 3 * 86400))
    with store.db.connection_context():
        assert store.window_is_open(hooked.customer_id, "+966501234567")


# --- calls, QR limit, JWT, URLs ----------------------------------------------

CALL = {"chatId": "966501234567@s.whatsapp.net",
        "from": "966501234567@s.whatsapp.net",
        "date": "2026-11-24T10:00:00.000Z", "offline": False,
        "isVideo": False, "isGroup": False}


def test_caller_hung_up_is_a_missed_call(client, hooked, receiver):
    for status in ("offer", "terminate"):
        post(client, envelope("call", dict(CALL, id="C1", status=status)))
    for status in ("offer", "accept", "terminate"):
        post(client, envelope("call", dict(CALL, id="C2", status=status)))
    receiver.wait_for(lambda r: len(r.events("call.received")) == 2)
    time.sleep(0.3)
    [missed] = receiver.events("call.missed")
    assert missed["call_status"] == "terminate"
    assert missed["from"] == "+966501234567"


def test_qr_limit_is_no_qr_update(client, hooked, receiver):
    post(client, envelope("qrcode.updated", {
        "message": "QR code limit reached, please login again",
        "statusCode": 500}))
    post(client, envelope("connection.update", {
        "instance": "evo-support", "state": "refused", "statusReason": 428}))
    receiver.wait_for(lambda r: r.events("instance.disconnected"))
    assert receiver.events("instance.qr_updated") == []
    assert receiver.events("instance.disconnected")[0][
        "connection_state"] == "refused"
    with store.db.connection_context():
        assert store.Instance.get().connection_state == "close"


def test_logout_and_remove_events_keep_the_state_true(client, hooked):
    post(client, envelope("connection.update", {
        "instance": "evo-support", "state": "open", "statusReason": 200}))
    post(client, envelope("logout.instance", None))
    with store.db.connection_context():
        assert store.Instance.get().connection_state == "close"
    post(client, envelope("remove.instance", None))
    with store.db.connection_context():
        assert store.Instance.get().connection_state == "not_found"


@pytest.mark.parametrize("skew", [-100, 30, 100])
def test_jwt_clock_skew_is_tolerated(client, hooked, skew):
    iat = int(time.time()) + skew
    token = jwt.encode({"iat": iat, "exp": iat + 600, "app": "evolution",
                        "action": "webhook"}, secret(), algorithm="HS256")
    post(client, upsert("hi", {"remoteJid": "966501234567@s.whatsapp.net"},
                        "3A%d" % (skew + 500)),
         headers={"Authorization": "Bearer " + token})


@pytest.mark.parametrize("path", [INTAKE + "/",
                                  INTAKE + "//messages-upsert"])
def test_trailing_slash_urls_work(client, hooked, path):
    post(client, upsert("hi", {"remoteJid": "966501234567@s.whatsapp.net"},
                        "3A10"), path=path)


# --- pauses nobody misses ---------------------------------------------------

def test_pause_and_resume_emit_opt_in_events(app, receiver, caplog):
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url,
                               events="instance.paused,instance.resumed")
    receiver.secret = endpoint.secret
    create_endpoint(account.customer_id, receiver.url.replace(
        "/hook", "/default"))  # the default subscription: not these
    caplog.set_level(logging.WARNING, logger="sending")
    with store.db.connection_context():
        assert sending.pause_instance(account.instance_id,
                                      "automatic: 9 opt-outs")
        assert not sending.pause_instance(account.instance_id, "again")
        assert sending.resume_instance(account.instance_id)
    receiver.wait_for(lambda r: len(r.received) == 2)
    time.sleep(0.3)
    assert [r["path"] for r in receiver.received] == ["hook", "hook"]
    # Deliveries run concurrently: order by meaning, not arrival.
    by_name = {e["event"]: e for e in receiver.events()}
    paused, resumed = by_name["instance.paused"], by_name["instance.resumed"]
    assert paused["event"] == "instance.paused"
    assert paused["reason"] == "automatic: 9 opt-outs"
    assert paused["instance_name"] == "support-line"
    assert resumed["event"] == "instance.resumed"
    assert any("paused" in r.getMessage() and "9 opt-outs" in r.getMessage()
               and r.levelname == "WARNING" for r in caplog.records)


def test_two_stops_in_twenty_sends_do_not_pause(client, app):
    account = create_account()
    for n in range(20):
        assert send(client, account, "+96650123%04d" % n).status_code == 200
    for n in range(2):
        post(client, upsert("STOP", {
            "remoteJid": "96650123%04d@s.whatsapp.net" % n}, "3B%02d" % n))
    assert send(client, account, "+966501239999").status_code == 200
    with store.db.connection_context():
        assert not store.Instance.get().paused
