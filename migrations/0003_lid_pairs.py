"""One person, one identity: learned LID <-> phone pairs, canonical phones.

- New table ``lidpair``: a WhatsApp LID and the phone it belongs to, per
  customer, learned from payloads that carry both (``remoteJidAlt``,
  ``senderPn``, ``participantAlt``, receipts of our own sends), so an
  opt-out from a LID-only contact suppresses the right number.
- Existing suppressions and conversation windows move to the canonical
  phone form (Brazilian mobiles with their ninth digit, Mexican ones
  without the ``1`` after 52): before this step a STOP from
  ``553187654321@s.whatsapp.net`` was stored as ``+553187654321``, a
  number customers can never send to.  Where both spellings exist they
  merge (the later window wins).

The canonical rule is frozen here (``identity.canonical_digits`` of
2026-12-01) and the tables are frozen copies, as every step's are.
"""
import datetime

from peewee import CharField
from peewee import DateTimeField
from peewee import ForeignKeyField
from peewee import IntegerField
from peewee import Model


def _now():
    return datetime.datetime.utcnow()


class Customer(Model):
    class Meta:
        table_name = "customer"


class LidPair(Model):
    customer = ForeignKeyField(Customer)
    lid = CharField()
    phone = CharField()
    updated_at = DateTimeField(default=_now)

    class Meta:
        table_name = "lidpair"
        indexes = ((("customer", "lid"), True),)


class Suppression(Model):
    customer_id = IntegerField()
    phone = CharField()

    class Meta:
        table_name = "suppression"


class ConversationWindow(Model):
    customer_id = IntegerField()
    phone = CharField()
    last_inbound_at = DateTimeField()

    class Meta:
        table_name = "conversationwindow"


def canonical(phone):
    """``+`` and the canonical digits, or ``phone`` unchanged."""
    if not phone or not phone.startswith("+") or not phone[1:].isdigit():
        return phone
    digits = phone[1:]
    if (len(digits) == 12 and digits.startswith("55")
            and "11" <= digits[2:4] <= "99" and digits[4] in "6789"):
        return "+" + digits[:4] + "9" + digits[4:]
    if len(digits) == 13 and digits.startswith("521"):
        return "+52" + digits[3:]
    return phone


def canonicalise(model, merge):
    for row in list(model.select()):
        new = canonical(row.phone)
        if new == row.phone:
            continue
        twin = model.get_or_none((model.customer_id == row.customer_id)
                                 & (model.phone == new))
        if twin is None:
            model.update(phone=new).where(model.id == row.id).execute()
        else:
            merge(row, twin)
            model.delete().where(model.id == row.id).execute()


def merge_windows(old, kept):
    if old.last_inbound_at > kept.last_inbound_at:
        ConversationWindow.update(last_inbound_at=old.last_inbound_at).where(
            ConversationWindow.id == kept.id).execute()


def upgrade(m):
    m.create_tables(LidPair)
    with m.db.bind_ctx([Suppression, ConversationWindow], bind_refs=False,
                       bind_backrefs=False):
        canonicalise(Suppression, lambda old, kept: None)
        canonicalise(ConversationWindow, merge_windows)
