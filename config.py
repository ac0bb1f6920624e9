"""Service configuration: every setting, its type, its default.

All settings come from ``GATEWAY_*`` environment variables, read once at
start-up by ``load_settings``.  A bad value stops the service with one
message naming every offending variable, instead of failing later in a
request.  ``SETTINGS`` is also the source of the README's table
(``gateway config`` prints it).
"""
import dataclasses
import os
from urllib.parse import urlparse

PREFIX = "GATEWAY_"


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


def _parse_bool(raw):
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _parse_positive_int(raw):
    value = int(raw)
    if value < 1:
        raise ValueError("expected an integer >= 1")
    return value


def _parse_non_negative_int(raw):
    value = int(raw)
    if value < 0:
        raise ValueError("expected an integer >= 0")
    return value


def _parse_positive_float(raw):
    value = float(raw)
    if not value > 0:
        raise ValueError("expected a number > 0")
    return value


def _parse_fraction(raw):
    value = float(raw)
    if not 0 < value <= 1:
        raise ValueError("expected a number in (0, 1]")
    return value


def _parse_database_url(raw):
    if not raw:
        return ""  # resolved from DATA_DIR by load_settings
    parsed = urlparse(raw)
    if parsed.scheme in ("postgresql", "postgres"):
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            raise ValueError("PostgreSQL needs its driver: pip install "
                             "'whatsapp-gateway[postgres]'")
        return raw
    if parsed.scheme not in ("sqlite", "sqliteext"):
        raise ValueError("expected sqlite:///path or "
                         "postgresql://user:password@host:5432/dbname")
    if not (parsed.netloc + parsed.path).strip("/"):
        raise ValueError("sqlite URL needs a file path")
    return raw


def _parse_http_url(raw):
    if not raw:
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError("expected an http:// or https:// URL")
    return raw.rstrip("/")


def _parse_storage_uri(raw):
    if raw and "://" not in raw:
        raise ValueError("expected a limits storage URI such as "
                         "sqlite:///ratelimit.db, memory:// or redis://")
    return raw


def _parse_level(raw):
    value = raw.strip().upper()
    if value not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError("expected DEBUG, INFO, WARNING or ERROR")
    return value


def _parse_csv(raw):
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _parse_schedule(raw):
    try:
        delays = tuple(float(part) for part in raw.split(",") if part.strip())
    except ValueError:
        raise ValueError("expected comma-separated seconds")
    if not delays or any(d < 0 for d in delays):
        raise ValueError("expected at least one delay, none negative")
    return delays


def _parse_text(raw):
    return raw


@dataclasses.dataclass(frozen=True)
class Setting:
    name: str
    parse: object
    default: str
    help: str


