"""Request/reply messages between the gateway and the services (over NATS, never imports).

A request carries the caller (``Principal``) and command metadata; a reply is either accepted
(with the aggregate's version and the event's log position) or a problem (RFC 9457 fields).
"""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class Request(BaseModel):
    meta: CommandMeta
    body: dict[str, Any]
    target: str | None = Field(default=None, description="the aggregate a command acts on")
    min_position: int | None = None


class FieldError(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    errors: list[FieldError] = []


class Reply(BaseModel):
    ok: bool
    result: dict[str, Any] | None = None
    version: int | None = None
    position: int | None = None
    problem: Problem | None = None
