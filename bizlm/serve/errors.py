"""Every error answer is JSON: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bizlm.serve.schemas import ErrorBody

log = logging.getLogger("bizlm.serve")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
    504: "timeout",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` documenting these error statuses with the error body."""
    return {
        status: {"model": ErrorBody, "description": _STATUS_CODES[status].replace("_", " ")}
        for status in statuses
    }


class ApiError(Exception):
    """An answer other than success, with its status, code, message and headers."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A JSON error answer."""
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_answer(errors: list[dict[str, Any]], limits: dict[str, int]) -> JSONResponse:
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(400, "invalid_json", "The request body is not valid JSON.")
    first = errors[0] if errors else {}
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    kind = first.get("type", "")
    if kind == "too_long" and loc == ["texts"]:
        return error_response(
            422, "too_many_texts", f"At most {limits['max_texts']} texts per request (max_texts)."
        )
    if kind == "string_too_long":
        return error_response(
            422,
            "text_too_long",
            f"A text ({'.'.join(loc)}) is longer than {limits['max_text_chars']} characters "
            "(max_text_chars).",
        )
    if kind == "too_short" and loc == ["texts"]:
        return error_response(422, "empty_texts", "'texts' must hold at least one text.")
    where = ".".join(loc) or "body"
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    return error_response(422, "invalid_request", f"{where}: {message}")


def install_error_handlers(app: FastAPI, limits: dict[str, int]) -> None:
    """Answer API errors, validation errors, HTTP errors and crashes with JSON bodies."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_answer(list(exc.errors()), limits)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s: %r", request.url.path, exc, exc_info=exc)
        return error_response(500, "internal_error", "The server failed; see its log.")
