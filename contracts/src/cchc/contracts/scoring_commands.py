"""Commands and queries of the scoring context: the bodies of the public API's requests.

Endpoint names are the last token of ``svc.scoring.<name>``.
"""

from datetime import date

from cchc.contracts.commands import Command
from cchc.contracts.late_entry import MayBeEnteredLate
from cchc.contracts.localtime import BusinessTime
from cchc.contracts.scoring import Criterion, IndexKind, SurveyCount
from cchc.contracts.subjects import TOKEN_PATTERN
from pydantic import BaseModel, Field, model_validator

SERVICE = "scoring"

Points = float


class DefineFramework(Command):
    """``POST /index-frameworks``. The points and rules are checked beyond their types by the
    service (sums within ``max_score``, known metrics, unique codes): 422 with the field."""

    code: str = Field(pattern=TOKEN_PATTERN, description="e.g. PAR-SO-2021")
    index: IndexKind
    year: int = Field(ge=2000, le=2100)
    group: str = Field(pattern=TOKEN_PATTERN, description="ranking group, e.g. department")
    title: str = Field(default="", max_length=500)
    max_score: float = Field(gt=0)
    criteria: list[Criterion] = Field(min_length=1, max_length=500)
    template: bool = Field(default=False, description="numbers to adjust before use")
    note: str = Field(default="", max_length=4000)


class OpenAssessment(Command, MayBeEnteredLate):
    framework: str = Field(pattern=TOKEN_PATTERN)
    agency: str = Field(pattern=TOKEN_PATTERN)
    opened_at: BusinessTime | None = None


class SubmitSelfScores(Command, MayBeEnteredLate):
    scores: dict[str, Points] = Field(min_length=1)
    evidence: dict[str, list[str]] = Field(default_factory=dict)
    submitted_at: BusinessTime | None = None


class RecordAppraisal(Command, MayBeEnteredLate):
    scores: dict[str, Points] = Field(min_length=1)
    notes: str = Field(default="", max_length=5000)
    recorded_at: BusinessTime | None = None


class RecordSurvey(Command, MayBeEnteredLate):
    """Either totals (``respondents``, ``satisfied``) or per-question counts (``questions``)."""

    criterion: str = Field(min_length=1, max_length=32)
    respondents: int | None = Field(default=None, gt=0)
    satisfied: int | None = Field(default=None, ge=0)
    questions: list[SurveyCount] = Field(default_factory=list, max_length=200)
    recorded_at: BusinessTime | None = None

    @model_validator(mode="after")
    def one_form(self) -> "RecordSurvey":
        totals = self.respondents is not None or self.satisfied is not None
        if totals == bool(self.questions):
            raise ValueError("give either respondents and satisfied, or questions")
        if totals and (self.respondents is None or self.satisfied is None):
            raise ValueError("respondents and satisfied go together")
        return self


class FinishAssessment(Command, MayBeEnteredLate):
    finished_at: BusinessTime | None = None


class RecordIndexResult(Command):
    index: IndexKind
    year: int = Field(ge=2000, le=2100)
    agency: str = Field(pattern=TOKEN_PATTERN)
    score: float = Field(ge=0, le=1000)
    group: str | None = Field(default=None, pattern=TOKEN_PATTERN)
    published_on: date | None = Field(default=None, description="default: today")


COMMAND_ENDPOINTS: dict[str, type[Command]] = {
    "define-framework": DefineFramework,
    "open-assessment": OpenAssessment,
    "submit-self-scores": SubmitSelfScores,
    "record-appraisal": RecordAppraisal,
    "record-survey": RecordSurvey,
    "finish-assessment": FinishAssessment,
    "record-index-result": RecordIndexResult,
}


class FrameworkListQuery(BaseModel):
    index: IndexKind | None = None
    year: int | None = None


class AssessmentQuery(BaseModel):
    """Read-your-writes for auto criteria: positions of the other streams to wait for."""

    dossier_position: int | None = Field(default=None, ge=0)
    planning_position: int | None = Field(default=None, ge=0)


class AssessmentListQuery(BaseModel):
    agency: str | None = None
    framework: str | None = None


class RankingsQuery(BaseModel):
    index: IndexKind
    year: int
    group: str | None = None
    as_of: date | None = Field(default=None, description="results published by this day")


class AgencyIndexesQuery(BaseModel):
    """The agency's latest published year of each index, with its rank in its group."""

    agency: str
    as_of: date | None = None


QUERY_ENDPOINTS: dict[str, type[BaseModel] | None] = {
    "get-framework": None,
    "list-frameworks": FrameworkListQuery,
    "framework-templates": None,
    "get-assessment": AssessmentQuery,
    "list-assessments": AssessmentListQuery,
    "rankings": RankingsQuery,
    "agency-indexes": AgencyIndexesQuery,
}
