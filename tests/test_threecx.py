"""POST /integrations/3cx/webhook/{id} and ``gateway 3cx``, with requests
shaped like 3CX's CRM-template journaling and a Call Flow app's POSTs,
over a real SQLite file and the Evolution sandbox on loopback."""
import datetime
import hashlib
import hmac
import io
import json
import threading
import time
import types
import xml.etree.ElementTree as ET

import pytest

import cli
import content_policy
import store
import threecx
import threecx_rules
from conftest import PHONE
from conftest import create_account
from conftest import message_rows
from contract_http import assert_contract

PATH = "/integrations/3cx/webhook/{integration_id}"
INVALID = {"success": False, "error": "invalid_3cx_webhook",
           "message": "Invalid 3CX webhook request.", "details": {}}
OTHER_PHONE = "+966551234567"


@pytest.fixture
def bridge(app):
    return make_bridge()


def make_bridge(**account_options):
    """A customer with an instance and a 3CX integration on it."""
    account = create_account(**account_options)
    with store.db.connection_context():
        row, secret = threecx.create_integration(
            account.customer_id, account.instance_name,
            business_name="Acme Clinic", timezone="Asia/Riyadh",
            country="SA", business_hours="Sun-Thu 9-17")
    return types.SimpleNamespace(
        id=row.id, secret=secret, account=account,
        url="/integrations/3cx/webhook/%d" % row.id)


def configure(bridge, **fields):
    """Change integration columns directly (the CLI is tested apart)."""
    with store.db.connection_context():
        (threecx.ThreeCxIntegration.update(**fields)
         .where(threecx.ThreeCxIntegration.id == bridge.id).execute())


def set_template(bridge, event, text=None, enabled=None):
    with store.db.connection_context():
        row = threecx.ThreeCxIntegration.get_by_id(bridge.id)
        threecx.set_template(row, event, text, enabled,
                             content_policy.load_rules())
        row.save()


def open_window(bridge, phone=PHONE):
    with store.db.connection_context():
        store.open_window(bridge.account.customer_id, phone)


def post(client, bridge, body=None, headers=None, raw=None,
         content_type="application/json", url=None, **kwargs):
    """POST like 3CX does and check the answer against the contract."""
    sent = {threecx.SECRET_HEADER: bridge.secret,
            "Content-Type": content_type}
    sent.update(headers or {})
    sent = {k: v for k, v in sent.items() if v is not None}
    data = raw if raw is not None else (
        None if body is None else json.dumps(body))
    response = client.post(url or bridge.url, data=data, headers=sent,
                           **kwargs)
    assert_contract(PATH, "POST", response)
    return response


def journal(call_type="Missed", number=PHONE, call_time=None, **extra):
    """What our CRM template's ReportCall scenarios post at call end."""
    body = {
        "event_type": "missed_call" if call_type == "Missed"
        else "call_ended",
        "customer_phone": number, "customer_name": "[Name]",
        "agent_extension": "101", "agent_name": "Sara",
        "queue": "[QueueExtension]", "call_type": call_type,
        "call_direction": "Inbound", "duration": "00:00:00",
        "call_time": call_time or "2026-05-08T10:00:00Z",
    }
    body.update(extra)
    return body


def cfd(event_type, caller=PHONE, **extra):
    """What a Call Flow app's Web Service REST block posts."""
    body = {"event_type": event_type, "caller": caller,
            "callid": "00000191A2B3C4D5-%s" % event_type,
            "queue": "800", "queue_name": "Support",
            "call_time": str(int(time.time()))}
    body.update(extra)
    return body


def ok(response, status="processed", action=None, reason=None):
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["success"] is True
    assert body["status"] == status, body
    if action:
        assert body["action"] == action, body
    assert body.get("reason") == reason, body
    return body


def error(response, status, code):
    body = response.get_json()
    assert response.status_code == status, body
    assert body["error"] == code, body
    return body


def events(bridge):
    with store.db.connection_context():
        return list(threecx.ThreeCxEvent.select()
                    .where(threecx.ThreeCxEvent.integration == bridge.id)
                    .order_by(threecx.ThreeCxEvent.id))


def sign(secret, timestamp, raw):
    return hmac.new(secret.encode(), timestamp.encode() + b"." + raw,
                    hashlib.sha256).hexdigest()


# -- test and log-only events -----------------------------------------

def test_test_event_is_received_and_never_sends(client, bridge, sandbox):
    response = post(client, bridge, {"event_type": "test", "to": PHONE})
    assert response.get_json() == {"success": True, "status": "processed",
                                   "event_type": "test",
                                   "action": "received"}
    assert sandbox.state.sent_messages() == []
    assert [(e.event_type, e.status) for e in events(bridge)] == [
        ("test", "processed")]


@pytest.mark.parametrize("event_type", ["inbound_reply", "call_started",
                                        "queue_event"])
def test_log_only_events_are_logged(client, bridge, sandbox, event_type):
    open_window(bridge)
    response = post(client, bridge, cfd(event_type))
    ok(response, "processed", "logged")
    assert sandbox.state.sent_messages() == []


def test_log_only_event_needs_no_phone(client, bridge):
    ok(post(client, bridge, {"event_type": "queue_event", "queue": "800"}),
       "processed", "logged")


