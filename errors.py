"""The one error type of the service and its JSON shape.

Every refusal, from a malformed body to an upstream failure, is an
``ApiError``; one Flask handler renders it as the contract's ``ApiError``
body: ``{"success": false, "error", "message", "details"}``.
"""


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
