"""Frameworks and assessments: frozen state, decide (command -> event), evolve (event -> state).

An assessment holds the layers of each criterion's points: the agency's self-score with its
evidence, the appraisal council's points (which replace the self-scores they name), survey
counts; auto criteria are computed from metric values handed in as data. Finishing freezes the
finals, auto values and their explanations into the published result. Time comes in as data.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from cchc.contracts.scoring import (
    AppraisalRecorded,
    AssessmentFinished,
    AssessmentOpened,
    Criterion,
    FrameworkDefined,
    Method,
    ScoringEvent,
    SelfScoresSubmitted,
    SurveyRecorded,
)
from cchc.contracts.scoring_commands import (
    DefineFramework,
    OpenAssessment,
    RecordAppraisal,
    RecordSurvey,
    SubmitSelfScores,
)
from cchc.scoring.domain.errors import Conflict, InvalidCommand
from cchc.scoring.domain.frameworks import FieldProblem, framework_problems

S = TypeVar("S")


class InvalidFramework(InvalidCommand):
    """A framework that breaks its rules; ``problems`` lists every (field, message)."""

    title = "Invalid input"

    def __init__(self, problems: list[FieldProblem]) -> None:
        field_name, message = problems[0]
        detail = "; ".join(f"{f}: {m}" for f, m in problems)
        super().__init__(detail, field=field_name, errors=list(problems))
        self.problems = problems


@dataclass(frozen=True)
class Framework:
    definition: FrameworkDefined
    version: int

    @property
    def code(self) -> str:
        return self.definition.code

    def criterion(self, code: str) -> Criterion | None:
        return next((c for c in self.definition.criteria if c.code == code), None)


@dataclass(frozen=True)
class Assessment:
    id: str
    framework: str
    agency: str
    index: str
    year: int
    group: str
    opened_at: datetime
    version: int
    self_scores: Mapping[str, float] = field(default_factory=dict)
    evidence: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    appraised: Mapping[str, float] = field(default_factory=dict)
    appraisal_notes: tuple[str, ...] = ()
    surveys: Mapping[str, SurveyRecorded] = field(default_factory=dict)
    finished: AssessmentFinished | None = None


def replay(evolve: Callable[[S | None, ScoringEvent], S | None], events: Iterable[ScoringEvent]):
    state = None
    for event in events:
        state = evolve(state, event)
    return state


def business_time(event: ScoringEvent) -> datetime:
    for name in ("defined_at", "opened_at", "submitted_at", "recorded_at", "finished_at"):
        if (value := getattr(event, name, None)) is not None:
            return value
    raise ValueError(f"{type(event).__name__} carries no business time")


# --- frameworks -------------------------------------------------------------------------------


def define_framework(
    existing: Framework | None, command: DefineFramework, defined_at: datetime
) -> FrameworkDefined:
    if problems := framework_problems(command):
        raise InvalidFramework(problems)
    if existing is not None:
        # A framework is law in force for its year: a change is a new framework code.
        raise Conflict(f"framework {command.code} is already defined", field="code")
    return FrameworkDefined(
        code=command.code, index=command.index, year=command.year, group=command.group,
        title=command.title, max_score=command.max_score, criteria=command.criteria,
        template=command.template, note=command.note, defined_at=defined_at,
    )


def evolve_framework(state: Framework | None, event: ScoringEvent) -> Framework | None:
    if isinstance(event, FrameworkDefined):
        return Framework(event, 1)
    return replace(state, version=state.version + 1) if state else None


# --- assessments ------------------------------------------------------------------------------


def open_assessment(
    existing: Assessment | None, framework: Framework | None, assessment_id: str,
    command: OpenAssessment, opened_at: datetime,
) -> AssessmentOpened:
    if framework is None:
        raise InvalidCommand(f"no framework {command.framework}", field="framework")
    if existing is not None:
        raise Conflict(f"agency {command.agency} is already assessed under {command.framework}")
    d = framework.definition
    return AssessmentOpened(
        assessment_id=assessment_id, framework=d.code, index=d.index, year=d.year,
        group=d.group, agency=command.agency, opened_at=opened_at,
    )


def submit_self_scores(
    assessment: Assessment, framework: Framework, command: SubmitSelfScores, at: datetime
) -> SelfScoresSubmitted:
    _check_open(assessment)
    _check_points(framework, command.scores, Method.MANUAL, "self-scored")
    for code in command.evidence:
        if framework.criterion(code) is None:
            raise InvalidCommand(f"no criterion {code} in {framework.code}", field=f"evidence.{code}")
    return SelfScoresSubmitted(scores=command.scores, evidence=command.evidence, submitted_at=at)


def record_appraisal(
    assessment: Assessment, framework: Framework, command: RecordAppraisal, at: datetime
) -> AppraisalRecorded:
    _check_open(assessment)
    _check_points(framework, command.scores, Method.MANUAL, "appraised")
    return AppraisalRecorded(scores=command.scores, notes=command.notes, recorded_at=at)


def record_survey(
    assessment: Assessment, framework: Framework, command: RecordSurvey, at: datetime
) -> SurveyRecorded:
    _check_open(assessment)
    criterion = framework.criterion(command.criterion)
    if criterion is None or criterion.method is not Method.SURVEY:
        raise InvalidCommand(
            f"{command.criterion} is not a survey criterion of {framework.code}", field="criterion"
        )
    for i, question in enumerate(command.questions):
        if question.satisfied > question.respondents:
            raise InvalidCommand("more satisfied than respondents",
                                 field=f"questions.{i}.satisfied")
    respondents = command.respondents or sum(q.respondents for q in command.questions)
    satisfied = command.satisfied if command.satisfied is not None else sum(
        q.satisfied for q in command.questions
    )
    if satisfied > respondents:
        raise InvalidCommand("more satisfied than respondents", field="satisfied")
    return SurveyRecorded(
        criterion=command.criterion, respondents=respondents, satisfied=satisfied,
        questions=command.questions, recorded_at=at,
    )


def finish_assessment(
    assessment: Assessment, evaluation: AssessmentFinished
) -> AssessmentFinished:
    """``evaluation`` is the assessment evaluated now (see ``evaluation.evaluate``)."""
    _check_open(assessment)
    return evaluation


def evolve_assessment(state: Assessment | None, event: ScoringEvent) -> Assessment | None:
    if isinstance(event, AssessmentOpened):
        return Assessment(
            id=event.assessment_id, framework=event.framework, agency=event.agency,
            index=event.index.value, year=event.year, group=event.group,
            opened_at=event.opened_at, version=1,
        )
    if state is None:
        return None
    state = replace(state, version=state.version + 1)
    if isinstance(event, SelfScoresSubmitted):
        evidence = {code: tuple(urls) for code, urls in event.evidence.items()}
        return replace(state, self_scores={**state.self_scores, **event.scores},
                       evidence={**state.evidence, **evidence})
    if isinstance(event, AppraisalRecorded):
        notes = (*state.appraisal_notes, event.notes) if event.notes else state.appraisal_notes
        return replace(state, appraised={**state.appraised, **event.scores}, appraisal_notes=notes)
    if isinstance(event, SurveyRecorded):
        return replace(state, surveys={**state.surveys, event.criterion: event})
    if isinstance(event, AssessmentFinished):
        return replace(state, finished=event)
    return state


def _check_open(assessment: Assessment) -> None:
    if assessment.finished is not None:
        raise Conflict(f"assessment {assessment.id} is finished; its result is published")


def _check_points(
    framework: Framework, scores: Mapping[str, float], method: Method, what: str
) -> None:
    for code, points in scores.items():
        criterion = framework.criterion(code)
        at = f"scores.{code}"
        if criterion is None:
            raise InvalidCommand(f"no criterion {code} in {framework.code}", field=at)
        if criterion.method is not method:
            raise InvalidCommand(
                f"{code} is scored by {criterion.method.value}, not {what}", field=at
            )
        if not 0 <= points <= criterion.max_points:
            raise InvalidCommand(
                f"{points:g} is outside 0..{criterion.max_points:g} for {code}", field=at
            )
