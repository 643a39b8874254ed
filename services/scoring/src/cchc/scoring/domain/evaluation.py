"""An assessment's points now: each criterion's layers and final, the score and the percent.

Final of a criterion: manual, the appraised points where the council gave some, else the
self-score, else 0; survey, satisfied / respondents × max; auto, the rule applied to the metric's
current value. Score = sum of finals; percent = score / max_score × 100. A finished assessment
is not evaluated again: its published finals are what it is.
"""

from datetime import datetime

from cchc.contracts.scoring import AssessmentFinished, Criterion, CriterionFinal, Method
from cchc.scoring.domain.metrics import MetricValues
from cchc.scoring.domain.model import Assessment, Framework
from cchc.scoring.domain.rules import auto_points, rounded, survey_points, survey_rate


def criterion_final(
    criterion: Criterion, assessment: Assessment, metrics: MetricValues
) -> CriterionFinal:
    own = assessment.self_scores.get(criterion.code)
    appraised = assessment.appraised.get(criterion.code)
    base = {"code": criterion.code, "max_points": criterion.max_points, "self": own,
            "appraised": appraised}
    if criterion.method is Method.AUTO:
        points, explanation = auto_points(criterion, metrics.get(criterion.metric or ""))
        return CriterionFinal(**base, auto=points, final=points, explanation=explanation)
    if criterion.method is Method.SURVEY:
        survey = assessment.surveys.get(criterion.code)
        if survey is None:
            return CriterionFinal(**base, final=0.0)
        rate = survey_rate(survey.respondents, survey.satisfied, survey.questions)
        points = survey_points(criterion.max_points, rate)
        explanation = {"respondents": survey.respondents, "satisfied": survey.satisfied,
                       "rate": round(rate, 4), "points": points}
        return CriterionFinal(**base, survey=points, final=points, explanation=explanation)
    final = appraised if appraised is not None else own
    return CriterionFinal(**base, final=rounded(final or 0.0))


def evaluate(
    framework: Framework, assessment: Assessment, metrics: MetricValues, at: datetime
) -> AssessmentFinished:
    """The assessment as it would be published at ``at`` (the frozen result once finished)."""
    if assessment.finished is not None:
        return assessment.finished
    finals = [criterion_final(c, assessment, metrics) for c in framework.definition.criteria]
    score = rounded(sum(f.final for f in finals))
    max_score = framework.definition.max_score
    return AssessmentFinished(
        score=score, max_score=max_score, percent=rounded(score / max_score * 100),
        criteria=finals, finished_at=at,
    )
