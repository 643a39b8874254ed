"""RFC 9457 problem details for every error the gateway answers, never a bare 500 page."""

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cchc.contracts.messages import FieldError, Problem

log = logging.getLogger("cchc.gateway")

MEDIA_TYPE = "application/problem+json"
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


class ProblemException(Exception):
    def __init__(self, problem: Problem, headers: dict[str, str] | None = None) -> None:
        super().__init__(problem.detail or problem.title)
        self.problem = problem
        self.headers = headers or {}


def problem(
    status: int, title: str, detail: str = "", field: str | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemException:
    errors = [FieldError(field=field, message=detail or title)] if field else []
    return ProblemException(
        Problem(title=title, status=status, detail=detail, errors=errors), headers
    )


def problem_response(value: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        value.model_dump(mode="json"), status_code=value.status, headers=headers,
        media_type=MEDIA_TYPE,
    )


def field_name(location: tuple) -> str:
    parts = list(location)
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemException)
    async def on_problem(_: Request, error: ProblemException) -> JSONResponse:
        return problem_response(error.problem, error.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        details = error.errors()
        if any(e.get("type") == "json_invalid" for e in details):
            return problem_response(Problem(
                title="Malformed JSON", status=400, detail="the request body is not valid JSON",
                errors=[FieldError(field="body", message="not valid JSON")],
            ))
        errors = [FieldError(field=field_name(tuple(e["loc"])), message=e["msg"]) for e in details]
        return problem_response(Problem(
            title="Invalid input", status=422,
            detail="; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors,
        ))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(error.status_code, "Error")
        return problem_response(
            Problem(title=title, status=error.status_code, detail=str(error.detail)),
            getattr(error, "headers", None),
        )

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(Problem(title="Internal error", status=500))
