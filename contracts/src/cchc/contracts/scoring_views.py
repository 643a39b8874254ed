"""What the scoring service answers: index frameworks, assessments, results and rankings.

Points, scores and rates are floats (rates are fractions: 0.9 is 90 %), times ISO 8601 strings
with an offset, dates ISO calendar dates in Asia/Ho_Chi_Minh, as the service emits them. See
``cchc.contracts.pages`` for the rules.
"""

from typing import Any

from pydantic import Field

from cchc.contracts.pages import Answer, Page, omissible

TIME = "ISO 8601 time with an offset"
DATE = "ISO 8601 date (YYYY-MM-DD), Asia/Ho_Chi_Minh"

# --- frameworks -------------------------------------------------------------------------------


class BandView(Answer):
    min_rate: float = Field(description="from this rate on (inclusive)")
    points: float = Field(description="the criterion earns these points")


class CriterionView(Answer):
    """A criterion of a framework, as defined."""

    code: str = Field(description="criterion code, e.g. 1.2")
    title: str = Field(description="criterion title")
    area: str = Field(description="the area it is scored under")
    max_points: float = Field(description="its maximum points")
    method: str = Field(description="manual, auto or survey")
    metric: str | None = Field(description="an auto criterion's metric, e.g. plan.completion_rate")
    bands: list[BandView] = Field(description="an auto criterion's step rule")
    threshold: float | None = Field(description="an auto criterion's proportional rule")
    note: str = Field(description="a note on the criterion")


class FrameworkTemplate(Answer):
    """An item of ``framework-templates``: a ``POST /index-frameworks`` body to adjust."""

    code: str = Field(description="framework code, e.g. PAR-SO-2021")
    index: str = Field(description="PAR, SIPAS or SERVICE")
    year: int = Field(description="the assessed year")
    group: str = Field(description="ranking group, e.g. department")
    title: str = Field(description="framework title")
    max_score: float = Field(description="the framework's maximum score")
    criteria: list[CriterionView] = Field(description="its criteria")
    template: bool = Field(description="numbers to adjust before use")
    note: str = Field(description="what to adjust")


class FrameworkView(FrameworkTemplate):
    """``define-framework``, ``get-framework`` and an item of ``list-frameworks``."""

    defined_at: str = Field(description=f"when it was defined; {TIME}")
    version: int = Field(description="the framework's version")


FrameworkPage = Page[FrameworkView]
FrameworkTemplatePage = Page[FrameworkTemplate]

# --- assessments ------------------------------------------------------------------------------


class AssessmentFields(Answer):
    id: str = Field(description="assessment id")
    framework: str = Field(description="framework code")
    agency: str = Field(description="assessed agency code")
    index: str = Field(description="PAR, SIPAS or SERVICE")
    year: int = Field(description="the assessed year")
    group: str = Field(description="ranking group")
    status: str = Field(description="open or finished")
    opened_at: str = Field(description=f"when it was opened; {TIME}")
    version: int = Field(description="the assessment's version (its ETag)")


class AssessmentSummary(AssessmentFields):
    """Every assessment command's answer; the result's figures once finished."""

    score: float | None = omissible("the published score; only once finished")
    max_score: float | None = omissible("the framework's maximum score; only once finished")
    percent: float | None = omissible("score / max_score in percent; only once finished")


class AssessmentListItem(AssessmentFields):
    """An item of ``list-assessments``."""

    score: float | None = Field(description="the published score; None while open")


class AssessedCriterion(Answer):
    """A criterion's points in each layer, and the final."""

    code: str = Field(description="criterion code")
    title: str = Field(description="criterion title")
    area: str = Field(description="the area it is scored under")
    method: str = Field(description="manual, auto or survey")
    max_points: float = Field(description="its maximum points")
    self: float | None = Field(description="self-assessed points")
    appraised: float | None = Field(description="the appraisal council's points")
    survey: float | None = Field(description="points from the survey")
    auto: float | None = Field(description="points computed from a metric")
    final: float = Field(description="the points that count")
    explanation: dict[str, Any] | None = Field(description="how an auto criterion was computed")
    evidence: list[str] = Field(description="evidence URLs of the self-assessment")


class AssessmentView(AssessmentFields):
    """``get-assessment``: the evaluation now (open) or as published (finished)."""

    score: float = Field(description="sum of the finals")
    max_score: float = Field(description="the framework's maximum score")
    percent: float = Field(description="score / max_score in percent")
    finished_at: str | None = Field(description=f"when it was finished; {TIME}")
    appraisal_notes: list[str] = Field(description="the appraisal council's notes")
    criteria: list[AssessedCriterion] = Field(description="every criterion of the framework")


AssessmentPage = Page[AssessmentListItem]

# --- results and rankings ---------------------------------------------------------------------


class RecordedIndexResult(Answer):
    """``record-index-result``: the IndexResultRecorded payload and the result's id."""

    id: str = Field(description="index result id (index, year and agency)")
    index: str = Field(description="PAR, SIPAS or SERVICE")
    year: int = Field(description="the index's year")
    agency: str = Field(description="agency code")
    score: float = Field(description="the published score")
    group: str | None = Field(description="ranking group; None: the agency's registered group")
    published_on: str = Field(description=f"day it was published; {DATE}")
    recorded_at: str = Field(description=f"when it was recorded; {TIME}")


class RankedResult(Answer):
    """An item of ``rankings``."""

    agency: str = Field(description="agency code")
    score: float = Field(description="its latest published score")
    group: str = Field(description="its ranking group (unassigned when none is known)")
    source: str = Field(description="assessment or index-result")
    published_on: str = Field(description=f"day the result was published; {DATE}")
    rank: int = Field(description="competition rank: equal scores share a rank")


class Rankings(Answer):
    """``rankings``: one index and year, in a group or each group ranked on its own."""

    index: str = Field(description="PAR, SIPAS or SERVICE")
    year: int = Field(description="the index's year")
    group: str | None = Field(description="the group asked for; None: every group")
    as_of: str | None = Field(description=f"results published by this day; {DATE}")
    of: int = Field(description="number of ranked agencies")
    items: list[RankedResult] = Field(description="best first")


class AgencyIndex(Answer):
    """An agency's latest published year of one index, with its rank in its group."""

    index: str = Field(description="PAR, SIPAS or SERVICE")
    year: int = Field(description="the latest year published by as_of")
    score: float = Field(description="the agency's score")
    rank: int = Field(description="its rank in its group")
    of: int = Field(description="agencies ranked in its group")
    group: str = Field(description="its ranking group")


class AgencyIndexes(Answer):
    """``agency-indexes``."""

    agency: str = Field(description="agency code")
    agency_name: str | None = Field(description="its registered name; None when unknown")
    as_of: str = Field(description=f"results published by this day; {DATE}")
    items: list[AgencyIndex] = Field(description="one per index with a published result")
