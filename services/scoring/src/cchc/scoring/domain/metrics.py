"""The metrics an ``auto`` criterion may name, computed from dossier and planning events.

A rate is a fraction in [0, 1] (None while its denominator is 0: nothing to judge yet); a count
is a whole number. Per agency and year, except the procedure catalogue, which has no business
date of publication: its metrics are the agency's catalogue as it stands.
"""

from dataclasses import dataclass
from enum import StrEnum


class MetricKind(StrEnum):
    RATE = "rate"
    COUNT = "count"


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    kind: MetricKind
    meaning: str


METRICS: dict[str, MetricDefinition] = {
    m.name: m
    for m in (
        MetricDefinition(
            "plan.completion_rate", MetricKind.RATE,
            "tasks of the year's plan completed / (tasks − cancelled tasks)",
        ),
        MetricDefinition(
            "dossier.on_time_rate", MetricKind.RATE,
            "dossiers resolved in the year early or on time / dossiers resolved in the year",
        ),
        MetricDefinition(
            "dossier.on_time_rate_766", MetricKind.RATE,
            "dossiers resolved in the year early or on time by Decision 766's clock (the "
            "supplementation period subtracted; more than one supplementation request late) / "
            "dossiers resolved in the year",
        ),
        MetricDefinition(
            "dossier.online_rate", MetricKind.RATE,
            "dossiers received online in the year / dossiers received in the year",
        ),
        MetricDefinition(
            "procedures.published", MetricKind.COUNT, "procedures (TTHC) the agency published",
        ),
        MetricDefinition(
            "procedures.full_online_rate", MetricKind.RATE,
            "published procedures offered fully online (toàn trình) / published procedures",
        ),
        MetricDefinition(
            "procedures.online_rate", MetricKind.RATE,
            "published procedures offered online, fully or partly / published procedures",
        ),
    )
}

MetricValues = dict[str, float | None]


def is_rate(metric: str) -> bool:
    return METRICS[metric].kind is MetricKind.RATE


def rate(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None
