"""The console's answers on the command line.

``gateway admins|users ...`` make the people who may sign in;
``gateway messages list|show`` and ``gateway usage`` print what the
console's log and overview show (the same ``reports`` functions);
``gateway customers set`` and ``gateway keys create --label`` change what
the console's forms change (the same ``console_actions``).  Tables for
people by default, ``--json`` for scripts.
"""
import argparse
import getpass
import json
import sys

import console_actions as actions
import console_auth as auth
import reports
from store import Customer


def _usage_error(message):
    import cli
    return cli.UsageError(message)


def _print_json(obj):
    print(json.dumps(obj, ensure_ascii=False, default=str))


def _subcommands(parser):
    return next(a for a in parser._actions
                if isinstance(a, argparse._SubParsersAction))


def _positive_int(raw):
    import cli
    return cli._positive_int(raw)


def _limit(raw):
    """A limit, or ``none`` to remove it."""
    if raw.lower() in ("none", "off", "unlimited"):
        return ""
    return str(_positive_int(raw))


def add_commands(sub):
    """Register the commands on ``gateway``'s sub-parsers (from cli.py)."""
    import cli
    for kind in ("admins", "users"):
        group = sub.add_parser(kind, help="console sign-ins" if kind ==
                               "admins" else "a customer's console users")
        commands = group.add_subparsers(dest="action", required=True,
                                        parser_class=cli._Parser)
        p = commands.add_parser("create")
        p.add_argument("email")
        if kind == "users":
            p.add_argument("--customer", type=_positive_int, required=True)
            p.add_argument("--no-message-text", action="store_true",
                           help="may not read message text")
        p.add_argument("--password-stdin", action="store_true",
                       help="read the password from standard input")
        p.add_argument("--time-zone", default="")
        p.set_defaults(func=cmd_operator_create, kind=kind)
        p = commands.add_parser("list")
        p.set_defaults(func=cmd_operator_list, kind=kind)
        p = commands.add_parser("remove")
        p.add_argument("email")
        p.set_defaults(func=cmd_operator_remove, kind=kind)

    messages = sub.add_parser("messages", help="the message log")
    commands = messages.add_subparsers(dest="action", required=True,
                                       parser_class=cli._Parser)
    p = commands.add_parser("list", help="newest first")
    p.add_argument("--since", help="ISO time (UTC unless it has a zone)")
    p.add_argument("--day", help="YYYY-MM-DD (UTC)")
    p.add_argument("--outcome", choices=reports.OUTCOMES)
    p.add_argument("--purpose")
    p.add_argument("--phone")
    p.add_argument("--instance")
    p.add_argument("--customer", type=_positive_int)
    p.add_argument("--before", type=_positive_int,
                   help="only log ids below this (the next page)")
    p.add_argument("--limit", type=_positive_int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_messages_list)
    p = commands.add_parser("show", help="one send and its timeline")
    p.add_argument("log_id", type=_positive_int)
    p.add_argument("--text", action="store_true",
                   help="include the message text (never for "
                        "authentication messages)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_messages_show)

    p = sub.add_parser("usage", help="sends today and this month, quotas")
    p.add_argument("customer_id", nargs="?", type=_positive_int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_usage)

    customers = _subcommands(sub.choices["customers"])
    p = customers.add_parser("set", help="change a customer's plan")
    p.add_argument("customer_id", type=_positive_int)
    p.add_argument("--name")
    p.add_argument("--daily-limit", type=_limit, metavar="N|none")
    p.add_argument("--monthly-limit", type=_limit, metavar="N|none")
    p.add_argument("--plan-expires", metavar="YYYY-MM-DD|none")
    p.add_argument("--modules", metavar="api,3cx")
    p.set_defaults(func=cmd_customers_set)

    create_key = _subcommands(sub.choices["keys"]).choices["create"]
    create_key.add_argument("--label", default="",
                            help="where the key is used")
    create_key.set_defaults(func=cmd_keys_create)


def _read_password(args):
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise _usage_error("the passwords differ")
    return password


def cmd_operator_create(args, settings):
    try:
        row = auth.create_operator(
            args.email, _read_password(args),
            customer_id=getattr(args, "customer", None),
            time_zone=args.time_zone,
            can_read_messages=not getattr(args, "no_message_text", False))
    except auth.AuthError as exc:
        raise _usage_error(str(exc)) from None
    _print_json({"id": row.id, "email": row.email,
                 "customer_id": row.customer_id,
                 "console": "/console/login"})


def cmd_operator_list(args, settings):
    rows = auth.operators_to_dicts()
    _print_json([r for r in rows
                 if (r["customer_id"] is None) == (args.kind == "admins")])


def cmd_operator_remove(args, settings):
    email = args.email.strip().lower()
    query = auth.Operator.delete().where(auth.Operator.email == email)
    query = query.where(auth.Operator.customer.is_null(
        args.kind == "admins"))
    if not query.execute():
        raise _usage_error("no %s %s" % (args.kind[:-1], email))
    _print_json({"email": email, "removed": True})


def cmd_messages_list(args, settings):
    raw = {"since": args.since, "day": args.day, "outcome": args.outcome,
           "purpose": args.purpose, "phone": args.phone,
           "instance": args.instance,
           "customer_id": str(args.customer) if args.customer else None,
           "before": str(args.before) if args.before else None}
    try:
        flt = reports.parse_filter({k: v for k, v in raw.items() if v})
    except reports.FilterError as exc:
        raise _usage_error(str(exc)) from None
    rows, next_before = reports.list_messages(flt, limit=args.limit)
    if args.json:
        _print_json([reports.message_to_dict(r) for r in rows])
        return
    print("%-9s %-20s %-16s %-18s %-14s %-8s %s" % (
        "LOG_ID", "TIME (UTC)", "TO", "FROM", "PURPOSE", "OUTCOME", "WHY"))
    for r in rows:
        print("%-9s %-20s %-16s %-18s %-14s %-8s %s" % (
            r["id"], r["created_at"].strftime("%Y-%m-%d %H:%M:%S"),
            r["phone"] or "", (r["instance_name"] or "")[:18],
            r["purpose"] or "", r["outcome"],
            " ".join(x for x in (r["error_code"], r["reason"]) if x)))
    if next_before:
        print("more: --before %d" % next_before)


def cmd_messages_show(args, settings):
    data = reports.message_detail(args.log_id)
    if data is None:
        raise _usage_error("no message with log id %s" % args.log_id)
    out = reports.message_to_dict(data)
    out["customer_name"] = data["customer_name"]
    out["timeline"] = [{"step": name, "at": (at.isoformat() + "Z")
                        if at else None, "note": note}
                       for name, at, note in data["timeline"]]
    if args.text and reports.may_read_text(data, True):
        out["message_text"] = data["message_text"]
    if args.json:
        _print_json(out)
        return
    for key in ("log_id", "customer_name", "instance_name", "phone",
                "purpose", "source", "outcome", "error_code", "reason",
                "evolution_message_id"):
        if out.get(key) is not None:
            print("%-21s %s" % (key, out[key]))
    print("timeline")
    for step in out["timeline"]:
        print("  %-10s %-28s %s" % (step["step"], step["at"] or "",
                                    step["note"]))
    if "message_text" in out:
        print("text\n  " + (out["message_text"] or ""))


def cmd_usage(args, settings):
    if args.customer_id and Customer.get_or_none(
            Customer.id == args.customer_id) is None:
        raise _usage_error("no customer with id %s" % args.customer_id)
    rows = reports.usage_report(args.customer_id)
    if args.json:
        _print_json(rows)
        return
    print("%-5s %-24s %-24s %-24s %s" % ("ID", "CUSTOMER", "TODAY",
                                         "THIS MONTH", "PLAN UNTIL"))
    for r in rows:
        today = "%d sent" % r["today"].get("sent", 0)
        if r["daily_limit"]:
            today += " (%d/%d)" % (r["daily_used"], r["daily_limit"])
        month = "%d sent" % r["month"].get("sent", 0)
        if r["monthly_limit"]:
            month += " (%d/%d)" % (r["monthly_used"], r["monthly_limit"])
        refused = r["month"].get("refused", 0)
        if refused:
            month += " %d refused" % refused
        print("%-5s %-24s %-24s %-24s %s" % (
            r["customer_id"], r["name"][:24], today, month,
            r["plan_active_until"] or "-"))


def cmd_customers_set(args, settings):
    import store
    if Customer.get_or_none(Customer.id == args.customer_id) is None:
        raise _usage_error("no customer with id %s" % args.customer_id)
    changes = {}
    for name in ("name", "daily_limit", "monthly_limit", "modules"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.plan_expires is not None:
        changes["plan_active_until"] = (
            "" if args.plan_expires.lower() == "none" else args.plan_expires)
    if not changes:
        raise _usage_error("customers set needs at least one option")
    try:
        row = actions.update_customer(args.customer_id, **changes)
    except actions.ActionError as exc:
        raise _usage_error(str(exc)) from None
    _print_json(store.customer_to_dict(row))


def cmd_keys_create(args, settings):
    if Customer.get_or_none(Customer.id == args.customer_id) is None:
        raise _usage_error("no customer with id %s" % args.customer_id)
    import store
    if len(args.label) > 100:
        raise _usage_error("a label has 100 characters at most")
    row, key = store.create_api_key(args.customer_id, args.label.strip())
    _print_json({"id": row.id, "key": key, "customer_id": row.customer_id,
                 "label": row.label})
