"""policy.py on its own: values in, decision or ApiError out, no Flask."""
import datetime

import pytest

import content_policy
import policy
from errors import ApiError


def refusal(func, *args):
    with pytest.raises(ApiError) as info:
        func(*args)
    return info.value.status, info.value.code, info.value


def test_guard_order_is_the_documented_one():
    assert policy.GUARD_ORDER == (
        "auth", "body", "purpose", "instance", "module_and_plan", "paused",
        "suppression", "content_policy", "quotas", "throttles")


@pytest.mark.parametrize("raw,expected", [
    ("+966501234567", "+966501234567"),
    ("+966 50 123 4567", "+966501234567"),
    ("00966501234567", "+966501234567"),
    ("966501234567", "+966501234567"),
    ("+1 (650) 253-0000", "+16502530000"),
    ("+1 555 0000 000", None),
    ("+1 650 253 0000", "+16502530000"),
    ("+4915112345678", "+4915112345678"),
    ("+966", None), ("", None), ("abc", None), ("+96650123456789012", None),
    (966501234567, None), (None, None),
])
def test_to_e164(raw, expected):
    assert policy.to_e164(raw) == expected


def test_to_e164_with_a_default_region():
    assert policy.to_e164("0501234567", "SA") == "+966501234567"
    assert policy.to_e164("0501234567") is None


@pytest.mark.parametrize("purpose", policy.ALLOWED_PURPOSES)
def test_allowed_purposes_pass(purpose):
    assert policy.check_purpose(purpose) is None


@pytest.mark.parametrize("purpose", [None, "", "  "])
def test_missing_purpose(purpose):
    assert refusal(policy.check_purpose, purpose)[:2] == (
        422, "message_purpose_required")


@pytest.mark.parametrize("purpose", policy.FORBIDDEN_PURPOSES + (
    "newsletter", "SUPPORT"))
def test_forbidden_purpose(purpose):
    assert refusal(policy.check_purpose, purpose)[:2] == (
        422, "message_purpose_not_allowed")


def test_module_and_plan():
    today = datetime.date(2026, 11, 24)
    assert policy.check_module_and_plan(["api"], None, "api", today) is None
    assert policy.check_module_and_plan(["api"], today, "api", today) is None
    assert refusal(policy.check_module_and_plan, ["3cx"], None, "api",
                   today)[:2] == (403, "module_not_enabled")
    assert refusal(policy.check_module_and_plan, ["api"],
                   today - datetime.timedelta(days=1), "api",
                   today)[:2] == (403, "active_plan_required")


def test_paused_and_suppressed():
    assert policy.check_paused(False, None) is None
    status, code, error = refusal(policy.check_paused, True, "spam")
    assert (status, code, error.details) == (
        423, "instance_paused_for_review", {"reason": "spam"})
    assert policy.check_suppressed(False) is None
    assert refusal(policy.check_suppressed, True)[:2] == (
        403, "recipient_suppressed")


def test_content_refusal_names_the_rule_not_the_text():
    rules = content_policy.load_rules()
    text = "Huge SALE today: 70% off all shoes, shop now before it ends!"
    status, code, error = refusal(policy.check_content, text, rules)
    assert (status, code) == (403, "policy_violation")
    assert set(error.details) == {"rule", "category", "risk_score",
                                  "signals", "strictness"}
    assert "70%" not in error.message and "shoes" not in str(error.details)
    assert not policy.check_content("Your order #2041 has shipped.",
                                    rules).refused


def test_quota_periods_reset_at_utc_midnight_and_month_end():
    now = datetime.datetime(2026, 12, 31, 23, 59, 30)
    periods = policy.quota_periods(now)
    assert periods["daily"] == ("d2026-12-31",
                                datetime.datetime(2027, 1, 1))
    assert periods["monthly"] == ("m2026-12", datetime.datetime(2027, 1, 1))
    feb = policy.quota_periods(datetime.datetime(2028, 2, 10))
    assert feb["monthly"][1] == datetime.datetime(2028, 3, 1)


def test_quota_error_body_and_retry_after():
    now = datetime.datetime(2026, 11, 24, 23, 0, 0)
    error = policy.quota_error("daily", 5, 5,
                               datetime.datetime(2026, 11, 25), now)
    assert (error.status, error.code) == (429,
                                          "daily_message_limit_exceeded")
    assert error.details == {"limit": 5, "used": 5,
                             "resets_at": "2026-11-25T00:00:00Z"}
    assert error.headers == {"Retry-After": "3600"}


def test_ratelimit_headers_follow_the_ietf_draft():
    now = datetime.datetime(2026, 11, 24, 12, 0, 0)
    headers = policy.ratelimit_headers({
        "daily": (100, 40, datetime.datetime(2026, 11, 25)),
        "monthly": (1000, 400, datetime.datetime(2026, 12, 1))}, now)
    assert headers["RateLimit-Policy"] == (
        '"daily";q=100;w=86400, "monthly";q=1000;w=2592000')
    assert headers["RateLimit"] == (
        '"daily";r=60;t=43200, "monthly";r=600;t=561600')
    assert policy.ratelimit_headers({}, now) == {}


def test_throttle_error():
    error = policy.throttle_error("recipient_gap", 3)
    assert (error.status, error.code) == (429, "sending_throttled")
    assert error.headers == {"Retry-After": "3"}


@pytest.mark.parametrize("sends,failures,opt_outs,tripped", [
    (5, 5, 0, False),      # too few sends to judge
    (20, 9, 0, False),
    (20, 10, 0, True),     # 50 % failed
    (20, 0, 1, False),
    (20, 0, 2, True),      # 10 % opted out
])
def test_breaker_thresholds(sends, failures, opt_outs, tripped):
    reason = policy.check_breaker(sends, failures, opt_outs, min_sends=20,
                                  failure_rate=0.5, opt_out_rate=0.1)
    assert bool(reason) is tripped
    if tripped:
        assert reason.startswith("automatic:")


def test_fingerprint_ignores_key_order_only():
    a = policy.fingerprint_request({"a": 1, "b": "x"})
    assert a == policy.fingerprint_request({"b": "x", "a": 1})
    assert a != policy.fingerprint_request({"a": 1, "b": "y"})


def test_body_limit():
    assert policy.check_body_limits("x" * 10, 10) is None
    assert refusal(policy.check_body_limits, "x" * 11, 10)[:2] == (
        422, "validation_error")
