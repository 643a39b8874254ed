"""Agencies and procedures: unique codes, procedures only for registered agencies."""

from datetime import UTC, datetime

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
