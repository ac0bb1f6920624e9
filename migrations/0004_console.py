"""The operator console (issue 12).

- ``operator``, ``consolesession``, ``consolesecret``: who may sign in to
  ``/console/``, their server-side sessions, and the cookie-signing key
  every worker and host shares.
- ``apikey.label``: where a key is used, chosen when it is created.
- ``deliveryattempt``: each try of a webhook delivery and its answer.
- ``pauserecord``: every pause and resume of a number, who and why.
- ``messagereceipt``: when a sent message reached delivered / read, for
  its timeline.
- ``usageday`` / ``usagecount``: finished days rolled up once, so the
  month's figures never count the whole message log.
- Indexes that let every filter of the message log walk an index in id
  order at any size: ``created_at`` (days map to id ranges), ``phone``
  and ``purpose`` (with ``id``).
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
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Customer(Model):
    """Referenced only; not created here."""

    class Meta:
        table_name = "customer"


class Instance(Model):
    """Referenced only; not created here."""

    class Meta:
        table_name = "instance"


class Operator(Model):
    email = CharField(unique=True)
    password_hash = CharField()
    customer = ForeignKeyField(Customer, null=True, on_delete="CASCADE")
    time_zone = CharField(default="")
    can_read_messages = BooleanField(default=True)
    disabled = BooleanField(default=False)
    created_at = DateTimeField(default=_now)
    last_login_at = DateTimeField(null=True)

    class Meta:
        table_name = "operator"


class ConsoleSession(Model):
    token_hash = CharField(unique=True)
    operator = ForeignKeyField(Operator, on_delete="CASCADE")
    created_at = DateTimeField(default=_now)
    last_seen_at = DateTimeField(default=_now)
    expires_at = DateTimeField()

    class Meta:
        table_name = "consolesession"


class ConsoleSecret(Model):
    name = CharField(unique=True)
    value = TextField()

    class Meta:
        table_name = "consolesecret"


class MessageReceipt(Model):
    instance = ForeignKeyField(Instance, index=False)
    message_id = CharField()
    rank = IntegerField()
    at = DateTimeField(default=_now)

    class Meta:
        table_name = "messagereceipt"
        indexes = ((("instance", "message_id"), False),)


class PauseRecord(Model):
    instance = ForeignKeyField(Instance, index=False, on_delete="CASCADE")
    action = CharField()
    reason = CharField(null=True)
    actor = CharField(null=True)
    at = DateTimeField(default=_now)

    class Meta:
        table_name = "pauserecord"
        indexes = ((("instance", "id"), False),)


class Delivery(Model):
    """Referenced only; not created here."""

    class Meta:
        table_name = "delivery"


class DeliveryAttempt(Model):
    delivery = ForeignKeyField(Delivery, index=False, on_delete="CASCADE")
    attempt = IntegerField()
    status_code = IntegerField(null=True)
    error = CharField(null=True)
    duration_ms = IntegerField(null=True)
    at = DateTimeField(default=_now)

    class Meta:
        table_name = "deliveryattempt"
        indexes = ((("delivery", "id"), False),)


class UsageDay(Model):
    day = DateField(unique=True)
    computed_at = DateTimeField(default=_now)

    class Meta:
        table_name = "usageday"


class UsageCount(Model):
    day = DateField()
    customer_id = IntegerField()
    outcome = CharField()
    error_code = CharField(default="")
    count = IntegerField()

    class Meta:
        table_name = "usagecount"
        indexes = ((("day", "customer_id"), False),)


def upgrade(m):
    m.create_tables(Operator, ConsoleSession, ConsoleSecret, MessageReceipt,
                    PauseRecord, DeliveryAttempt, UsageDay, UsageCount)
    m.add_column("apikey", "label", CharField(default=""))
    m.create_index("messagelog", ["created_at"])
    m.create_index("messagelog", ["phone", "id"])
    m.create_index("messagelog", ["purpose", "id"])
