"""RFC 9457 problem details for every error the gateway answers: never an HTML or text page.

Validation errors name the offending field as the client wrote it (``received_at``,
``applicant.name``, ``limit``), without FastAPI's ``body``/``query`` location prefix.
"""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cchc.contracts.messages import FieldError, Problem, ProblemKind, ServiceProblem

log = logging.getLogger("cchc.gateway")

MEDIA_TYPE = "application/problem+json"
_LOCATIONS = {"body", "query", "path", "header", "cookie"}
_TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 406: "Not acceptable", 409: "Conflict",
    412: "Precondition failed", 413: "Content too large", 415: "Unsupported media type",
    422: "Invalid input", 500: "Internal error", 503: "Service unavailable",
}


# The one place a service's refusal becomes an HTTP status.
STATUS_OF_KIND = {
    ProblemKind.BAD_REQUEST: 400,
    ProblemKind.FORBIDDEN: 403,
    ProblemKind.NOT_FOUND: 404,
    ProblemKind.CONFLICT: 409,
    ProblemKind.PRECONDITION_FAILED: 412,
    ProblemKind.INVALID: 422,
    ProblemKind.INTERNAL: 500,
    ProblemKind.UNAVAILABLE: 503,
}


def from_service(refusal: ServiceProblem | None) -> Problem:
    """The HTTP problem of a service's refusal (a reply without one is a bad gateway)."""
    if refusal is None:
        return Problem(title="Bad gateway", status=502,
                       detail="the service answered neither a result nor a problem")
    return Problem(title=refusal.title, status=STATUS_OF_KIND[refusal.kind],
                   detail=refusal.detail, errors=refusal.errors)


class ProblemException(Exception):
    def __init__(self, problem: Problem, headers: dict[str, str] | None = None) -> None:
        super().__init__(problem.detail or problem.title)
        self.problem = problem
        self.headers = headers or {}


def problem(
    status: int, detail: str = "", field: str | None = None, title: str | None = None,
    headers: dict[str, str] | None = None,
) -> ProblemException:
    """The exception to raise for an error answer; ``field`` lists it as an invalid field."""
    errors = [FieldError(field=field, message=detail)] if field else []
    value = Problem(
        title=title or _TITLES.get(status, "Error"), status=status, detail=detail, errors=errors
    )
    return ProblemException(value, headers)


def problem_response(value: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        value.model_dump(mode="json"), status_code=value.status, headers=headers,
        media_type=MEDIA_TYPE,
    )


def field_name(location: tuple[Any, ...]) -> str:
    parts = list(location)
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(str(p) for p in parts) or "body"


def validation_problem(error: RequestValidationError) -> Problem:
    details = error.errors()
    if any(e.get("type") == "json_invalid" for e in details):
        return Problem(
            title="Malformed JSON", status=400, detail="the request body is not valid JSON",
            errors=[FieldError(field="body", message="not valid JSON")],
        )
    errors = [FieldError(field=field_name(tuple(e["loc"])), message=e["msg"]) for e in details]
    return Problem(
        title="Invalid input", status=422,
        detail="; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors,
    )


def install(app: FastAPI) -> None:
    problem_only_openapi(app)

    @app.exception_handler(ProblemException)
    async def on_problem(_: Request, error: ProblemException) -> JSONResponse:
        return problem_response(error.problem, error.headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        return problem_response(validation_problem(error))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        status = error.status_code
        return problem_response(
            Problem(title=_TITLES.get(status, "Error"), status=status, detail=str(error.detail)),
            getattr(error, "headers", None),
        )

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, error: Exception) -> JSONResponse:
        # Starlette re-raises after answering, so the server logs the traceback as well; this
        # line ties it to the request.
        log.error("unexpected %s on %s %s", type(error).__name__, request.method, request.url.path)
        return problem_response(Problem(title="Internal error", status=500,
                                        detail="an unexpected error; it has been logged"))


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error statuses, so generated clients know the problem shape."""
    content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        status: {"description": _TITLES.get(status, "Error"), "model": Problem, "content": content}
        for status in statuses
    }


def problem_only_openapi(app: FastAPI) -> None:
    """Document error answers as application/problem+json only.

    FastAPI lists a response ``model`` under application/json as well, which is not what the
    gateway sends; the model is kept only so that Problem lands in the schema components.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    for response in operation.get("responses", {}).values():
                        content = response.get("content", {})
                        if MEDIA_TYPE in content:
                            content.pop("application/json", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


PROBLEM_RESPONSES = problem_responses(400, 401, 403, 422, 503)
COMMAND_PROBLEM_RESPONSES = problem_responses(400, 401, 403, 404, 409, 412, 422, 503)
