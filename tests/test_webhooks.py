"""Evolution intake, normalised customer events and signed delivery."""
import base64
import datetime
import json
import threading
import time

import jwt
import pytest

import store
import webhooks
from conftest import PHONE
from conftest import create_account
from conftest import create_endpoint
from conftest import send_body
from contract import validate_event_payload

INTAKE = "/webhooks/evolution/support-line"


def instance_secret():
    with store.db.connection_context():
        return store.Instance.get().webhook_secret


def envelope(event, data):
    return {"event": event, "instance": "evo-support", "data": data,
            "destination": "http://gateway/webhooks/evolution/support-line",
            "date_time": "2026-11-24T10:00:00.000Z",
            "sender": "966500000000@s.whatsapp.net",
            "server_url": "http://evolution", "apikey": None}


def inbound(text, phone="966501234567", msg_id="3A0000000000000001"):
    return envelope("messages.upsert", {
        "key": {"remoteJid": phone + "@s.whatsapp.net", "fromMe": False,
                "id": msg_id},
        "pushName": "Maria", "status": "DELIVERY_ACK",
        "message": {"conversation": text}, "messageType": "conversation",
        "messageTimestamp": int(time.time()), "source": "ios"})


def receipt(message_id, status):
    return envelope("messages.update", {
        "keyId": message_id, "remoteJid": "966501234567@s.whatsapp.net",
        "fromMe": True, "status": status})


def post_intake(client, body, headers=None):
    if headers is None:
        headers = {"X-Gateway-Secret": instance_secret()}
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(INTAKE, data=data, headers=dict(
        headers, **{"Content-Type": "application/json"}))


@pytest.fixture
def hooked(app, receiver):
    """An account whose endpoint is the loopback receiver."""
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url)
    receiver.secret = endpoint.secret
    account.endpoint_id = endpoint.id
    return account


def test_send_emits_a_signed_message_sent(client, hooked, receiver):
    response = client.post("/api/send-message", json=send_body(),
                           headers=hooked.headers)
    assert response.status_code == 200
    receiver.wait_for(lambda r: r.events("message.sent"))
    [request] = receiver.received
    assert request["valid"] is True
    headers = request["headers"]
    assert headers["X-Whatsapp-Gateway-Event"] == "message.sent"
    assert headers["X-Whatsapp-Gateway-Timestamp"].isdigit()
    assert headers["X-Whatsapp-Gateway-Event-Id"].startswith("evt_")
    assert headers["X-Whatsapp-Gateway-Attempt"] == "1"
    [event] = receiver.events()
    validate_event_payload(event)
    assert event["to"] == PHONE
    assert event["message_id"] == response.get_json()["message_id"]
    assert event["log_id"] == response.get_json()["log_id"]
    assert event["event_id"] == headers["X-Whatsapp-Gateway-Event-Id"]


def test_credentials_in_an_endpoint_url_are_sent_as_basic_auth(
        client, app, receiver):
    # The console and 3CX set-up accept them; requests sent them as
    # Authorization, and so must the leaner post.
    account = create_account()
    url = receiver.url.replace("http://", "http://hook-user:p%40ss@")
    endpoint = create_endpoint(account.customer_id, url)
    receiver.secret = endpoint.secret
    assert client.post("/api/send-message", json=send_body(),
                       headers=account.headers).status_code == 200
    receiver.wait_for(lambda r: r.events("message.sent"))
    [request] = receiver.received
    assert request["valid"] is True
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(
        b"hook-user:p@ss").decode()


def test_failed_send_emits_message_failed(client, hooked, receiver,
                                          sandbox):
    sandbox.state.add_not_on_whatsapp(PHONE.lstrip("+"))
    client.post("/api/send-message", json=send_body(),
                headers=hooked.headers)
    receiver.wait_for(lambda r: r.events("message.failed"))
    [event] = receiver.events()
    validate_event_payload(event)
    assert event["reason"] == "not_on_whatsapp"


@pytest.mark.parametrize("headers", [
    {}, {"X-Gateway-Secret": "wrong"},
    {"Authorization": "Bearer not-a-jwt"},
    {"Authorization": "Basic abc"}])
