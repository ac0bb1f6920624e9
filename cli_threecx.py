"""The ``gateway 3cx ...`` commands: integrations, call events, chat.

Split from ``cli.py`` (which keeps the shared helpers and the entry
point); like every command here they print one JSON object or array.
"""
import argparse
import logging
import sys

import peewee

import cli
import content_policy
import threecx
import threecx_chat_setup
import threecx_rules

log = logging.getLogger("gateway")


def add_commands(subparsers):
    """Add the ``gateway 3cx ...`` commands."""
    commands = subparsers.add_parser(
        "3cx", help="3CX integrations").add_subparsers(
        dest="action", required=True, parser_class=cli._Parser)
    p = commands.add_parser("create", help="create an integration; prints "
                            "its secret once")
    p.add_argument("customer_id", type=cli._positive_int)
    p.add_argument("--instance", required=True)
    p.add_argument("--business-name", default="")
    p.add_argument("--business-hours", default="")
    p.add_argument("--timezone", default="UTC")
    p.add_argument("--country")
    p.set_defaults(func=cmd_3cx_create)
    commands.add_parser("list").set_defaults(func=cmd_3cx_list)
    p = commands.add_parser("rotate-secret")
    p.add_argument("integration_id", type=cli._positive_int)
    p.set_defaults(func=cmd_3cx_rotate_secret)
    p = commands.add_parser("set", help="change an integration")
    p.add_argument("integration_id", type=cli._positive_int)
    for flag in ("--enabled", "--call-events", "--outbound",
                 "--strict-window"):
        p.add_argument(flag, type=_on_off)
    p.add_argument("--template", action="append", default=[],
                   type=_assignment, metavar="EVENT=TEXT")
    p.add_argument("--template-enabled", action="append", default=[],
                   type=_assignment, metavar="EVENT=on|off")
    hmac_group = p.add_mutually_exclusive_group()
    hmac_group.add_argument("--hmac-secret")
    hmac_group.add_argument("--hmac", choices=("off",))
    p.add_argument("--allow-ips", metavar="CIDR,CIDR")
    p.add_argument("--business-name")
    p.add_argument("--business-hours")
    p.add_argument("--timezone")
    p.add_argument("--country")
    p.add_argument("--instance")
    p.add_argument("--min-phone-digits", type=cli._positive_int)
    p.set_defaults(func=cmd_3cx_set)
    p = commands.add_parser("template", help="print a 3CX CRM template")
    p.add_argument("integration_id", type=cli._positive_int)
    p.add_argument("--url", default="https://gateway.example.com",
                   help="the gateway's public base URL")
    p.set_defaults(func=cmd_3cx_template)
    p = commands.add_parser("events", help="recent events and outcomes")
    p.add_argument("integration_id", type=cli._positive_int)
    p.add_argument("--limit", type=cli._positive_int, default=50)
    p.set_defaults(func=cmd_3cx_events)
    p = commands.add_parser(
        "messaging", help="two-way chat: the gateway as 3CX's Generic SMS "
        "provider; prints the Provider URL and, once, the messaging key")
    p.add_argument("integration_id", type=cli._positive_int)
    p.add_argument("--webhook-url", type=cli._url, metavar="URL",
                   help="the Webhook URL 3CX shows on the SMS tab")
    p.add_argument("--status-events", type=_on_off, metavar="on|off",
                   help="also post message.sent / message.finalized")
    p.add_argument("--rotate-key", action="store_true",
                   help="issue a new messaging key (the old one stops)")
    p.add_argument("--inbound", type=_on_off, metavar="on|off",
                   help="forward inbound WhatsApp messages to 3CX")
    p.add_argument("--number", metavar="E164",
                   help="the 3CX trunk's number (default: the WhatsApp "
                   "number of the instance); '' clears it")
    p.add_argument("--private-network", "--allow-private",
                   "--allow-private-network", dest="private_network",
                   type=_on_off, metavar="on|off",
                   help="let this PBX's webhook be on a private network")
    p.add_argument("--url", help="the gateway's public base URL (default "
                   "GATEWAY_PUBLIC_URL)")
    p.add_argument("--send-test", metavar="E164",
                   help="post a test message from this number to 3CX")
    p.set_defaults(func=cmd_3cx_messaging)


def _on_off(raw):
    if raw not in ("on", "off"):
        raise argparse.ArgumentTypeError("expected on or off, not %r" % raw)
    return raw == "on"


def _assignment(raw):
    name, sep, value = raw.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError("expected EVENT=VALUE, not %r"
                                         % raw)
    return name.strip(), value


def _get_integration(integration_id):
    row = threecx.ThreeCxIntegration.get_or_none(
        threecx.ThreeCxIntegration.id == integration_id)
    if row is None:
        raise cli.UsageError("no 3CX integration with id %s" % integration_id)
    return row


def cmd_3cx_create(args, settings):
    try:
        row, secret = threecx.create_integration(
            args.customer_id, args.instance, args.business_name,
            args.timezone, args.country, args.business_hours)
    except threecx.IntegrationError as exc:
        raise cli.UsageError(str(exc)) from None
    body = {"id": row.id, "secret": secret}
    body.update(threecx.integration_to_dict(row))
    body["module_enabled"] = row.customer.has_module("3cx")
    cli._print(body)


