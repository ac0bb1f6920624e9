"""``gateway policy ...``: check a text, per-customer content settings,
refusal counts.  Registered by cli.build_parser(); prints JSON like the
other commands.
"""
import datetime
import json

import content_policy
import content_stats
from store import Customer


def _usage(message):
    from cli import UsageError  # cli imports this module at load
    return UsageError(message)


def _print(obj):
    print(json.dumps(obj, ensure_ascii=False, default=str))


def _customer(ident):
    row = Customer.get_or_none(Customer.id == ident)
    if row is None:
        raise _usage("no customer with id %s" % ident)
    return row


def _phrases(row):
    return [p for p in (row.content_allow_phrases or "").splitlines() if p]


def _since(raw):
    try:
        moment = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _usage("%r is not an ISO date or time" % raw) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(
            tzinfo=None)
    return moment


def cmd_check(args, settings):
    """Print the verdict for a text: rule or model, score, signals."""
    rules = content_policy.load_policy(settings.CONTENT_RULES_PATH or None,
                                       settings.CONTENT_MODEL_PATH or None)
    phrases, strictness = (), args.strictness
    if args.customer is not None:
        row = _customer(args.customer)
        phrases = _phrases(row)
        strictness = strictness or row.content_strictness
    verdict = content_policy.evaluate(args.text, rules, phrases, strictness,
                                      explain=True)
    out = {"verdict": "refuse" if verdict.refused else "allow"}
    out.update(verdict.details())
    out["rules_version"] = rules.version
    if rules.model is not None:
        out["model_version"] = rules.model.version
        out["model_threshold"] = rules.model.threshold
    _print(out)


def cmd_strictness(args, settings):
    row = _customer(args.customer_id)
    if args.level is not None:
        Customer.update(content_strictness=args.level).where(
            Customer.id == row.id).execute()
        row.content_strictness = args.level
    _print({"customer_id": row.id,
            "strictness": row.content_strictness or "standard"})


def cmd_allow_phrases(args, settings):
    row = _customer(args.customer_id)
    phrases = _phrases(row)
    if args.action in ("add", "remove"):
        phrase = " ".join((args.phrase or "").split())
        if not phrase or len(phrase) > 200:
            raise _usage("a phrase of 1 to 200 characters is required")
        if "\n" in phrase:
            raise _usage("a phrase is one line")
        if args.action == "add" and phrase not in phrases:
            phrases.append(phrase)
        elif args.action == "remove":
            if phrase not in phrases:
                raise _usage("customer %s has no allow phrase %r"
                             % (row.id, phrase))
            phrases.remove(phrase)
        Customer.update(content_allow_phrases="\n".join(phrases)).where(
            Customer.id == row.id).execute()
    _print({"customer_id": row.id, "allow_phrases": phrases})


def cmd_refusals(args, settings):
    """Content refusals by rule and category (the console shows the same,
    from content_stats.count_refusals)."""
    if args.customer is not None:
        _customer(args.customer)
    since = _since(args.since) if args.since else None
    _print(content_stats.count_refusals(since=since,
                                        customer_id=args.customer))


def add_policy_commands(subparsers, parser_class, positive_int):
    """Register ``gateway policy`` and its subcommands."""
    policy = subparsers.add_parser(
        "policy", help="content policy: check a text, customer settings, "
        "refusal counts").add_subparsers(dest="action", required=True,
                                         parser_class=parser_class)
    p = policy.add_parser("check", help="show the verdict for a text")
    p.add_argument("text")
    p.add_argument("--customer", type=positive_int,
                   help="apply this customer's allow phrases and strictness")
    p.add_argument("--strictness", choices=content_policy.STRICTNESS)
    p.set_defaults(func=cmd_check)
    p = policy.add_parser("strictness", help="show or set a customer's "
                          "content strictness")
    p.add_argument("customer_id", type=positive_int)
    p.add_argument("level", nargs="?", choices=content_policy.STRICTNESS)
    p.set_defaults(func=cmd_strictness)
    p = policy.add_parser("allow-phrases", help="list, add or remove a "
                          "customer's allow phrases")
    p.add_argument("customer_id", type=positive_int)
    p.add_argument("action", choices=("list", "add", "remove"))
    p.add_argument("phrase", nargs="?")
    p.set_defaults(func=cmd_allow_phrases)
    p = policy.add_parser("refusals", help="content refusals by rule and "
                          "category")
    p.add_argument("--since", help="ISO date or time (UTC)")
    p.add_argument("--customer", type=positive_int)
    p.set_defaults(func=cmd_refusals)
