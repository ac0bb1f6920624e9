"""The body of ``POST /api/send-message``."""
from marshmallow import RAISE
from marshmallow import Schema
from marshmallow import fields

from schema.fields import MessageText
from schema.fields import Phone
from schema.fields import StrictString


class SendMessageSchema(Schema):
    """Strict: unknown fields, wrong types and blank strings are refused.

    ``message_purpose`` is only type-checked here; whether it is present
    and allowed is the purpose guard's call (its own error codes).
    """

    class Meta:
        unknown = RAISE

    instance_id = StrictString(required=True)
    phone = Phone(required=True)
    message = MessageText(required=True)
    message_purpose = fields.String(load_default=None, allow_none=True)


send_message_schema = SendMessageSchema()
