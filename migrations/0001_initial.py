"""The schema as it stood before migrations existed (2026-11-24).

Frozen copies of the models of that day: the live models in ``store.py``
and ``threecx.py`` keep changing, and this step must always build the
same tables.  A database created by ``create_tables`` before migrations
existed already has exactly these tables; the runner stamps it at this
version instead of running it.
"""
import datetime

from peewee import BooleanField
from peewee import CharField
from peewee import DateField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model
from peewee import TextField


def _now():
    return datetime.datetime.utcnow()


class Customer(Model):
    name = CharField()
    daily_limit = IntegerField(null=True)
    monthly_limit = IntegerField(null=True)
    plan_active_until = DateField(null=True)
    modules = CharField(default="api")
    created_at = DateTimeField(default=_now)


class ApiKey(Model):
    customer = ForeignKeyField(Customer)
    key_hash = CharField(unique=True)
    hint = CharField()
    created_at = DateTimeField(default=_now)
    revoked_at = DateTimeField(null=True)
    last_used_at = DateTimeField(null=True)


class Instance(Model):
    customer = ForeignKeyField(Customer)
    name = CharField(unique=True)
    evolution_instance = CharField()
    evolution_token = CharField(default="")
    connection_state = CharField(default="unknown")
    paused = BooleanField(default=False)
    paused_reason = CharField(null=True)
    paused_at = DateTimeField(null=True)
    webhook_secret = CharField(default="")
    created_at = DateTimeField(default=_now)


class MessageLog(Model):
    customer = ForeignKeyField(Customer)
    instance = ForeignKeyField(Instance, null=True)
    phone = CharField(null=True)
    purpose = CharField(null=True)
    source = CharField(default="api")
    outcome = CharField(index=True)
    error_code = CharField(null=True)
    reason = CharField(null=True)
    evolution_message_id = CharField(null=True, index=True)
    message_text = TextField(null=True)
    created_at = DateTimeField(default=_now)
    completed_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("instance", "id"), False),)


class QuotaCounter(Model):
    customer = ForeignKeyField(Customer)
    period = CharField()
    used = IntegerField(default=0)

    class Meta:
        indexes = ((("customer", "period"), True),)


class Suppression(Model):
    customer = ForeignKeyField(Customer)
    phone = CharField()
    reason = CharField(default="manual")
    instance = ForeignKeyField(Instance, null=True)
    created_at = DateTimeField(default=_now)

    class Meta:
        indexes = ((("customer", "phone"), True),)


class IdempotencyRecord(Model):
    customer = ForeignKeyField(Customer)
    key = CharField()
    fingerprint = CharField()
    status_code = IntegerField(null=True)
    body = TextField(null=True)
    headers = TextField(null=True)
    created_at = DateTimeField(default=_now, index=True)

    class Meta:
        indexes = ((("customer", "key"), True),)


class ConversationWindow(Model):
    customer = ForeignKeyField(Customer)
    phone = CharField()
    last_inbound_at = DateTimeField()

    class Meta:
        indexes = ((("customer", "phone"), True),)


class WebhookEndpoint(Model):
    customer = ForeignKeyField(Customer)
    url = CharField()
    secret = CharField()
    events = CharField(default="")
    enabled = BooleanField(default=True)
    disabled_reason = CharField(null=True)
    blocked_until = DateTimeField(null=True)
    created_at = DateTimeField(default=_now)


class Event(Model):
    uid = CharField(unique=True)
    customer = ForeignKeyField(Customer)
    instance = ForeignKeyField(Instance, null=True)
    name = CharField()
    payload = TextField()
    created_at = DateTimeField(default=_now)


class Delivery(Model):
    event = ForeignKeyField(Event)
    endpoint = ForeignKeyField(WebhookEndpoint)
    status = CharField(default="pending")
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=_now)
    locked_until = DateTimeField(null=True)
    last_status_code = IntegerField(null=True)
    last_error = CharField(null=True)
    delivered_at = DateTimeField(null=True)
    created_at = DateTimeField(default=_now)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False),)


class InboundEvent(Model):
    instance = ForeignKeyField(Instance, null=True)
    evolution_event = CharField(null=True)
    body = TextField()
    outcome = CharField()
    events_emitted = IntegerField(default=0)
    received_at = DateTimeField(default=_now)


class SeenFact(Model):
    key = CharField(unique=True)
    created_at = DateTimeField(default=_now, index=True)


class MessageStatus(Model):
    instance = ForeignKeyField(Instance)
    message_id = CharField()
    rank = IntegerField()

    class Meta:
        indexes = ((("instance", "message_id"), True),)


class ThreeCxIntegration(Model):
    customer = ForeignKeyField(Customer)
    instance = ForeignKeyField(Instance)
    business_name = CharField(default="")
    business_hours = CharField(default="")
    timezone = CharField(default="UTC")
    country = CharField(null=True)
    secret_hash = CharField()
    hmac_secret = CharField(null=True)
    allowed_ips = TextField(default="")
    enabled = BooleanField(default=True)
    call_events_enabled = BooleanField(default=True)
    outbound_enabled = BooleanField(default=True)
    strict_window = BooleanField(default=True)
    min_phone_digits = IntegerField(default=7)
    templates = TextField(default="{}")
    created_at = DateTimeField(default=_now)
    secret_rotated_at = DateTimeField(default=_now)


class ThreeCxEvent(Model):
    integration = ForeignKeyField(ThreeCxIntegration)
    event_type = CharField()
    dedupe_key = CharField(null=True)
    phone = CharField(null=True)
    status = CharField(default="processing")
    action = CharField(null=True)
    reason = CharField(null=True)
    message_log_id = IntegerField(null=True)
    message_id = CharField(null=True)
    created_at = DateTimeField(default=_now, index=True)

    class Meta:
        indexes = ((("integration", "dedupe_key"), True),
                   (("integration", "id"), False))


class ThreeCxCooldown(Model):
    integration = ForeignKeyField(ThreeCxIntegration)
    group = CharField()
    phone = CharField()
    last_sent_at = DateTimeField()

    class Meta:
        indexes = ((("integration", "group", "phone"), True),)


TABLES = [Customer, ApiKey, Instance, MessageLog, QuotaCounter, Suppression,
          IdempotencyRecord, ConversationWindow, WebhookEndpoint, Event,
          Delivery, InboundEvent, SeenFact, MessageStatus,
          ThreeCxIntegration, ThreeCxEvent, ThreeCxCooldown]


def upgrade(m):
    m.create_tables(*TABLES)