def test_intake_refuses_without_the_instance_secret(client, hooked,
                                                    headers):
    response = post_intake(client, inbound("hi"), headers)
    assert response.status_code == 401
    assert response.get_json()["details"] == {}
    with store.db.connection_context():
        assert not store.InboundEvent.select().exists()


def test_intake_refuses_unknown_instance(client, hooked):
    response = client.post("/webhooks/evolution/nope", json=inbound("hi"),
                           headers={"X-Gateway-Secret": instance_secret()})
    assert response.status_code == 401


def make_jwt(key, **claims):
    now = int(time.time())
    payload = {"iat": now, "exp": now + 600, "app": "evolution",
               "action": "webhook"}
    payload.update(claims)
    return jwt.encode(payload, key, algorithm="HS256")


def test_intake_accepts_evolution_jwt(client, hooked):
    token = make_jwt(instance_secret())
    response = post_intake(client, inbound("hi"),
                           {"Authorization": "Bearer " + token})
    assert response.status_code == 200


@pytest.mark.parametrize("key,offsets", [
    ("another-key-of-enough-length-to-be-fine", {}),
    # Signed longer ago than Evolution's retries last (30 min + the
    # 120 s of clock-skew leeway; seconds from the test's now).
    (None, {"iat": -2000, "exp": -1400}),
    # From the future, beyond the leeway.
    (None, {"iat": 300, "exp": 900}),
    # Expiring before it was issued.
    (None, {"exp": -10}),
])
def test_intake_refuses_bad_or_expired_jwt(client, hooked, key, offsets):
    claims = {name: int(time.time()) + delta
              for name, delta in offsets.items()}
    token = make_jwt(key or instance_secret(), **claims)
    response = post_intake(client, inbound("hi"),
                           {"Authorization": "Bearer " + token})
    assert response.status_code == 401


@pytest.mark.parametrize("age", [615, 915, 1215, 1700])
def test_intake_takes_a_jwt_reused_by_evolution_retries(client, hooked,
                                                        age):
    """Evolution signs once, before its ~20 minutes of retries (exp =
    iat + 600): the 9th and 10th attempts carry an expired token, and a
    401 would end them (Evolution never retries one)."""
    issued = int(time.time()) - age
    token = make_jwt(instance_secret(), iat=issued, exp=issued + 600)
    response = post_intake(client, inbound("hi %d" % age),
                           {"Authorization": "Bearer " + token})
    assert response.status_code == 200


def test_media_with_base64_on_is_taken_and_its_bytes_not_kept(
        client, hooked, receiver):
    """With Evolution's base64 option on, a message carries its file
    (up to Evolution's 136 MB): an 8 MiB limit answered 413, which
    Evolution retries and then drops.  Taken now; the bytes are not
    stored with the raw event."""
    media = "A" * (12 * 1024 * 1024)
    body = inbound("")
    body["data"]["message"] = {
        "imageMessage": {"caption": "The damaged box",
                         "mimetype": "image/jpeg"},
        "base64": media}
    body["data"]["messageType"] = "imageMessage"
    response = post_intake(client, body)
    assert response.status_code == 200, response.get_data(True)
    assert response.get_json()["outcome"] == "processed"
    receiver.wait_for(lambda r: r.events("message.received"))
    with store.db.connection_context():
        kept = store.InboundEvent.select().order_by(
            store.InboundEvent.id.desc()).get().body
    assert len(kept) < 10_000
    assert '"base64": "[omitted: %d characters]"' % len(media) in kept
    assert "The damaged box" in kept


def test_cutting_media_out_costs_no_copy_of_it():
    """The media string is cut from the bytes before anything decodes
    or parses them; the regex holds no state per character (its first
    form took ~170 bytes of memory per character: 1.8 GB for 10 MB)."""
    import tracemalloc

    import intake
    media = b"A" * 5_000_000
    raw = (b'{"event":"messages.upsert","apikey":"k","data":{"message":'
           b'{"base64":"' + media + b'"}}}')
    tracemalloc.start()
    try:
        cut = intake.omit_media(raw)
        stored = intake.stored_body(cut)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, peak
    assert stored == ('{"event":"messages.upsert","apikey":"[redacted]",'
                      '"data":{"message":{"base64":"[omitted: 5000000 '
                      'characters]"}}}')


