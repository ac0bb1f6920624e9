"""The one error type of the service and its JSON shape.

Every refusal, from a malformed body to an upstream failure, is an
``ApiError``; one Flask handler renders it as the contract's ``ApiError``
body: ``{"success": false, "error", "message", "details"}``.
"""
from flask import request
from werkzeug.exceptions import RequestEntityTooLarge


class ApiError(Exception):
    """An error answered to the client with the contract's JSON body."""

    def __init__(self, status, code, message, details=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    def to_dict(self):
        """Return the contract's ``ApiError`` body."""
        return {
            "success": False,
            "error": self.code,
            "message": self.message,
            "details": self.details,
        }

    def __repr__(self):
        return "ApiError(%d, %r)" % (self.status, self.code)


def read_body_within(limit, message):
    """The request body, refused with 413 ``payload_too_large`` past
    ``limit`` bytes, whether announced (Content-Length) or streamed
    (chunked: werkzeug stops reading there without an error, so a cut
    body would otherwise look like a short one: invalid JSON, or an
    event silently dropped)."""
    too_large = ApiError(413, "payload_too_large", message,
                         {"max_bytes": limit})
    if (request.content_length or 0) > limit:
        raise too_large
    # Set before the stream is first touched; one byte more than the
    # limit, so getting it means the body is over.
    request.max_content_length = limit + 1
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large from None
    if len(body) > limit:
        raise too_large
    return body
