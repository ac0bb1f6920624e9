"""Field types shared by the request schemas."""
from marshmallow import ValidationError
from marshmallow import fields

from policy import to_e164


class StrictString(fields.String):
    """A string that must not be blank (whitespace only counts as blank)."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not value.strip():
            raise ValidationError("Must not be blank.")
        if "\x00" in value:
            # No database stores it as text (PostgreSQL refuses it), and
            # no message needs it.
            raise ValidationError("Must not contain NUL characters.")
        return value


class Phone(StrictString):
    """A phone number in international format, loaded as E.164."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        phone = to_e164(value)
        if phone is None:
            raise ValidationError(
                "Not a valid international phone number (E.164, e.g. "
                "+966501234567).")
        return phone
