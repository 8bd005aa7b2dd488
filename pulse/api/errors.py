"""Every error leaves the web layer as `{"error": CODE, "detail": text}`; nothing a client sends yields a
500. The one place errors become responses: `PulseError` (raised by domain code and handlers alike),
framework HTTP errors, validation errors and values PostgreSQL refuses."""

from __future__ import annotations

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from pulse.api.request_id import HEADER, request_id_of
from pulse.errors import PulseError
from pulse.log import get_logger

log = get_logger("pulse.api")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}


class ErrorBody(BaseModel):
    """The shape of every error response."""

    error: str
    detail: str | list | dict | None = None


def error_response(status: int, error: str, detail: object = None, headers: dict[str, str] | None = None):
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PulseError)
    async def _refused(_: Request, exc: PulseError):
        return error_response(exc.status, exc.error, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException):
        code = _STATUS_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, exc.detail, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError):
        # Drop the echoed input: it can be large and may carry secrets.
        detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return error_response(422, "invalid_request", detail)

    @app.exception_handler(asyncpg.DataError)
    async def _data_error(request: Request, exc: asyncpg.DataError):
        # A value PostgreSQL cannot take (bytes not valid in UTF-8, a NUL, a number out of range) came
        # from the request: the client's error, not ours.
        log.info("request value refused by the database", path=request.url.path, sqlstate=exc.sqlstate)
        return error_response(
            422, "invalid_request", f"a value in the request cannot be used: {exc.__class__.__name__}"
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # Runs in Starlette's outermost middleware, past RequestIdMiddleware: the id comes from the scope.
        request_id = request_id_of(request.scope)
        log.exception("unhandled error", path=request.url.path, method=request.method, request_id=request_id)
        return error_response(
            500,
            "internal_error",
            "an internal error occurred; it has been logged",
            {HEADER: request_id} if request_id else None,
        )