# -- authentication: one generic 401 ----------------------------------

@pytest.mark.parametrize("case", ["unknown", "non_numeric", "disabled",
                                  "missing_secret", "wrong_secret",
                                  "other_integrations_secret"])
def test_every_authentication_failure_is_the_same_401(client, bridge,
                                                      case):
    other = make_bridge(instance_name="other-line")
    url, headers = bridge.url, {}
    if case == "unknown":
        url = "/integrations/3cx/webhook/99999"
    elif case == "non_numeric":
        url = "/integrations/3cx/webhook/abc"
    elif case == "disabled":
        configure(bridge, enabled=False)
    elif case == "missing_secret":
        headers = {threecx.SECRET_HEADER: None}
    elif case == "wrong_secret":
        headers = {threecx.SECRET_HEADER: bridge.secret + "x"}
    else:
        headers = {threecx.SECRET_HEADER: other.secret}
    response = post(client, bridge, {"event_type": "test"}, headers,
                    url=url)
    assert response.status_code == 401
    assert response.get_json() == INVALID


def test_authentication_comes_before_the_size_limit(client, bridge):
    response = post(client, bridge, raw=b"x" * (300 * 1024),
                    headers={threecx.SECRET_HEADER: "wrong"})
    assert response.get_json() == INVALID


def test_only_the_hash_of_the_secret_is_stored(bridge, app):
    with store.db.connection_context():
        row = threecx.ThreeCxIntegration.get_by_id(bridge.id)
    assert bridge.secret not in json.dumps(
        threecx.integration_to_dict(row), default=str)
    assert row.secret_hash == hashlib.sha256(
        bridge.secret.encode()).hexdigest()


# -- IP allowlist --------------------------------------------------------

@pytest.mark.parametrize("peer, forwarded, allowed", [
    ("203.0.113.7", None, True),
    ("198.51.100.1", None, False),
    # nginx on loopback (a trusted proxy) passes the client on.
    ("127.0.0.1", "203.0.113.7", True),
    # The client wrote the left entry itself; nginx appended the truth.
    ("127.0.0.1", "203.0.113.7, 198.51.100.9", False),
    # An untrusted peer cannot claim an address.
    ("198.51.100.1", "203.0.113.7", False),
    ("127.0.0.1", "not-an-ip", False),
])
def test_ip_allowlist(client, bridge, peer, forwarded, allowed):
    configure(bridge, allowed_ips="203.0.113.0/24")
    response = post(client, bridge, {"event_type": "test"},
                    {"X-Forwarded-For": forwarded},
                    environ_base={"REMOTE_ADDR": peer})
    if allowed:
        ok(response)
    else:
        assert response.status_code == 401
        assert response.get_json() == INVALID


def test_forwarded_for_is_ignored_without_trusted_proxies(make_app):
    client = make_app(TRUSTED_PROXIES=()).test_client()
    bridge = make_bridge()
    configure(bridge, allowed_ips="203.0.113.7")
    response = post(client, bridge, {"event_type": "test"},
                    {"X-Forwarded-For": "203.0.113.7"})
    assert response.get_json() == INVALID


def test_chain_of_trusted_proxies_is_walked_right_to_left(make_app):
    client = make_app(
        TRUSTED_PROXIES=("127.0.0.1", "10.0.0.0/8")).test_client()
    bridge = make_bridge()
    configure(bridge, allowed_ips="203.0.113.7")
    response = post(client, bridge, {"event_type": "test"},
                    {"X-Forwarded-For": "192.0.2.1, 203.0.113.7, 10.0.0.5"})
    ok(response)


# -- HMAC ------------------------------------------------------------------

HMAC_SECRET = "hmac-secret-0123456789"


@pytest.fixture
def signed(bridge):
    configure(bridge, hmac_secret=HMAC_SECRET)
    return bridge


def signed_post(client, bridge, timestamp=None, signature=None, raw=None,
                prefix="sha256="):
    raw = raw or json.dumps({"event_type": "test"}).encode()
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    if signature is None:
        signature = prefix + sign(HMAC_SECRET, timestamp, raw)
    return post(client, bridge, raw=raw, headers={
        threecx.TIMESTAMP_HEADER: timestamp,
        threecx.SIGNATURE_HEADER: signature})


def test_hmac_with_sha256_prefix(client, signed):
    ok(signed_post(client, signed))


def test_hmac_as_bare_hex(client, signed):
    ok(signed_post(client, signed, prefix=""))


def test_hmac_with_iso_timestamp(client, signed):
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    ok(signed_post(client, signed, timestamp=stamp))


@pytest.mark.parametrize("case", ["stale", "future", "wrong", "missing",
                                  "no_timestamp", "garbage_timestamp",
                                  "other_body"])
def test_bad_hmac_is_the_generic_401(client, signed, case):
    raw = json.dumps({"event_type": "test"}).encode()
    now = int(time.time())
    kwargs = {"raw": raw}
    if case == "stale":
        kwargs["timestamp"] = str(now - 301)
    elif case == "future":
        # Well past the 300 s window, however slow the machine is.
        kwargs["timestamp"] = str(now + 360)
    elif case == "wrong":
        kwargs["signature"] = "sha256=" + "0" * 64
    elif case == "missing":
        kwargs["signature"] = ""
    elif case == "no_timestamp":
        kwargs["timestamp"] = ""
    elif case == "garbage_timestamp":
        kwargs["timestamp"] = "yesterday"
    else:
        kwargs["signature"] = "sha256=" + sign(
            HMAC_SECRET, str(now), b'{"event_type": "missed_call"}')
        kwargs["timestamp"] = str(now)
    response = signed_post(client, signed, **kwargs)
    assert response.status_code == 401
    assert response.get_json() == INVALID


