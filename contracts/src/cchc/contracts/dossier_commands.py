"""Commands and queries of the dossier context: the bodies of the public API's requests.

Each command model is the body the REST API accepts; the service answers with the result.
Endpoint names are the last token of ``svc.dossier.<name>``.
"""

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cchc.contracts.commands import Command
from cchc.contracts.dossier import AgencyGroup, Channel, DayKind, OnlineLevel, Outcome
from cchc.contracts.late_entry import MayBeEnteredLate, MayBeImported
from cchc.contracts.localtime import BusinessTime
from cchc.contracts.subjects import TOKEN_PATTERN

SERVICE = "dossier"


class RegisterAgency(Command):
    code: str = Field(pattern=TOKEN_PATTERN, description="letters, digits, '-' or '_'")
    name: str = Field(min_length=1, max_length=300)
    group: AgencyGroup


class PublishProcedure(Command, MayBeImported):
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=500)
    agency: str = Field(pattern=TOKEN_PATTERN)
    field: str = Field(min_length=1, max_length=200)
    processing_days: int = Field(gt=0, le=365)
    online_level: OnlineLevel
    published_on: date | None = Field(
        None, ge=date(1900, 1, 1),
        description="the date of the decision that published it (quyết định công bố); "
                    "today if omitted; not after today",
    )


class DeclareCalendarDay(Command):
    date: date
    kind: DayKind
    note: str = Field(min_length=1, max_length=500)


class Applicant(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=300)


class ReceiveDossier(Command, MayBeEnteredLate):
    procedure: str = Field(min_length=1, max_length=64)
    channel: Channel
    received_at: BusinessTime
    applicant: Applicant


class RequestSupplement(Command, MayBeEnteredLate):
    requested_at: BusinessTime
    reason: str = Field(min_length=1, max_length=2000)


class SupplementDossier(Command, MayBeEnteredLate):
    supplemented_at: BusinessTime


class ExtendDossier(Command, MayBeEnteredLate):
    extended_at: BusinessTime
    new_due_at: BusinessTime
    reason: str = Field(min_length=1, max_length=2000)


class ResolveDossier(Command, MayBeEnteredLate):
    resolved_at: BusinessTime
    outcome: Outcome
    reason: str = Field(default="", max_length=2000, description=(
        "what the applicant is told; a rejection must give one"))


class ReturnResult(Command, MayBeEnteredLate):
    returned_at: BusinessTime


class WithdrawDossier(Command, MayBeEnteredLate):
    withdrawn_at: BusinessTime
    reason: str = Field(min_length=1, max_length=2000)


COMMAND_ENDPOINTS: dict[str, type[Command]] = {
    "register-agency": RegisterAgency,
    "publish-procedure": PublishProcedure,
    "declare-calendar-day": DeclareCalendarDay,
    "receive-dossier": ReceiveDossier,
    "request-supplement": RequestSupplement,
    "supplement-dossier": SupplementDossier,
    "extend-dossier": ExtendDossier,
    "resolve-dossier": ResolveDossier,
    "return-result": ReturnResult,
    "withdraw-dossier": WithdrawDossier,
}


class DossierListQuery(BaseModel):
    agency: str | None = None
    status: str | None = None
    received_from: date | None = None
    received_to: date | None = None
    irregular_supplement: bool | None = Field(default=None, description=(
        "only dossiers with (true) or without (false) a supplementation request made after the "
        "3rd working day after receipt (Decree 61/2018, art. 17)"))
    q: str | None = Field(default=None, max_length=100, description=(
        "text in the id, the receipt code, the procedure code or the applicant's details; accents and case "
        "are ignored (\"nguyen\" finds \"Nguyễn\")"))
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None


class PageQuery(BaseModel):
    """One page of a list ordered by its key."""

    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None


class ProcedureListQuery(PageQuery):
    agency: str | None = None


class ProceduresPublishedQuery(BaseModel):
    """How many of an agency's procedures were published (decision dated) by a day."""

    agency: str
    as_of: date


class DossierStatsQuery(BaseModel):
    agency: str | None = None
    from_: date = Field(alias="from")
    to: date
    method: Literal["form", "766"] = Field(default="form", description=(
        "the clock that judges timeliness: the report form's (restarted by a supplementation) "
        "or Decision 766's (the supplementation period subtracted; more than one request late)"))

    model_config = ConfigDict(populate_by_name=True)


class DossierFieldStatsQuery(BaseModel):
    """The report form of one agency, a row per field of procedures (lĩnh vực)."""

    agency: str
    from_: date = Field(alias="from")
    to: date

    model_config = ConfigDict(populate_by_name=True)


class AlertsQuery(BaseModel):
    """Dossiers due on ``day`` and on the next working day, and those overdue at ``day``."""

    agency: str | None = None
    day: date


class PublicBoardQuery(BaseModel):
    """The public board of a year: every agency's figures from 1 January to today."""

    year: int = Field(ge=2000, le=2100)


QUERY_ENDPOINTS: dict[str, type[BaseModel] | None] = {
    "get-dossier": None,
    "list-dossiers": DossierListQuery,
    "dossier-stats": DossierStatsQuery,
    "list-agencies": PageQuery,
    "list-procedures": ProcedureListQuery,
    "procedures-published": ProceduresPublishedQuery,
    "dossier-stats-by-field": DossierFieldStatsQuery,
    "alerts": AlertsQuery,
    "receipt-slip": None,
    "public-dossier": None,
    "public-board": PublicBoardQuery,
}

