"""Events of the scoring context: index frameworks, assessments and published index results.

Stream ``SCORING`` on ``cchc.scoring.>``. Aggregates: a framework (one per code, province-wide:
subject agency ``_province``), an assessment (one per framework and agency), an index result
(one per index, year and agency; a correction is a later event of the same aggregate).

Rates are fractions (0.9 is 90 %); ``procedures.published`` is a count. Points are decimals.
"""

from datetime import date
from enum import StrEnum

from cchc.contracts.events import Event
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

CONTEXT = "scoring"


class IndexKind(StrEnum):
    PAR = "PAR"  # Chỉ số cải cách hành chính
    SIPAS = "SIPAS"  # Chỉ số hài lòng về sự phục vụ hành chính
    SERVICE = "SERVICE"  # Bộ chỉ số phục vụ người dân, doanh nghiệp (Quyết định 766/QĐ-TTg)


class Method(StrEnum):
    MANUAL = "manual"  # self-score with evidence; the appraisal's points replace it
    SURVEY = "survey"  # satisfied / respondents × max points
    AUTO = "auto"  # computed from a metric of the dossier and planning events


class Band(BaseModel):
    """From ``min_rate`` on (inclusive) the criterion earns ``points``; the highest band wins."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_rate: float = Field(ge=0)
    points: float = Field(ge=0)


class Criterion(BaseModel):
    """One scored node of the tree (tiêu chí / tiêu chí thành phần) under an area (lĩnh vực).

    An ``auto`` criterion names a ``metric`` and either ``bands`` (step rule) or a ``threshold``
    (proportional rule of Decision 766: full points at or above it, else value × max / threshold).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=500)
    area: str = Field(min_length=1, max_length=64)
    max_points: float = Field(gt=0)
    method: Method
    metric: str | None = None
    bands: list[Band] = Field(default_factory=list)
    threshold: float | None = Field(default=None, gt=0)
    note: str = Field(default="", max_length=2000)


class SurveyCount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    respondents: int = Field(gt=0)
    satisfied: int = Field(ge=0)


class CriterionFinal(BaseModel):
    """A criterion's points as published: each layer, the final, and how an auto one was got."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    max_points: float
    self: float | None = None
    appraised: float | None = None
    survey: float | None = None
    auto: float | None = None
    final: float
    explanation: dict | None = None


class ScoringEvent(Event, abstract=True):
    context = CONTEXT


class FrameworkDefined(ScoringEvent):
    code: str
    index: IndexKind
    year: int
    group: str
    title: str
    max_score: float
    criteria: list[Criterion]
    template: bool = False
    note: str = ""
    defined_at: AwareDatetime


class AssessmentOpened(ScoringEvent):
    assessment_id: str
    framework: str
    index: IndexKind
    year: int
    group: str
    agency: str
    opened_at: AwareDatetime


class SelfScoresSubmitted(ScoringEvent):
    scores: dict[str, float]
    evidence: dict[str, list[str]]
    submitted_at: AwareDatetime


class AppraisalRecorded(ScoringEvent):
    """The appraisal council's points; they replace the self-scores of the criteria they name."""

    scores: dict[str, float]
    notes: str
    recorded_at: AwareDatetime


class SurveyRecorded(ScoringEvent):
    """A survey round's totals for one criterion (the latest round replaces an earlier one).

    With ``questions``, the criterion's rate is the mean of the questions' rates (SIPAS);
    ``respondents`` and ``satisfied`` are then their sums.
    """

    criterion: str
    respondents: int
    satisfied: int
    questions: list[SurveyCount] = Field(default_factory=list)
    recorded_at: AwareDatetime


class AssessmentFinished(ScoringEvent):
    """The published result: the frozen finals, auto values and their explanation included."""

    score: float
    max_score: float
    percent: float
    criteria: list[CriterionFinal]
    finished_at: AwareDatetime


class IndexResultRecorded(ScoringEvent):
    """A result the province already published (history, or an index computed elsewhere)."""

    index: IndexKind
    year: int
    agency: str
    score: float
    group: str | None = None  # the ranking group; by default the agency's registered group
    published_on: date
    recorded_at: AwareDatetime
