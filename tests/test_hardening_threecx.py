"""3CX hardening: signed requests cannot be replayed, failed
authentication is limited and logged in aggregate, templates never
render an empty placeholder."""
import argparse
import json
import logging
import time

import pytest

import cli_threecx
import store
import threecx
import threecx_rules
from conftest import PHONE
from test_threecx import HMAC_SECRET
from test_threecx import cfd
from test_threecx import configure
from test_threecx import make_bridge
from test_threecx import ok
from test_threecx import open_window
from test_threecx import post
from test_threecx import sign


@pytest.fixture
def bridge(app):
    return make_bridge()


def signed_headers(raw, timestamp=None):
    timestamp = timestamp or str(int(time.time()))
    return {threecx.TIMESTAMP_HEADER: timestamp,
            threecx.SIGNATURE_HEADER: "sha256=" + sign(HMAC_SECRET,
                                                       timestamp, raw)}


@pytest.mark.parametrize("body", [
    cfd("missed_call"),
    # No id and no call time: only the signature tells a repeat.
    {"event_type": "outbound_message", "to": PHONE, "message_text": "Hi"},
], ids=["call event", "outbound without id"])
def test_a_signed_request_cannot_be_replayed_with_a_fresh_key(
        client, bridge, sandbox, body):
    configure(bridge, hmac_secret=HMAC_SECRET)
    open_window(bridge)
    raw = json.dumps(body).encode()
    headers = signed_headers(raw)
    first = ok(post(client, bridge, raw=raw,
                    headers=dict(headers, **{"Idempotency-Key": "a"})),
               "processed", "sent")
    # The same bytes and signature: an identical retry (3cx.md 5.3: a
    # repeat is 200 duplicate), or a captured request replayed with a
    # new Idempotency-Key (outside the HMAC): never a second message.
    for key, prefix in (("a", "sha256="), ("b", "sha256="), ("c", ""),
                        (None, "")):
        replay = dict(headers)
        if key:
            replay["Idempotency-Key"] = key
        replay[threecx.SIGNATURE_HEADER] = prefix + sign(
            HMAC_SECRET, headers[threecx.TIMESTAMP_HEADER], raw)
        again = ok(post(client, bridge, raw=raw, headers=replay),
                   "duplicate", "ignored")
        if key == "a":  # the same key finds the first request's answer
            assert again["original_status"] == "processed"
            assert again["message_id"] == first["message_id"]
    with store.db.connection_context():
        assert threecx.ThreeCxEvent.select().count() == 1
    assert len(sandbox.state.sent_messages()) == 1
    # A sender that lost the answer signs its retry anew (a new
    # timestamp) and keeps its Idempotency-Key: still the first one.
    retry = ok(post(client, bridge, raw=raw, headers=dict(signed_headers(
        raw, str(int(time.time()) + 1)), **{"Idempotency-Key": "a"})),
        "duplicate", "ignored")
    assert retry["message_id"] == first["message_id"]
    assert len(sandbox.state.sent_messages()) == 1


def switch_module(on):
    store.Customer.update(modules="api,3cx" if on else "api").execute()
    return "module_not_enabled"


def switch_pause(on):
    import sending
    instance_id = store.Instance.get().id
    if on:
        sending.resume_instance(instance_id, by="test")
    else:
        sending.pause_instance(instance_id, "review", by="test")
    return "instance_paused_for_review"


# Refused before the event (module off; 429 and 400 the same) or inside
# it with nothing sent (a paused instance; a quota, a throttle or a
# certain Evolution failure the same).
@pytest.mark.parametrize("switch", [switch_module, switch_pause],
                         ids=["before its event", "in its event"])
def test_a_refused_signed_request_is_taken_on_retry(client, bridge, sandbox,
                                                    switch):
    """A signature is spent when its request reaches its duplicate check
    and given back when the event is refused with nothing sent: the
    sender's identical retry is processed, not answered as the duplicate
    of nothing."""
    configure(bridge, hmac_secret=HMAC_SECRET)
    open_window(bridge)
    raw = json.dumps({"event_type": "outbound_message", "to": PHONE,
                      "message_text": "Your technician is on the way."}
                     ).encode()
    headers = signed_headers(raw)
    with store.db.connection_context():
        code = switch(False)
    refused = post(client, bridge, raw=raw, headers=headers)
    assert refused.status_code == 403
    assert refused.get_json()["error"] == code
    with store.db.connection_context():
        switch(True)
    ok(post(client, bridge, raw=raw, headers=headers), "processed", "sent")
    ok(post(client, bridge, raw=raw, headers=headers), "duplicate",
       "ignored")
    assert len(sandbox.state.sent_messages()) == 1


