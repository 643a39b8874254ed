"""Aggregate ids of the scoring context.

A framework's id follows from its code, an assessment's from its framework and agency, an index
result's from its index, year and agency: a second one meets the first one's history (409, or
for index results a correction appended to it) instead of creating a twin.
"""

from cchc.contracts.subjects import PROVINCE
from cchc.runtime.ids import derived_id

CONTEXT = "scoring"
# Frameworks are province-wide rules: their events carry the reserved agency token.
FRAMEWORK_AGENCY = PROVINCE


def framework_id(code: str) -> str:
    return derived_id("framework", code)


def assessment_id(framework: str, agency: str) -> str:
    return derived_id("assessment", framework, agency)


def index_result_id(index: str, year: int, agency: str) -> str:
    return derived_id("index-result", index, str(year), agency)
