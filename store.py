"""The database: peewee models on SQLite or PostgreSQL, and nothing else.

One SQLite file in WAL mode, shared by every gunicorn worker of one host;
or one PostgreSQL database shared by several hosts
(``GATEWAY_DATABASE_URL=postgresql://...``).  ``db`` is a proxy bound to
the engine of the URL by ``init_db``.  Views open a connection per request
(hooks in ``gateway.create_app``); background work and the CLI use
``db.connection_context()``.  Message text lives only here: it never goes
to a log line.

Hand-written SQL keeps SQLite's ``?`` placeholders and portable syntax;
``database.py`` runs it on either engine, and has a form for each where
they differ (``lock``, ``for_update``).
"""
import datetime
import hashlib
import re
import secrets

from peewee import BooleanField
from peewee import CharField
from peewee import DateField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model
from peewee import TextField

import migrate
import secretbox  # noqa: F401
from secretbox import SecretField
# The engine and its helpers (database.py), also used as store.<name>.
from database import BUSY_TIMEOUT  # noqa: F401
from database import PRAGMAS  # noqa: F401
from database import close_pool  # noqa: F401
from database import database_path  # noqa: F401
from database import db
from database import describe_database  # noqa: F401
from database import engine  # noqa: F401
from database import execute
from database import for_update  # noqa: F401
from database import for_update_sql  # noqa: F401
from database import is_postgres_url  # noqa: F401
from database import lock  # noqa: F401
from database import open_database  # noqa: F401
from database import open_db
from database import others_connected  # noqa: F401
from database import redact_url  # noqa: F401
from database import secure_file  # noqa: F401
from database import to_pyformat  # noqa: F401

MODULES = ("api", "3cx")
# A row id as written in a URL or a body: ASCII digits that fit SQLite's
# 64-bit integer ("²".isdigit() is true, and int() of it fails).
ID_PATTERN = re.compile(r"[0-9]{1,18}")
MAX_ID = 10 ** 18 - 1


def parse_id(raw):
    """``raw`` as a row id, or ValueError (``type=`` of Flask's args)."""
    if not isinstance(raw, str) or not ID_PATTERN.fullmatch(raw.strip()):
        raise ValueError("not an id")
    return int(raw)
API_KEY_PREFIX = "wgk_"