def test_failed_authentication_is_limited_per_address(client, bridge):
    attacker = {"X-Forwarded-For": "203.0.113.9"}
    codes = []
    for n in range(25):
        response = post(client, bridge, body={"event_type": "test"},
                        headers=dict(attacker, **{
                            threecx.SECRET_HEADER: "w3cx_guess%d" % n}))
        codes.append(response.status_code)
    assert codes[:20] == [401] * 20
    assert codes[20:] == [429] * 5
    limited = post(client, bridge, body={"event_type": "test"},
                   headers=attacker)  # even the right secret now
    assert limited.status_code == 429
    assert limited.get_json()["error"] == "webhook_rate_limited"
    assert int(limited.headers["Retry-After"]) >= 1
    # Another address is not affected.
    ok(post(client, bridge, body={"event_type": "test"},
            headers={"X-Forwarded-For": "198.51.100.7"}))


def test_failed_authentication_is_logged_in_aggregate(client, bridge,
                                                      caplog):
    threecx._failures = threecx.FailureLog()
    with caplog.at_level(logging.INFO, logger="threecx"):
        for n in range(15):
            post(client, bridge, body={"event_type": "test"}, headers={
                "X-Forwarded-For": "203.0.113.10",
                threecx.SECRET_HEADER: "w3cx_wrong%d" % n})
    lines = [r.getMessage() for r in caplog.records if r.name == "threecx"
             and "refused" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "203.0.113.10" in lines[0]
    assert "w3cx_wrong" not in "\n".join(r.getMessage()
                                         for r in caplog.records)


def test_failure_log_reports_what_it_held_back():
    failures = threecx.FailureLog(window=0.2)
    assert failures.record("a", 1, "x") is True
    assert failures.record("a", 1, "x") is False
    assert failures.record("b", 1, "x") is True
    time.sleep(0.25)
    assert failures.record("a", 1, "x") is True


def test_after_hours_needs_business_hours():
    templates = {"after_hours": ("closed ({{business_hours}})", True)}
    with pytest.raises(ValueError) as info:
        threecx_rules.check_business_hours(templates, "")
    assert "--business-hours" in str(info.value)
    threecx_rules.check_business_hours(templates, "Sun-Thu 9-17")
    threecx_rules.check_business_hours(
        {"after_hours": ("closed", False)}, "")


def set_args(**given):
    names = ("enabled", "call_events", "outbound", "strict_window",
             "business_name", "business_hours", "min_phone_digits",
             "timezone", "country", "instance", "hmac_secret", "hmac",
             "allow_ips")
    values = dict.fromkeys(names)
    values.update(template=[], template_enabled=[])
    values.update(given)
    return argparse.Namespace(**values)


def test_integration_without_hours_starts_with_after_hours_off(app):
    from conftest import create_account
    account = create_account()
    with store.db.connection_context():
        row, _ = threecx.create_integration(account.customer_id,
                                            "support-line",
                                            business_name="Acme")
        templates = threecx.load_templates(row)
        assert templates["after_hours"][1] is False
        with pytest.raises(threecx.IntegrationError) as info:
            cli_threecx.apply_settings(row, set_args(template_enabled=[
                ("after_hours", "on")]), None)
        assert "business hours are required" in str(info.value)
        cli_threecx.apply_settings(row, set_args(
            business_hours="Sun-Thu 9-17",
            template_enabled=[("after_hours", "on")]), None)
        assert threecx.load_templates(row)["after_hours"][1] is True
        with pytest.raises(threecx.IntegrationError):
            cli_threecx.apply_settings(row, set_args(business_hours=""), None)


def test_a_template_with_an_empty_placeholder_is_not_sent(client, bridge,
                                                          sandbox):
    open_window(bridge)
    # queue_callback's template names the queue; this event has none.
    body = cfd("queue_callback", queue="", queue_name="")
    answer = ok(post(client, bridge, body=body), "skipped", "not_sent",
                "template_incomplete")
    assert "message_id" not in answer
    assert sandbox.state.sent_messages() == []
    configure(bridge, business_hours="")
    ok(post(client, bridge, body=cfd("after_hours")), "skipped",
       "not_sent", "template_incomplete")
    assert sandbox.state.sent_messages() == []
    # With every value present it goes, and no placeholder is left.
    ok(post(client, bridge, body=cfd("queue_callback", callid="q2")),
       "processed", "sent")
    text = sandbox.state.sent_messages()[0]["text"]
    assert "{{" not in text and "800" in text
    assert PHONE.lstrip("+") in sandbox.state.sent_messages()[0]["number"]


def test_an_agent_message_of_invisible_characters_is_refused(client, bridge,
                                                             sandbox):
    open_window(bridge)
    response = post(client, bridge, body={
        "event_type": "outbound_message", "to": PHONE,
        "message_text": "\u200b\u200c\u2060", "message_purpose": "support"})
    assert response.status_code == 400
    assert response.get_json()["error"] == "validation_error"
    assert sandbox.state.sent_messages() == []
