"""The responsible-messaging guards through POST /api/send-message."""
import json

import pytest

import store
from conftest import PHONE
from conftest import create_account
from conftest import message_rows
from conftest import send_body
from contract_http import assert_contract

URL = "/api/send-message"
PROMO = "Flash sale! 50% off everything this weekend only, shop now."


def post(client, account, path=URL, headers=None, **fields):
    headers = dict(account.headers, **(headers or {}))
    headers["Content-Type"] = "application/json"
    response = client.post(path, data=json.dumps(send_body(**fields)),
                           headers=headers)
    assert_contract(URL, "POST", response)
    return response


def error_of(response):
    return response.status_code, response.get_json()["error"]


def set_instance(**fields):
    with store.db.connection_context():
        store.Instance.update(**fields).execute()


def suppress(account, phone=PHONE):
    with store.db.connection_context():
        store.Suppression.create(customer=account.customer_id, phone=phone)


def test_paused_instance_is_423_with_reason(client, account, sandbox):
    set_instance(paused=True, paused_reason="spam reports")
    response = post(client, account)
    assert error_of(response) == (423, "instance_paused_for_review")
    assert response.get_json()["details"]["reason"] == "spam reports"
    assert not sandbox.state.sent_messages()
    assert message_rows()[0].error_code == "instance_paused_for_review"


@pytest.mark.parametrize("written", ["+966 50 123 4567", "00966501234567",
                                     "966501234567"])
def test_suppressed_recipient_is_403_however_written(client, account,
                                                     written, sandbox):
    suppress(account)
    for purpose in ("authentication", "support"):
        response = post(client, account, phone=written,
                        message_purpose=purpose)
        assert error_of(response) == (403, "recipient_suppressed")
    assert not sandbox.state.sent_messages()


def test_marketing_text_is_403_policy_violation(client, account, sandbox):
    response = post(client, account, message=PROMO)
    assert error_of(response) == (403, "policy_violation")
    details = response.get_json()["details"]
    assert details["rule"] and details["category"]
    assert "50%" not in response.get_data(as_text=True)
    assert not sandbox.state.sent_messages()
    assert message_rows()[0].error_code == "policy_violation"


def test_daily_quota_is_429_with_details_and_retry_after(make_app):
    app = make_app()
    client = app.test_client()
    account = create_account(daily_limit=2)
    first = post(client, account)
    assert first.status_code == 200
    assert first.headers["RateLimit-Policy"] == '"daily";q=2;w=86400'
    assert first.headers["RateLimit"].startswith('"daily";r=1;t=')
    assert post(client, account).status_code == 200
    third = post(client, account)
    assert error_of(third) == (429, "daily_message_limit_exceeded")
    details = third.get_json()["details"]
    assert (details["limit"], details["used"]) == (2, 2)
    assert details["resets_at"].endswith("T00:00:00Z")
    assert 0 < int(third.headers["Retry-After"]) <= 86400


def test_monthly_quota_is_429(make_app):
    client = make_app().test_client()
    account = create_account(daily_limit=10, monthly_limit=1)
    ok = post(client, account)
    assert '"monthly";q=1;w=2592000' in ok.headers["RateLimit-Policy"]
    response = post(client, account)
    assert error_of(response) == (429, "monthly_message_limit_exceeded")
    assert response.headers["Retry-After"]


def test_refused_and_failed_sends_never_count(make_app, sandbox):
    client = make_app().test_client()
    account = create_account(daily_limit=1)
    suppress(account, "+966501234568")
    assert post(client, account, phone="+966501234568").status_code == 403
    assert post(client, account, message=PROMO).status_code == 403
    sandbox.state.add_not_on_whatsapp("966501234569")
    assert post(client, account, phone="+966501234569").status_code == 502
    assert post(client, account).status_code == 200
    assert post(client, account).status_code == 429


def test_instance_throttle_is_429_with_retry_after(make_app):
    client = make_app(THROTTLE_INSTANCE_PER_SECOND=2).test_client()
    account = create_account()
    codes = [post(client, account, phone="+96650123456%d" % n).status_code
             for n in range(3)]
    assert codes == [200, 200, 429]
    response = post(client, account, phone="+966501234569")
    assert error_of(response) == (429, "sending_throttled")
    assert response.get_json()["details"]["throttle"] == (
        "instance_per_second")
    assert int(response.headers["Retry-After"]) >= 1


def test_recipient_gap_and_daily_cap(make_app):
    client = make_app(THROTTLE_RECIPIENT_GAP_SECONDS=30,
                      THROTTLE_RECIPIENT_PER_DAY=1).test_client()
    account = create_account()
    assert post(client, account).status_code == 200
    response = post(client, account)
    assert error_of(response) == (429, "sending_throttled")
    assert response.get_json()["details"]["throttle"] in (
        "recipient_per_day", "recipient_gap")
    assert post(client, account, phone="+966501234568").status_code == 200


def test_throttled_send_does_not_count_against_quota(make_app):
    client = make_app(THROTTLE_INSTANCE_PER_SECOND=1).test_client()
    account = create_account(daily_limit=5)
    assert post(client, account).status_code == 200
    assert post(client, account, phone="+966501234568").status_code == 429
    with store.db.connection_context():
        assert store.QuotaCounter.select().where(
            store.QuotaCounter.period.startswith("d")).get().used == 1
    assert message_rows()[-1].outcome == "refused"


