"""What makes an index framework usable, beyond its field types.

The same checks serve ``POST /index-frameworks`` and the framework files a province starts
from, so a template that loads is a framework the API would accept. Every broken rule is
reported with the field it is about (``criteria.3.bands.1.points``), all at once.
"""

from cchc.contracts.scoring import Criterion, Method
from cchc.contracts.scoring_commands import DefineFramework
from cchc.scoring.domain.metrics import METRICS, is_rate

FieldProblem = tuple[str, str]

# Floating sums of decimal points (0.1 + 0.2) must not fail a framework that adds up exactly.
EPSILON = 1e-9


def framework_problems(framework: DefineFramework) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    total = sum(c.max_points for c in framework.criteria)
    if total > framework.max_score + EPSILON:
        problems.append((
            "criteria",
            f"the criteria's max_points add up to {total:g}, over max_score {framework.max_score:g}",
        ))
    seen: set[str] = set()
    for i, criterion in enumerate(framework.criteria):
        if criterion.code in seen:
            problems.append((f"criteria.{i}.code", f"criterion code {criterion.code} repeats"))
        seen.add(criterion.code)
        problems.extend(criterion_problems(criterion, f"criteria.{i}"))
    return problems


def criterion_problems(criterion: Criterion, at: str) -> list[FieldProblem]:
    if criterion.method is not Method.AUTO:
        if criterion.metric is not None or criterion.bands or criterion.threshold is not None:
            return [(f"{at}.metric",
                     (f"only an auto criterion has a metric, bands or threshold "
                     f"({criterion.code} is {criterion.method.value})"))]
        return []
    if criterion.metric is None:
        return [(f"{at}.metric", f"auto criterion {criterion.code} names no metric")]
    if criterion.metric not in METRICS:
        known = ", ".join(sorted(METRICS))
        return [(f"{at}.metric", f"unknown metric {criterion.metric!r}; known: {known}")]
    return _rule_problems(criterion, at)


def _rule_problems(criterion: Criterion, at: str) -> list[FieldProblem]:
    if criterion.bands and criterion.threshold is not None:
        return [(f"{at}.threshold", "give bands or a threshold, not both")]
    if not criterion.bands and criterion.threshold is None:
        return [(f"{at}.bands", f"auto criterion {criterion.code} has neither bands nor threshold")]
    problems: list[FieldProblem] = []
    rate = is_rate(criterion.metric or "")
    if criterion.threshold is not None and rate and criterion.threshold > 1:
        problems.append((f"{at}.threshold", "a rate's threshold is a fraction (0.8 for 80 %)"))
    seen: set[float] = set()
    for j, band in enumerate(criterion.bands):
        if band.points > criterion.max_points + EPSILON:
            problems.append((
                f"{at}.bands.{j}.points",
                (f"{band.points:g} points is over the criterion's max_points "
                f"{criterion.max_points:g}"),
            ))
        if rate and band.min_rate > 1:
            problems.append((f"{at}.bands.{j}.min_rate",
                             "a rate's band starts at a fraction (0.9 for 90 %)"))
        if band.min_rate in seen:
            problems.append((f"{at}.bands.{j}.min_rate", f"two bands start at {band.min_rate:g}"))
        seen.add(band.min_rate)
    return problems
