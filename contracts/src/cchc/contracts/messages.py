"""Request/reply messages between the gateway and the services (over NATS, never imports).

A request carries the caller (``Principal``), command metadata and a typed body (``Request[
ReceiveDossier]``); a reply is either accepted (its typed result, the aggregate's version and the
event's log position) or a ``ServiceProblem`` naming what kind of refusal it is. Kinds, not HTTP
statuses: the gateway alone maps a kind to a status.
"""

from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

BodyT = TypeVar("BodyT")
ResultT = TypeVar("ResultT")


class Role(StrEnum):
    ADMIN = "admin"
    HOME_AFFAIRS = "home_affairs"
    OFFICER = "officer"
    INSPECTOR = "inspector"


class Principal(BaseModel):
    model_config = ConfigDict(frozen=True)

    sub: str
    role: Role
    agency: str | None = None

    @property
    def reads_everything(self) -> bool:
        return self.role in (Role.ADMIN, Role.HOME_AFFAIRS, Role.INSPECTOR)

    @property
    def writes_everywhere(self) -> bool:
        return self.role in (Role.ADMIN, Role.HOME_AFFAIRS)

    def may_read(self, agency: str) -> bool:
        return self.reads_everything or self.agency == agency

    def may_write(self, agency: str) -> bool:
        return self.writes_everywhere or (self.role == Role.OFFICER and self.agency == agency)


class CommandMeta(BaseModel):
    principal: Principal
    correlation_id: str
    idempotency_key: str | None = None
    expected_version: int | None = Field(default=None, description="from If-Match")


class NoBody(BaseModel):
    """The body of a request that needs none (a query by id, say)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Request(BaseModel, Generic[BodyT]):
    """``Request[Command]`` on the service's side; unparametrized, the body is any JSON."""

    meta: CommandMeta
    body: BodyT
    target: str | None = Field(default=None, description="the aggregate a command acts on")
    min_position: int | None = None


class FieldError(BaseModel):
    field: str
    message: str


class ProblemKind(StrEnum):
    """Why a service refused: what a client can do about it, not a transport's status code."""

    BAD_REQUEST = "bad_request"  # the request itself is malformed (a cursor, a position)
    INVALID = "invalid"  # a field breaks its rules or contradicts the facts
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"  # the aggregate's state forbids the command
    PRECONDITION_FAILED = "precondition_failed"  # the version the caller expected has moved
    UNAVAILABLE = "unavailable"  # try again later (a read model not caught up yet)
    INTERNAL = "internal"


class ServiceProblem(BaseModel):
    """A service's refusal: its kind, a title, a detail and the fields at fault."""

    kind: ProblemKind
    title: str
    detail: str = ""
    errors: list[FieldError] = []


class Problem(BaseModel):
    """RFC 9457 problem details, as the gateway answers them over HTTP."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] = []


class Reply(BaseModel, Generic[ResultT]):
    """``Reply[DossierView]`` on the service's side; unparametrized, the result is any JSON."""

    ok: bool
    result: ResultT | None = None
    version: int | None = None
    position: int | None = None
    problem: ServiceProblem | None = None

    @classmethod
    def accepted(
        cls, result: Any, version: int | None = None, position: int | None = None
    ) -> "Reply[Any]":
        return cls(ok=True, result=result, version=version, position=position)

    @classmethod
    def refused(cls, problem: ServiceProblem) -> "Reply[Any]":
        return cls(ok=False, problem=problem)
