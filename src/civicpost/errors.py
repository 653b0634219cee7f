"""Domain errors; the web layer turns each into RFC 9457 problem JSON."""

from typing import Any


class ServiceError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors

    @classmethod
    def with_status(cls, status: int, detail: str) -> "ServiceError":
        error = cls(detail)
        error.status = status
        titles = {413: "Content too large", 415: "Unsupported media type", 422: "Unprocessable content"}
        error.title = titles.get(status, cls.title)
        return error


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class Conflict(ServiceError):
    """The object is in the wrong state, or someone else changed it first."""

    status = 409
    title = "Conflict"


class Invalid(ServiceError):
    status = 422
    title = "Unprocessable content"