def utcnow():
    """Naive UTC now: peewee stores datetimes without a zone."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class BaseModel(Model):
    class Meta:
        database = db


class Customer(BaseModel):
    name = CharField()
    daily_limit = IntegerField(null=True)
    monthly_limit = IntegerField(null=True)
    plan_active_until = DateField(null=True)
    modules = CharField(default="api")
    created_at = DateTimeField(default=utcnow)
    # Content policy (migration 0007): the model's strictness (NULL:
    # "standard"), and phrases (one a line) removed from a message
    # before it is checked.
    content_strictness = CharField(null=True)
    content_allow_phrases = TextField(null=True)

    def has_module(self, module):
        return module in self.modules.split(",")


class ApiKey(BaseModel):
    customer = ForeignKeyField(Customer, backref="api_keys")
    key_hash = CharField(unique=True)
    hint = CharField()
    label = CharField(default="")
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)


class Instance(BaseModel):
    customer = ForeignKeyField(Customer, backref="instances")
    name = CharField(unique=True)
    # Indexed: the embedded sandbox's webhooks name their instance by it.
    evolution_instance = CharField(index=True)
    evolution_token = SecretField(default="")
    connection_state = CharField(default="unknown")
    # Evolution's time of the connection event behind connection_state
    # (migration 0009): a late retry of an older one must not win.
    state_event_at = DateTimeField(null=True)
    paused = BooleanField(default=False)
    paused_reason = CharField(null=True)
    paused_at = DateTimeField(null=True)
    # Authenticates Evolution's webhooks for this instance: sent back by
    # Evolution as a custom header, or as the HS256 key of its bearer JWT,
    # which is why it is kept (sealed) rather than hashed.
    webhook_secret = SecretField(
        default=lambda: "whi_" + secrets.token_urlsafe(24))
    created_at = DateTimeField(default=utcnow)


class MessageLog(BaseModel):
    """One row per send attempt, refused ones included.

    ``outcome`` is ``pending`` while Evolution is being called, then
    ``sent``, ``failed`` (certainly not sent), ``unknown`` (may have gone
    out: timeout or ambiguous upstream error) or ``refused`` (a guard).
    """
    customer = ForeignKeyField(Customer, backref="messages")
    instance = ForeignKeyField(Instance, null=True, backref="messages")
    phone = CharField(null=True)
    purpose = CharField(null=True)
    source = CharField(default="api")
    outcome = CharField(index=True)
    error_code = CharField(null=True)
    reason = CharField(null=True)
    evolution_message_id = CharField(null=True, index=True)
    message_text = TextField(null=True)
    # Indexed for the message-text retention purge.
    created_at = DateTimeField(default=utcnow, index=True)
    completed_at = DateTimeField(null=True)

    class Meta:
        # (instance, evolution_message_id) finds the row of a receipt in
        # one probe: without it SQLite, lacking statistics, takes the
        # (instance, id) index and walks every row of the instance
        # (~130 ms at a million rows instead of ~0.02 ms).  (phone, id)
        # and (purpose, id): the console's log filters walk them in id
        # order (migration 0004).
        indexes = ((("instance", "id"), False),
                   (("instance", "evolution_message_id"), False),
                   (("phone", "id"), False), (("purpose", "id"), False))


class QuotaCounter(BaseModel):
    """Messages counted against a plan limit in one period.

    One row per customer and period (``d2026-11-24`` or ``m2026-11``), so
    the quota check costs the same however long the message log grows.
    """
    customer = ForeignKeyField(Customer)
    period = CharField()
    used = IntegerField(default=0)

    class Meta:
        indexes = ((("customer", "period"), True),)


class Suppression(BaseModel):
    customer = ForeignKeyField(Customer, backref="suppressions")
    phone = CharField()
    reason = CharField(default="manual")
    # The instance the recipient opted out from, for the breaker.
    instance = ForeignKeyField(Instance, null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("customer", "phone"), True),)


class IdempotencyRecord(BaseModel):
    """The stored answer of a send made with an ``Idempotency-Key``."""
    customer = ForeignKeyField(Customer)
    key = CharField()
    fingerprint = CharField()
    status_code = IntegerField(null=True)
    body = TextField(null=True)
    headers = TextField(null=True)  # JSON: the rate-limit fields, replayed
    created_at = DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("customer", "key"), True),)


class ConversationWindow(BaseModel):
    """When a number last wrote to a customer: its 24-hour service window."""
    customer = ForeignKeyField(Customer)
    phone = CharField()
    last_inbound_at = DateTimeField()

    class Meta:
        indexes = ((("customer", "phone"), True),)


class LidPair(BaseModel):
    """A WhatsApp LID and the phone it belongs to, learned from payloads
    that carry both (see ``identity.py``); per customer, because a LID is
    exactly what WhatsApp uses to keep a number private."""
    customer = ForeignKeyField(Customer)
    lid = CharField()
    phone = CharField()
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("customer", "lid"), True),)


# Opt-in events beyond the contract: only endpoints that list them get them.
EXTENSION_EVENTS = ("instance.paused", "instance.resumed")


class WebhookEndpoint(BaseModel):
    """A customer's URL that receives signed event deliveries."""
    customer = ForeignKeyField(Customer, backref="webhook_endpoints")
    url = CharField()
    secret = SecretField()
    events = CharField(default="")  # comma-separated; empty = all
    enabled = BooleanField(default=True)
    disabled_reason = CharField(null=True)
    # Set when the endpoint times out or refuses connections: no delivery
    # is claimed for it until then, so a dead endpoint costs no churn.
    blocked_until = DateTimeField(null=True, index=True)
    created_at = DateTimeField(default=utcnow)
    # "customer", or "3cx" for a PBX's messaging webhook (threecx_chat),
    # whose ``events`` names no customer event, so emit_event skips it.
    kind = CharField(default="customer")
    # The operator let this one endpoint reach a private network (a PBX
    # on the LAN) although GATEWAY_WEBHOOK_ALLOW_PRIVATE is off.
    allow_private = BooleanField(default=False)

    def wants(self, event):
        return subscribed(self.events, event)


def subscribed(events, event):
    """Whether an endpoint listing ``events`` (comma-separated; empty is
    the default subscription: the contract's events) gets ``event``."""
    if not events:
        return event not in EXTENSION_EVENTS
    return event in events.split(",")


