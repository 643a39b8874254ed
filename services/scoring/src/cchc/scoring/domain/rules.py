"""How a criterion's points follow from a metric value, each with its explanation.

- Bands (step rule): the highest band whose ``min_rate`` is at or below the value; below every
  band, 0. Example (plan completion): [{0, 0}, {0.7, 1}, {0.9, 2}].
- Proportional rule (Decision 766): at or above ``threshold`` the full points, below it
  value × max / threshold.
- Survey: satisfied / respondents × max (per-question counts: the mean of the questions' rates).
Points are rounded to two decimals, as the published tables are.
"""

from typing import Any

from cchc.contracts.scoring import Band, Criterion, SurveyCount


def rounded(points: float) -> float:
    return round(points + 0.0, 2)


def band_points(bands: list[Band], value: float) -> tuple[float, Band | None]:
    reached = [band for band in bands if band.min_rate <= value]
    if not reached:
        return 0.0, None
    best = max(reached, key=lambda band: band.min_rate)
    return best.points, best


def proportional_points(max_points: float, threshold: float, value: float) -> float:
    if value >= threshold:
        return max_points
    return rounded(value * max_points / threshold)


def auto_points(criterion: Criterion, value: float | None) -> tuple[float, dict[str, Any]]:
    """The points of an auto criterion for a metric value, and why."""
    explanation: dict[str, Any] = {"metric": criterion.metric, "value": value}
    if value is None:
        # No dossier resolved, no task planned: nothing to judge, so nothing earned.
        return 0.0, {**explanation, "rule": "no data", "points": 0.0}
    if criterion.threshold is not None:
        points = proportional_points(criterion.max_points, criterion.threshold, value)
        rule = (
            f"≥ {criterion.threshold:g}: full points" if value >= criterion.threshold
            else f"{value:g} × {criterion.max_points:g} / {criterion.threshold:g}"
        )
        return points, {**explanation, "rule": rule, "threshold": criterion.threshold,
                        "points": points}
    points, band = band_points(criterion.bands, value)
    band_view = band.model_dump() if band else None
    rule = f"band from {band.min_rate:g}" if band else "below every band"
    return rounded(points), {**explanation, "band": band_view, "rule": rule,
                             "points": rounded(points)}


def survey_rate(respondents: int, satisfied: int, questions: list[SurveyCount]) -> float:
    if questions:
        return sum(q.satisfied / q.respondents for q in questions) / len(questions)
    return satisfied / respondents


def survey_points(max_points: float, rate: float) -> float:
    return rounded(rate * max_points)
