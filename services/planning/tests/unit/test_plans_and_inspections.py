"""Plans and inspections: given past events, when a command, then the event."""

from datetime import UTC, date, datetime

import pytest

from cchc.contracts.planning import Area, FindingKind, Remediation
from cchc.contracts.planning_commands import IssuePlan, OpenInspection, RecordFinding
from cchc.planning import aggregates
from cchc.planning.domain import model
from cchc.planning.domain.errors import Conflict, InvalidCommand

NOW = datetime(2022, 7, 15, 3, 0, tzinfo=UTC)


def test_one_plan_per_agency_and_year():
    command = IssuePlan(agency="STTTT", year=2022, title="Kế hoạch CCHC năm 2022")
    plan_id = aggregates.plan_id("STTTT", 2022)
    issued = model.issue_plan(None, plan_id, command, NOW)
    existing = model.replay(model.evolve_plan, [issued])
    with pytest.raises(Conflict):
        model.issue_plan(existing, plan_id, command, NOW)
    assert aggregates.plan_id("STTTT", 2023) != plan_id


def inspection() -> model.Inspection:
    opened = model.open_inspection(
        None, "i1",
        OpenInspection(agency="STTTT", inspected_on=date(2022, 7, 15), team_lead="Sở Nội vụ", scope="CCHC 2022"),
    )
    return model.replay(model.evolve_inspection, [opened])


def test_a_finding_carries_the_inspection_agency_and_day():
    command = RecordFinding(
        kind=FindingKind.SHORTCOMING, text="Chưa số hoá kết quả giải quyết TTHC",
        remediation=Remediation(title="Số hoá kết quả", area=Area.DIGITAL_GOVERNMENT, due_date=date(2022, 12, 31)),
    )
    event = model.record_finding(inspection(), "f1", command, NOW)
    assert (event.agency, event.inspected_on, event.inspection_id) == ("STTTT", date(2022, 7, 15), "i1")
    after = model.replay(model.evolve_inspection, [*_opened(), event])
    assert after.version == 2 and after.findings[0].remediation is not None


def _opened():  # type: ignore[no-untyped-def]
    return [
        model.open_inspection(
            None, "i1",
            OpenInspection(agency="STTTT", inspected_on=date(2022, 7, 15), team_lead="Sở Nội vụ", scope="CCHC 2022"),
        )
    ]


def test_only_a_shortcoming_carries_a_remediation():
    command = RecordFinding(
        kind=FindingKind.ACHIEVEMENT, text="Tốt",
        remediation=Remediation(title="x", area=Area.DIRECTION, due_date=date(2022, 12, 31)),
    )
    with pytest.raises(InvalidCommand) as refused:
        model.record_finding(inspection(), "f1", command, NOW)
    assert refused.value.field == "remediation"


def test_the_remediation_task_id_follows_from_the_finding_alone():
    assert aggregates.remediation_task_id("f1") == aggregates.remediation_task_id("f1")
    assert aggregates.remediation_task_id("f1") != aggregates.remediation_task_id("f2")


def test_an_inspection_is_dated_on_its_local_day():
    event = _opened()[0]
    assert model.business_time(event).isoformat() == "2022-07-15T00:00:00+07:00"