@pytest.mark.parametrize("setup,fields,expected", [
    # purpose before instance
    ({}, {"instance_id": "nope", "message_purpose": "marketing"},
     (422, "message_purpose_not_allowed")),
    # instance before module and plan
    ({"modules": "3cx"}, {"instance_id": "nope"}, (404, "invalid_instance")),
    # module and plan before paused
    ({"modules": "3cx", "paused": True}, {}, (403, "module_not_enabled")),
    # paused before suppression
    ({"paused": True, "suppressed": True}, {},
     (423, "instance_paused_for_review")),
    # suppression before content
    ({"suppressed": True}, {"message": PROMO}, (403, "recipient_suppressed")),
    # content before quota
    ({"daily_limit": 0}, {"message": PROMO}, (403, "policy_violation")),
])
def test_guard_order(make_app, setup, fields, expected):
    client = make_app().test_client()
    account = create_account(modules=setup.get("modules", "api"))
    if setup.get("paused"):
        set_instance(paused=True, paused_reason="review")
    if setup.get("suppressed"):
        suppress(account)
    if "daily_limit" in setup:
        with store.db.connection_context():
            store.Customer.update(daily_limit=0).execute()
    assert error_of(post(client, account, **fields)) == expected


def test_quota_is_checked_before_throttles(make_app):
    client = make_app(THROTTLE_INSTANCE_PER_SECOND=1).test_client()
    account = create_account(daily_limit=1)
    assert post(client, account).status_code == 200
    assert error_of(post(client, account, phone="+966501234568")) == (
        429, "daily_message_limit_exceeded")


def test_breaker_pauses_an_instance_that_keeps_failing(make_app, sandbox):
    client = make_app(BREAKER_MIN_SENDS=4, BREAKER_WINDOW=10,
                      BREAKER_FAILURE_RATE=0.5).test_client()
    account = create_account()
    numbers = ["96650123456%d" % n for n in range(4)]
    sandbox.state.add_not_on_whatsapp(*numbers)
    for number in numbers:
        assert post(client, account, phone="+" + number).status_code == 502
    response = post(client, account, phone="+966501234569")
    assert error_of(response) == (423, "instance_paused_for_review")
    assert "4 of the last 4 sends failed" in (
        response.get_json()["details"]["reason"])


def test_breaker_needs_enough_sends(make_app, sandbox):
    client = make_app(BREAKER_MIN_SENDS=10).test_client()
    account = create_account()
    sandbox.state.add_not_on_whatsapp("966501234560")
    for _ in range(3):
        post(client, account, phone="+966501234560")
    assert post(client, account).status_code == 200


def test_idempotency_key_replays_without_sending_again(make_app, sandbox):
    client = make_app().test_client()
    account = create_account(daily_limit=10)
    headers = {"Idempotency-Key": "order-2041-shipped"}
    first = post(client, account, headers=headers)
    second = post(client, account, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers.get("RateLimit") == first.headers.get("RateLimit")
    assert "Idempotent-Replayed" not in first.headers
    assert len(sandbox.state.sent_messages()) == 1
    assert len(message_rows()) == 1


def test_idempotency_key_with_another_body_is_422(client, account, sandbox):
    headers = {"Idempotency-Key": "k-1"}
    assert post(client, account, headers=headers).status_code == 200
    response = post(client, account, headers=headers, phone="+966501234568")
    assert error_of(response) == (422, "validation_error")
    assert len(sandbox.state.sent_messages()) == 1


def test_idempotency_replays_an_unknown_outcome(client, account, sandbox):
    sandbox.state.set_connection_closed(True)
    headers = {"Idempotency-Key": "k-2"}
    first = post(client, account, headers=headers)
    assert first.status_code == 502
    sandbox.state.set_connection_closed(False)
    second = post(client, account, headers=headers)
    assert second.status_code == 502
    assert second.get_json() == first.get_json()
    assert not sandbox.state.sent_messages()


def test_idempotency_does_not_store_a_throttle(make_app, sandbox):
    client = make_app(THROTTLE_RECIPIENT_GAP_SECONDS=1).test_client()
    account = create_account()
    assert post(client, account).status_code == 200
    headers = {"Idempotency-Key": "k-3"}
    assert post(client, account, headers=headers).status_code == 429
    import time
    time.sleep(1.1)
    assert post(client, account, headers=headers).status_code == 200


@pytest.mark.parametrize("key", ["", "x" * 256])
def test_bad_idempotency_key_is_422(client, account, key):
    response = post(client, account, headers={"Idempotency-Key": key})
    assert error_of(response) == (422, "validation_error")


def test_dry_run_sends_and_counts_nothing(make_app, sandbox):
    client = make_app().test_client()
    account = create_account(daily_limit=1)
    response = post(client, account, path=URL + "?dry_run=true")
    assert response.status_code == 200
    assert response.get_json()["status"] == "would_send"
    assert response.get_json()["dry_run"] is True
    assert not sandbox.state.sent_messages()
    assert not message_rows()
    assert post(client, account).status_code == 200


def test_dry_run_names_the_guard_that_would_refuse(make_app, sandbox):
    client = make_app().test_client()
    account = create_account()
    suppress(account)
    response = post(client, account, path=URL + "?dry_run=true")
    assert error_of(response) == (403, "recipient_suppressed")
    assert not message_rows()


def test_quota_429_carries_the_ratelimit_fields(make_app):
    client = make_app().test_client()
    account = create_account(daily_limit=1)
    post(client, account)
    response = post(client, account)
    assert response.status_code == 429
    assert response.headers["RateLimit-Policy"] == '"daily";q=1;w=86400'
    assert response.headers["RateLimit"].startswith('"daily";r=0;t=')
    dry = post(client, account, path=URL + "?dry_run=true")
    assert dry.status_code == 429 and dry.headers["RateLimit"]
