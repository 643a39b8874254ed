"""The dossier aggregate: given past events, when a command, then one event (or an error)."""

from datetime import datetime

import pytest

from cchc.contracts.dossier import Channel, OnlineLevel, Outcome, Timeliness
from cchc.contracts.dossier_commands import (
    ExtendDossier,
    ReceiveDossier,
    RequestSupplement,
    ResolveDossier,
    ReturnResult,
    SupplementDossier,
    WithdrawDossier,
)
from cchc.dossier.domain import model
from cchc.dossier.domain.calendar import LOCAL_TZ, WorkingCalendar
from cchc.dossier.domain.errors import Conflict, InvalidCommand
from cchc.dossier.domain.model import DossierStatus
from cchc.dossier.domain.reference import Procedure

VN = WorkingCalendar()
PROCEDURE = Procedure(code="1.004227", name="Cấp phép", agency="STTTT", field="Bưu chính",
                      processing_days=3, online_level=OnlineLevel.FULL)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


def received(when: str = "2022-07-11T09:00"):
    command = ReceiveDossier(procedure="1.004227", channel=Channel.ONLINE, received_at=at(when),
                             applicant={"name": "Nguyễn Văn An"})
    return model.receive("d1", command, PROCEDURE, VN)


def given(*events):
    return model.replay(events)


def test_receipt_sets_the_statutory_due_date_and_the_appointment():
    event = received()
    dossier = given(event)
    assert event.due_at == at("2022-07-14T17:00") and event.agency == "STTTT"
    assert dossier.status == DossierStatus.IN_PROGRESS and dossier.appointment_at == event.due_at
    assert dossier.version == 1


def test_a_supplement_request_stops_the_clock_and_supplementation_restarts_it_in_full():
    stop = model.request_supplement(given(received()), RequestSupplement(
        requested_at=at("2022-07-12T10:00"), reason="thiếu giấy tờ"), VN)
    paused = given(received(), stop)
    assert paused.status == DossierStatus.AWAITING_SUPPLEMENT and paused.due_at is None
    restart = model.supplement(paused, SupplementDossier(supplemented_at=at("2022-07-15T18:00")), VN)
    assert restart.restart_day.isoformat() == "2022-07-18"
    assert restart.due_at == at("2022-07-21T17:00")
    assert given(received(), stop, restart).status == DossierStatus.IN_PROGRESS


def test_an_apology_moves_the_appointment_but_a_late_resolution_stays_late():
    apology = model.extend(given(received()), ExtendDossier(
        extended_at=at("2022-07-14T08:00"), new_due_at=at("2022-07-20T17:00"), reason="xác minh"))
    dossier = given(received(), apology)
    assert dossier.appointment_at == at("2022-07-20T17:00")
    assert dossier.due_at == at("2022-07-14T17:00")
    resolution = model.resolve(dossier, ResolveDossier(resolved_at=at("2022-07-19T10:00"),
                                                       outcome=Outcome.APPROVED))
    assert resolution.timeliness == Timeliness.LATE


@pytest.mark.parametrize(("when", "expected"), [
    ("2022-07-13T10:00", Timeliness.EARLY),
    ("2022-07-14T16:00", Timeliness.ON_TIME),
    ("2022-07-15T08:00", Timeliness.LATE),
])
def test_resolution_timeliness(when, expected):
    resolution = model.resolve(given(received()), ResolveDossier(resolved_at=at(when),
                                                                 outcome=Outcome.APPROVED))
    assert resolution.timeliness == expected


def test_a_resolution_before_the_receipt_is_invalid():
    with pytest.raises(InvalidCommand) as error:
        model.resolve(given(received()), ResolveDossier(resolved_at=at("2022-07-10T10:00"),
                                                        outcome=Outcome.APPROVED))
    assert error.value.field == "resolved_at" and error.value.kind == "invalid"


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_rejection_without_a_reason_is_invalid(reason):
    with pytest.raises(InvalidCommand) as error:
        model.resolve(given(received()), ResolveDossier(
            resolved_at=at("2022-07-12T10:00"), outcome=Outcome.REJECTED, reason=reason))
    assert error.value.field == "reason" and error.value.kind == "invalid"


def test_a_rejection_tells_its_reason_and_an_approval_needs_none():
    rejected = model.resolve(given(received()), ResolveDossier(
        resolved_at=at("2022-07-12T10:00"), outcome=Outcome.REJECTED,
        reason="  Thiếu giấy phép kinh doanh  "))
    assert rejected.reason == "Thiếu giấy phép kinh doanh"
    approved = model.resolve(given(received()), ResolveDossier(
        resolved_at=at("2022-07-12T10:00"), outcome=Outcome.APPROVED))
    assert approved.reason == "" and approved.outcome == Outcome.APPROVED


def test_a_withdrawn_dossier_cannot_be_resolved():
    withdrawal = model.withdraw(given(received()), WithdrawDossier(
        withdrawn_at=at("2022-07-12T10:00"), reason="công dân rút"))
    with pytest.raises(Conflict):
        model.resolve(given(received(), withdrawal), ResolveDossier(
            resolved_at=at("2022-07-13T10:00"), outcome=Outcome.APPROVED))


def test_only_a_resolved_dossier_has_a_result_to_return():
    with pytest.raises(Conflict):
        model.return_result(given(received()), ReturnResult(returned_at=at("2022-07-13T10:00")))
    resolution = model.resolve(given(received()), ResolveDossier(
        resolved_at=at("2022-07-13T10:00"), outcome=Outcome.APPROVED))
    returned = model.return_result(given(received(), resolution),
                                   ReturnResult(returned_at=at("2022-07-13T15:00")))
    assert given(received(), resolution, returned).status == DossierStatus.RETURNED


def test_an_appointment_cannot_move_earlier():
    with pytest.raises(InvalidCommand) as error:
        model.extend(given(received()), ExtendDossier(
            extended_at=at("2022-07-12T08:00"), new_due_at=at("2022-07-13T17:00"), reason="x"))
    assert error.value.field == "new_due_at"


def test_replay_equals_folding_evolve_one_event_at_a_time():
    events = [received()]
    events.append(model.request_supplement(given(*events), RequestSupplement(
        requested_at=at("2022-07-12T10:00"), reason="r"), VN))
    events.append(model.supplement(given(*events), SupplementDossier(
        supplemented_at=at("2022-07-13T10:00")), VN))
    state = None
    for event in events:
        state = model.evolve(state, event)
    assert state == model.replay(events) and state.version == 3 and state.supplement_requests == 1