def test_by_events_suffix_is_accepted(client, hooked):
    response = client.post(INTAKE + "/messages-upsert", json=inbound("hi"),
                           headers={"X-Gateway-Secret": instance_secret()})
    assert response.status_code == 200


def test_inbound_message_event_and_window(client, hooked, receiver):
    assert post_intake(client, inbound("Where is my order?")).status_code \
        == 200
    receiver.wait_for(lambda r: r.events("message.received"))
    [event] = receiver.events()
    validate_event_payload(event)
    assert event["from"] == PHONE
    assert event["message_text"] == "Where is my order?"
    with store.db.connection_context():
        assert store.window_is_open(hooked.customer_id, PHONE)


def test_same_evolution_event_twice_gives_one_customer_event(
        client, hooked, receiver):
    body = inbound("hello")
    assert post_intake(client, body).get_json()["outcome"] == "processed"
    assert post_intake(client, body).get_json()["outcome"] == "duplicate"
    receiver.wait_for(lambda r: r.events("message.received"))
    time.sleep(0.5)
    assert len(receiver.events()) == 1


def test_status_never_goes_backwards(client, hooked, receiver):
    post_intake(client, receipt("3EB0AAA", "READ"))
    post_intake(client, receipt("3EB0AAA", "DELIVERY_ACK"))
    post_intake(client, receipt("3EB0AAA", "SERVER_ACK"))
    receiver.wait_for(lambda r: r.events("message.read"))
    time.sleep(0.5)
    assert [e["event"] for e in receiver.events()] == ["message.read"]


def test_statuses_in_order_each_emit_once(client, hooked, receiver):
    for status in ("SERVER_ACK", "DELIVERY_ACK", "DELIVERY_ACK", "READ"):
        post_intake(client, receipt("3EB0BBB", status))
    receiver.wait_for(lambda r: len(r.events()) >= 3)
    time.sleep(0.3)
    events = receiver.events()
    assert sorted(e["event"] for e in events) == [
        "message.delivered", "message.read", "message.status_updated"]
    for event in events:
        validate_event_payload(event)


@pytest.mark.parametrize("body", [
    b"not json at all", b"[]", b"null", b'{"event": 5}',
    json.dumps({"event": "messages.upsert", "data": "garbage"}).encode(),
    json.dumps({"event": "labels.edit", "data": {}}).encode(),
    json.dumps(envelope("messages.update", {"keyId": None})).encode(),
])
def test_unknown_or_malformed_events_are_stored_and_acknowledged(
        client, hooked, body):
    response = post_intake(client, body)
    assert response.status_code == 200
    with store.db.connection_context():
        row = store.InboundEvent.select().order_by(
            store.InboundEvent.id.desc()).get()
        assert row.outcome in ("ignored", "error")
        assert row.body == body.decode()


@pytest.mark.parametrize("word", ["STOP", " stop ", "Unsubscribe",
                                  "إلغاء", "الغاء", "توقف", "إيقاف"])
def test_opt_out_keyword_suppresses_and_emits(client, hooked, receiver,
                                              word, sandbox):
    post_intake(client, inbound(word))
    receiver.wait_for(lambda r: r.events("recipient.opted_out"))
    [event] = receiver.events("recipient.opted_out")
    validate_event_payload(event)
    assert event["from"] == PHONE
    response = client.post("/api/send-message", json=send_body(),
                           headers=hooked.headers)
    assert response.get_json()["error"] == "recipient_suppressed"


def test_start_lifts_an_opt_out(client, hooked, receiver):
    post_intake(client, inbound("STOP", msg_id="A1"))
    post_intake(client, inbound("START", msg_id="A2"))
    response = client.post("/api/send-message", json=send_body(),
                           headers=hooked.headers)
    assert response.status_code == 200


