"""Responsible-messaging guards as pure functions.

Values in, ``None`` or an ``ApiError`` out: no Flask, no database, no
HTTP.  ``sending.GuardedSender`` feeds them what it read from the store, in
the one order written in ``GUARD_ORDER`` (and in the README):

    auth -> body -> purpose -> instance -> module and plan -> paused (423)
    -> suppression (403) -> content policy (403) -> quotas (429)
    -> throttles (429) -> send
"""
import calendar
import datetime
import hashlib
import json
import math
import re

import phonenumbers

import content_policy
from errors import ApiError

GUARD_ORDER = ("auth", "body", "purpose", "instance", "module_and_plan",
               "paused", "suppression", "content_policy", "quotas",
               "throttles")

ALLOWED_PURPOSES = ("transactional", "operational", "support",
                    "internal_team", "authentication")
# Named so the refusal can say why; anything else outside
# ALLOWED_PURPOSES is refused the same way.
FORBIDDEN_PURPOSES = ("marketing", "promotion", "cold_outreach",
                      "bulk_campaign", "political")

_PHONE_JUNK = re.compile(r"[\s().\-\u200e\u200f\u202a-\u202e]")


def to_e164(raw, region=None):
    """Return ``raw`` as an E.164 number, or None if it is not one.

    Accepts ``+966 50 123 4567``, ``00966501234567`` and bare international
    digits ``966501234567`` (what Evolution and 3CX often carry); with a
    ``region`` (ISO country) national numbers are accepted too.
    """
    if not isinstance(raw, str):
        return None
    text = _PHONE_JUNK.sub("", raw.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text.startswith("+") and region is None:
        text = "+" + text
    if not re.fullmatch(r"\+?\d{4,17}", text):
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number,
                                      phonenumbers.PhoneNumberFormat.E164)


def check_body_limits(text, max_chars):
    """The text must fit in one WhatsApp message."""
    if len(text) > max_chars:
        raise ApiError(422, "validation_error",
                       "The request body is not valid.",
                       {"fields": {"message": [
                           "Longer than %d characters." % max_chars]}})


def check_purpose(purpose):
    """The declared purpose must be present and one of the allowed ones."""
    if purpose is None or not str(purpose).strip():
        raise ApiError(422, "message_purpose_required",
                       "message_purpose is required.",
                       {"allowed": list(ALLOWED_PURPOSES)})
    if purpose not in ALLOWED_PURPOSES:
        details = {"message_purpose": purpose,
                   "allowed": list(ALLOWED_PURPOSES)}
        if purpose in FORBIDDEN_PURPOSES:
            details["reason"] = "forbidden_purpose"
        raise ApiError(422, "message_purpose_not_allowed",
                       "This message purpose is not allowed: the gateway "
                       "sends transactional, operational, support, "
                       "internal team and authentication messages only.",
                       details)


def check_module_and_plan(modules, plan_active_until, module, today):
    """The customer must have ``module`` and a plan that has not ended."""
    if module not in modules:
        raise ApiError(403, "module_not_enabled",
                       "The %s module is not enabled for this account."
                       % module, {"module": module})
    if plan_active_until is not None and plan_active_until < today:
        raise ApiError(403, "active_plan_required",
                       "An active plan is required to send messages.",
                       {"plan_active_until": plan_active_until.isoformat()})


def check_paused(paused, reason):
    """A paused instance sends nothing until it is resumed."""
    if paused:
        raise ApiError(423, "instance_paused_for_review",
                       "This instance is paused for responsible messaging "
                       "review.", {"reason": reason or "paused"})


def check_suppressed(suppressed):
    """A suppressed recipient gets nothing, whatever the purpose."""
    if suppressed:
        raise ApiError(403, "recipient_suppressed",
                       "This recipient has opted out or is suppressed.", {})


def check_content(text, rules):
    """Refuse marketing, promotion, cold outreach, bulk or political text.

    The details name the rule, never the text.
    """
    violation = content_policy.check_content(text, rules)
    if violation is not None:
        raise ApiError(403, "policy_violation",
                       "The message looks like %s, which this gateway does "
                       "not send." % violation.category.replace("_", " "),
                       {"rule": violation.rule,
                        "category": violation.category})


def quota_periods(now):
    """Return ``{"daily": (key, resets_at), "monthly": (key, resets_at)}``.

    Periods are UTC calendar days and months.
    """
    day_start = datetime.datetime(now.year, now.month, now.day)
    days_in_month = calendar.monthrange(now.year, now.month)[1]
    month_end = (datetime.datetime(now.year, now.month, 1)
                 + datetime.timedelta(days=days_in_month))
    return {
        "daily": ("d" + day_start.strftime("%Y-%m-%d"),
                  day_start + datetime.timedelta(days=1)),
        "monthly": ("m" + day_start.strftime("%Y-%m"), month_end),
    }


def seconds_until(moment, now):
    """Whole seconds from ``now`` to ``moment``, at least 1."""
    return max(1, math.ceil((moment - now).total_seconds()))


def quota_error(kind, limit, used, resets_at, now):
    """The 429 for an exhausted daily or monthly plan limit."""
    retry_after = seconds_until(resets_at, now)
    return ApiError(429, "%s_message_limit_exceeded" % kind,
                    "The %s message limit of this plan is reached." % kind,
                    {"limit": limit, "used": used,
                     "resets_at": resets_at.strftime("%Y-%m-%dT%H:%M:%SZ")},
                    {"Retry-After": str(retry_after)})


def throttle_error(throttle, retry_after):
    """The 429 for a send that came too fast."""
    return ApiError(429, "sending_throttled",
                    "Sending too fast; retry after %d seconds." % retry_after,
                    {"throttle": throttle, "retry_after": retry_after},
                    {"Retry-After": str(retry_after)})


def ratelimit_headers(quotas, now):
    """IETF ``RateLimit-Policy`` and ``RateLimit`` fields for the quotas.

    ``quotas`` maps ``daily``/``monthly`` to ``(limit, used, resets_at)``;
    a customer without a limit on a period has no entry for it
    (draft-ietf-httpapi-ratelimit-headers).
    """
    policies, states = [], []
    for name, (limit, used, resets_at) in quotas.items():
        window = 86400 if name == "daily" else 30 * 86400
        policies.append('"%s";q=%d;w=%d' % (name, limit, window))
        states.append('"%s";r=%d;t=%d' % (
            name, max(0, limit - used), seconds_until(resets_at, now)))
    if not policies:
        return {}
    return {"RateLimit-Policy": ", ".join(policies),
            "RateLimit": ", ".join(states)}


def check_breaker(sends, failures, opt_outs, min_sends, failure_rate,
                  opt_out_rate, min_opt_outs=1):
    """Return why an instance should be paused, or None.

    ``sends`` counts the recent completed sends looked at, ``failures`` how
    many of them failed, ``opt_outs`` how many recipients opted out over
    the same stretch.  Too few sends never trip the breaker: one bad send
    of three is noise, not a pattern; likewise fewer than ``min_opt_outs``
    opt-outs (two STOPs in twenty sends must not pause a clinic).
    """
    if sends < min_sends:
        return None
    if failures / sends >= failure_rate:
        return ("automatic: %d of the last %d sends failed"
                % (failures, sends))
    if opt_outs >= min_opt_outs and opt_outs / sends >= opt_out_rate:
        return ("automatic: %d opt-outs over the last %d sends"
                % (opt_outs, sends))
    return None


def fingerprint_request(body):
    """A stable hash of a request body for ``Idempotency-Key`` checks."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
