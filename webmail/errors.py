"""The one table from domain error code to HTTP status, and the two ways to render an error."""

from __future__ import annotations

from isecom.errors import IsecomError

STATUS: dict[str, int] = {
    "input.invalid": 400,
    "auth.required": 401,
    "auth.forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "token.invalid": 410,
    "input.too_large": 413,
    "rate_limited": 429,
    "config.invalid": 500,
    "internal": 500,
    "unavailable": 503,
}


def status_for(error: IsecomError) -> int:
    return STATUS.get(error.code, 500)


def json_body(error: IsecomError) -> dict[str, dict[str, str]]:
    detail = {"code": error.code, "message": error.message}
    field = getattr(error, "field", None)
    if field:
        detail["field"] = field
    return {"error": detail}
