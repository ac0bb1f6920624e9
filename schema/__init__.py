"""marshmallow schemas for request bodies, and the helpers that load them."""
import json

from marshmallow import ValidationError

from errors import ApiError


def load_or_raise(schema, data, status=422):
    """Load ``data`` with ``schema`` or raise the contract's error.

    The status differs per route (422 on the send API, 400 on the 3CX
    webhook), so the caller chooses it.
    """
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ApiError(status, "validation_error",
                       "The request body is not valid.",
                       {"fields": exc.messages})


def _may_hold_surrogate(raw):
    if not isinstance(raw, bytes):
        return True
    return b"\\u" in raw or b"\xed" in raw


def parse_json(raw):
    """Parse a request body, or raise 400 ``invalid_json``.

    Besides syntax errors this refuses what ``json.loads`` lets through
    but nothing downstream can store or hash: lone surrogates
    (``"\\ud800"``), and nesting deep enough to exhaust the stack.
    """
    try:
        body = json.loads(raw)
        # A lone surrogate comes from a \u escape or, in bytes, from its
        # UTF-8 form (0xED 0xA0-0xBF ..., which loads lets through): the
        # costly check runs only when one of those is there.
        if _may_hold_surrogate(raw):
            json.dumps(body, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeError is a ValueError
        raise ApiError(400, "invalid_json",
                       "The request body is not valid JSON.") from None
    return body
