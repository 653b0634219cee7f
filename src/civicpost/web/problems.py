"""Every error as RFC 9457 problem JSON, with per-field errors for validation."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from civicpost.errors import ServiceError
from civicpost.platforms import PLATFORMS

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def wants_html(request: Request) -> bool:
    """People reading pages get a page; programs get problem JSON."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    pages = request.app.state.pages
    return pages.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": TITLES.get(status, "Error"), "detail": detail},
        status_code=status,
    )


def problem(
    status: int, detail: str, *, errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def _field(loc: tuple) -> str:
    # Only the first part says where (body, query, path); a field may itself be called "body".
    parts = [str(p) for p in (loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc)]
    # A channel's body is one shape per platform; pydantic names the shape first, a person needs only the field.
    if len(parts) > 1 and parts[0] in PLATFORMS:
        parts = parts[1:]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service(request: Request, exc: ServiceError) -> Response:
        if wants_html(request):
            return error_page(request, exc.status, exc.detail)
        return problem(exc.status, exc.detail, errors=exc.errors)

    @app.exception_handler(StaleDataError)
    async def _stale(_: Request, exc: StaleDataError) -> JSONResponse:
        return problem(409, "someone else changed this announcement at the same moment; reload it and try again")

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> Response:
        # A last line behind the validation at the edge: a value the database
        # cannot hold (a NUL, a number out of range) is the request's fault.
        log.warning("refused a value the database cannot store on %s %s: %s", request.method, request.url.path,
                    str(exc.orig).splitlines()[0] if exc.orig else exc)
        detail = ("a value in the request cannot be stored: a number is out of range, or text contains a "
                  "control character; correct it and try again")
        if wants_html(request):
            return error_page(request, 422, detail[:1].upper() + detail[1:] + ".")
        return problem(422, detail)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            message = err["msg"]
            if message.startswith("Value error, "):
                message = message[len("Value error, "):]
            if err["type"] == "extra_forbidden":
                message = "is not a field of this request; remove it"
            elif err["type"] == "union_tag_invalid":
                err = {**err, "loc": ("body", "platform")}
                message = f"is not a platform civicpost knows; choose one of {', '.join(sorted(PLATFORMS))}"
            elif err["type"] == "json_invalid":
                message = "the body is not valid JSON: " + str(err.get("ctx", {}).get("error", ""))
            errors.append({"field": _field(tuple(err["loc"])), "message": message, "type": err["type"]})
        fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
        return problem(422, f"the request has invalid fields: {fields}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "Error")
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = ("the request body could not be read: send JSON with 'Content-Type: application/json' "
                      "(an image upload: multipart form data with a 'file' field)")
        if wants_html(request):
            if exc.status_code == 404 and detail == "Not Found":
                detail = "There is no page at this address."
            return error_page(request, exc.status_code, detail)
        return problem(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        if wants_html(request):
            return error_page(
                request, 500, "Something went wrong on our side, and nothing was saved. Please try again."
            )
        return problem(
            500,
            "something went wrong on our side; nothing was saved. "
            "Try again, and tell the administrator if it keeps happening",
        )
