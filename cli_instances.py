"""``gateway instances ...``: one command per step of a number's life.

Each command calls one ``whatsapp_numbers.NumberService`` method (the
console calls the same ones) and prints one JSON object, or one JSON
array for ``list``.  Evolution's failures become one ``gateway: error:``
line and exit status 2.  ``connect`` draws the QR code in the terminal
and waits until the phone has scanned it.
"""
import io
import json
import sys
import time

import gateway
import store
import whatsapp_numbers
from store import Instance
from whatsapp_numbers import NumberError

POLL_SECONDS = 2.0


def add_instances_commands(sub, parser_class, positive_int, url_type):
    """Register ``instances`` and its subcommands on ``sub``."""
    instances = sub.add_parser(
        "instances", help="WhatsApp numbers (Evolution instances)"
    ).add_subparsers(dest="action", required=True, parser_class=parser_class)

    p = instances.add_parser(
        "create", help="create the instance in Evolution (or --attach an "
        "existing one) and wire its webhook")
    p.add_argument("customer_id", type=positive_int)
    p.add_argument("name")
    p.add_argument("--attach", metavar="EVOLUTION_NAME",
                   help="adopt this existing Evolution instance")
    # The older spelling of --attach.
    p.add_argument("--evolution-instance", dest="attach",
                   help=argparse_suppress())
    p.add_argument("--evolution-token",
                   help="the instance's Evolution token (found with the "
                   "global key when omitted)")
    p.set_defaults(func=cmd_create)

    p = instances.add_parser("list", help="every instance, its state "
                             "asked from Evolution")
    p.add_argument("--cached", action="store_true",
                   help="show the stored states without asking Evolution")
    p.set_defaults(func=cmd_list)

    p = instances.add_parser(
        "connect", help="show the QR code (or a pairing code) and wait "
        "until the number is connected")
    p.add_argument("instance")
    p.add_argument("--pairing-phone", metavar="E164",
                   help="get an 8-character pairing code for this number "
                   "instead of a QR code")
    p.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                   help="how long to wait for the scan (default 120; "
                   "0 returns at once)")
    p.add_argument("--json", action="store_true",
                   help='print {"state", "qr_code", "pairing_code"} at '
                   "once (waits only with --wait)")
    p.set_defaults(func=cmd_connect)

    p = instances.add_parser("status", help="ask Evolution for the state")
    p.add_argument("instance")
    p.set_defaults(func=cmd_status)

    p = instances.add_parser("set", help="change the Evolution name or "
                             "token")
    p.add_argument("instance")
    p.add_argument("--evolution-name")
    p.add_argument("--evolution-token")
    p.set_defaults(func=cmd_set)

    for action, helptext in (
            ("logout", "log the number out of WhatsApp"),
            ("restart", "reopen the WhatsApp connection"),
            ("delete", "delete the instance in Evolution and here"),
            ("sync-webhook", "re-apply the instance's Evolution webhook")):
        p = instances.add_parser(action, help=helptext)
        p.add_argument("instance")
        p.set_defaults(func=cmd_lifecycle)

    p = instances.add_parser("pause")
    p.add_argument("instance")
    p.add_argument("--reason", required=True)
    p.set_defaults(func=cmd_pause)
    p = instances.add_parser("resume")
    p.add_argument("instance")
    p.set_defaults(func=cmd_resume)

    p = instances.add_parser(
        "evolution-webhook",
        help="print the Evolution webhook settings for an instance")
    p.add_argument("instance")
    p.add_argument("--base-url", type=url_type,
                   help="where Evolution reaches this gateway (default "
                   "GATEWAY_PUBLIC_URL)")
    p.set_defaults(func=cmd_evolution_webhook)


def argparse_suppress():
    import argparse
    return argparse.SUPPRESS


# cli.main prints a NumberError as one line and exits 2.
UsageError = NumberError


def _print(obj):
    print(json.dumps(obj, ensure_ascii=False, default=str))


def build_service(settings):
    """A NumberService for this process (an embedded sandbox if no
    Evolution is configured: it then delivers nowhere)."""
    state = None
    if not settings.EVOLUTION_URL:
        state = gateway.build_embedded_sandbox()
        state.config["deliver"] = lambda url, headers, body: 200
    evolution = gateway.build_evolution_client(settings, state)
    return whatsapp_numbers.NumberService(settings, evolution)


