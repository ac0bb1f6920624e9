"""What an operator can change, shared by the console and the CLI.

Each function does one change and returns what the caller shows; bad
input raises ``ActionError`` with a sentence for the operator.  Scoping
(which customer may touch what) is the caller's job: the console looks
rows up through ``reports`` with the operator's customer first.
"""
import datetime
import json
import uuid
from urllib.parse import urlparse

import sending
import store
import threecx
import webhooks
from policy import to_e164
from store import ApiKey
from store import Customer
from store import Delivery
from store import Event
from store import Suppression
from store import WebhookEndpoint
from store import db
from store import utcnow

TEST_EVENT = "webhook.test"


class ActionError(ValueError):
    """A change that cannot be made, said in one sentence."""


# -- instances -------------------------------------------------------------

def pause_instance(instance_id, reason, actor):
    """Pause sending (the guard answers 423) and record who and why."""
    reason = (reason or "").strip()
    if not reason:
        raise ActionError("Say why the number is paused.")
    if not sending.pause_instance(instance_id, reason, by=actor):
        raise ActionError("The number is already paused.")


def resume_instance(instance_id, actor, note=None):
    sending.resume_instance(instance_id, by=actor, note=note)


# -- customers -------------------------------------------------------------

def _limit(raw, name):
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ActionError("%s must be a whole number." % name) from None
    if value < 1:
        raise ActionError("%s must be at least 1 (leave it empty for no "
                          "limit)." % name)
    return value


def _modules(raw):
    if isinstance(raw, str):
        raw = raw.split(",")
    modules = [m.strip() for m in raw if m and m.strip()]
    unknown = sorted(set(modules) - set(store.MODULES))
    if unknown or not modules:
        raise ActionError("Modules must be among %s."
                          % ", ".join(store.MODULES))
    return ",".join(dict.fromkeys(modules))


def _day(raw):
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime.date):
        return raw
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise ActionError("%r is not a YYYY-MM-DD date." % raw) from None


UNSET = object()


def update_customer(customer_id, name=UNSET, daily_limit=UNSET,
                    monthly_limit=UNSET, plan_active_until=UNSET,
                    modules=UNSET):
    """Change the given fields (``UNSET`` ones stay); return the row."""
    changes = {}
    if name is not UNSET:
        name = (name or "").strip()
        if not name or len(name) > 200:
            raise ActionError("A customer needs a name (200 characters at "
                              "most).")
        changes[Customer.name] = name
    if daily_limit is not UNSET:
        changes[Customer.daily_limit] = _limit(daily_limit, "Daily limit")
    if monthly_limit is not UNSET:
        changes[Customer.monthly_limit] = _limit(monthly_limit,
                                                 "Monthly limit")
    if plan_active_until is not UNSET:
        changes[Customer.plan_active_until] = _day(plan_active_until)
    if modules is not UNSET:
        changes[Customer.modules] = _modules(modules)
    if changes:
        Customer.update(changes).where(Customer.id == customer_id).execute()
    return Customer.get_by_id(customer_id)


def create_customer(name, daily_limit=None, monthly_limit=None,
                    plan_active_until=None, modules="api"):
    name = (name or "").strip()
    if not name:
        raise ActionError("A customer needs a name.")
    return Customer.create(name=name[:200],
                           daily_limit=_limit(daily_limit, "Daily limit"),
                           monthly_limit=_limit(monthly_limit,
                                                "Monthly limit"),
                           plan_active_until=_day(plan_active_until),
                           modules=_modules(modules))


# -- API keys --------------------------------------------------------------

def create_key(customer_id, label):
    """A new key; the key itself is returned here once, never again."""
    label = (label or "").strip()
    if not label:
        raise ActionError("Give the key a label (where it is used).")
    if len(label) > 100:
        raise ActionError("A label has 100 characters at most.")
    return store.create_api_key(customer_id, label)


def revoke_key(key_id):
    ApiKey.update(revoked_at=utcnow()).where(
        (ApiKey.id == key_id) & ApiKey.revoked_at.is_null()).execute()