def cmd_3cx_list(args, settings):
    rows = threecx.ThreeCxIntegration.select().order_by(
        threecx.ThreeCxIntegration.id)
    cli._print([dict(threecx.integration_to_dict(row),
                     messaging=threecx_chat_setup.summarize(row))
                for row in rows])


def cmd_3cx_rotate_secret(args, settings):
    row = _get_integration(args.integration_id)
    cli._print({"id": row.id, "secret": threecx.rotate_secret(row)})


def cmd_3cx_set(args, settings):
    row = _get_integration(args.integration_id)
    try:
        apply_settings(row, args, content_policy.load_rules(
            settings.CONTENT_RULES_PATH or None))
    except threecx.IntegrationError as exc:
        raise cli.UsageError(str(exc)) from None
    row.save()
    log.info("3cx integration=%s settings changed", row.id)
    cli._print(threecx.integration_to_dict(row))


def apply_settings(row, args, content_rules):
    """Copy the ``3cx set`` options given onto ``row`` (not saved)."""
    for flag, field in (("enabled", "enabled"),
                        ("call_events", "call_events_enabled"),
                        ("outbound", "outbound_enabled"),
                        ("strict_window", "strict_window"),
                        ("business_name", "business_name"),
                        ("business_hours", "business_hours"),
                        ("min_phone_digits", "min_phone_digits")):
        if getattr(args, flag) is not None:
            setattr(row, field, getattr(args, flag))
    if args.timezone is not None:
        threecx.check_zone(args.timezone)
        row.timezone = args.timezone
    if args.country is not None:
        row.country = threecx.check_country(args.country)
    if args.instance is not None:
        row.instance = threecx.find_instance(row.customer, args.instance)
    if args.hmac_secret is not None:
        if len(args.hmac_secret) < 16:
            raise threecx.IntegrationError("an HMAC secret needs at least 16 "
                                   "characters")
        row.hmac_secret = args.hmac_secret
    elif args.hmac == "off":
        row.hmac_secret = None
    if args.allow_ips is not None:
        try:
            networks = threecx_rules.parse_networks(args.allow_ips)
        except ValueError as exc:
            raise threecx.IntegrationError(str(exc)) from None
        row.allowed_ips = ",".join(str(n) for n in networks)
    for event, text in args.template:
        threecx.set_template(row, event, text=text, content_rules=content_rules)
    for event, value in args.template_enabled:
        if value not in ("on", "off"):
            raise threecx.IntegrationError("--template-enabled %s: expected on or "
                                   "off, not %r" % (event, value))
        threecx.set_template(row, event, enabled=value == "on")
    try:
        threecx_rules.check_business_hours(threecx.load_templates(row),
                                           row.business_hours)
    except ValueError as exc:
        raise threecx.IntegrationError(str(exc)) from None


def cmd_3cx_template(args, settings):
    row = _get_integration(args.integration_id)
    base = args.url.rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise cli.UsageError("--url must start with https:// or http://")
    print(threecx_rules.build_crm_template(
        "%s/integrations/3cx/webhook/%d" % (base, row.id),
        name="WhatsApp Gateway %d" % row.id, country=row.country), end="")


def cmd_3cx_events(args, settings):
    row = _get_integration(args.integration_id)
    cli._print([threecx.event_to_dict(event) for event in
            row.events.order_by(threecx.ThreeCxEvent.id.desc()).limit(args.limit)])


def cmd_3cx_messaging(args, settings):
    row = _get_integration(args.integration_id)
    base = args.url or settings.PUBLIC_URL or "https://gateway.example.com"
    if not base.startswith(("https://", "http://")):
        raise cli.UsageError("--url must start with https:// or http://")
    try:
        if args.send_test:
            threecx_chat_setup.check_send_test(
                row, args.send_test, args.number, args.webhook_url)
        row, key = threecx_chat_setup.configure(
            row, settings, webhook_url=args.webhook_url,
            rotate_key=args.rotate_key, inbound=args.inbound,
            status_events=args.status_events, number=args.number,
            private_network=args.private_network)
    except threecx_chat_setup.ChatError as exc:
        raise cli.UsageError(str(exc)) from None
    test, failure = send_test(row, args.send_test)
    body = threecx_chat_setup.describe(row, base)
    if test:
        body["test_delivery_id"] = test
        body["notes"].append("The test goes out from the running gateway "
                             "(gateway deliveries list shows it).")
    if key:
        # Next to the Provider URL: the two values pasted into 3CX.
        items = list(body.items())
        body = dict(items[:2] + [("messaging_key", key)] + items[2:])
    if not (args.url or settings.PUBLIC_URL):
        body["notes"].append("Set GATEWAY_PUBLIC_URL (or --url) to print "
                             "the real Provider URL.")
    cli._print(body)
    if failure:
        # After the settings (and a new key, printed above) were stored.
        print("gateway: error: the settings above are saved, but "
              "--send-test failed: %s" % failure, file=sys.stderr)
        return 1
    return 0


def send_test(row, phone):
    """``(delivery id, None)``, or ``(None, why)`` when it failed: the
    caller still prints what ``configure`` stored, a new key above all."""
    if not phone:
        return None, None
    try:
        return threecx_chat_setup.send_test(row, phone), None
    except threecx_chat_setup.ChatError as exc:
        return None, str(exc)
    except peewee.PeeweeException as exc:
        log.warning("3cx integration=%s send-test failed: %s", row.id,
                    type(exc).__name__)
        return None, "the database refused it (%s)" % type(exc).__name__