def _run(step, *args, **kwargs):
    return step(*args, **kwargs)


def cmd_create(args, settings):
    service = build_service(settings)
    _print(_run(service.create_number, args.customer_id, args.name,
                evolution_name=args.attach, attach=bool(args.attach),
                evolution_token=args.evolution_token))


def cmd_list(args, settings):
    if not args.cached and settings.EVOLUTION_URL:
        # What Evolution says now, not what it said last time.
        build_service(settings).refresh_all()
    _print([store.instance_to_dict(i)
            for i in Instance.select().order_by(Instance.id)])


def cmd_status(args, settings):
    service = build_service(settings)
    state = _run(service.refresh_state, args.instance)
    _print(dict(whatsapp_numbers.describe(service.get(args.instance)),
                connection_state=state))


def cmd_set(args, settings):
    if args.evolution_name is None and args.evolution_token is None:
        raise UsageError("instances set needs --evolution-name or "
                         "--evolution-token")
    service = build_service(settings)
    _print(_run(service.update_number, args.instance, args.evolution_name,
                args.evolution_token))


def cmd_lifecycle(args, settings):
    service = build_service(settings)
    step = {"logout": service.logout_number,
            "restart": service.restart_number,
            "delete": service.delete_number,
            "sync-webhook": service.sync_webhook}[args.action]
    _print(_run(step, args.instance))


def cmd_connect(args, settings):
    service = build_service(settings)
    wait = args.wait if args.wait is not None else (0 if args.json else 120)
    result = _run(service.connect_number, args.instance, args.pairing_phone)
    if args.json and not args.wait:
        _print({k: result[k] for k in ("state", "qr_code", "pairing_code")})
        return
    deadline = time.monotonic() + wait
    shown = None
    while result["state"] != "open":
        if not args.json and result["qr_code"] != shown:
            show_code(result)
            shown = result["qr_code"]
        if time.monotonic() >= deadline:
            raise UsageError("%s is not connected (state %s)%s" % (
                args.instance, result["state"],
                " after %g s" % wait if wait else ""))
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        # While connecting, Evolution answers the current QR again (a new
        # one every ~45 s); after the QR limit it starts a new session.
        result = _run(service.connect_number, args.instance,
                      args.pairing_phone)
    if args.json:
        _print({k: result[k] for k in ("state", "qr_code", "pairing_code")})
    else:
        _print(dict(whatsapp_numbers.describe(service.get(args.instance)),
                    connection_state="open"))


def show_code(result):
    """Draw the QR (or print the pairing code) on stderr for the human."""
    out = sys.stderr
    if result["pairing_code"]:
        code = result["pairing_code"]
        print("On the phone: WhatsApp > Linked devices > Link with phone "
              "number, then enter: %s-%s" % (code[:4], code[4:]), file=out)
    elif result["qr_code"]:
        import segno
        buffer = io.StringIO()
        segno.make(result["qr_code"], error="l").terminal(
            out=buffer, compact=True)
        print(buffer.getvalue(), file=out)
        print("Scan with WhatsApp > Linked devices > Link a device. "
              "Waiting...", file=out)
    out.flush()


def cmd_pause(args, settings):
    row = _get_instance(args.instance)
    _print(whatsapp_numbers.pause_number(row.id, args.reason))


def cmd_resume(args, settings):
    row = _get_instance(args.instance)
    _print(whatsapp_numbers.resume_number(row.id))


def cmd_evolution_webhook(args, settings):
    """Print the body to POST to Evolution's /webhook/set/{instance}."""
    row = _get_instance(args.instance)
    base = (args.base_url or settings.PUBLIC_URL or "").rstrip("/")
    if not base:
        raise UsageError("--base-url or GATEWAY_PUBLIC_URL is needed")
    service = whatsapp_numbers.NumberService(settings, None)
    hook = service.webhook_settings(row, base)
    _print({
        "evolution_url": "%s/webhook/set/%s" % (
            settings.EVOLUTION_URL or "<GATEWAY_EVOLUTION_URL>",
            row.evolution_instance),
        "body": {"webhook": dict(hook, enabled=True)}})


def _get_instance(ref):
    row = store.find_instance(ref)
    if row is None:
        raise UsageError("no instance %r" % ref)
    return row
