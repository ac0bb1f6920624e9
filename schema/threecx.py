"""The body of ``POST /integrations/3cx/webhook/{integration_id}``.

3CX templates and Call Flow apps send many variables of their own, so
unknown fields are accepted (and dropped); the known ones are typed
strictly.  An unfilled 3CX variable (a literal ``[Agent]``) loads as an
empty string, and a blank ``message_purpose`` as the default ``support``.
Which phone or text an event needs is the handler's call: it answers
``missing_phone`` / ``missing_message_text``, not ``validation_error``.
"""
from marshmallow import EXCLUDE
from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_load
from marshmallow import pre_load
from marshmallow import validate

from threecx_rules import EVENT_TYPES
from threecx_rules import blank_placeholders

_SHORT = validate.Length(max=255)
_PHONE = validate.Length(max=64)


class TextOrNumber(fields.Field):
    """A string, or a JSON number loaded as its text (ids, Unix times)."""

    default_error_messages = {"invalid": "Not a valid string or number."}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(
                value, (str, int, float)):
            raise self.make_error("invalid")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)


def _text(length=_SHORT):
    return fields.String(allow_none=True, validate=length)


class ThreeCxWebhookSchema(Schema):
    """One 3CX event; see ``ThreeCxWebhookRequest`` in the contract."""

    class Meta:
        unknown = EXCLUDE

    event_type = fields.String(required=True,
                               validate=validate.OneOf(EVENT_TYPES))
    to = _text(_PHONE)
    from_ = fields.String(data_key="from", allow_none=True,
                          validate=_PHONE)
    customer_phone = _text(_PHONE)
    caller = _text(_PHONE)
    phone = _text(_PHONE)
    message_text = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    # Not an enum here: a purpose outside the allowed ones (marketing,
    # promotion, ...) is the guards' message_purpose_not_allowed, which
    # 3cx.md lists among this path's errors, not a schema break.
    message_purpose = fields.String(load_default="support",
                                    validate=_SHORT)
    conversation_id = _text()
    external_message_id = _text()
    event_id = TextOrNumber(allow_none=True, validate=_SHORT)
    call_id = TextOrNumber(allow_none=True, validate=_SHORT)
    callid = TextOrNumber(allow_none=True, validate=_SHORT)
    id = TextOrNumber(allow_none=True, validate=_SHORT)
    agent_extension = _text()
    agent_name = _text()
    customer_name = _text()
    queue = _text()
    queue_name = _text()
    call_time = TextOrNumber(allow_none=True, validate=_SHORT)
    callback_time = TextOrNumber(allow_none=True, validate=_SHORT)
    duration = TextOrNumber(allow_none=True, validate=_SHORT)
    call_type = _text()
    call_direction = _text()

    @pre_load
    def _blank_unfilled_variables(self, data, **kwargs):
        if not isinstance(data, dict):
            raise ValidationError("Expected a JSON object.", "_schema")
        data = blank_placeholders(data)
        purpose = data.get("message_purpose")
        if purpose is None or (isinstance(purpose, str)
                               and not purpose.strip()):
            data.pop("message_purpose", None)
        return data

    @post_load
    def _restore_from(self, data, **kwargs):
        # "from" is a Python keyword, hence the attribute "from_".
        if "from_" in data:
            data["from"] = data.pop("from_")
        return data


threecx_webhook_schema = ThreeCxWebhookSchema()