# -- suppressions ----------------------------------------------------------

def add_suppression(customer_id, phone, reason="manual"):
    e164 = to_e164(phone or "")
    if e164 is None:
        raise ActionError("%r is not an international phone number."
                          % (phone or "")[:40])
    Suppression.insert(customer=customer_id, phone=e164,
                       reason=reason).on_conflict_ignore().execute()
    return e164


def remove_suppression(customer_id, suppression_id):
    return Suppression.delete().where(
        (Suppression.customer == customer_id)
        & (Suppression.id == suppression_id)).execute()


# -- webhooks --------------------------------------------------------------

def _check_url(url):
    parsed = urlparse(url or "")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ActionError("The URL must start with https:// (or http://).")
    if len(url) > 2000:
        raise ActionError("The URL is too long.")
    return url


def _check_events(events):
    if isinstance(events, str):
        events = events.split(",")
    events = [e.strip() for e in events if e and e.strip()]
    unknown = sorted(set(events) - set(webhooks.EVENTS))
    if unknown:
        raise ActionError("Unknown events: %s." % ", ".join(unknown))
    return ",".join(events)


def create_webhook(customer_id, url, events=()):
    """A new endpoint; its secret is returned here once."""
    endpoint = WebhookEndpoint.create(
        customer=customer_id, url=_check_url(url),
        secret=webhooks.create_secret(), events=_check_events(events))
    return endpoint, endpoint.secret


def rotate_webhook_secret(endpoint_id):
    secret = webhooks.create_secret()
    WebhookEndpoint.update(secret=secret).where(
        WebhookEndpoint.id == endpoint_id).execute()
    return secret


def set_webhook_enabled(endpoint_id, enabled):
    WebhookEndpoint.update(
        enabled=enabled, blocked_until=None,
        disabled_reason=None if enabled else "disabled by operator").where(
        WebhookEndpoint.id == endpoint_id).execute()


def send_test_event(endpoint):
    """Queue a signed ``webhook.test`` event for this endpoint only."""
    uid = "evt_" + uuid.uuid4().hex
    body = {"event": TEST_EVENT, "event_id": uid,
            "timestamp": webhooks.iso_timestamp(utcnow()),
            "message": "A test event sent from the WhatsApp Gateway "
                       "console."}
    with db.atomic():
        event = Event.create(uid=uid, customer=endpoint.customer_id,
                             instance=None, name=TEST_EVENT,
                             payload=json.dumps(body,
                                                separators=(",", ":")))
        delivery = Delivery.create(event=event.id, endpoint=endpoint.id)
    webhooks.wake()
    return delivery


def replay(delivery_ids):
    return webhooks.replay_deliveries(ids=list(delivery_ids))


# -- 3CX -------------------------------------------------------------------

def create_threecx(customer_id, instance_ref, business_name="",
                   timezone="UTC", country=None, business_hours=""):
    try:
        return threecx.create_integration(customer_id, instance_ref,
                                          business_name, timezone or "UTC",
                                          country or None, business_hours)
    except threecx.IntegrationError as exc:
        raise ActionError(str(exc)) from None


def update_threecx(row, content_rules, business_name=None,
                   business_hours=None, timezone=None, enabled=None,
                   templates=None):
    """Change an integration's hours, zone and templates; save it."""
    try:
        if business_name is not None:
            row.business_name = business_name.strip()[:200]
        if business_hours is not None:
            row.business_hours = business_hours.strip()
        if timezone is not None:
            threecx.check_zone(timezone)
            row.timezone = timezone
        if enabled is not None:
            row.enabled = bool(enabled)
        for event, (text, on) in (templates or {}).items():
            threecx.set_template(row, event, text=text, enabled=on,
                                 content_rules=content_rules)
    except threecx.IntegrationError as exc:
        raise ActionError(str(exc)) from None
    row.save()
    return row


def rotate_threecx_secret(row):
    return threecx.rotate_secret(row)
