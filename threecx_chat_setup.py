"""Setting up 3CX two-way chat: what ``gateway 3cx messaging`` does.

The messaging key (shown once, stored as its SHA-256), the 3CX Webhook
URL (a webhook endpoint of kind ``3cx``, public unless the operator lets
this one PBX be on a private network), the 3CX trunk's number and the
inbound / status-event switches, plus a test message to 3CX.  The
runtime side is ``threecx_chat.py``.
"""
import logging
import re
import secrets
from urllib.parse import urlparse

import threecx
import threecx_rules as rules
import webhooks
from store import WebhookEndpoint
from store import db
from store import utcnow
from threecx_chat import ENDPOINT_EVENTS
from threecx_chat import INBOUND_EVENT
from threecx_chat import KEY_PREFIX
from threecx_chat import PATH
from threecx_chat import canonical
from threecx_chat import envelope
from threecx_chat import iso
from threecx_chat import uid_to_uuid

log = logging.getLogger(__name__)

TEST_TEXT = ("Test from WhatsApp Gateway: WhatsApp messages to this number "
             "arrive here.")


class ChatError(ValueError):
    """A bad messaging setting, said in one line."""


def generate_key():
    return KEY_PREFIX + secrets.token_urlsafe(32)


def configure(integration, settings, webhook_url=None, rotate_key=False,
              inbound=None, status_events=None, number=None,
              private_network=None):
    """Apply ``gateway 3cx messaging`` options; return ``(row, key)``.

    The messaging key is created on first use and on ``rotate_key``, and
    returned only then: only its SHA-256 is kept.
    """
    key = None
    if rotate_key or not integration.messaging_key_hash:
        key = generate_key()
        integration.messaging_key_hash = rules.hash_secret(key)
        integration.messaging_key_rotated_at = utcnow()
    if number is not None:
        if number == "":
            integration.messaging_number = None
        else:
            if canonical(number) is None:
                raise ChatError("--number %r is not an E.164 number such "
                                "as +966112345678" % number)
            integration.messaging_number = as_typed(number)
    if inbound is not None:
        integration.messaging_inbound = inbound
    if status_events is not None:
        integration.messaging_status_events = status_events
    endpoint = find_endpoint(integration)
    if webhook_url is not None or private_network is not None:
        if webhook_url is None and endpoint is None:
            raise ChatError("--private-network needs --webhook-url first")
        allow = private_network if private_network is not None else (
            endpoint.allow_private if endpoint else False)
        url = webhook_url if webhook_url is not None else endpoint.url
        check_webhook_url(url, allow or settings.WEBHOOK_ALLOW_PRIVATE)
        with db.atomic():
            if endpoint is None:
                endpoint = WebhookEndpoint.create(
                    customer=integration.customer_id, url=url,
                    secret=webhooks.create_secret(), events=ENDPOINT_EVENTS,
                    kind="3cx", allow_private=allow)
            else:
                (WebhookEndpoint.update(url=url, allow_private=allow,
                                        enabled=True, disabled_reason=None,
                                        blocked_until=None)
                 .where(WebhookEndpoint.id == endpoint.id).execute())
                endpoint = WebhookEndpoint.get_by_id(endpoint.id)
            integration.messaging_endpoint_id = endpoint.id
            integration.save()
    else:
        integration.save()
    log.info("3cx integration=%s messaging settings changed%s",
             integration.id, " (new key)" if key else "")
    return integration, key


def as_typed(number):
    """The trunk's number as the admin gave it, only its punctuation
    dropped: 3CX matches an inbound message's ``to`` against its trunk's
    number exactly, so a Mexican +521... or a Brazilian number without
    its ninth digit must stay so (``canonical`` would rewrite both; the
    guards compare canonical forms)."""
    text = number.strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits = digits[2:]
    return "+" + digits


def check_send_test(integration, phone, number=None, webhook_url=None):
    """Refuse a ``--send-test`` that cannot go, before ``configure``
    stores anything (a key it creates is shown only once); ``number``
    and ``webhook_url`` are the ones given with it, if any.  Returns the
    sender's E.164 number."""
    sender = canonical(phone)
    if sender is None:
        raise ChatError("--send-test %r is not an E.164 number" % phone)
    if not (integration.messaging_number if number is None else number):
        raise ChatError("--send-test needs the 3CX number: add --number")
    if webhook_url is None:
        endpoint = find_endpoint(integration)
        if endpoint is None:
            raise ChatError("--send-test needs the 3CX webhook: add "
                            "--webhook-url")
        problem = find_webhook_problem(endpoint)
        if problem:
            raise ChatError("--send-test cannot go: the %s; add "
                            "--webhook-url again" % problem)
    return sender


