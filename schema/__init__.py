"""marshmallow schemas for request bodies, and the one loading helper."""
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
