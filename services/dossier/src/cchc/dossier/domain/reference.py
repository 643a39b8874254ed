"""Reference data of the dossier context: agencies, procedures, calendar declarations."""

from dataclasses import dataclass
from datetime import datetime

from cchc.contracts.dossier import (
    AgencyGroup,
    AgencyRegistered,
    CalendarDayDeclared,
    OnlineLevel,
    ProcedurePublished,
)
from cchc.contracts.dossier_commands import DeclareCalendarDay, PublishProcedure, RegisterAgency
from cchc.contracts.localtime import local_date
from cchc.dossier.domain.errors import Conflict, InvalidCommand


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    group: AgencyGroup


@dataclass(frozen=True)
class Procedure:
    code: str
    name: str
    agency: str
    field: str
    processing_days: int
    online_level: OnlineLevel


def register_agency(existing: Agency | None, command: RegisterAgency) -> AgencyRegistered:
    if existing is not None:
        raise Conflict(f"agency {command.code} is already registered", field="code")
    return AgencyRegistered(code=command.code, name=command.name, group=command.group)


def publish_procedure(
    existing: Procedure | None, agency: Agency | None, command: PublishProcedure,
    published_at: datetime,
) -> ProcedurePublished:
    if agency is None:
        raise InvalidCommand(f"unknown agency {command.agency!r}", field="agency")
    if existing is not None:
        raise Conflict(f"procedure {command.code} is already published", field="code")
    today = local_date(published_at)
    if command.published_on is not None and command.published_on > today:
        raise InvalidCommand(f"published_on {command.published_on} is after today ({today})",
                             field="published_on")
    return ProcedurePublished(
        code=command.code, name=command.name, agency=command.agency, field=command.field,
        processing_days=command.processing_days, online_level=command.online_level,
        published_at=published_at, published_on=command.published_on or today,
    )


def declare_calendar_day(command: DeclareCalendarDay) -> CalendarDayDeclared:
    return CalendarDayDeclared(date=command.date, kind=command.kind, note=command.note)


def evolve_agency(state: Agency | None, event: AgencyRegistered) -> Agency:
    return Agency(code=event.code, name=event.name, group=event.group)


def evolve_procedure(state: Procedure | None, event: ProcedurePublished) -> Procedure:
    return Procedure(
        code=event.code, name=event.name, agency=event.agency, field=event.field,
        processing_days=event.processing_days, online_level=event.online_level,
    )