def send_test(integration, phone):
    """Queue a ``message.received`` from ``phone`` to 3CX's webhook (the
    reference's "send test message"); returns the delivery id."""
    sender = check_send_test(integration, phone)
    endpoint = find_endpoint(integration)
    now = iso(utcnow())
    with db.atomic():
        delivery_id = webhooks.queue_delivery(
            integration.customer_id, integration.instance_id, endpoint.id,
            "3cx.message.received", lambda uid: envelope(
                "message.received", uid, now, {
                    "record_type": "message", "direction": "inbound",
                    "id": uid_to_uuid(uid), "type": "SMS",
                    "from": {"phone_number": sender},
                    "to": [{"phone_number": integration.messaging_number}],
                    "text": TEST_TEXT, "received_at": now, "media": []}))
        threecx.record_event(integration, INBOUND_EVENT, None, sender,
                             "processed", "test")
    return delivery_id


def find_endpoint(integration):
    if not integration.messaging_endpoint_id:
        return None
    return WebhookEndpoint.get_or_none(
        WebhookEndpoint.id == integration.messaging_endpoint_id)


def check_webhook_url(url, allow_private):
    """3CX's Webhook URL, held to the customer webhooks' rules."""
    try:
        webhooks.check_url(url, allow_private)
    except webhooks.NonPublicWebhookUrl as exc:
        raise ChatError("--webhook-url: %s; if the PBX is on your own "
                        "network, add --private-network on" % exc) from None
    except webhooks.InvalidWebhookUrl as exc:
        raise ChatError("--webhook-url: %s; use the https:// Webhook URL "
                        "3CX shows on the SMS tab" % exc) from None


def mask_url(url):
    """The URL without its secret path token."""
    parsed = urlparse(url)
    path = parsed.path
    head, _, token = path.rpartition("/")
    if token:
        path = "%s/%s…" % (head, token[:4])
    return "%s://%s%s" % (parsed.scheme, parsed.netloc, path)


def shown_url(endpoint):
    """An endpoint's URL as the CLI and the console show it: a 3CX
    webhook's path token is 3CX's only credential, so it is masked."""
    if endpoint.kind == "customer":
        return endpoint.url
    return mask_url(endpoint.url)


def find_webhook_problem(endpoint):
    """Why nothing reaches 3CX (its endpoint is disabled), else None."""
    if endpoint is None or endpoint.enabled:
        return None
    return "webhook endpoint disabled: %s" % (
        endpoint.disabled_reason or "no reason given")


def summarize(integration):
    """Two-way chat in ``gateway 3cx list`` and the console: on or off,
    and how."""
    if not integration.messaging_key_hash:
        return {"enabled": False}
    return {"enabled": True, "provider_path": PATH % integration.id,
            "webhook_endpoint_id": integration.messaging_endpoint_id,
            "webhook_problem": find_webhook_problem(
                find_endpoint(integration)),
            "number": integration.messaging_number,
            "inbound": integration.messaging_inbound,
            "status_events": integration.messaging_status_events}


def describe(integration, base_url):
    """What ``gateway 3cx messaging`` prints (never a key or the token)."""
    endpoint = find_endpoint(integration)
    notes = []
    if not integration.messaging_number:
        notes.append("No --number: inbound messages use the WhatsApp "
                     "number of the instance as 3CX's number; it must be "
                     "the 3CX trunk's main number exactly.")
    if endpoint is None:
        notes.append("No --webhook-url yet: copy the Webhook URL from the "
                     "3CX SMS tab, then run this again with it.")
    problem = find_webhook_problem(endpoint)
    if problem:
        notes.append("The %s, so inbound messages are not forwarded: copy "
                     "the Webhook URL from the 3CX SMS tab again and run "
                     "this with --webhook-url." % problem)
    if not integration.customer.has_module("3cx"):
        notes.append("The customer has no 3cx module: every request is "
                     "refused until it is added.")
    return {
        "id": integration.id,
        "provider_url": base_url.rstrip("/") + PATH % integration.id,
        "number": integration.messaging_number,
        "webhook_url": mask_url(endpoint.url) if endpoint else None,
        "webhook_endpoint_id": endpoint.id if endpoint else None,
        "webhook_problem": problem,
        "private_network": bool(endpoint and endpoint.allow_private),
        "inbound": integration.messaging_inbound,
        "outbound": integration.outbound_enabled,
        "status_events": integration.messaging_status_events,
        "key_rotated_at": integration.messaging_key_rotated_at,
        "notes": notes,
    }
