"""Agencies and procedures: unique codes, procedures only for registered agencies."""

from datetime import UTC, date, datetime

import pytest

from cchc.contracts.dossier import AgencyGroup, OnlineLevel
from cchc.contracts.dossier_commands import PublishProcedure, RegisterAgency
from cchc.dossier.domain import reference
from cchc.dossier.domain.errors import Conflict, InvalidCommand

NOW = datetime(2022, 7, 15, tzinfo=UTC)
REGISTER = RegisterAgency(code="STTTT", name="Sở Thông tin và Truyền thông",
                          group=AgencyGroup.DEPARTMENT)
PUBLISH = PublishProcedure(code="1.004227.000.00.00.H26", name="Cấp phép", agency="STTTT",
                           field="Bưu chính", processing_days=3, online_level=OnlineLevel.FULL)


def test_an_agency_code_is_registered_once():
    agency = reference.evolve_agency(None, reference.register_agency(None, REGISTER))
    with pytest.raises(Conflict) as error:
        reference.register_agency(agency, REGISTER)
    assert error.value.field == "code"


def test_a_procedure_needs_a_registered_agency():
    with pytest.raises(InvalidCommand) as error:
        reference.publish_procedure(None, None, PUBLISH, NOW)
    assert error.value.field == "agency"


def test_a_procedure_code_is_published_once():
    agency = reference.evolve_agency(None, reference.register_agency(None, REGISTER))
    event = reference.publish_procedure(None, agency, PUBLISH, NOW)
    procedure = reference.evolve_procedure(None, event)
    assert procedure.processing_days == 3
    with pytest.raises(Conflict):
        reference.publish_procedure(procedure, agency, PUBLISH, NOW)


def test_a_procedure_is_published_on_its_decision_date_or_today_never_later():
    agency = reference.evolve_agency(None, reference.register_agency(None, REGISTER))
    assert reference.publish_procedure(None, agency, PUBLISH, NOW).published_on == date(2022, 7, 15)
    # 23:30 UTC on 14/7 is already 15/7 in Vietnam: "today" is the local date.
    late_evening = datetime(2022, 7, 14, 23, 30, tzinfo=UTC)
    dated = PUBLISH.model_copy(update={"published_on": date(2022, 7, 15)})
    assert reference.publish_procedure(None, agency, dated, late_evening).published_on == date(2022, 7, 15)
    earlier = PUBLISH.model_copy(update={"published_on": date(2021, 3, 1)})
    assert reference.publish_procedure(None, agency, earlier, NOW).published_on == date(2021, 3, 1)
    future = PUBLISH.model_copy(update={"published_on": date(2022, 7, 16)})
    with pytest.raises(InvalidCommand) as error:
        reference.publish_procedure(None, agency, future, NOW)
    assert error.value.field == "published_on"
