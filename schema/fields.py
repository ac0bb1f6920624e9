"""Field types shared by the request schemas."""
import unicodedata

from marshmallow import ValidationError
from marshmallow import fields

import identity
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
    """A phone number in international format, loaded as canonical E.164.

    Canonical (``identity.canonical_phone``): a Brazilian mobile with its
    ninth digit, a Mexican one without the ``1`` after 52, whichever form
    was given, so suppressions, windows, throttles and events all key on
    one identity and the send path needs no extra work.

    Also a LID JID (``214567890123456@lid``), as ``message.received``
    gives it for a contact WhatsApp shows by its privacy id only: the
    reply goes to that JID (or to its phone, once learned).
    """

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        lid = identity.lid_of(value)
        if lid is not None:
            return lid
        phone = to_e164(identity.canonical_phone(value) or value)
        if phone is None:
            raise ValidationError(
                "Not a valid international phone number (E.164, e.g. "
                "+966501234567) nor a LID JID (214567890123456@lid).")
        return phone


# Format, control, separator and lone combining characters draw nothing;
# these few are letters or symbols by category that render blank too.
_BLANK_CATEGORIES = frozenset(("Cc", "Cf", "Cn", "Co", "Cs", "Mn", "Me",
                               "Zs", "Zl", "Zp"))
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")


def has_visible_character(text):
    """True when ``text`` shows something (not only zero-width chars)."""
    return any(not ch.isspace() and ch not in _BLANK_CHARACTERS
               and unicodedata.category(ch) not in _BLANK_CATEGORIES
               for ch in text)


class MessageText(StrictString):
    """A message: a string with at least one visible character."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not has_visible_character(value):
            raise ValidationError("Must contain visible text, not only "
                                  "invisible or zero-width characters.")
        return value