class Event(BaseModel):
    """A customer event, written in the same transaction as its cause."""
    uid = CharField(unique=True)
    customer = ForeignKeyField(Customer)
    instance = ForeignKeyField(Instance, null=True)
    name = CharField()
    payload = TextField()
    created_at = DateTimeField(default=utcnow, index=True)  # for prune


class Delivery(BaseModel):
    """One event on its way to one endpoint: the outbox.

    ``status`` is ``pending`` (due at ``next_attempt_at``), ``delivering``
    (claimed by a worker until ``locked_until``), ``delivered``,
    ``failed`` (retrying) or ``dead`` (retries exhausted or endpoint gone).
    """
    event = ForeignKeyField(Event, backref="deliveries")
    endpoint = ForeignKeyField(WebhookEndpoint, backref="deliveries")
    status = CharField(default="pending")
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    locked_until = DateTimeField(null=True)
    last_status_code = IntegerField(null=True)
    last_error = CharField(null=True)
    delivered_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        # The outbox's claims, and the console's list of one status
        # newest first (migration 0008).
        indexes = ((("status", "next_attempt_at"), False),
                   (("status", "id"), False))


class InboundEvent(BaseModel):
    """Every Evolution webhook accepted, raw, with what became of it."""
    instance = ForeignKeyField(Instance, null=True)
    evolution_event = CharField(null=True)
    body = TextField()
    outcome = CharField()  # processed | duplicate | ignored | error
    events_emitted = IntegerField(default=0)
    received_at = DateTimeField(default=utcnow, index=True)  # for prune


class SeenFact(BaseModel):
    """Dedupe keys of Evolution facts already turned into events."""
    key = CharField(unique=True)
    created_at = DateTimeField(default=utcnow, index=True)


class MessageStatus(BaseModel):
    """The furthest status reached by a WhatsApp message, never lowered."""
    instance = ForeignKeyField(Instance)
    message_id = CharField()
    rank = IntegerField()

    class Meta:
        indexes = ((("instance", "message_id"), True),)


class MessageReceipt(BaseModel):
    """When a WhatsApp message reached each status: its timeline."""
    instance = ForeignKeyField(Instance, index=False)
    message_id = CharField()
    rank = IntegerField()
    at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("instance", "message_id"), False),)


class DeliveryAttempt(BaseModel):
    """One try of a webhook delivery and its answer, for the console."""
    delivery = ForeignKeyField(Delivery, index=False, on_delete="CASCADE")
    attempt = IntegerField()
    status_code = IntegerField(null=True)
    error = CharField(null=True)
    duration_ms = IntegerField(null=True)
    at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("delivery", "id"), False),)


class PauseRecord(BaseModel):
    """Every pause and resume of an instance, with who and why."""
    instance = ForeignKeyField(Instance, index=False, on_delete="CASCADE")
    action = CharField()  # pause | resume
    reason = CharField(null=True)
    actor = CharField(null=True)  # an operator's e-mail, "cli", "breaker"
    at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("instance", "id"), False),)


MODELS = [Customer, ApiKey, Instance, MessageLog, QuotaCounter, Suppression,
          IdempotencyRecord, ConversationWindow, WebhookEndpoint, Event,
          Delivery, InboundEvent, SeenFact, MessageStatus, LidPair,
          MessageReceipt, PauseRecord, DeliveryAttempt]
WINDOW_HOURS = 24


def all_models():
    """Every model class defined so far, here or in another module."""
    found, todo = [], [BaseModel]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return found


SQL_SEEN = ('INSERT INTO seenfact ("key", created_at) VALUES (?, ?) '
            'ON CONFLICT ("key") DO NOTHING')
# Inserts the rank, or raises it; RETURNING yields a row only then.
SQL_RAISE_STATUS = (
    "INSERT INTO messagestatus (instance_id, message_id, rank) "
    "VALUES (?, ?, ?) ON CONFLICT (instance_id, message_id) DO UPDATE "
    "SET rank = excluded.rank WHERE messagestatus.rank < excluded.rank "
    "RETURNING id")
SQL_RECEIPT = ("INSERT INTO messagereceipt (instance_id, message_id, rank, at) "
               "VALUES (?, ?, ?, ?)")
SQL_INBOUND = (
    "INSERT INTO inboundevent (instance_id, evolution_event, body, "
    "outcome, events_emitted, received_at) VALUES (?, ?, ?, ?, ?, ?)")


