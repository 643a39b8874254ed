"""Request/reply between the gateway and the services over NATS core (queue groups scale them).

A service registers one handler per endpoint on ``svc.<service>.<endpoint>``; the gateway calls
them with a ``Request`` and gets a ``Reply``. A handler's ``ProblemError`` or domain error becomes
a problem reply (its own status); anything unexpected becomes a 500 problem with a log line,
never a hang.
"""

import logging
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import ValidationError

from cchc.contracts.messages import FieldError, Problem, Reply, Request
from cchc.contracts.subjects import service_subject
from cchc.runtime.domain_errors import DomainError

log = logging.getLogger("cchc.rpc")

Handler = Callable[[Request], Awaitable[Reply]]


class ServiceUnavailable(Exception):
    pass


class ProblemError(Exception):
    """Raised by a handler to answer with a problem (status, title, field errors)."""

    def __init__(self, status: int, title: str, detail: str = "", field: str | None = None):
        super().__init__(detail or title)
        self.problem = Problem(
            title=title,
            status=status,
            detail=detail,
            errors=[FieldError(field=field, message=detail)] if field else [],
        )


def validation_problem(error: ValidationError, prefix: str = "") -> Problem:
    errors = [
        FieldError(field=prefix + ".".join(str(p) for p in e["loc"]), message=e["msg"])
        for e in error.errors()
    ]
    return Problem(title="Invalid input", status=422, detail="invalid fields", errors=errors)


async def serve(nc: NATS, service: str, handlers: dict[str, Handler]) -> list[Subscription]:
    subscriptions = []
    for endpoint, handler in handlers.items():
        subject = service_subject(service, endpoint)
        subscriptions.append(
            await nc.subscribe(subject, queue=service, cb=_responder(subject, handler))
        )
    return subscriptions


def _responder(subject: str, handler: Handler) -> Callable[[Msg], Awaitable[None]]:
    async def respond(msg: Msg) -> None:
        try:
            request = Request.model_validate_json(msg.data)
            reply = await handler(request)
        except ProblemError as error:
            reply = Reply(ok=False, problem=error.problem)
        except DomainError as error:
            problem = ProblemError(error.status, error.title, error.message, error.field).problem
            reply = Reply(ok=False, problem=problem)
        except ValidationError as error:
            reply = Reply(ok=False, problem=validation_problem(error))
        except Exception:  # noqa: BLE001 - answer instead of leaving the caller to time out
            log.exception("handler for %s failed", subject)
            reply = Reply(ok=False, problem=Problem(title="Internal error", status=500))
        if msg.reply:
            await msg.respond(reply.model_dump_json().encode())

    return respond


class ServiceClient:
    def __init__(self, nc: NATS, timeout: float = 10.0) -> None:
        self._nc = nc
        self._timeout = timeout

    async def call(self, service: str, endpoint: str, request: Request) -> Reply:
        subject = service_subject(service, endpoint)
        try:
            msg = await self._nc.request(
                subject, request.model_dump_json().encode(), timeout=self._timeout
            )
        except (NoRespondersError, NatsTimeout) as error:
            raise ServiceUnavailable(f"{service} did not answer {endpoint}") from error
        return Reply.model_validate_json(msg.data)
