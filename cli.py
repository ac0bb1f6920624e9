"""The ``gateway`` command: serve, sandbox and the admin commands.

Create commands print one JSON object on stdout; list commands print one
JSON array.  A bad argument prints one line on stderr and exits 2.
"""
import argparse
import datetime
import json
import logging
import os
import sqlite3
import sys
from urllib.parse import urlparse

from peewee import DataError

import cli_console
import cli_instances
import cli_policy
import cli_threecx
import identity
import migrate
import secretbox
import store
import threecx_chat_setup
import webhooks
from config import ConfigError
from config import describe_settings
from config import load_settings
from policy import to_e164
from store import ApiKey
from store import Customer
from store import Delivery
from store import Event
from store import Suppression
from store import WebhookEndpoint
from store import db
from store import utcnow
from whatsapp_numbers import NumberError

log = logging.getLogger("gateway")

DEMO_INSTANCE = "demo-support-line"
DEMO_PHONE = "+966501234567"


class UsageError(Exception):
    """A bad argument: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _print(obj):
    print(json.dumps(obj, ensure_ascii=False, default=str))


def _positive_int(raw):
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an integer" % raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _date(raw):
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a YYYY-MM-DD date" % raw)


def _modules(raw):
    modules = [m.strip() for m in raw.split(",") if m.strip()]
    unknown = sorted(set(modules) - set(store.MODULES))
    if unknown or not modules:
        raise argparse.ArgumentTypeError(
            "modules must be among %s" % ",".join(store.MODULES))
    return ",".join(dict.fromkeys(modules))


def _get(model, ident, label):
    row = model.get_or_none(model.id == ident)
    if row is None:
        raise UsageError("no %s with id %s" % (label, ident))
    return row


def cmd_init_db(args, settings):
    _print({"database": where_database(settings)})


def cmd_backup(args, settings):
    """A consistent copy of the live SQLite database (online backup API:
    writers keep going while it runs)."""
    source = store.database_path(settings.DATABASE_URL)
    if source is None:
        raise UsageError("backup copies a SQLite database; for PostgreSQL "
                         "use pg_dump")
    source = os.path.abspath(source)
    target = os.path.abspath(args.path)
    if os.path.isdir(target):
        target = os.path.join(target, "gateway-%s.db" % utcnow().strftime(
            "%Y%m%d-%H%M%S"))
    if os.path.exists(target):
        raise UsageError("%s exists; choose a new file name" % target)
    if not os.path.isdir(os.path.dirname(target)):
        raise UsageError("no directory %s" % os.path.dirname(target))
    partial = target + ".partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    try:
        src = sqlite3.connect(source)
        dst = sqlite3.connect(partial)
        try:
            with dst:
                src.backup(dst, pages=1024)
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            # A standalone copy: no -wal beside it to lose.
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
            src.close()
        if check != "ok":
            raise UsageError("the copy failed its integrity check: %s"
                             % check)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    key_file = secretbox.key_file_path(source)
    _print({"database": source, "backup": target,
            "bytes": os.path.getsize(target),
            "secret_key_file": key_file if os.path.exists(key_file)
            else None,
            "note": "sealed secrets need the key: keep a copy of "
                    "GATEWAY_SECRET_KEY or secret.key, stored apart"})


def cmd_migrate(args, settings):
    """Apply pending migrations, or with ``--check`` only report them.

    ``--check`` exits 1 when the database is not current, so a deploy
    script can ask before it starts new code.
    """
    require_database(settings)
    store.open_db(settings.DATABASE_URL, secret_key=settings.SECRET_KEY)
    where = store.describe_database(settings.DATABASE_URL)
    with db.connection_context():
        if args.check:
            applied, pending, unknown = migrate.status(db)
            _print({"database": where,
                    "current": not pending, "applied": applied,
                    "pending": pending, "unknown": unknown})
            return 1 if pending else 0
        done = migrate.apply_pending(db)
        applied, _, unknown = migrate.status(db)
        _print({"database": where, "applied_now": done,
                "version": applied[-1] if applied else None,
                "unknown": unknown})


def cmd_copy_database(args, settings):
    """Copy the SQLite database into an empty PostgreSQL one."""
    import dbcopy
    try:
        counts = dbcopy.copy_database(
            settings.DATABASE_URL, args.target_url,
            progress=lambda table, rows: print(
                "copied %s: %d rows" % (table, rows), file=sys.stderr))
    except dbcopy.CopyError as exc:
        raise UsageError("copy-database: %s" % exc)
    _print({"source": store.describe_database(settings.DATABASE_URL),
            "target": store.redact_url(args.target_url),
            "rows": counts, "total": sum(counts.values())})


def cmd_customers_create(args, settings):
    customer = Customer.create(
        name=args.name, daily_limit=args.daily_limit,
        monthly_limit=args.monthly_limit, modules=args.modules,
        plan_active_until=args.plan_expires)
    _print(store.customer_to_dict(customer))


def cmd_customers_list(args, settings):
    _print([store.customer_to_dict(c)
            for c in Customer.select().order_by(Customer.id)])


def cmd_keys_create(args, settings):
    customer = _get(Customer, args.customer_id, "customer")
    row, key = store.create_api_key(customer)
    _print({"id": row.id, "key": key, "customer_id": customer.id})


def cmd_keys_revoke(args, settings):
    row = _get(ApiKey, args.key_id, "API key")
    ApiKey.update(revoked_at=utcnow()).where(
        (ApiKey.id == row.id) & ApiKey.revoked_at.is_null()).execute()
    _print({"id": row.id, "revoked": True})


def cmd_keys_list(args, settings):
    _print([{"id": k.id, "customer_id": k.customer_id, "hint": k.hint,
             "created_at": k.created_at, "revoked_at": k.revoked_at,
             "last_used_at": k.last_used_at}
            for k in ApiKey.select().order_by(ApiKey.id)])


def cmd_suppressions(args, settings):
    customer = _get(Customer, args.customer_id, "customer")
    if args.action == "list":
        _print([{"phone": s.phone, "reason": s.reason,
                 "created_at": s.created_at}
                for s in customer.suppressions.order_by(Suppression.id)])
        return
    if args.phone is None:
        raise UsageError("suppressions %s needs a PHONE" % args.action)
    phone = to_e164(identity.canonical_phone(args.phone) or args.phone)
    if phone is None:
        raise UsageError("%r is not a valid international phone number"
                         % args.phone)
    if args.action == "add":
        Suppression.insert(customer=customer, phone=phone,
                           reason="manual").on_conflict_ignore().execute()
        _print({"customer_id": customer.id, "phone": phone,
                "suppressed": True})
    else:
        removed = Suppression.delete().where(
            (Suppression.customer == customer)
            & (Suppression.phone == phone)).execute()
        _print({"customer_id": customer.id, "phone": phone,
                "suppressed": False, "removed": bool(removed)})


def _endpoint_dict(endpoint):
    body = {"id": endpoint.id, "customer_id": endpoint.customer_id,
            "url": endpoint.url,
            "events": endpoint.events.split(",") if endpoint.events else [],
            "enabled": endpoint.enabled,
            "disabled_reason": endpoint.disabled_reason}
    if endpoint.kind != "customer":
        # A 3CX webhook (gateway 3cx messaging): the URL is masked.
        body.update(kind=endpoint.kind,
                    url=threecx_chat_setup.shown_url(endpoint))
    return body


def _events(raw):
    events = [e.strip() for e in raw.split(",") if e.strip()]
    known = webhooks.EVENTS + store.EXTENSION_EVENTS
    unknown = sorted(set(events) - set(known))
    if unknown:
        raise argparse.ArgumentTypeError(
            "unknown events %s; known: %s" % (
                ",".join(unknown), ",".join(known)))
    return ",".join(events)


def _url(raw):
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise argparse.ArgumentTypeError("%r is not an http(s) URL" % raw)
    return raw


def _time(raw):
    try:
        moment = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not an ISO 8601 time" % raw)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(
            tzinfo=None)
    return moment


def cmd_webhooks_create(args, settings):
    customer = _get(Customer, args.customer_id, "customer")
    try:
        webhooks.check_url(args.url, settings.WEBHOOK_ALLOW_PRIVATE)
    except webhooks.InvalidWebhookUrl as exc:
        raise UsageError(str(exc)) from None
    endpoint = WebhookEndpoint.create(customer=customer, url=args.url,
                                      secret=webhooks.create_secret(),
                                      events=args.events or "")
    _print(dict(_endpoint_dict(endpoint), secret=endpoint.secret))


def cmd_webhooks_list(args, settings):
    _print([_endpoint_dict(e)
            for e in WebhookEndpoint.select().order_by(WebhookEndpoint.id)])


def cmd_webhooks_rotate(args, settings):
    endpoint = _get(WebhookEndpoint, args.endpoint_id, "webhook")
    secret = webhooks.create_secret()
    WebhookEndpoint.update(secret=secret).where(
        WebhookEndpoint.id == endpoint.id).execute()
    _print({"id": endpoint.id, "secret": secret})


def cmd_webhooks_enable(args, settings):
    endpoint = _get(WebhookEndpoint, args.endpoint_id, "webhook")
    enabled = args.action == "enable"
    WebhookEndpoint.update(
        enabled=enabled,
        disabled_reason=None if enabled else "disabled by operator").where(
        WebhookEndpoint.id == endpoint.id).execute()
    _print({"id": endpoint.id, "enabled": enabled})


def cmd_deliveries_list(args, settings):
    query = (Delivery.select(Delivery, Event).join(Event)
             .order_by(Delivery.id.desc()).limit(args.limit))
    if args.status:
        statuses = {"pending": ("pending", "delivering"),
                    "failed": ("failed",), "dead": ("dead",),
                    "delivered": ("delivered",)}[args.status]
        query = query.where(Delivery.status.in_(statuses))
    _print([{"id": d.id, "event": d.event.name, "event_id": d.event.uid,
             "endpoint_id": d.endpoint_id, "status": d.status,
             "attempts": d.attempts, "next_attempt_at": d.next_attempt_at,
             "last_status_code": d.last_status_code,
             "last_error": d.last_error, "created_at": d.created_at}
            for d in query])


def cmd_deliveries_replay(args, settings):
    if args.delivery_id is None and args.since is None:
        raise UsageError("deliveries replay needs an ID or --since TIME")
    if args.delivery_id is not None:
        _get(Delivery, args.delivery_id, "delivery")
    count = webhooks.replay_deliveries(
        ids=[args.delivery_id] if args.delivery_id else None,
        since=args.since)
    _print({"replayed": count})


def cmd_secrets_generate_key(args, settings):
    print(secretbox.generate_key())


def cmd_secrets_rotate(args, settings):
    """Reseal every stored secret with the newest key of
    GATEWAY_SECRET_KEY (list the old one after it until this is done)."""
    import gateway  # noqa: F401  (every module's models, to find them)
    count = 0
    for model, field in secretbox_columns():
        column = field.column_name
        table = model._meta.table_name
        with db.atomic():
            rows = db.execute_sql("SELECT id, %s FROM %s" % (column, table))
            for row_id, value in list(rows):
                if value:
                    db.execute_sql("UPDATE %s SET %s = ? WHERE id = ?"
                                   % (table, column),
                                   (secretbox.reseal(value), row_id))
                    count += 1
    _print({"resealed": count})


def secretbox_columns():
    """(model, field) of every sealed column."""
    for model in store.all_models():
        for field in model._meta.sorted_fields:
            if isinstance(field, secretbox.SecretField):
                yield model, field


def cmd_config(args, settings):
    print(describe_settings())
    print("\ndatabase: %s" % where_database(settings))


def where_database(settings):
    """The database in use, said exactly: the SQLite file's absolute
    path, or the PostgreSQL URL without its password."""
    path = store.database_path(settings.DATABASE_URL)
    return (os.path.abspath(path) if path
            else store.describe_database(settings.DATABASE_URL))


def cmd_serve(args, settings):
    import serve
    serve.run(settings, args.host, args.port, args.workers, args.threads)


def cmd_sandbox(args, settings):
    import sandbox
    state = sandbox.SandboxState(api_key=args.api_key,
                                 auto_create=args.auto_create,
                                 config={"version": args.evolution_version})
    sandbox.run_sandbox(host=args.host, port=args.port, state=state)


def build_parser():
    parser = _Parser(prog="gateway", description="WhatsApp Gateway")
    sub = parser.add_subparsers(dest="command", required=True,
                                parser_class=_Parser)

    p = sub.add_parser("serve", help="run the service under gunicorn")
    p.add_argument("--host", help="default: GATEWAY_BIND, else "
                   "127.0.0.1")
    p.add_argument("--port", type=_positive_int,
                   help="default: GATEWAY_BIND, else 8000")
    p.add_argument("--workers", type=_positive_int,
                   help="default: GATEWAY_WORKERS")
    p.add_argument("--threads", type=_positive_int,
                   help="default: GATEWAY_THREADS")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("sandbox", help="run the Evolution API sandbox")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_positive_int, default=8081)
    p.add_argument("--api-key", default="BQYHJGJHJ",
                   help="global apikey (Evolution's own default)")
    p.add_argument("--auto-create", action="store_true",
                   help="create unknown instances on first use")
    p.add_argument("--evolution-version", default="2.3.6",
                   help="version to emulate (1.x switches to v1 bodies)")
    p.set_defaults(func=cmd_sandbox, no_db=True)

    sub.add_parser("init-db", help="create the database (prints where)"
                   ).set_defaults(func=cmd_init_db, creates_db=True)
    p = sub.add_parser("copy-database", help="copy the SQLite database "
                       "into an empty PostgreSQL one (moving to several "
                       "hosts)")
    p.add_argument("target_url", help="postgresql://user:password@host/db")
    p.set_defaults(func=cmd_copy_database, no_db=True)
    p = sub.add_parser("migrate", help="apply pending schema migrations")
    p.add_argument("--check", action="store_true",
                   help="only report; exit 1 when migrations are pending")
    p.set_defaults(func=cmd_migrate, no_db=True)
    p = sub.add_parser("backup", help="consistent online copy of the "
                       "SQLite database")
    p.add_argument("path", help="new file, or a directory to put it in")
    p.set_defaults(func=cmd_backup)
    sub.add_parser("config", help="print the settings table").set_defaults(
        func=cmd_config, no_db=True)

    customers = sub.add_parser("customers").add_subparsers(
        dest="action", required=True, parser_class=_Parser)
    p = customers.add_parser("create")
    p.add_argument("name")
    p.add_argument("--daily-limit", type=_positive_int)
    p.add_argument("--monthly-limit", type=_positive_int)
    p.add_argument("--modules", type=_modules, default="api")
    p.add_argument("--plan-expires", type=_date)
    p.set_defaults(func=cmd_customers_create)
    customers.add_parser("list").set_defaults(func=cmd_customers_list)

    keys = sub.add_parser("keys").add_subparsers(
        dest="action", required=True, parser_class=_Parser)
    p = keys.add_parser("create")
    p.add_argument("customer_id", type=_positive_int)
    p.set_defaults(func=cmd_keys_create)
    p = keys.add_parser("revoke")
    p.add_argument("key_id", type=_positive_int)
    p.set_defaults(func=cmd_keys_revoke)
    keys.add_parser("list").set_defaults(func=cmd_keys_list)

    cli_instances.add_instances_commands(sub, _Parser, _positive_int, _url)

    hooks = sub.add_parser("webhooks").add_subparsers(
        dest="action", required=True, parser_class=_Parser)
    p = hooks.add_parser("create")
    p.add_argument("customer_id", type=_positive_int)
    p.add_argument("url", type=_url)
    p.add_argument("--events", type=_events)
    p.set_defaults(func=cmd_webhooks_create)
    hooks.add_parser("list").set_defaults(func=cmd_webhooks_list)
    p = hooks.add_parser("rotate-secret")
    p.add_argument("endpoint_id", type=_positive_int)
    p.set_defaults(func=cmd_webhooks_rotate)
    for action in ("disable", "enable"):
        p = hooks.add_parser(action)
        p.add_argument("endpoint_id", type=_positive_int)
        p.set_defaults(func=cmd_webhooks_enable)

    deliveries = sub.add_parser("deliveries").add_subparsers(
        dest="action", required=True, parser_class=_Parser)
    p = deliveries.add_parser("list")
    p.add_argument("--status", choices=("pending", "failed", "dead",
                                        "delivered"))
    p.add_argument("--limit", type=_positive_int, default=100)
    p.set_defaults(func=cmd_deliveries_list)
    p = deliveries.add_parser("replay")
    p.add_argument("delivery_id", nargs="?", type=_positive_int)
    p.add_argument("--since", type=_time)
    p.set_defaults(func=cmd_deliveries_replay)

    cli_threecx.add_commands(sub)
    cli_policy.add_policy_commands(sub, _Parser, _positive_int)

    secrets_cmd = sub.add_parser(
        "secrets", help="the key sealing stored secrets").add_subparsers(
        dest="action", required=True, parser_class=_Parser)
    secrets_cmd.add_parser(
        "generate-key", help="print a new GATEWAY_SECRET_KEY").set_defaults(
        func=cmd_secrets_generate_key, no_db=True)
    secrets_cmd.add_parser(
        "rotate", help="reseal stored secrets with the newest key"
    ).set_defaults(func=cmd_secrets_rotate)

    p = sub.add_parser("suppressions")
    p.add_argument("action", choices=("add", "remove", "list"))
    p.add_argument("customer_id", type=_positive_int)
    p.add_argument("phone", nargs="?")
    p.set_defaults(func=cmd_suppressions)
    cli_console.add_commands(sub)
    return parser


def main(argv=None):
    """Run one ``gateway`` command; return its exit status."""
    try:
        args = build_parser().parse_args(argv)
        settings = load_settings()
        if getattr(args, "no_db", False) or args.command == "serve":
            return args.func(args, settings) or 0
        if not getattr(args, "creates_db", False):
            require_database(settings)
        store.init_db(settings.DATABASE_URL, secret_key=settings.SECRET_KEY)
        with db.connection_context():
            return args.func(args, settings) or 0
    except UsageError as exc:
        print("gateway: error: %s" % exc, file=sys.stderr)
        return 2
    except (ConfigError, secretbox.SecretKeyError) as exc:
        print("gateway: %s" % exc, file=sys.stderr)
        return 2
    except NumberError as exc:
        print("gateway: error: %s" % exc, file=sys.stderr)
        return 2
    except DataError:
        # PostgreSQL refuses what SQLite would keep: longer than a
        # column's 255 characters, or a NUL in text.
        print("gateway: error: a value is too long (255 characters at "
              "most) or holds a NUL character", file=sys.stderr)
        return 2


def require_database(settings):
    """Refuse to run on a database file that does not exist.

    Only ``init-db`` and ``serve`` create one: anything else run from
    the wrong directory would otherwise work on a new, empty database.
    """
    path = store.database_path(settings.DATABASE_URL)
    if path is None:
        return  # a server: migrations create the schema, nothing else
    path = os.path.abspath(path)
    if not os.path.exists(path):
        raise UsageError(
            "no database at %s (set GATEWAY_DATA_DIR or "
            "GATEWAY_DATABASE_URL to the service's, or create it with "
            "`gateway init-db`)" % path)