SETTINGS = (
    Setting("DATABASE_URL", _parse_database_url, "",
            "SQLite database URL (relative paths are from the working "
            "directory; WAL mode is switched on), or "
            "`postgresql://user:password@host:5432/dbname` for several "
            "hosts (needs the `postgres` extra). Unset: `gateway.db` in "
            "`GATEWAY_DATA_DIR`."),
    Setting("DATABASE_POOL_SIZE", _parse_positive_int, "20",
            "PostgreSQL: most connections one worker process keeps open "
            "(cover gunicorn's threads + `WEBHOOK_POOL_SIZE` + 2). A "
            "request waits up to 10 s for a free one."),
    Setting("EVOLUTION_URL", _parse_http_url, "",
            "Base URL of Evolution API. Unset: the built-in in-process "
            "Evolution sandbox."),
    Setting("EVOLUTION_API_KEY", _parse_text, "",
            "Evolution global API key (`apikey` header) used when an "
            "instance has no token of its own."),
    Setting("EVOLUTION_TIMEOUT", _parse_positive_float, "60",
            "Read timeout in seconds for Evolution calls (a send blocks "
            "until WhatsApp took the message, with no timeout of "
            "Evolution's own: a shorter wait turns slow sends into "
            "`unknown` outcomes)."),
    Setting("EVOLUTION_CONNECT_TIMEOUT", _parse_positive_float, "3.05",
            "Connect timeout in seconds for Evolution calls."),
    Setting("EVOLUTION_LINK_PREVIEW", _parse_bool, "false",
            "Let Evolution build link previews (it then fetches every URL "
            "in a message from its own host); off sends "
            "`linkPreview: false`."),
    Setting("PUBLIC_URL", _parse_http_url, "",
            "Where Evolution reaches this gateway (e.g. "
            "`https://gateway.example.com`): `instances create` points each "
            "instance's Evolution webhook at "
            "`<this>/webhooks/evolution/<name>`. Not needed with the "
            "built-in sandbox."),
    Setting("STATE_REFRESH_SECONDS", _parse_non_negative_int, "300",
            "How often each instance's connection state is asked from "
            "Evolution (0 turns the periodic refresh off)."),
    Setting("RATELIMIT_STORAGE_URI", _parse_storage_uri, "",
            "`limits` storage for throttles. Unset: a SQLite file next to "
            "the database, shared by every worker on the host; "
            "`redis://host:6379` for several hosts."),
    Setting("THROTTLE_INSTANCE_PER_SECOND", _parse_positive_int, "5",
            "Most sends per instance in any one second."),
    Setting("THROTTLE_INSTANCE_PER_MINUTE", _parse_positive_int, "120",
            "Most sends per instance in any 60 seconds."),
    Setting("THROTTLE_RECIPIENT_GAP_SECONDS", _parse_non_negative_int, "3",
            "Least gap in seconds between two sends to one number from one "
            "customer (0 turns it off)."),
    Setting("THROTTLE_RECIPIENT_PER_DAY", _parse_positive_int, "50",
            "Most sends to one number from one customer in 24 hours."),
    Setting("CONTENT_RULES_PATH", _parse_text, "",
            "JSON file of content-policy rules. Unset: the shipped "
            "content_rules.json."),
    Setting("CONTENT_MODEL_PATH", _parse_text, "",
            "JSON weights of the learned content model. Unset: the shipped "
            "content_model.json; off: rules only."),
    Setting("BREAKER_WINDOW", _parse_positive_int, "50",
            "Recent sends per instance the breaker looks at."),
    Setting("BREAKER_MIN_SENDS", _parse_positive_int, "20",
            "Sends an instance needs in the window before the breaker may "
            "trip."),
    Setting("BREAKER_FAILURE_RATE", _parse_fraction, "0.5",
            "Failed share of recent sends that pauses the instance."),
    Setting("BREAKER_OPT_OUT_RATE", _parse_fraction, "0.1",
            "Opt-outs per recent send that pause the instance."),
    Setting("BREAKER_MIN_OPT_OUTS", _parse_positive_int, "5",
            "Opt-outs an instance needs in the window before the opt-out "
            "rate may pause it."),
    Setting("IDEMPOTENCY_TTL_HOURS", _parse_positive_int, "24",
            "How long an Idempotency-Key and its stored answer are kept."),
    Setting("MAX_MESSAGE_CHARS", _parse_positive_int, "4096",
            "Longest message text accepted."),
    Setting("DEMO", _parse_bool, "true",
            "With the built-in sandbox, create a demo customer, instance "
            "and key on first start and print them."),
    Setting("WEBHOOK_DISPATCH", _parse_bool, "true",
            "Deliver customer webhooks from this server (turn off only to "
            "deliver from elsewhere)."),
    Setting("WEBHOOK_PROCESSES", _parse_non_negative_int, "1",
            "Under gunicorn (`gateway serve`, the Procfile), processes of "
            "their own that deliver webhooks beside the workers (gunicorn "
            "dirty workers, restarted if they die): deliveries do not share "
            "the request threads' GIL. One posts ~500 a second; 2 use a "
            "second core. 0, or gunicorn older than 25.1: a delivery thread "
            "in every worker."),
    Setting("WEBHOOK_TIMEOUT", _parse_positive_float, "10",
            "Seconds a customer endpoint has to answer one delivery."),
    Setting("WEBHOOK_POOL_SIZE", _parse_positive_int, "8",
            "Concurrent deliveries per delivering process."),
    Setting("WEBHOOK_ENDPOINT_CONCURRENCY", _parse_positive_int, "8",
            "Most deliveries in flight to one endpoint, across all "
            "workers: a hanging endpoint cannot starve the others."),
    Setting("WEBHOOK_RETRY_SCHEDULE", _parse_schedule,
            "5,30,120,600,1800,3600,7200,14400,28800,43200,43200",
            "Seconds between delivery attempts (each +/-20% jitter); "
            "after the last one the delivery is dead-lettered. The "
            "default retries for about 40 hours."),
    Setting("WEBHOOK_ALLOW_PRIVATE", _parse_bool, "false",
            "Let customer webhooks reach loopback and private addresses "
            "(local development and tests only)."),
    Setting("TRUSTED_PROXIES", _parse_csv, "127.0.0.1,::1",
            "Proxies whose X-Forwarded-For is believed (nginx in front)."),
    Setting("LOG_LEVEL", _parse_level, "INFO", "Log level."),
    Setting("DATA_DIR", _parse_text, "",
            "Directory of the SQLite database (`gateway.db`), the "
            "rate-limit file and `secret.key` when `GATEWAY_DATABASE_URL` "
            "is unset. Unset: the working directory."),
    Setting("SECRET_KEY", _parse_text, "",
            "Fernet key(s) sealing stored secrets (webhook, intake and 3CX "
            "HMAC secrets, Evolution tokens), comma-separated, newest "
            "first. Unset: generated once into `secret.key` beside a SQLite "
            "database; required with PostgreSQL (same key on every host)."),
    Setting("MESSAGE_TEXT_RETENTION_DAYS", _parse_non_negative_int, "0",
            "Days message texts stay in the log; older texts are blanked, "
            "the rows kept (0 keeps them). `authentication` texts are never "
            "stored."),
    Setting("INTAKE_MAX_BYTES", _parse_positive_int, str(136 * 1024 * 1024),
            "Largest Evolution webhook body taken, in bytes (Evolution's own "
            "limit, 136 MB: with base64 media on, a message carries its "
            "file). The media itself is never stored. Keep nginx's "
            "`client_max_body_size` above it."),
    Setting("METRICS_TOKEN", _parse_text, "",
            "Bearer token `/metrics` requires. Unset: open (keep it "
            "internal, as `deploy/nginx/gateway.conf` does)."),
    Setting("WORKERS", _parse_positive_int, "2",
            "gunicorn worker processes (`gateway serve` and the Procfile)."),
    Setting("THREADS", _parse_positive_int, "4",
            "Threads per gunicorn worker."),
)