def mark_seen(key):
    """True the first time ``key`` is seen (one fact, one event)."""
    return execute(SQL_SEEN, key[:250], str(utcnow())).rowcount == 1


def raise_status(instance_id, message_id, rank):
    """Record a message's status rank; False when it would go down."""
    return execute(SQL_RAISE_STATUS, instance_id, message_id,
                   rank).fetchone() is not None


def record_receipt(instance_id, message_id, rank):
    """When a message reached status ``rank``: the console's timeline."""
    execute(SQL_RECEIPT, instance_id, message_id, rank, str(utcnow()))


def record_inbound(instance_id, name, body, outcome, emitted=0):
    """Keep one Evolution webhook as received, with what became of it."""
    execute(SQL_INBOUND, instance_id, name, body, outcome, emitted,
            str(utcnow()))


def open_window(customer_id, phone, at=None):
    """Record an inbound message from ``phone``: (re)open its window."""
    at = at or utcnow()
    # A late message (a retry, an offline backlog) never moves the window
    # back from a newer one.
    (ConversationWindow.insert(customer=customer_id, phone=phone,
                               last_inbound_at=at)
     .on_conflict(conflict_target=[ConversationWindow.customer,
                                   ConversationWindow.phone],
                  update={ConversationWindow.last_inbound_at: at},
                  where=(ConversationWindow.last_inbound_at < at))
     .execute())


def remember_lid(customer_id, lid, phone):
    """Record (or correct) the phone of a LID for a customer."""
    now = utcnow()
    (LidPair.insert(customer=customer_id, lid=lid, phone=phone,
                    updated_at=now)
     .on_conflict(conflict_target=[LidPair.customer, LidPair.lid],
                  update={LidPair.phone: phone, LidPair.updated_at: now})
     .execute())


def phone_for_lid(customer_id, lid):
    """The phone learned for ``lid``, or None."""
    return (LidPair.select(LidPair.phone)
            .where((LidPair.customer == customer_id) & (LidPair.lid == lid))
            .scalar())


def last_inbound_at(customer_id, phone):
    """When ``phone`` last wrote to the customer (None: never)."""
    return (ConversationWindow.select(ConversationWindow.last_inbound_at)
            .where((ConversationWindow.customer == customer_id)
                   & (ConversationWindow.phone == phone)).scalar())


def window_is_open(customer_id, phone, now=None):
    """True when ``phone`` wrote to the customer in the last 24 hours."""
    now = now or utcnow()
    since = now - datetime.timedelta(hours=WINDOW_HOURS)
    return ConversationWindow.select().where(
        (ConversationWindow.customer == customer_id)
        & (ConversationWindow.phone == phone)
        & (ConversationWindow.last_inbound_at >= since)).exists()


def prune(now=None, keep_days=30, idempotency_hours=24):
    """Delete what no guarantee needs any more; return rows removed."""
    now = now or utcnow()
    old = now - datetime.timedelta(days=keep_days)
    removed = 0
    removed += InboundEvent.delete().where(
        InboundEvent.received_at < old).execute()
    removed += SeenFact.delete().where(SeenFact.created_at < old).execute()
    removed += IdempotencyRecord.delete().where(
        IdempotencyRecord.created_at
        < now - datetime.timedelta(hours=idempotency_hours)).execute()
    done = Delivery.select(Delivery.id).where(
        Delivery.status.in_(("delivered", "dead"))
        & (Delivery.created_at < old))
    removed += Delivery.delete().where(Delivery.id.in_(done)).execute()
    removed += Event.delete().where(
        (Event.created_at < old)
        & ~Event.id.in_(Delivery.select(Delivery.event))).execute()
    return removed


# What the log keeps of an ``authentication`` message: one-time codes are
# worthless to an auditor and dangerous to anyone who reads the file.
REDACTED_TEXT = "[redacted: authentication message]"


def storable_text(purpose, text):
    """The message text as the log may keep it."""
    return REDACTED_TEXT if purpose == "authentication" else text


def purge_message_texts(days, now=None, batch=5000):
    """Blank the texts of messages older than ``days``; keep the rows.

    Bounded per call (housekeeping runs every minute); returns how many
    texts were removed.
    """
    if not days:
        return 0
    cutoff = (now or utcnow()) - datetime.timedelta(days=days)
    old = (MessageLog.select(MessageLog.id)
           .where((MessageLog.created_at < cutoff)
                  & MessageLog.message_text.is_null(False))
           .limit(batch))
    return (MessageLog.update(message_text=None)
            .where(MessageLog.id.in_(old)).execute())


