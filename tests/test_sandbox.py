"""Tests for the Evolution API sandbox, over real loopback HTTP."""

import base64
import threading
import time
import types

import jwt
import pytest
import requests
from flask import Flask, request
from werkzeug.serving import make_server

import sandbox

GLOBAL_KEY = "test-global-key"
TOKEN = "6F1C2D3E-4B5A-4C6D-8E7F-90A1B2C3D4E5"
NAME = "sales-01"


def wait_until(predicate, timeout=5.0):
    """Poll `predicate` until true or fail the test."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.01)
    pytest.fail("condition not reached in time")


@pytest.fixture
def state():
    state = sandbox.SandboxState(api_key=GLOBAL_KEY,
                                 config={"ack_delay_s": 0.01,
                                         "call_timeout_s": 0.01,
                                         "webhook_retry_delay_s": 0.01})
    state.add_instance(NAME, token=TOKEN,
                       owner_jid="5511900000001@s.whatsapp.net")
    yield state
    state.close()


@pytest.fixture
def server(state):
    srv, base_url = sandbox.start_sandbox_thread(state=state)
    yield base_url
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def http():
    session = requests.Session()
    yield session
    session.close()


@pytest.fixture
def receiver():
    """A loopback webhook receiver recording every request."""
    records = []
    app = Flask("receiver")

    @app.post("/", defaults={"rest": ""})
    @app.post("/<path:rest>")
    def record(rest):
        records.append({"path": request.path,
                        "headers": dict(request.headers),
                        "json": request.get_json()})
        return "", 200

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,),
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}/hook", records
    srv.shutdown()
    srv.server_close()


def send(http, base, body, key=TOKEN, name=NAME, **kwargs):
    return http.post(f"{base}/message/sendText/{name}", json=body,
                     headers={"apikey": key}, **kwargs)


def control(http, base, path, body=None):
    return http.post(f"{base}/_sandbox/{path}", json=body or {},
                     headers={"apikey": GLOBAL_KEY})


# ------------------------------------------------------------ basics

def test_welcome_body(server, http):
    response = http.get(server + "/")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == 200
    assert body["version"] == "2.3.6"
    assert body["message"] == "Welcome to the Evolution API, it is working!"


def test_unknown_instance_is_404_before_key_check(server, http):
    response = send(http, server, {"number": "1", "text": "x"}, key="",
                    name="nope")
    assert response.status_code == 404
    assert response.json() == {
        "status": 404, "error": "Not Found",
        "response": {"message": ['The "nope" instance does not exist']}}


def test_known_instance_bad_key_is_401_string(server, http):
    response = send(http, server, {"number": "1", "text": "x"}, key="bad")
    assert response.status_code == 401
    assert response.json() == {"status": 401, "error": "Unauthorized",
                               "response": {"message": "Unauthorized"}}


def test_send_text_201_v2_shape(server, http, state):
    response = send(http, server, {"number": "+55 (11) 98765-4321",
                                   "text": "Hello"})
    assert response.status_code == 201
    body = response.json()
    assert body["key"]["remoteJid"] == "5511987654321@s.whatsapp.net"
    assert body["key"]["fromMe"] is True
    assert body["key"]["id"].startswith("3EB0")
    assert len(body["key"]["id"]) == 22
    assert body["message"] == {"conversation": "Hello"}
    assert body["status"] == "PENDING"
    assert body["messageType"] == "conversation"
    assert isinstance(body["messageTimestamp"], int)
    assert body["instanceId"] == state.get_instance(NAME)["id"]
    assert body["pushName"] == "Você"
    sent = state.sent_messages()
    assert [m["id"] for m in sent] == [body["key"]["id"]]
    assert sent[0]["text"] == "Hello"


@pytest.mark.parametrize("number, jid", [
    # formatBRNumber (src/utils/createJid.ts) drops the fifth digit of a
    # 13-digit 55 number with DDD >= 31 and a 7-9 after it, whatever the
    # fifth digit is.
    ("5531887654321", "553187654321@s.whatsapp.net"),
    ("5531987654321", "553187654321@s.whatsapp.net"),
    ("5531967654321", "5531967654321@s.whatsapp.net"),  # 6 < 7: kept
    ("5521987654321", "5521987654321@s.whatsapp.net"),  # DDD < 31: kept
    # formatMXOrARNumber: a 13-digit 52/54 number loses its third digit.
    ("5215512345678", "525512345678@s.whatsapp.net"),
    ("5491112345678", "541112345678@s.whatsapp.net"),
    # All whitespace goes, not only spaces; the first `:<digits>` goes
    # wherever it is, and the rest is cut at the next colon.
    ("55\t11 98765\n4321", "5511987654321@s.whatsapp.net"),
    ("55 11:3 987654321", "5511987654321@s.whatsapp.net"),
    ("5511:12987654321", "5511@s.whatsapp.net"),  # \d+ is greedy
    ("5511987654321:3@s.whatsapp.net", "5511987654321@s.whatsapp.net"),
    ("5511987654321:1:2", "5511987654321@s.whatsapp.net"),
])
def test_number_to_jid_as_create_jid(server, http, number, jid):
    response = send(http, server, {"number": number, "text": "x"})
    assert response.status_code == 201
    assert response.json()["key"]["remoteJid"] == jid


def test_group_jid_keeps_only_digits_and_dashes():
    assert sandbox.create_jid("1203630123-4567890123\t4567x") == (
        "1203630123-45678901234567@g.us")


def test_global_key_and_group_number(server, http):
    response = send(http, server, {"number": "120363012345678901",
                                   "text": "hi"}, key=GLOBAL_KEY)
    assert response.status_code == 201
    assert response.json()["key"]["remoteJid"] == (
        "120363012345678901@g.us")


@pytest.mark.parametrize("body, message", [
    ({"text": "x"}, ['instance requires property "number"']),
    ({"number": 5511, "text": "x"}, ["Invalid format"]),
    ({"number": "1", "text": "x", "delay": "soon"},
     ["Enter a value in milliseconds"]),
    ({"number": "1", "textMessage": {"text": "x"}},
     ['instance requires property "text"']),
])
def test_schema_errors_are_nested_arrays(server, http, body, message):
    response = send(http, server, body)
    assert response.status_code == 400
    assert response.json() == {"status": 400, "error": "Bad Request",
                               "response": {"message": [message]}}


@pytest.mark.parametrize("extra", [
    {"mentionsEveryOne": "yes"},  # not in textMessageSchema at all
    {"quoted": "abc"},  # quotedOptionsSchema has no `type`
    {"quoted": {}},  # ... nor requires `key`
    {"quoted": {"key": {"id": "", "remoteJid": "x"}}},  # isNotEmpty's if
    {"delay": 5.0},  # a JS integer
    {"everyOne": False, "mentioned": ["5511987654321"]},
])
def test_send_text_fields_the_schema_lets_through(server, http, extra):
    body = dict({"number": "5511987654321", "text": "x"}, **extra)
    assert send(http, server, body).status_code == 201


@pytest.mark.parametrize("body, messages", [
    # textMessageSchema in src/validate/message.schema.ts, worded by
    # jsonschema as dataValidate returns it.
    ({"everyOne": "yes"}, ["everyOne is not of a type(s) boolean",
                           "everyOne is not one of enum values: "
                           "true,false"]),
    ({"mentioned": "123"}, ["mentioned is not of a type(s) array"]),
    ({"mentioned": []}, ["mentioned does not meet minimum length of 1"]),
    ({"mentioned": ["1", "1"]}, ["mentioned contains duplicate item"]),
    ({"mentioned": ["a", 5]}, ['"mentioned" must be an array of numeric '
                               'strings'] * 2),
    ({"quoted": {"key": "k"}}, ["quoted.key is not of a type(s) object"]),
    ({"quoted": {"key": {"id": ""}}}, ['The "id" cannot be empty']),
    ({"linkPreview": "no"}, ["linkPreview is not of a type(s) boolean"]),
])
def test_send_text_schema_messages(server, http, body, messages):
    response = send(http, server, dict({"number": "5511987654321",
                                        "text": "x"}, **body))
    assert response.status_code == 400
    assert response.json() == {"status": 400, "error": "Bad Request",
                               "response": {"message": [messages]}}


def test_send_text_schema_message_order(server, http):
    # properties are checked before required, as jsonschema does.
    response = send(http, server, {"text": 5})
    assert response.json()["response"]["message"] == [[
        "text is not of a type(s) string",
        'instance requires property "number"']]
    # An array body becomes an object keyed by index (Object.assign).
    response = send(http, server, ["5511987654321", "x"])
    assert response.json()["response"]["message"] == [[
        'instance requires property "number"',
        'instance requires property "text"']]


def test_blank_text(server, http):
    response = send(http, server, {"number": "5511987654321", "text": " "})
    assert response.status_code == 400
    assert response.json()["response"]["message"] == ["Text is required"]


def test_not_on_whatsapp(server, http):
    control(http, server, "not-on-whatsapp", {"add": ["5511900000000"]})
    response = send(http, server, {"number": "+5511900000000",
                                   "text": "x"})
    assert response.status_code == 400
    assert response.json()["response"]["message"] == [
        {"jid": "5511900000000@s.whatsapp.net", "exists": False,
         "number": "+5511900000000"}]


def test_connection_closed(server, http, state):
    control(http, server, "connection-closed", {"closed": True})
    response = send(http, server, {"number": "5511987654321",
                                   "text": "x"})
    assert response.status_code == 500
    assert response.json() == {
        "status": 500, "error": "Internal Server Error",
        "response": {"message": "Connection Closed"}}
    control(http, server, "connection-closed", {"closed": False})
    assert send(http, server, {"number": "5511987654321",
                               "text": "x"}).status_code == 201


def test_v1_emulation(state, http):
    srv, base = sandbox.start_sandbox_thread(state=state,
                                             config={"version": "1.8.6"})
    try:
        assert http.get(base + "/").json()["version"] == "1.8.6"
        v2 = send(http, base, {"number": "5511987654321", "text": "x"})
        assert v2.status_code == 400
        assert v2.json()["response"]["message"] == [
            ['instance requires property "textMessage"']]
        v1 = send(http, base, {"number": "5511987654321",
                               "options": {"delay": 0},
                               "textMessage": {"text": "hi"}})
        assert v1.status_code == 201
        body = v1.json()
        assert body["message"] == {"extendedTextMessage": {"text": "hi"}}
        assert isinstance(body["messageTimestamp"], str)
        assert "instanceId" not in body
    finally:
        srv.shutdown()
        srv.server_close()


def test_delay_is_honoured(server, http):
    started = time.monotonic()
    response = send(http, server, {"number": "5511987654321", "text": "x",
                                   "delay": 300})
    assert response.status_code == 201
    assert time.monotonic() - started >= 0.3


def test_unknown_route_and_malformed_json(server, http):
    response = http.post(server + "/foo", json={})
    assert response.status_code == 404
    assert response.json() == {
        "status": 404, "error": "Not Found",
        "response": {"message": ["Cannot POST /foo"]}}
    response = http.post(f"{server}/message/sendText/{NAME}",
                         data=b'{"number": ',
                         headers={"apikey": TOKEN,
                                  "Content-Type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Internal Server Error"
    assert isinstance(body["response"]["message"], str)


def test_fail_next_garbage(server, http):
    control(http, server, "fail-next", {"status": 500, "body": "garbage"})
    response = send(http, server, {"number": "5511987654321", "text": "x"})
    assert (response.status_code, response.text) == (500, "garbage")
    assert send(http, server, {"number": "5511987654321",
                               "text": "x"}).status_code == 201


def test_instance_routes(server, http, state):
    response = http.get(f"{server}/instance/connectionState/{NAME}",
                        headers={"apikey": TOKEN})
    assert response.json() == {"instance": {"instanceName": NAME,
                                            "state": "open"}}
    created = http.post(server + "/instance/create",
                        json={"instanceName": "new-01",
                              "integration": "WHATSAPP-BAILEYS"},
                        headers={"apikey": GLOBAL_KEY})
    assert created.status_code == 201
    token = created.json()["hash"]
    assert token == token.upper() and len(token) == 36
    listed = http.get(server + "/instance/fetchInstances",
                      headers={"apikey": token}).json()
    assert isinstance(listed, list)
    assert [(i["name"], i["token"]) for i in listed] == [("new-01", token)]
    again = http.post(server + "/instance/create",
                      json={"instanceName": "new-01",
                            "integration": "WHATSAPP-BAILEYS"},
                      headers={"apikey": GLOBAL_KEY})
    assert again.status_code == 403


def test_fetch_instances_with_a_token_is_401_for_another_instance(
        server, http, state):
    # fetchInstances with an instance token runs one findMany({token,
    # name}); no row is 401, even when the named instance exists.
    state.add_instance("other-02", token="OTHER-TOKEN")
    url = server + "/instance/fetchInstances"
    other = http.get(url + "?instanceName=other-02",
                     headers={"apikey": TOKEN})
    assert other.status_code == 401
    assert other.json() == {"status": 401, "error": "Unauthorized",
                            "response": {"message": "Unauthorized"}}
    missing = http.get(url + "?instanceName=nope", headers={"apikey": TOKEN})
    assert missing.status_code == 401
    own = http.get(url + "?instanceName=" + NAME, headers={"apikey": TOKEN})
    assert [r["name"] for r in own.json()] == [NAME]
    # An empty value filters nothing (`instanceName || undefined`).
    assert [r["name"] for r in http.get(
        url + "?instanceName=", headers={"apikey": TOKEN}).json()] == [NAME]
    # The global key still answers 404 for an unknown name.
    unknown = http.get(url + "?instanceName=nope",
                       headers={"apikey": GLOBAL_KEY})
    assert unknown.status_code == 404
    assert unknown.json()["response"]["message"] == [
        'Instance "nope" not found']


# ----------------------------------------------------------- webhooks

def set_hook(http, base, url, **extra):
    hook = {"enabled": True, "url": url, "events": [], **extra}
    return http.post(f"{base}/webhook/set/{NAME}", json={"webhook": hook},
                     headers={"apikey": TOKEN})


def test_webhook_set_and_find(server, http, receiver):
    url, _ = receiver
    response = set_hook(http, server, url, events=["SEND_MESSAGE"])
    assert response.status_code == 201
    row = http.get(f"{server}/webhook/find/{NAME}",
                   headers={"apikey": TOKEN}).json()
    assert row["url"] == url and row["events"] == ["SEND_MESSAGE"]
    assert row["webhookByEvents"] is False
    bad = set_hook(http, server, url, events=["NOPE"])
    assert bad.status_code == 400
    assert isinstance(bad.json()["response"]["message"][0], list)


def test_webhook_empty_url_passes_next_to_events(server, http, state,
                                                  receiver):
    # webhook.schema.ts isNotEmpty('enabled', 'url') is an `if:
    # propertyNames` that fails as soon as another field is present, so
    # the minLength check never runs: 2.3.6 stores the empty url.
    url, records = receiver
    response = set_hook(http, server, "")
    assert response.status_code == 201
    assert response.json()["url"] == ""
    row = http.get(f"{server}/webhook/find/{NAME}",
                   headers={"apikey": TOKEN}).json()
    assert row["url"] == "" and row["enabled"] is True
    # ... and never posts to it (the emitter wants http(s)://).
    assert send(http, server, {"number": "5511987654321",
                               "text": "x"}).status_code == 201
    assert state.wait_for_webhooks()
    assert records == []


@pytest.mark.parametrize("webhook, messages", [
    ({"enabled": True, "url": ""}, ['The "url" cannot be empty']),
    ({"enabled": True, "url": 5, "events": []},
     ["webhook.url is not of a type(s) string"]),
    ({"url": 5}, ["webhook.url is not of a type(s) string",
                  'webhook requires property "enabled"']),
    ({"enabled": True, "url": "http://x", "events": None},
     ["webhook.events is not of a type(s) array"]),
    ({"enabled": True, "url": "http://x", "byEvents": "no"},
     ["webhook.byEvents is not of a type(s) boolean"]),
    ("http://x", ["webhook is not of a type(s) object"]),
])
def test_webhook_set_schema_messages(server, http, webhook, messages):
    response = http.post(f"{server}/webhook/set/{NAME}",
                         json={"webhook": webhook},
                         headers={"apikey": TOKEN})
    assert response.status_code == 400
    assert response.json()["response"]["message"] == [messages]


def test_send_emits_send_message_then_acks(server, http, state, receiver):
    url, records = receiver
    set_hook(http, server, url, headers={"X-Secret": "s3cr3t"})
    body = send(http, server, {"number": "5511987654321",
                               "text": "Hi"}).json()
    assert state.wait_for_webhooks()
    events = [r["json"]["event"] for r in records]
    assert events == ["send.message"] + ["messages.update"] * 3
    first = records[0]["json"]
    assert first["data"] == body
    # AUTHENTICATION_EXPOSE_IN_FETCH_INSTANCES is off by default: null.
    assert first["instance"] == NAME and first["apikey"] is None
    assert first["destination"] == url
    assert first["sender"] == "5511900000001@s.whatsapp.net"
    assert first["date_time"].endswith("Z")
    updates = [r["json"]["data"] for r in records[1:]]
    assert [u["status"] for u in updates] == list(sandbox.ACK_STEPS)
    assert {u["keyId"] for u in updates} == {body["key"]["id"]}
    assert all(r["headers"]["X-Secret"] == "s3cr3t" for r in records)
    assert all(r["path"] == "/hook" for r in records)
    assert state.sent_messages()[0]["status"] == "READ"


def test_webhook_jwt_and_event_filter(server, http, state, receiver):
    url, records = receiver
    key = "k3y-long-enough-for-hs256-0123456789"
    set_hook(http, server, url, headers={"jwt_key": key},
             events=["SEND_MESSAGE"])
    send(http, server, {"number": "5511987654321", "text": "Hi"})
    assert state.wait_for_webhooks()
    assert [r["json"]["event"] for r in records] == ["send.message"]
    headers = records[0]["headers"]
    assert "jwt_key" not in {k.lower() for k in headers}
    scheme, token = headers["Authorization"].split()
    claims = jwt.decode(token, key, algorithms=["HS256"])
    assert scheme == "Bearer"
    assert claims["app"] == "evolution" and claims["action"] == "webhook"
    assert claims["exp"] == claims["iat"] + 600


def test_short_jwt_key_still_signs():
    headers = sandbox.build_webhook_headers({"jwt_key": "k3y", "X-A": 1})
    assert headers["X-A"] == "1" and "jwt_key" not in headers
    token = headers["Authorization"].split()[1]
    with pytest.warns(jwt.warnings.InsecureKeyLengthWarning):
        claims = jwt.decode(token, "k3y", algorithms=["HS256"])
    assert claims["action"] == "webhook"


def test_by_events_suffix(server, http, state, receiver):
    url, records = receiver
    set_hook(http, server, url, byEvents=True)
    send(http, server, {"number": "5511987654321", "text": "Hi"})
    assert state.wait_for_webhooks()
    assert [r["path"] for r in records] == [
        "/hook/send-message"] + ["/hook/messages-update"] * 3
    assert records[0]["json"]["destination"] == url


def test_webhook_retries_on_5xx(state):
    calls = []

    def deliver(url, headers, body):
        calls.append(url)
        return 503 if len(calls) < 3 else 200

    state.config.update(deliver=deliver, ack_delay_s=None)
    state.set_webhook(NAME, url="http://gateway.internal/hook")
    app = sandbox.create_sandbox_app(state)
    with app.test_client() as client:
        client.post(f"/message/sendText/{NAME}", headers={"apikey": TOKEN},
                    json={"number": "5511987654321", "text": "x"})
    assert state.wait_for_webhooks()
    assert calls == ["http://gateway.internal/hook"] * 3


def test_webhook_post_timeout_is_evolutions_30_s(state):
    # webhook.controller.ts: axios `timeout: WEBHOOK_REQUEST_TIMEOUT_MS`,
    # 30000 by default (env.config.ts); the sandbox reads as long.
    seen = []

    class Session:
        def post(self, url, **kwargs):
            seen.append(kwargs["timeout"])
            return types.SimpleNamespace(status_code=200,
                                         close=lambda: None)

        def close(self):
            pass

    assert sandbox.DEFAULT_CONFIG["webhook_timeout_s"] == 30.0
    state.worker._session = Session()
    state.worker._post("http://127.0.0.1:9/hook", {}, b"{}")
    assert seen == [(3.0, 30.0)]


def test_webhook_backlog_makes_emitters_wait(state):
    """With a backlog limit (the embedded default), queued events never
    exceed it: an emitter waits for room instead of the queue growing
    with every send; the delivery thread itself never waits."""
    release, seen, peak = threading.Event(), [], []
    worker = state.worker

    def deliver(url, headers, body):
        peak.append(worker._queue.qsize())
        if not seen:
            release.wait(5)
            # The delivery thread may emit too (the intake acting on an
            # event): it must not wait for room it alone makes.
            worker.submit(url, headers, b"from-the-worker")
        seen.append(body)
        return 200

    state.config.update(deliver=deliver, webhook_backlog=2)
    submitted = []

    def produce():
        for n in range(6):
            worker.submit("http://gateway.internal/hook", {}, b"%d" % n)
            submitted.append(n)

    producer = threading.Thread(target=produce)
    producer.start()
    time.sleep(0.3)
    # One event taken (stuck in deliver), two queued, the rest waiting.
    assert len(submitted) == 3
    assert worker._queue.qsize() == 2
    release.set()
    producer.join(5)
    assert submitted == list(range(6))
    assert state.wait_for_webhooks()
    assert sorted(seen) == sorted([b"%d" % n for n in range(6)]
                                  + [b"from-the-worker"])
    assert max(peak) <= 3


def test_inject_events(server, http, state, receiver):
    url, records = receiver
    set_hook(http, server, url)
    msg = control(http, server, f"inject/message/{NAME}",
                  {"text": "Oi!", "from": "214567890123456@lid",
                   "phone": "5511912345678", "push_name": "Maria"})
    assert msg.status_code == 201
    group = control(http, server, f"inject/message/{NAME}",
                    {"text": "menu", "from": "5511912345678",
                     "group": "120363012345678901@g.us"})
    control(http, server, f"inject/connection/{NAME}",
            {"state": "close", "status_reason": 401})
    http.get(f"{server}/instance/connect/{NAME}", headers={"apikey": TOKEN})
    control(http, server, f"inject/call/{NAME}", {"from": "5511912345678"})
    assert state.wait_for_webhooks()
    by_event = {}
    for r in records:
        by_event.setdefault(r["json"]["event"], []).append(r["json"]["data"])
    upsert = by_event["messages.upsert"][0]
    assert upsert["key"]["remoteJid"] == "214567890123456@lid"
    assert upsert["key"]["remoteJidAlt"] == (
        "5511912345678@s.whatsapp.net")
    assert upsert["message"] == {"conversation": "Oi!"}
    assert upsert["key"]["fromMe"] is False
    group_key = by_event["messages.upsert"][1]["key"]
    assert group_key["remoteJid"] == "120363012345678901@g.us"
    assert group_key["participant"] == "5511912345678@s.whatsapp.net"
    assert group.json()["key"] == group_key
    assert by_event["connection.update"] == [
        {"instance": NAME, "state": "close", "statusReason": 401},
        {"instance": NAME, "state": "connecting", "statusReason": 200}]
    assert "status.instance" in by_event
    assert by_event["qrcode.updated"][0]["qrcode"]["instance"] == NAME
    assert [c["status"] for c in by_event["call"]] == ["offer", "timeout"]
    state_now = http.get(f"{server}/instance/connectionState/{NAME}",
                         headers={"apikey": TOKEN}).json()
    assert state_now["instance"]["state"] == "connecting"
    closed = send(http, server, {"number": "5511987654321", "text": "x"})
    assert closed.status_code == 500


def test_control_routes_need_global_key(server, http):
    response = http.post(server + "/_sandbox/reset",
                         headers={"apikey": TOKEN})
    assert response.status_code == 401


# ---------------------------------------------------------- WSGIAdapter

@pytest.fixture
def inproc(state):
    app = sandbox.create_sandbox_app(state)
    session = requests.Session()
    session.mount("http://evolution.sandbox", sandbox.WSGIAdapter(app))
    yield session, "http://evolution.sandbox"
    session.close()


@pytest.mark.parametrize("method, path, body, key", [
    ("GET", "/", None, None),
    ("POST", "/message/sendText/nope", {"number": "1", "text": "x"}, None),
    ("POST", f"/message/sendText/{NAME}", {"number": "1", "text": "x"},
     "bad"),
    ("POST", f"/message/sendText/{NAME}", {"text": "x"}, TOKEN),
    ("POST", "/foo", {}, None),
    ("GET", f"/instance/connectionState/{NAME}", None, TOKEN),
])
def test_adapter_matches_http(server, http, inproc, method, path, body,
                              key):
    session, base = inproc
    headers = {"apikey": key} if key else {}
    over_http = http.request(method, server + path, json=body,
                             headers=headers)
    in_process = session.request(method, base + path, json=body,
                                 headers=headers)
    assert in_process.status_code == over_http.status_code
    assert in_process.json() == over_http.json()
    assert in_process.headers["Content-Type"] == (
        over_http.headers["Content-Type"])
    assert in_process.url == base + path
    assert in_process.reason == over_http.reason


def test_encoded_slash_names_one_instance(server, http, inproc, state):
    # Express matches `:instanceName` on the raw path, then decodes it:
    # %2F is part of the name, a bare / is another path.
    state.add_instance("desk/2%", token="DESK")
    session, base = inproc
    for client, root in ((http, server), (session, base)):
        named = client.get(f"{root}/instance/connectionState/desk%2F2%25",
                           headers={"apikey": "DESK"})
        assert named.status_code == 200
        assert named.json()["instance"]["instanceName"] == "desk/2%"
        split = client.get(f"{root}/instance/connectionState/desk/2%25",
                           headers={"apikey": "DESK"})
        assert split.status_code == 404


def test_adapter_send_text_and_encoding(inproc):
    session, base = inproc
    response = session.post(f"{base}/message/sendText/{NAME}",
                            json={"number": "5511987654321", "text": "ç"},
                            headers={"apikey": TOKEN}, timeout=5)
    assert response.status_code == 201
    assert response.encoding == "utf-8"
    assert response.json()["pushName"] == "Você"
    assert response.request.method == "POST"


def test_adapter_read_timeout(inproc, state):
    session, base = inproc
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.post(f"{base}/message/sendText/{NAME}",
                     json={"number": "5511987654321", "text": "x",
                           "delay": 3000},
                     headers={"apikey": TOKEN}, timeout=(1, 0.2))
    assert time.monotonic() - started < 1.0
    assert state.sent_messages() == []
    state.set_fail_next(hang_s=2)
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(f"{base}/instance/connectionState/{NAME}",
                    headers={"apikey": TOKEN}, timeout=0.1)


def test_auto_create(http):
    state = sandbox.SandboxState(auto_create=True)
    app = sandbox.create_sandbox_app(state)
    session = requests.Session()
    session.mount("http://evolution.sandbox", sandbox.WSGIAdapter(app))
    try:
        url = "http://evolution.sandbox/message/sendText/any"
        first = session.post(url, json={"number": "5511987654321",
                                        "text": "x"},
                             headers={"apikey": "whatever"})
        assert first.status_code == 201
        other = session.post(url, json={"number": "5511987654321",
                                        "text": "x"},
                             headers={"apikey": "different"})
        assert other.status_code == 401
    finally:
        session.close()
        state.close()


# ------------------------------------------------------ instance lifecycle

def create(http, server, **body):
    payload = {"instanceName": "new-01", "integration": "WHATSAPP-BAILEYS"}
    payload.update(body)
    return http.post(server + "/instance/create", json=payload,
                     headers={"apikey": GLOBAL_KEY})


def events_of(records, name):
    return [r["json"]["data"] for r in records
            if r["json"]["event"] == name]


def test_create_is_close_without_qrcode(server, http, state):
    response = create(http, server)
    assert response.status_code == 201
    body = response.json()
    assert body["instance"]["status"] == "close"
    assert body["instance"]["instanceName"] == "new-01"
    assert "qrcode" not in body and body["webhook"] == {}
    assert isinstance(body["hash"], str) and body["hash"] == body[
        "hash"].upper()
    state_now = http.get(f"{server}/instance/connectionState/new-01",
                         headers={"apikey": body["hash"]}).json()
    assert state_now == {"instance": {"instanceName": "new-01",
                                      "state": "close"}}
    # A closed instance cannot send.
    assert send(http, server, {"number": "5511987654321", "text": "x"},
                key=body["hash"], name="new-01").status_code == 500


def test_create_name_check_comes_before_the_key(server, http):
    taken = http.post(server + "/instance/create",
                      json={"instanceName": NAME,
                            "integration": "WHATSAPP-BAILEYS"},
                      headers={"apikey": "wrong"})
    assert taken.status_code == 403
    assert taken.json()["response"]["message"] == [
        f'This name "{NAME}" is already in use.']
    assert http.post(server + "/instance/create",
                     json={"instanceName": "free-01",
                           "integration": "WHATSAPP-BAILEYS"},
                     headers={"apikey": TOKEN}).status_code == 401


def test_create_with_qrcode_starts_connecting(server, http):
    body = create(http, server, qrcode=True).json()
    assert body["instance"]["status"] == "connecting"
    qr = body["qrcode"]
    assert set(qr) == {"pairingCode", "code", "base64", "count"}
    assert qr["pairingCode"] is None and qr["count"] == 1
    assert qr["code"].startswith("2@")
    assert qr["base64"].startswith("data:image/png;base64,")
    png = base64.b64decode(qr["base64"].split(",", 1)[1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_create_webhook_needs_events(server, http, receiver):
    url, _ = receiver
    response = create(http, server, webhook={"url": url})
    assert response.status_code == 400
    assert response.json()["response"]["message"] == [
        "Cannot read properties of undefined (reading 'length')"]
    assert http.get(f"{server}/instance/connectionState/new-01",
                    headers={"apikey": GLOBAL_KEY}).status_code == 404
    ok = create(http, server, webhook={"url": url, "byEvents": False,
                                       "events": ["CONNECTION_UPDATE"]})
    assert ok.status_code == 201
    assert ok.json()["webhook"]["webhookUrl"] == url


def test_connect_scan_open(server, http, state, receiver):
    url, records = receiver
    token = create(http, server, webhook={
        "url": url, "events": ["CONNECTION_UPDATE", "QRCODE_UPDATED"]}
    ).json()["hash"]
    headers = {"apikey": token}
    first = http.get(f"{server}/instance/connect/new-01", headers=headers)
    assert first.status_code == 200
    qr = first.json()
    assert set(qr) == {"pairingCode", "code", "base64", "count"}
    assert qr["code"].startswith("2@") and qr["count"] == 1
    # While connecting, connect answers the same QR again.
    assert http.get(f"{server}/instance/connect/new-01",
                    headers=headers).json() == qr
    scanned = control(http, server, "scan/new-01",
                      {"phone": "5511987650000", "profile_name": "Clinic"})
    assert scanned.status_code == 201
    assert http.get(f"{server}/instance/connectionState/new-01",
                    headers=headers).json()["instance"]["state"] == "open"
    # Connected: connect answers the connectionState body.
    assert http.get(f"{server}/instance/connect/new-01",
                    headers=headers).json() == {
        "instance": {"instanceName": "new-01", "state": "open"}}
    assert state.wait_for_webhooks()
    updates = events_of(records, "connection.update")
    assert [u["state"] for u in updates] == ["connecting", "open"]
    assert updates[-1]["wuid"] == "5511987650000@s.whatsapp.net"
    assert updates[-1]["profileName"] == "Clinic"
    assert events_of(records, "qrcode.updated")[0]["qrcode"]["code"] == \
        qr["code"]
    [row] = http.get(server + "/instance/fetchInstances?instanceName=new-01",
                     headers={"apikey": GLOBAL_KEY}).json()
    assert row["connectionStatus"] == "open"
    assert row["ownerJid"] == "5511987650000@s.whatsapp.net"
    assert send(http, server, {"number": "5511987654321", "text": "x"},
                key=token, name="new-01").status_code == 201


def test_scan_needs_a_qr(server, http):
    create(http, server)
    assert control(http, server, "scan/new-01").status_code == 400


def test_pairing_code(server, http):
    token = create(http, server).json()["hash"]
    qr = http.get(f"{server}/instance/connect/new-01?number=5511987650000",
                  headers={"apikey": token}).json()
    assert len(qr["pairingCode"]) == 8 and qr["pairingCode"].isalnum()


def test_qr_limit_refuses(http, receiver):
    url, records = receiver
    state = sandbox.SandboxState(api_key=GLOBAL_KEY, config={
        "qrcode_limit": 2, "webhook_retry_delay_s": 0.01})
    srv, server = sandbox.start_sandbox_thread(state=state)
    try:
        token = create(http, server, webhook={
            "url": url, "events": ["CONNECTION_UPDATE", "QRCODE_UPDATED"]}
        ).json()["hash"]
        http.get(f"{server}/instance/connect/new-01",
                 headers={"apikey": token})
        second = control(http, server, "inject/qrcode/new-01").json()
        assert second["qrcode"]["count"] == 2
        limit = control(http, server, "inject/qrcode/new-01").json()
        assert limit == {"message": "QR code limit reached, please login "
                                    "again", "statusCode": 500}
        assert state.wait_for_webhooks()
        assert events_of(records, "qrcode.updated")[-1] == limit
        refused = events_of(records, "connection.update")[-1]
        assert refused["state"] == "refused"
        assert refused["statusReason"] == 428
        # In memory the state goes back to close (monitor's noConnection).
        assert http.get(f"{server}/instance/connectionState/new-01",
                        headers={"apikey": token}).json()[
            "instance"]["state"] == "close"
    finally:
        srv.shutdown()
        srv.server_close()
        state.close()


def test_logout_restart_delete(server, http, state, receiver):
    url, records = receiver
    set_hook(http, server, url)
    headers = {"apikey": TOKEN}
    restarted = http.post(f"{server}/instance/restart/{NAME}",
                          headers=headers)
    assert restarted.status_code == 200
    assert restarted.json()["instance"]["state"] == "open"
    out = http.delete(f"{server}/instance/logout/{NAME}", headers=headers)
    assert out.status_code == 200
    assert out.json() == {"status": "SUCCESS", "error": False,
                          "response": {"message": "Instance logged out"}}
    again = http.delete(f"{server}/instance/logout/{NAME}", headers=headers)
    assert again.status_code == 400
    assert again.json()["response"]["message"] == [
        f'The "{NAME}" instance is not connected']
    # restartInstance answers its own failure as a 200 (2.3.6).
    closed = http.post(f"{server}/instance/restart/{NAME}", headers=headers)
    assert closed.status_code == 200
    assert closed.json() == {"error": True, "message": "[object Object]"}
    gone = http.delete(f"{server}/instance/delete/{NAME}", headers=headers)
    assert gone.status_code == 200
    assert gone.json()["response"]["message"] == "Instance deleted"
    assert http.get(f"{server}/instance/connectionState/{NAME}",
                    headers=headers).status_code == 404
    assert state.wait_for_webhooks()
    names = [r["json"]["event"] for r in records]
    assert names[names.index("status.instance"):] == [
        "status.instance", "logout.instance", "connection.update",
        "instance.delete", "remove.instance"]
    close = events_of(records, "connection.update")[-1]
    assert close == {"instance": NAME, "state": "close", "statusReason": 401}
    assert events_of(records, "logout.instance") == [None]
    assert events_of(records, "instance.delete")[0]["instanceName"] == NAME


def test_restart_while_connecting_answers_the_qr(server, http, state,
                                                 receiver):
    # restartInstance -> connectToWhatsapp still reads `connecting`, so it
    # answers the instance's qrCode, not a connectionState body.
    url, records = receiver
    token = create(http, server, webhook={
        "url": url, "events": ["CONNECTION_UPDATE", "QRCODE_UPDATED"]}
    ).json()["hash"]
    headers = {"apikey": token}
    qr = http.get(f"{server}/instance/connect/new-01",
                  headers=headers).json()
    restarted = http.post(f"{server}/instance/restart/new-01",
                          headers=headers)
    assert restarted.status_code == 200
    assert restarted.json() == qr
    assert set(qr) == {"pairingCode", "code", "base64", "count"}
    # The new socket shows a new QR; the count goes on.
    again = http.get(f"{server}/instance/connect/new-01",
                     headers=headers).json()
    assert again["count"] == 2 and again["code"] != qr["code"]
    assert state.wait_for_webhooks()
    assert [u["state"] for u in events_of(records, "connection.update")] \
        == ["connecting", "connecting"]
    assert [q["qrcode"]["code"] for q in events_of(
        records, "qrcode.updated")] == [qr["code"], again["code"]]


def test_delete_of_connected_instance_logs_out_first(
        server, http, state, receiver):
    url, records = receiver
    set_hook(http, server, url)
    http.delete(f"{server}/instance/delete/{NAME}",
                headers={"apikey": TOKEN})
    assert state.wait_for_webhooks()
    assert [r["json"]["event"] for r in records] == [
        "status.instance", "logout.instance", "connection.update",
        "instance.delete", "remove.instance"]


def test_sent_messages_are_bounded(server, http, state):
    state.config["sent_limit"] = 3
    ids = [send(http, server, {"number": "5511987654321",
                               "text": "n%d" % n}).json()["key"]["id"]
           for n in range(5)]
    kept = state.sent_messages()
    assert [m["id"] for m in kept] == ids[2:]
    state.set_sent_status(ids[0], "READ")  # forgotten: nothing happens
    state.set_sent_status(ids[4], "READ")
    assert state.sent_messages()[-1]["status"] == "READ"


def test_injected_call_ending(server, http, state, receiver):
    url, records = receiver
    set_hook(http, server, url, events=["CALL"])
    control(http, server, f"inject/call/{NAME}",
            {"from": "5511912345678", "end": "terminate"})
    control(http, server, f"inject/call/{NAME}",
            {"from": "5511912345679", "end": "accept"})
    assert state.wait_for_webhooks()
    by_caller = {}
    for call in events_of(records, "call"):
        by_caller.setdefault(call["from"], []).append(call["status"])
    assert by_caller == {
        "5511912345678@s.whatsapp.net": ["offer", "terminate"],
        "5511912345679@s.whatsapp.net": ["offer", "accept", "terminate"]}
