"""Domain errors with stable codes.

The tree::

    IsecomError
    ├── ConfigError            config.invalid        bad or missing configuration
    ├── InvalidInput           input.invalid         a value failed its parser
    ├── NotFound               not_found             absent *or* not yours (one answer)
    ├── Unauthenticated        auth.required         no valid session
    ├── Forbidden              auth.forbidden        session lacks the role
    ├── Conflict               conflict              the object already exists
    ├── TokenInvalid           token.invalid         expired, used, wrong purpose or unknown
    ├── TooLarge               input.too_large       request or object over its limit
    ├── RateLimited            rate_limited          throttled before any expensive work
    └── Unavailable            unavailable           a dependency (database, blobs) is down

Adapters map ``code`` to an HTTP status or SMTP reply in one table each
(``webmail/errors.py``, ``isecom/smtp``); nobody else picks status numbers.
``debug`` is for logs only and never reaches a client; it must never hold
secrets or message content.
"""

from __future__ import annotations


class IsecomError(Exception):
    code = "internal"
    default_message = "Something went wrong."

    def __init__(self, message: str | None = None, *, debug: str | None = None) -> None:
        self.message = message or self.default_message
        self.debug = debug
        super().__init__(self.message)


class ConfigError(IsecomError):
    code = "config.invalid"
    default_message = "The configuration is not valid."


class InvalidInput(IsecomError):
    code = "input.invalid"
    default_message = "The input is not valid."

    def __init__(self, message: str | None = None, *, field: str | None = None, debug: str | None = None) -> None:
        super().__init__(message, debug=debug)
        self.field = field


class NotFound(IsecomError):
    code = "not_found"
    default_message = "Not found."


class Unauthenticated(IsecomError):
    code = "auth.required"
    default_message = "Please sign in."


class Forbidden(IsecomError):
    code = "auth.forbidden"
    default_message = "You are not allowed to do this."


class Conflict(IsecomError):
    code = "conflict"
    default_message = "This already exists."


class TokenInvalid(IsecomError):
    code = "token.invalid"
    default_message = "This link is not valid: it may have expired or already been used."


class TooLarge(IsecomError):
    code = "input.too_large"
    default_message = "The request is too large."


class RateLimited(IsecomError):
    code = "rate_limited"
    default_message = "Too many attempts. Please wait and try again."


class Unavailable(IsecomError):
    code = "unavailable"
    default_message = "The service is temporarily unavailable."