def test_stop_in_a_sentence_is_not_an_opt_out(client, hooked):
    post_intake(client, inbound("please don't stop my order"))
    with store.db.connection_context():
        assert not store.Suppression.select().exists()


def test_opt_outs_trip_the_breaker(make_app, receiver):
    app = make_app(BREAKER_MIN_SENDS=3, BREAKER_OPT_OUT_RATE=0.5,
                   BREAKER_MIN_OPT_OUTS=2)
    client = app.test_client()
    account = create_account()
    for n in range(3):
        assert client.post("/api/send-message", json=send_body(
            phone="+96650123456%d" % n), headers=account.headers
        ).status_code == 200
    for n in range(2):
        post_intake(client, inbound("STOP", phone="96650123456%d" % n,
                                    msg_id="S%d" % n))
    response = client.post("/api/send-message", json=send_body(
        phone="+966501234569"), headers=account.headers)
    assert response.get_json()["error"] == "instance_paused_for_review"
    assert "opt-outs" in response.get_json()["details"]["reason"]


def test_connection_events_update_the_instance(client, hooked, receiver):
    post_intake(client, envelope("connection.update", {
        "instance": "evo-support", "state": "close", "statusReason": 401}))
    receiver.wait_for(lambda r: r.events("instance.disconnected"))
    validate_event_payload(receiver.events()[0])
    with store.db.connection_context():
        assert store.Instance.get().connection_state == "close"


def test_a_late_retry_of_an_older_connection_event_leaves_the_state(
        client, hooked):
    """Evolution retries each webhook on its own, in no order: the
    stored state follows Evolution's time of the events, not their
    arrival."""
    def update(state, at):
        body = envelope("connection.update", {"instance": "evo-support",
                                              "state": state})
        body["date_time"] = at
        assert post_intake(client, body).status_code == 200
        with store.db.connection_context():
            return store.Instance.get().connection_state
    assert update("open", "2026-11-24T10:00:05.000Z") == "open"
    # The "connecting" before it, retried later, changes nothing.
    assert update("connecting", "2026-11-24T10:00:01.000Z") == "open"
    # A newer one does.
    assert update("close", "2026-11-24T10:07:00.000Z") == "close"
    # A removal older than the close is as late.
    removed = envelope("remove.instance", None)
    removed["date_time"] = "2026-11-24T10:06:00.000Z"
    post_intake(client, removed)
    with store.db.connection_context():
        assert store.Instance.get().connection_state == "close"
    assert update("open", "2026-11-24T10:08:00.000Z") == "open"
    # Older than any retry can be (Evolution's clock went back an hour,
    # as its local time with a "Z" does at the end of summer time): a
    # new event, taken.
    assert update("close", "2026-11-24T09:09:00.000Z") == "close"


def test_endpoint_event_filter(client, app, receiver):
    account = create_account()
    endpoint = create_endpoint(account.customer_id, receiver.url,
                               events="message.received")
    receiver.secret = endpoint.secret
    client.post("/api/send-message", json=send_body(),
                headers=account.headers)
    post_intake(client, inbound("hello"))
    receiver.wait_for(lambda r: r.events("message.received"))
    time.sleep(0.3)
    assert [e["event"] for e in receiver.events()] == ["message.received"]


def deliveries():
    with store.db.connection_context():
        return list(store.Delivery.select().order_by(store.Delivery.id))


def test_failures_are_retried_with_the_same_event_id(client, hooked,
                                                     receiver):
    receiver.script = [(500, {}), (503, {})]
    client.post("/api/send-message", json=send_body(),
                headers=hooked.headers)
    receiver.wait_for(lambda r: len(r.received) == 3)
    attempts = [r["headers"]["X-Whatsapp-Gateway-Attempt"]
                for r in receiver.received]
    ids = {r["headers"]["X-Whatsapp-Gateway-Event-Id"]
           for r in receiver.received}
    assert attempts == ["1", "2", "3"] and len(ids) == 1
    assert all(r["valid"] for r in receiver.received)
    receiver.wait_for(lambda r: deliveries()[0].status == "delivered")