DATABASE_FILE = "gateway.db"

Settings = dataclasses.make_dataclass(
    "Settings", [(s.name, object) for s in SETTINGS], frozen=True)


def load_settings(environ=None, overrides=None):
    """Read every setting from ``environ`` (``GATEWAY_*``) and overrides.

    ``overrides`` maps setting names (without the prefix) to raw strings or
    already-typed values; tests use it.  Raises ``ConfigError`` naming
    every bad variable at once.
    """
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    values, problems = {}, []
    for setting in SETTINGS:
        if setting.name in overrides:
            raw = overrides.pop(setting.name)
            if not isinstance(raw, str):
                values[setting.name] = raw
                continue
        else:
            raw = environ.get(PREFIX + setting.name, setting.default)
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            problems.append("%s%s=%r: %s" % (PREFIX, setting.name, raw, exc))
    if overrides:
        problems.append("unknown settings: %s" % ", ".join(sorted(overrides)))
    if problems:
        raise ConfigError("bad configuration: " + "; ".join(problems))
    if not values.get("DATABASE_URL"):
        # An explicit place, never "wherever the command runs from"
        # unless that is what was asked: see GATEWAY_DATA_DIR.
        values["DATABASE_URL"] = "sqlite:///" + os.path.join(
            os.path.abspath(values.get("DATA_DIR") or "."), DATABASE_FILE)
    return Settings(**values)


def describe_settings():
    """Return the settings table as Markdown rows (for the README)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = "`%s`" % s.default if s.default else "(unset)"
        rows.append("| `%s%s` | %s | %s |" % (PREFIX, s.name, default, s.help))
    return "\n".join(rows)