def init_db(url, pool_size=None, serving=False, secret_key=""):
    """Open the database of ``url`` and bring its schema up to date."""
    path = open_db(url, pool_size, serving, secret_key)
    with db.connection_context():
        migrate.apply_pending(db)
    return path


def first(model, sql, *params):
    """The first ``model`` row of a hand-written ``sql``, or None.

    For the send path only: peewee builds a query's SQL anew on every
    run (about 0.1 ms each, a fifth of a send's CPU over its queries),
    while a raw query still comes back as a model with typed fields.
    """
    cursor = execute(sql, *params)
    row = cursor.fetchone()
    if row is None:
        return None
    # What peewee's raw query does per row, with the column-to-field
    # plan kept instead of rebuilt on every query (~30 us each).
    names = tuple(column[0] for column in cursor.description)
    plan = _ROW_PLANS.get((model, names))
    if plan is None:
        plan = _ROW_PLANS[(model, names)] = _row_plan(model, names)
    values = {}
    for (name, convert), value in zip(plan, row):
        values[name] = value if convert is None or value is None \
            else convert(value)
    instance = model(__no_default__=1, **values)
    instance._dirty.clear()
    return instance


_ROW_PLANS = {}


def _row_plan(model, names):
    """(attribute, converter or None) per column of a result."""
    fields = model._meta.columns
    plan = []
    for name in names:
        field = fields.get(name)
        plan.append((field.name, field.python_value) if field is not None
                    else (name, None))
    return plan


def find_instance(ref, customer_id=None):
    """The instance whose id or name is ``ref`` (optionally the
    customer's), or None."""
    ref = str(ref).strip()
    # Names are never all digits (the CLI refuses them), so a number is
    # an id; the name test keeps older all-digit names reachable.
    by_id = int(ref) if ID_PATTERN.fullmatch(ref) else -1
    if customer_id is None:
        return first(Instance, "SELECT * FROM instance WHERE id = ? OR "
                     "name = ? LIMIT 1", by_id, ref)
    return first(Instance, "SELECT * FROM instance WHERE customer_id = ? "
                 "AND (id = ? OR name = ?) LIMIT 1", customer_id, by_id, ref)


# The customer of an API key, and the key's state, in one query.
SQL_KEY_CUSTOMER = (
    "SELECT c.*, k.id AS key_id, k.revoked_at IS NOT NULL AS key_revoked, "
    "(k.last_used_at IS NULL OR k.last_used_at < ?) AS key_stale "
    "FROM apikey k JOIN customer c ON c.id = k.customer_id "
    "WHERE k.key_hash = ?")


def customer_for_key(key_hash, used_before):
    """The ``Customer`` of the API key stored as ``key_hash``, or None.

    The row also carries ``key_id``, ``key_revoked`` and ``key_stale``
    (the key's ``last_used_at`` is unset or older than ``used_before``).
    """
    return first(Customer, SQL_KEY_CUSTOMER, str(used_before), key_hash)


def hash_api_key(key):
    """Return the stored form of an API key.

    Keys carry 256 random bits, so a plain SHA-256 is enough: nobody can
    brute-force the preimage, and lookup stays one indexed query.
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(customer, label=""):
    """Create a key for ``customer``; return ``(row, key)``.

    The key itself is returned once here and never stored.
    """
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey.create(customer=customer, key_hash=hash_api_key(key),
                        hint=key[:len(API_KEY_PREFIX) + 4],
                        label=label[:100])
    return row, key


def customer_to_dict(customer):
    return {
        "id": customer.id,
        "name": customer.name,
        "daily_limit": customer.daily_limit,
        "monthly_limit": customer.monthly_limit,
        "plan_active_until": (customer.plan_active_until.isoformat()
                              if customer.plan_active_until else None),
        "modules": customer.modules.split(",") if customer.modules else [],
    }


def instance_to_dict(instance):
    return {
        "id": instance.id,
        "name": instance.name,
        "customer_id": instance.customer_id,
        "evolution_instance": instance.evolution_instance,
        "connection_state": instance.connection_state,
        "paused": instance.paused,
        "paused_reason": instance.paused_reason,
    }