def test_retry_after_is_honoured(client, hooked, receiver):
    receiver.script = [(429, {"Retry-After": "2"})]
    client.post("/api/send-message", json=send_body(),
                headers=hooked.headers)
    receiver.wait_for(lambda r: len(r.received) == 1)
    first = time.monotonic()
    receiver.wait_for(lambda r: len(r.received) == 2)
    assert time.monotonic() - first >= 1.5


def test_gone_disables_the_endpoint(client, hooked, receiver):
    receiver.script = [(410, {})]
    client.post("/api/send-message", json=send_body(),
                headers=hooked.headers)
    receiver.wait_for(lambda r: deliveries() and
                      deliveries()[0].status == "dead")
    with store.db.connection_context():
        endpoint = store.WebhookEndpoint.get()
        assert not endpoint.enabled and endpoint.disabled_reason


def test_exhausted_retries_dead_letter_then_replay(client, hooked,
                                                   receiver):
    receiver.script = [(500, {})] * 4
    client.post("/api/send-message", json=send_body(),
                headers=hooked.headers)
    receiver.wait_for(lambda r: deliveries() and
                      deliveries()[0].status == "dead")
    assert len(receiver.received) == 4
    with store.db.connection_context():
        assert webhooks.replay_deliveries(ids=[deliveries()[0].id]) == 1
    receiver.wait_for(lambda r: deliveries()[0].status == "delivered")


def test_redirects_are_not_followed(client, hooked, receiver):
    from conftest import Receiver
    other = Receiver()
    try:
        receiver.script = [(302, {"Location": other.url})] * 4
        client.post("/api/send-message", json=send_body(),
                    headers=hooked.headers)
        receiver.wait_for(lambda r: deliveries() and
                          deliveries()[0].status == "dead")
        assert other.received == []
    finally:
        other.close()


def test_private_destinations_are_refused_when_dialled(make_app, receiver):
    client = make_app(WEBHOOK_ALLOW_PRIVATE=False).test_client()
    account = create_account()
    create_endpoint(account.customer_id, receiver.url)
    client.post("/api/send-message", json=send_body(),
                headers=account.headers)
    receiver.wait_for(lambda r: deliveries() and
                      deliveries()[0].last_error)
    assert deliveries()[0].last_error.startswith("blocked")
    assert receiver.received == []


@pytest.mark.parametrize("address,blocked", [
    ("127.0.0.1", True), ("10.1.2.3", True), ("172.16.0.1", True),
    ("192.168.1.1", True), ("169.254.169.254", True), ("100.64.0.1", True),
    ("0.0.0.0", True), ("::1", True), ("fe80::1", True),
    ("fd00:ec2::254", True), ("::ffff:127.0.0.1", True),
    ("224.0.0.1", True), ("8.8.8.8", False), ("1.1.1.1", False),
    ("2606:4700:4700::1111", False)])
def test_blocked_addresses(address, blocked):
    assert webhooks.is_blocked_address(address) is blocked


def test_a_hanging_endpoint_does_not_hold_up_sending(make_app, receiver):
    client = make_app(WEBHOOK_TIMEOUT=30).test_client()
    account = create_account()
    create_endpoint(account.customer_id, receiver.url)
    receiver.hold = threading.Event()
    for n in range(5):
        response = client.post("/api/send-message", json=send_body(
            phone="+96650123456%d" % n), headers=account.headers)
        assert response.status_code == 200
    # Every send answered while the endpoint still holds its requests.
    assert not receiver.hold.is_set()
    receiver.hold.set()
    receiver.wait_for(lambda r: len(r.events("message.sent")) == 5)


def test_signature_helper_matches_the_contract():
    body = b'{"event":"message.sent"}'
    import hashlib
    import hmac
    expected = hmac.new(b"s3cret", b"1778215200." + body,
                        hashlib.sha256).hexdigest()
    assert webhooks.sign("s3cret", "1778215200", body) == (
        "sha256=" + expected)