def test_without_hmac_signature_headers_are_not_needed(client, bridge):
    ok(post(client, bridge, {"event_type": "test"}))


# -- limits ----------------------------------------------------------------

def test_body_over_256_kb_is_413(client, bridge):
    body = {"event_type": "test", "padding": "x" * (256 * 1024)}
    response = post(client, bridge, body)
    error(response, 413, "payload_too_large")


def test_body_without_length_is_cut_off_at_256_kb(client, bridge):
    raw = json.dumps({"event_type": "test",
                      "padding": "x" * (300 * 1024)}).encode()
    # Chunked upload: no Content-Length, the limit must stop the read.
    response = post(client, bridge, input_stream=io.BytesIO(raw),
                    headers={"Transfer-Encoding": "chunked"},
                    environ_overrides={"wsgi.input_terminated": True})
    error(response, 413, "payload_too_large")


def test_body_of_just_under_256_kb_is_accepted(client, bridge):
    body = {"event_type": "test", "padding": ""}
    body["padding"] = "x" * (256 * 1024 - len(json.dumps(body)))
    ok(post(client, bridge, body))


def test_61st_request_in_a_minute_is_429_with_retry_after(client, bridge):
    for _ in range(60):
        ok(post(client, bridge, {"event_type": "test"}))
    response = post(client, bridge, {"event_type": "test"})
    error(response, 429, "webhook_rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    # The limit is per integration.
    other = make_bridge(instance_name="other-line")
    ok(post(client, other, {"event_type": "test"}))


# -- payload errors ----------------------------------------------------------

def test_bad_json_is_400_invalid_json(client, bridge):
    error(post(client, bridge, raw='{"event_type": '), 400, "invalid_json")


def test_non_json_content_type_is_400_invalid_json(client, bridge):
    response = post(client, bridge, raw="event_type=test",
                    content_type="application/x-www-form-urlencoded")
    error(response, 400, "invalid_json")


@pytest.mark.parametrize("body, field", [
    ({"event_type": "ringing"}, "event_type"),
    ({"to": PHONE}, "event_type"),
    ({"event_type": "missed_call", "customer_phone": 966501234567},
     "customer_phone"),
    ([{"event_type": "test"}], "_schema"),
])
def test_schema_break_is_400_validation_error(client, bridge, body, field):
    body = error(post(client, bridge, body), 400, "validation_error")
    assert field in body["details"]["fields"]


@pytest.mark.parametrize("purpose", ["marketing", "promotion", "newsletter"])
def test_a_purpose_not_allowed_is_its_own_error(client, bridge, sandbox,
                                                purpose):
    """3cx.md lists message_purpose_not_allowed among this path's errors
    (under its 400: the send API's 422 is not one of its statuses)."""
    open_window(bridge)
    body = error(post(client, bridge, {
        "event_type": "outbound_message", "to": PHONE,
        "message_text": "Hi", "message_purpose": purpose}), 400,
        "message_purpose_not_allowed")
    assert body["success"] is False
    assert sandbox.state.sent_messages() == []


def test_unknown_3cx_variables_are_accepted(client, bridge):
    body = {"event_type": "test", "EntityId": "[EntityId]",
            "RecordingUrl": None, "Transcription": {"a": 1}}
    ok(post(client, bridge, body))


@pytest.mark.parametrize("event_type", ["missed_call", "voicemail",
                                        "queue_callback", "after_hours",
                                        "outbound_message"])
def test_no_phone_field_is_400_missing_phone(client, bridge, event_type):
    body = {"event_type": event_type, "message_text": "Hello",
            "agent_extension": "101"}
    error(post(client, bridge, body), 400, "missing_phone")


def test_outbound_to_an_unfilled_variable_is_missing_phone(client, bridge):
    body = {"event_type": "outbound_message", "to": "[Number]",
            "message_text": "Hello"}
    error(post(client, bridge, body), 400, "missing_phone")


@pytest.mark.parametrize("text", [None, "", "   ", "[MessageText]"])
def test_outbound_without_text_is_400_missing_message_text(
        client, bridge, text):
    body = {"event_type": "outbound_message", "to": PHONE}
    if text is not None:
        body["message_text"] = text
    error(post(client, bridge, body), 400, "missing_message_text")


def test_module_off_is_403_module_not_enabled(client, app):
    bridge = make_bridge(modules="api")
    error(post(client, bridge, {"event_type": "test"}), 403,
          "module_not_enabled")


# -- outbound_message --------------------------------------------------------

def outbound(**extra):
    body = {"event_type": "outbound_message", "to": PHONE,
            "message_text": "Your ticket 4411 is resolved.",
            "conversation_id": "conv-1", "agent_extension": "101"}
    body.update(extra)
    return body


def test_outbound_in_open_window_is_sent_through_the_guards(
        client, bridge, sandbox):
    open_window(bridge)
    body = ok(post(client, bridge, outbound()), "processed", "sent")
    [sent] = sandbox.state.sent_messages()
    assert sent["text"] == "Your ticket 4411 is resolved."
    assert body["message_id"] == sent["id"]
    row = message_rows()[-1]
    assert (row.id, row.source, row.purpose, row.phone) == (
        body["log_id"], "3cx", "support", PHONE)


def test_outbound_message_field_and_national_number(client, bridge,
                                                    sandbox):
    open_window(bridge)
    body = outbound(to="050 123 4567", message="Done.",
                    message_purpose="operational")
    del body["message_text"]
    ok(post(client, bridge, body), "processed", "sent")
    assert sandbox.state.sent_messages()[0]["number"] == PHONE.lstrip("+")
    assert message_rows()[-1].purpose == "operational"


def test_outbound_outside_window_is_skipped(client, bridge, sandbox):
    ok(post(client, bridge, outbound()), "skipped", "not_sent",
       "conversation_window_closed")
    assert sandbox.state.sent_messages() == []


def test_outbound_without_strict_window_is_sent(client, bridge, sandbox):
    configure(bridge, strict_window=False)
    ok(post(client, bridge, outbound()), "processed", "sent")


def test_outbound_disabled_is_skipped(client, bridge):
    open_window(bridge)
    configure(bridge, outbound_enabled=False)
    ok(post(client, bridge, outbound()), "skipped", "not_sent",
       "outbound_disabled")


def test_outbound_to_suppressed_number_is_403(client, bridge):
    open_window(bridge)
    with store.db.connection_context():
        store.Suppression.create(customer=bridge.account.customer_id,
                                 phone=PHONE)
    error(post(client, bridge, outbound()), 403, "recipient_suppressed")


def test_outbound_marketing_text_is_403_policy_violation(client, bridge):
    open_window(bridge)
    body = outbound(message_text="Big sale! 50% off everything this "
                    "weekend only, shop now")
    error(post(client, bridge, body), 403, "policy_violation")


def test_outbound_on_paused_instance_is_403_with_the_send_apis_code(
        client, bridge):
    """The send API's 423 is not a status this path documents: 403,
    same error code (post() checks the status is the contract's)."""
    open_window(bridge)
    with store.db.connection_context():
        store.Instance.update(paused=True, paused_reason="review").execute()
    error(post(client, bridge, outbound()), 403,
          "instance_paused_for_review")


def test_outbound_on_an_instance_no_longer_the_customers_is_400(
        client, bridge, sandbox):
    open_window(bridge)
    other = create_account(name="Beta", instance_name="beta-line")
    with store.db.connection_context():
        store.Instance.update(customer=other.customer_id).where(
            store.Instance.id == bridge.account.instance_id).execute()
    error(post(client, bridge, outbound()), 400, "invalid_instance")
    assert sandbox.state.sent_messages() == []


def test_outbound_text_with_a_nul_is_400(client, bridge, sandbox):
    open_window(bridge)
    body = error(post(client, bridge, outbound(message_text="Hi\x00there")),
                 400, "validation_error")
    assert "message_text" in body["details"]["fields"]
    assert sandbox.state.sent_messages() == []


def test_outbound_over_quota_is_429_with_retry_after(client, app):
    bridge = make_bridge(daily_limit=1)
    open_window(bridge)
    ok(post(client, bridge, outbound()), "processed", "sent")
    response = post(client, bridge, outbound())
    error(response, 429, "daily_message_limit_exceeded")
    assert int(response.headers["Retry-After"]) >= 1


def test_outbound_send_failure_is_an_error_and_may_be_retried(
        client, bridge, sandbox):
    open_window(bridge)
    sandbox.state.add_not_on_whatsapp(PHONE.lstrip("+"))
    body = outbound(external_message_id="msg-77")
    error(post(client, bridge, body), 500, "gateway_send_failed")
    sandbox.state.remove_not_on_whatsapp(PHONE.lstrip("+"))
    # Certainly not sent, so the same message id is not a duplicate.
    ok(post(client, bridge, body), "processed", "sent")


def test_outbound_with_same_external_id_is_sent_once(client, bridge,
                                                     sandbox):
    open_window(bridge)
    first = ok(post(client, bridge, outbound(external_message_id="m-1")),
               "processed", "sent")
    again = ok(post(client, bridge, outbound(external_message_id="m-1")),
               "duplicate")
    assert again["message_id"] == first["message_id"]
    assert len(sandbox.state.sent_messages()) == 1


# -- call events -------------------------------------------------------------

def test_missed_call_in_open_window_sends_template_once(client, bridge,
                                                        sandbox):
    open_window(bridge)
    body = ok(post(client, bridge, journal()), "processed", "sent")
    [sent] = sandbox.state.sent_messages()
    # 10:00 UTC is 13:00 in Riyadh.
    assert sent["text"] == (
        "Sorry we missed your call to Acme Clinic at 13:00. Reply here "
        "and we'll get back to you.")
    assert body["message_id"] == sent["id"]
    assert message_rows()[-1].source == "3cx"


def test_missed_call_without_window_is_skipped(client, bridge, sandbox):
    ok(post(client, bridge, journal()), "skipped", "not_sent",
       "conversation_window_closed")
    assert sandbox.state.sent_messages() == []
    [event] = events(bridge)
    assert (event.status, event.reason) == ("skipped",
                                            "conversation_window_closed")


def test_missed_call_without_strict_window_is_sent(client, bridge,
                                                   sandbox):
    configure(bridge, strict_window=False)
    ok(post(client, bridge, journal()), "processed", "sent")


@pytest.mark.parametrize("event_type, expected", [
    ("voicemail", "We received your voicemail at"),
    ("queue_callback", "You're on the callback list for 800. Acme "
     "Clinic will call you on +966501234567."),
    ("after_hours", "We're closed now (hours: Sun-Thu 9-17)."),
])
def test_call_flow_events_send_their_templates(client, bridge, sandbox,
                                               event_type, expected):
    open_window(bridge)
    ok(post(client, bridge, cfd(event_type)), "processed", "sent")
    assert expected in sandbox.state.sent_messages()[0]["text"]


def test_call_ended_is_logged_by_default(client, bridge, sandbox):
    open_window(bridge)
    ok(post(client, bridge, journal("Inbound")), "processed", "logged")
    assert sandbox.state.sent_messages() == []


def test_call_ended_thanks_template_when_enabled(client, bridge, sandbox):
    open_window(bridge)
    set_template(bridge, "call_ended", enabled=True)
    ok(post(client, bridge, journal("Inbound")), "processed", "sent")
    assert sandbox.state.sent_messages()[0]["text"] == (
        "Thanks for speaking with Sara at Acme Clinic.")
    # An unanswered outbound call is only logged.
    ok(post(client, bridge, journal("Notanswered", number=OTHER_PHONE)),
       "processed", "logged")


def test_call_events_disabled_is_skipped(client, bridge):
    open_window(bridge)
    configure(bridge, call_events_enabled=False)
    ok(post(client, bridge, journal()), "skipped", "not_sent",
       "call_events_disabled")


def test_template_disabled_is_skipped(client, bridge):
    open_window(bridge)
    set_template(bridge, "missed_call", enabled=False)
    ok(post(client, bridge, journal()), "skipped", "not_sent",
       "template_disabled")


@pytest.mark.parametrize("number, reason", [
    ("101", "internal_extension"),
    ("2001", "internal_extension"),
    ("anonymous", "anonymous_caller"),
    ("Withheld", "anonymous_caller"),
    ("", "anonymous_caller"),
    ("[Number]", "anonymous_caller"),
    ("12345678901234", "invalid_phone"),
])
def test_internal_and_anonymous_callers_are_skipped(client, bridge, sandbox,
                                                    number, reason):
    ok(post(client, bridge, journal(number=number)), "skipped", "not_sent",
       reason)
    assert sandbox.state.sent_messages() == []


def test_minimum_digits_is_configurable(client, bridge):
    configure(bridge, min_phone_digits=12)
    ok(post(client, bridge, journal(number="0501234567")), "skipped",
       "not_sent", "internal_extension")


@pytest.mark.parametrize("setup, reason", [
    ("suppressed", "recipient_suppressed"),
    ("paused", "instance_paused_for_review"),
    ("not_on_whatsapp", "send_failed"),
    ("quota", "quota_exceeded"),
])
def test_refused_call_event_sends_are_200_skipped(client, app, sandbox,
                                                  setup, reason):
    bridge = make_bridge(daily_limit=0 if setup == "quota" else None)
    open_window(bridge)
    with store.db.connection_context():
        if setup == "suppressed":
            store.Suppression.create(customer=bridge.account.customer_id,
                                     phone=PHONE)
        elif setup == "paused":
            store.Instance.update(paused=True).execute()
    if setup == "not_on_whatsapp":
        sandbox.state.add_not_on_whatsapp(PHONE.lstrip("+"))
    ok(post(client, bridge, journal()), "skipped", "not_sent", reason)
    if setup != "not_on_whatsapp":
        assert sandbox.state.sent_messages() == []


def test_refused_send_gives_the_cooldown_back(client, bridge, sandbox):
    open_window(bridge)
    with store.db.connection_context():
        store.Instance.update(paused=True).execute()
    ok(post(client, bridge, journal()), "skipped", "not_sent",
       "instance_paused_for_review")
    with store.db.connection_context():
        store.Instance.update(paused=False).execute()
    ok(post(client, bridge, journal(call_time="2026-05-08T10:05:00Z")),
       "processed", "sent")


# -- cooldown and precedence -------------------------------------------------

def test_second_missed_call_within_15_minutes_is_cooldown(client, bridge,
                                                          sandbox):
    open_window(bridge)
    open_window(bridge, OTHER_PHONE)
    ok(post(client, bridge, journal()), "processed", "sent")
    ok(post(client, bridge, journal(call_time="2026-05-08T10:03:00Z")),
       "skipped", "not_sent", "cooldown")
    # Another caller has a cooldown of their own.
    ok(post(client, bridge, journal(number=OTHER_PHONE)), "processed",
       "sent")
    assert len(sandbox.state.sent_messages()) == 2


def test_cooldown_expires_after_15_minutes(client, bridge, sandbox):
    open_window(bridge)
    ok(post(client, bridge, journal()), "processed", "sent")
    with store.db.connection_context():
        threecx.ThreeCxCooldown.update(
            last_sent_at=store.utcnow() - datetime.timedelta(minutes=16)
        ).execute()
    ok(post(client, bridge, journal(call_time="2026-05-08T10:20:00Z")),
       "processed", "sent")


def test_after_hours_suppresses_missed_call_and_voicemail(client, bridge,
                                                          sandbox):
    open_window(bridge)
    ok(post(client, bridge, cfd("after_hours")), "processed", "sent")
    ok(post(client, bridge, journal()), "skipped", "not_sent", "cooldown")
    ok(post(client, bridge, cfd("voicemail")), "skipped", "not_sent",
       "cooldown")
    assert len(sandbox.state.sent_messages()) == 1


def test_after_hours_cooldown_is_12_hours(client, bridge, sandbox):
    open_window(bridge)
    ok(post(client, bridge, cfd("after_hours")), "processed", "sent")
    with store.db.connection_context():
        threecx.ThreeCxCooldown.update(
            last_sent_at=store.utcnow() - datetime.timedelta(hours=11)
        ).execute()
    ok(post(client, bridge, cfd("after_hours", callid="second-call")),
       "skipped", "not_sent", "cooldown")


def test_voicemail_suppresses_the_missed_call_of_the_same_call(
        client, bridge, sandbox):
    open_window(bridge)
    ok(post(client, bridge, cfd("voicemail")), "processed", "sent")
    ok(post(client, bridge, journal()), "skipped", "not_sent", "cooldown")
    assert len(sandbox.state.sent_messages()) == 1


@pytest.mark.parametrize("first, second", [
    ("missed_call", "queue_callback"),
    ("missed_call", "voicemail"),
    ("queue_callback", "missed_call"),
    ("voicemail", "queue_callback"),
    ("queue_callback", "after_hours"),
])
def test_one_caller_shares_one_cooldown_across_call_events(
        client, bridge, sandbox, first, second):
    """3cx.md 5.2/5.3: one call, at most one customer message, whichever
    customer-facing events report it."""
    open_window(bridge)

    def event(event_type):
        return journal() if event_type == "missed_call" else cfd(event_type)
    ok(post(client, bridge, event(first)), "processed", "sent")
    ok(post(client, bridge, event(second)), "skipped", "not_sent",
       "cooldown")
    assert len(sandbox.state.sent_messages()) == 1


# -- duplicates --------------------------------------------------------------

def test_same_journal_posted_twice_is_a_duplicate(client, bridge, sandbox):
    open_window(bridge)
    first = ok(post(client, bridge, journal()), "processed", "sent")
    again = ok(post(client, bridge, journal()), "duplicate", "ignored")
    assert again["original_status"] == "processed"
    assert again["message_id"] == first["message_id"]
    assert len(sandbox.state.sent_messages()) == 1


def test_duplicate_of_a_skipped_event_is_still_a_duplicate(client, bridge):
    ok(post(client, bridge, journal()), "skipped", "not_sent",
       "conversation_window_closed")
    again = ok(post(client, bridge, journal()), "duplicate")
    assert again["original_status"] == "skipped"


@pytest.mark.parametrize("field", ["event_id", "call_id", "callid", "id"])
def test_explicit_event_ids_are_duplicates(client, bridge, sandbox, field):
    open_window(bridge)
    body = cfd("voicemail")
    del body["callid"]
    body[field] = 8812
    ok(post(client, bridge, body), "processed", "sent")
    body["call_time"] = "1778234400"  # a retry may carry another time
    ok(post(client, bridge, body), "duplicate")
    assert len(sandbox.state.sent_messages()) == 1


def test_idempotency_key_header_marks_duplicates(client, bridge):
    headers = {"Idempotency-Key": "evt-1"}
    ok(post(client, bridge, cfd("queue_event", callid=None), headers))
    ok(post(client, bridge, cfd("queue_event", callid=None), headers),
       "duplicate")


def test_one_call_id_serves_the_start_and_the_end(client, bridge):
    ok(post(client, bridge, cfd("call_started", callid="c-9")))
    ok(post(client, bridge, cfd("call_ended", callid="c-9")),
       "processed", "logged")


def test_journal_without_call_time_has_no_derived_key(client, bridge):
    # Without a call time every call of a number would share one key.
    body = journal("Inbound")
    del body["call_time"]
    ok(post(client, bridge, body), "processed", "logged")
    ok(post(client, bridge, body), "processed", "logged")


def test_concurrent_repeats_send_exactly_once(app, bridge, sandbox):
    open_window(bridge)
    answers = []

    def deliver():
        answers.append(post(app.test_client(), bridge,
                            journal()).get_json()["status"])
    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["duplicate"] * 5 + ["processed"]
    assert len(sandbox.state.sent_messages()) == 1


# -- placeholders and templates -------------------------------------------

def test_unfilled_variables_count_as_empty(client, bridge, sandbox):
    open_window(bridge)
    set_template(bridge, "missed_call",
                 "Hi {{customer_name}}, {{agent_extension}} missed you "
                 "at {{call_time}} on {{call_date}}.")
    body = journal(agent_extension="[Agent]", event_id="[CallID]",
                   message_purpose="[MessagePurpose]",
                   call_time="2026-05-08 13:30:00")
    # Unfilled, so empty: never a message with holes ("Hi ,  missed").
    ok(post(client, bridge, body), "skipped", "not_sent",
       "template_incomplete")
    assert sandbox.state.sent_messages() == []
    body.update(customer_name="Maria", agent_extension="101",
                event_id="call-2")
    ok(post(client, bridge, body), "processed", "sent")
    # A naive time is PBX-local (3CX [DateTime]).
    assert sandbox.state.sent_messages()[0]["text"] == (
        "Hi Maria, 101 missed you at 13:30 on 2026-05-08.")


def test_unix_call_time_renders_in_the_integration_zone(client, bridge,
                                                        sandbox):
    open_window(bridge)
    ok(post(client, bridge, journal(call_time=1778234400)), "processed",
       "sent")  # 2026-05-08T10:00:00Z
    assert "at 13:00." in sandbox.state.sent_messages()[0]["text"]


def test_rules_validate_templates():
    rules = content_policy.load_rules()
    threecx_rules.validate_template(
        "Missed you at {{ call_time }}, {{customer_name}}.", rules)
    for text, why in [
            ("Hello {{first_name}}", "unknown placeholder {{first_name}}"),
            ("Hello {{customer_name}", "unbalanced"),
            ("", "blank"),
            ("Big sale! 50% off everything this weekend only, shop now "
             "{{business_name}}", "looks like promotion")]:
        with pytest.raises(ValueError, match=why):
            threecx_rules.validate_template(text, rules)
    for name, (text, _) in threecx_rules.DEFAULT_TEMPLATES.items():
        threecx_rules.validate_template(text, rules)


@pytest.mark.parametrize("raw, kind, e164", [
    ("+966501234567", "ok", PHONE),
    ("0501234567", "ok", PHONE),
    ("00966501234567", "ok", PHONE),
    ("966501234567", "ok", PHONE),
    ("123", "internal", None),
    ("Anonymous", "anonymous", None),
    ("restricted", "anonymous", None),
])
def test_classify_phone(raw, kind, e164):
    info = threecx_rules.classify_phone(raw, "SA")
    assert (info.kind, info.e164) == (kind, e164)


# -- the CLI -------------------------------------------------------------

@pytest.fixture
def run(app, base_config, monkeypatch, capsys):
    monkeypatch.setenv("GATEWAY_DATABASE_URL", base_config["DATABASE_URL"])

    def run(*argv, expect=0):
        capsys.readouterr()
        status = cli.main([str(arg) for arg in argv])
        out, err = capsys.readouterr()
        assert status == expect, err
        return out, err
    return run


def test_cli_create_prints_the_secret_once(run, client):
    account = create_account()
    out, _ = run("3cx", "create", account.customer_id, "--instance",
                 "support-line", "--business-name", "Acme",
                 "--timezone", "Asia/Riyadh", "--country", "sa")
    created = json.loads(out)
    assert created["secret"].startswith("w3cx_")
    assert (created["timezone"], created["country"]) == ("Asia/Riyadh",
                                                         "SA")
    bridge = types.SimpleNamespace(
        id=created["id"], secret=created["secret"],
        url="/integrations/3cx/webhook/%d" % created["id"])
    ok(post(client, bridge, {"event_type": "test"}))
    listed, _ = run("3cx", "list")
    assert created["secret"] not in listed
    assert json.loads(listed)[0]["id"] == created["id"]


def test_cli_rotate_secret_replaces_the_old_one(run, client, bridge):
    out, _ = run("3cx", "rotate-secret", bridge.id)
    rotated = json.loads(out)
    assert rotated["id"] == bridge.id and rotated["secret"] != bridge.secret
    assert post(client, bridge, {"event_type": "test"}).status_code == 401
    bridge.secret = rotated["secret"]
    ok(post(client, bridge, {"event_type": "test"}))


def test_cli_set_changes_settings_and_templates(run, bridge):
    out, _ = run("3cx", "set", bridge.id, "--call-events", "off",
                 "--outbound", "off", "--strict-window", "off",
                 "--template", "voicemail=Got your message, "
                 "{{customer_name}}.", "--template-enabled",
                 "call_ended=on", "--hmac-secret", HMAC_SECRET,
                 "--allow-ips", "203.0.113.0/24,10.1.2.3",
                 "--business-hours", "9-5")
    shown = json.loads(out)
    assert (shown["call_events"], shown["outbound"],
            shown["strict_window"], shown["hmac"]) == (False, False, False,
                                                        True)
    assert shown["allowed_ips"] == ["203.0.113.0/24", "10.1.2.3/32"]
    assert shown["templates"]["voicemail"]["text"] == (
        "Got your message, {{customer_name}}.")
    assert shown["templates"]["call_ended"]["enabled"] is True
    assert HMAC_SECRET not in out
    out, _ = run("3cx", "set", bridge.id, "--hmac", "off", "--allow-ips",
                 "")
    shown = json.loads(out)
    assert (shown["hmac"], shown["allowed_ips"]) == (False, [])


@pytest.mark.parametrize("argv, message", [
    (["--template", "missed_call=Hi {{first_name}}"],
     "unknown placeholder {{first_name}}"),
    (["--template", "missed_call=Big sale! 50% off everything this "
      "weekend only, shop now"], "looks like promotion"),
    (["--template", "test=Hello"], "no template for 'test'"),
    (["--template-enabled", "missed_call=maybe"], "expected on or off"),
    (["--allow-ips", "10.0.0.300"], "not an IP address"),
    (["--timezone", "Mars/Olympus"], "unknown time zone"),
    (["--country", "XX"], "unknown country"),
    (["--call-events", "yes"], "expected on or off"),
    (["--hmac-secret", "short"], "at least 16"),
    (["--hmac-secret", HMAC_SECRET, "--hmac", "off"], "not allowed with"),
])
def test_cli_bad_arguments_are_one_line_exit_2(run, bridge, argv,
                                               message):
    _, err = run("3cx", "set", bridge.id, *argv, expect=2)
    assert message in err
    assert err.count("\n") == 1


def test_cli_create_for_someone_elses_instance_is_refused(run, bridge):
    other = create_account(name="Other", instance_name="other-line")
    _, err = run("3cx", "create", other.customer_id, "--instance",
                 "support-line", expect=2)
    assert "has no instance 'support-line'" in err
    run("3cx", "rotate-secret", 999, expect=2)


def test_cli_template_is_a_well_formed_crm_template(run, bridge):
    out, _ = run("3cx", "template", bridge.id, "--url",
                 "https://gw.example.org/")
    crm = ET.fromstring(out)
    assert crm.tag == "Crm"
    assert crm.find("Number").get("Prefix") == "Plus"
    assert crm.find("Connection").get("MaxConcurrentRequests") == "2"
    params = {p.get("Name"): p for p in crm.iter("Parameter")}
    assert params["GatewayUrl"].get("Default") == (
        "https://gw.example.org/integrations/3cx/webhook/%d" % bridge.id)
    assert params["WebhookSecret"].get("Type") == "Password"
    assert bridge.secret not in out
    scenarios = {s.get("Id"): s for s in crm.iter("Scenario")}
    assert set(scenarios) == {"", "ReportCall", "ReportCallEnded"}
    report = scenarios["ReportCall"]
    request = report.find("Request")
    assert request.get("RequestEncoding") == "Json"
    assert "[CallType]!=Missed" in request.get("SkipIf")
    assert report.find("Outputs").get("Next") == "ReportCallEnded"
    header = request.find("Headers/Value")
    assert header.get("Key") == threecx.SECRET_HEADER
    assert header.text == "[WebhookSecret]"
    values = {v.get("Key"): v.text for v in request.iter("Value")
              if v.get("Key") != threecx.SECRET_HEADER}
    assert values["event_type"] == "missed_call"
    assert values["customer_phone"] == "[Number]"
    ended = scenarios["ReportCallEnded"].find("Request")
    assert "[CallType]==Missed" in ended.get("SkipIf")
    run("3cx", "template", bridge.id, "--url", "ftp://x", expect=2)


def test_what_the_crm_template_posts_is_accepted(client, bridge, sandbox):
    """The journal body built from the template's own PostValues."""
    out = threecx_rules.build_crm_template("https://gw/x")
    scenario = [s for s in ET.fromstring(out).iter("Scenario")
                if s.get("Id") == "ReportCall"][0]
    body = {v.get("Key"): v.text for v in scenario.iter("Value")
            if v.get("Key") != threecx.SECRET_HEADER}
    # What 3CX substitutes for a missed call.
    body.update(customer_phone=PHONE, customer_name="", agent_extension="101",
                agent_name="[AgentFirstName]", queue="", call_type="Missed",
                call_direction="Inbound", duration="00:00:12",
                call_time="2026-05-08T10:00:00Z")
    open_window(bridge)
    ok(post(client, bridge, body), "processed", "sent")


def test_cli_events_shows_each_event_and_its_outcome(run, client, bridge):
    open_window(bridge)
    post(client, bridge, journal())
    post(client, bridge, journal(number="101"))
    post(client, bridge, {"event_type": "test"})
    out, _ = run("3cx", "events", bridge.id, "--limit", "2")
    shown = json.loads(out)
    assert [(e["event_type"], e["status"], e["reason"]) for e in shown] == [
        ("test", "processed", None),
        ("missed_call", "skipped", "internal_extension")]
    out, _ = run("3cx", "events", bridge.id)
    assert json.loads(out)[-1]["message_id"]


@pytest.mark.parametrize("ref", ["²", "9" * 25, "-1", "1.0"])
def test_odd_integration_ids_are_the_generic_401(client, bridge, ref):
    response = post(client, bridge, {"event_type": "test"},
                    url="/integrations/3cx/webhook/" + ref)
    assert response.status_code == 401
    assert response.get_json() == INVALID


@pytest.mark.parametrize("raw", ["[" * 100000, '{"event_type": "\\ud800"}'])
def test_unstorable_json_is_400_invalid_json(client, bridge, raw):
    error(post(client, bridge, raw=raw), 400, "invalid_json")


@pytest.mark.parametrize("call_time", [
    "0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00", "99999999999999999999", "1e400"])
def test_extreme_call_times_are_ignored_not_500(client, bridge, call_time):
    open_window(bridge)
    response = post(client, bridge, journal(call_time=call_time))
    assert response.status_code == 200