def test_retry_schedule_lasts_over_24_hours():
    import config
    schedule = config.load_settings({}).WEBHOOK_RETRY_SCHEDULE
    assert sum(schedule) * (1 - webhooks.JITTER) > 24 * 3600
    assert webhooks.next_delay(len(schedule) + 1, schedule) is None
    assert webhooks.next_delay(1, schedule, retry_after=600) >= 600


def test_prune_keeps_what_promises_need(app, hooked):
    old = store.utcnow() - datetime.timedelta(days=40)
    with store.db.connection_context():
        store.SeenFact.create(key="old", created_at=old)
        store.SeenFact.create(key="new")
        store.prune()
        assert [f.key for f in store.SeenFact.select()] == ["new"]


def test_repeated_stop_opts_out_once(client, hooked, receiver):
    post_intake(client, inbound("STOP", msg_id="B1"))
    post_intake(client, inbound("STOP", msg_id="B2"))
    receiver.wait_for(lambda r: len(r.events("message.received")) == 2)
    time.sleep(0.3)
    assert len(receiver.events("recipient.opted_out")) == 1


def test_a_worker_claims_no_more_than_it_can_post(make_app, receiver):
    # Claimed deliveries waiting in a queue would let their leases run
    # out and another worker post them a second time.
    client = make_app(WEBHOOK_POOL_SIZE=2, WEBHOOK_TIMEOUT=30).test_client()
    account = create_account()
    create_endpoint(account.customer_id, receiver.url)
    receiver.hold = threading.Event()
    for n in range(6):
        client.post("/api/send-message", json=send_body(
            phone="+96650123456%d" % n), headers=account.headers)
    receiver.wait_for(lambda r: len(r.received) == 0 and sum(
        d.status == "delivering" for d in deliveries()) == 2)
    time.sleep(0.5)
    assert sum(d.status == "delivering" for d in deliveries()) == 2
    receiver.hold.set()
    receiver.wait_for(lambda r: len(r.events("message.sent")) == 6)


def test_odd_instance_refs_at_the_intake_are_401(client, hooked):
    for ref in ("²", "9" * 25):
        response = client.post("/webhooks/evolution/" + ref, json={},
                               headers={"X-Gateway-Secret": "x"})
        assert response.status_code == 401


def test_a_hanging_endpoint_does_not_starve_other_customers(make_app,
                                                            receiver):
    from conftest import Receiver
    client = make_app(WEBHOOK_POOL_SIZE=4, WEBHOOK_ENDPOINT_CONCURRENCY=2,
                      WEBHOOK_TIMEOUT=30).test_client()
    hung = Receiver()
    hung.hold = threading.Event()
    try:
        slow = create_account(name="Slow", instance_name="slow-line")
        create_endpoint(slow.customer_id, hung.url)
        fast = create_account(name="Fast", instance_name="fast-line")
        create_endpoint(fast.customer_id, receiver.url)
        for n in range(6):
            client.post("/api/send-message", json=send_body(
                instance_id="slow-line", phone="+96650123456%d" % n),
                headers=slow.headers)
        hung.wait_for(lambda r: sum(d.status == "delivering"
                                    for d in deliveries()) == 2)
        client.post("/api/send-message", json=send_body(
            instance_id="fast-line"), headers=fast.headers)
        receiver.wait_for(lambda r: r.events("message.sent"))
        assert sum(d.status == "delivering" for d in deliveries()) == 2
    finally:
        hung.close()


def test_an_unreachable_endpoint_is_left_alone_for_a_while(make_app):
    from conftest import free_port
    client = make_app().test_client()  # schedule 0.2 s: backoff 1.2 s
    account = create_account()
    create_endpoint(account.customer_id,
                    "http://127.0.0.1:%d/hook" % free_port())
    client.post("/api/send-message", json=send_body(),
                headers=account.headers)
    deadline = time.monotonic() + 10
    while not (deliveries() and deliveries()[0].last_error):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    with store.db.connection_context():
        assert store.WebhookEndpoint.get().blocked_until is not None
    time.sleep(0.6)  # three retry periods, all inside the back-off
    assert deliveries()[0].attempts == 1
    deadline = time.monotonic() + 10
    while deliveries()[0].attempts < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
