"""Decision 766's clock beside the report form's: given a dossier's history, both judgements.

July 2022 has no public holiday: Monday 11/7 is the receipt day of every dossier here, with
3 working days (the form's due date is Thursday 14/7).
"""

from datetime import date, datetime

import pytest

from cchc.contracts.dossier import Channel, DayKind, OnlineLevel, Outcome, Timeliness
from cchc.contracts.dossier_commands import (
    ReceiveDossier,
    RequestSupplement,
    ResolveDossier,
    SupplementDossier,
)
from cchc.dossier.domain import clock_766, model
from cchc.dossier.domain.calendar import LOCAL_TZ, WorkingCalendar, local_date
from cchc.dossier.domain.reference import Procedure
from cchc.dossier.views import DossierView

VN = WorkingCalendar()
PROCEDURE = Procedure(code="1.004227", name="Cấp phép", agency="STTTT", field="Bưu chính",
                      processing_days=3, online_level=OnlineLevel.FULL)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


def history(*steps: tuple[str, str], calendar: WorkingCalendar = VN) -> list:
    """Received Monday 11/7/2022 09:00, then ("request" | "supplement" | "resolve", time)."""
    events = [model.receive("d1", ReceiveDossier(
        procedure="1.004227", channel=Channel.DIRECT, received_at=at("2022-07-11T09:00"),
        applicant={"name": "Trần Thị Bình"}), PROCEDURE, calendar)]
    for action, when in steps:
        state = model.replay(events)
        match action:
            case "request":
                event = model.request_supplement(
                    state, RequestSupplement(requested_at=at(when), reason="thiếu giấy tờ"),
                    calendar)
            case "supplement":
                event = model.supplement(state, SupplementDossier(supplemented_at=at(when)),
                                         calendar)
            case "resolve":
                event = model.resolve(state, ResolveDossier(resolved_at=at(when),
                                                            outcome=Outcome.APPROVED))
        events.append(event)
    return events


def judged(*steps: tuple[str, str]) -> tuple[Timeliness, Timeliness]:
    resolution = history(*steps)[-1]
    return resolution.timeliness, resolution.timeliness_766


def test_without_a_supplementation_both_clocks_agree():
    assert judged(("resolve", "2022-07-13T10:00")) == (Timeliness.EARLY, Timeliness.EARLY)
    assert judged(("resolve", "2022-07-14T16:00")) == (Timeliness.ON_TIME, Timeliness.ON_TIME)
    assert judged(("resolve", "2022-07-15T08:00")) == (Timeliness.LATE, Timeliness.LATE)


def test_two_supplementation_requests_are_on_time_by_the_form_and_late_by_766():
    events = history(
        ("request", "2022-07-12T10:00"), ("supplement", "2022-07-13T09:00"),  # form due 18/7
        ("request", "2022-07-14T10:00"), ("supplement", "2022-07-15T09:00"),  # form due 20/7
        ("resolve", "2022-07-19T10:00"),
    )
    resolution = events[-1]
    assert local_date(resolution.due_at) == date(2022, 7, 20)
    assert resolution.timeliness == Timeliness.EARLY
    assert resolution.timeliness_766 == Timeliness.LATE
    assert events[-2].due_at_766 is None  # after a second request no 766 due date saves it
    dossier = model.replay(events)
    assert dossier.supplement_requests == 2 and dossier.timeliness_766 == Timeliness.LATE


def test_the_supplementation_period_is_subtracted_instead_of_restarting_the_time():
    # Working days used before the request: 12/7 and 13/7 (the request's day counts). The
    # citizen supplements on Thursday 14/7: one working day is left, so 766 is due Friday 15/7;
    # the form restarts the 3 days and is due Tuesday 19/7.
    steps = [("request", "2022-07-13T10:00"), ("supplement", "2022-07-14T09:00")]
    supplemented = history(*steps)[-1]
    assert local_date(supplemented.due_at) == date(2022, 7, 19)
    assert supplemented.due_at_766 == at("2022-07-15T17:00")
    assert judged(*steps, ("resolve", "2022-07-15T10:00")) == (Timeliness.EARLY,
                                                                Timeliness.ON_TIME)
    assert judged(*steps, ("resolve", "2022-07-18T10:00")) == (Timeliness.EARLY,
                                                                Timeliness.LATE)
    assert judged(*steps, ("resolve", "2022-07-19T10:00")) == (Timeliness.ON_TIME,
                                                                Timeliness.LATE)


def test_a_request_on_the_receipt_day_uses_no_time_so_both_clocks_give_the_same_due_date():
    supplemented = history(("request", "2022-07-11T15:00"), ("supplement", "2022-07-13T10:00"))[-1]
    assert supplemented.due_at == supplemented.due_at_766 == at("2022-07-18T17:00")


def test_the_citizens_days_off_do_not_count_and_a_declared_day_off_moves_the_766_due_date():
    steps = [("request", "2022-07-12T10:00"), ("supplement", "2022-07-15T18:00")]
    # Supplemented Friday after 17:00: the restart day is Monday 18/7; 2 days left -> 20/7.
    assert history(*steps)[-1].due_at_766 == at("2022-07-20T17:00")
    storm = WorkingCalendar({date(2022, 7, 19): DayKind.DAY_OFF})
    assert history(*steps, calendar=storm)[-1].due_at_766 == at("2022-07-21T17:00")


def test_a_request_after_the_due_date_keeps_the_original_766_due_date_and_is_irregular():
    # The form's clock restarts in full from the supplementation (due 21/7): the late dossier
    # looks early. By 766 the time was used up on 14/7; the request is also after the 3rd
    # working day after receipt (14/7), so it is flagged.
    events = history(("request", "2022-07-15T10:00"), ("supplement", "2022-07-18T09:00"),
                     ("resolve", "2022-07-19T10:00"))
    request, supplemented, resolution = events[1:]
    assert request.irregular is True
    assert supplemented.due_at_766 == at("2022-07-14T17:00")
    assert (resolution.timeliness, resolution.timeliness_766) == (Timeliness.EARLY,
                                                                  Timeliness.LATE)
    assert model.replay(events).irregular_supplement is True


@pytest.mark.parametrize(("requested", "irregular"), [
    ("2022-07-11T16:00", False),  # the receipt day
    ("2022-07-14T16:59", False),  # the 3rd working day after it
    ("2022-07-14T20:00", False),  # still dated the 3rd working day
    ("2022-07-15T08:00", True),  # the 4th
])
def test_a_supplementation_request_must_come_within_3_working_days_of_receipt(requested,
                                                                             irregular):
    assert clock_766.supplement_request_deadline(VN, date(2022, 7, 11)) == date(2022, 7, 14)
    request = history(("request", requested))[-1]
    assert request.irregular is irregular
    view = DossierView.from_state(model.replay(history(("request", requested))))
    assert view.irregular_supplement is irregular and view.supplement_requests == 1


def test_the_deadline_counts_working_days_only():
    # Received Thursday 28/4/2022: 29/4 is a working day, then 30/4, 1/5 (Sunday), 2/5 and
    # 3/5 are days off: the 3rd working day after receipt is Thursday 5/5.
    assert clock_766.supplement_request_deadline(VN, date(2022, 4, 28)) == date(2022, 5, 5)


def test_events_written_before_the_766_clock_read_as_the_forms_judgement():
    events = history(("request", "2022-07-13T10:00"), ("supplement", "2022-07-14T09:00"),
                     ("resolve", "2022-07-18T10:00"))
    received, request, supplemented, resolution = events
    old = [
        received,
        request.model_copy(update={"irregular": None}),
        supplemented.model_copy(update={"due_at_766": None}),
        resolution.model_copy(update={"timeliness_766": None}),
    ]
    dossier = model.replay(old)
    # Without the recorded 766 due date the restart of the form stands in for it.
    assert dossier.due_at_766 == supplemented.due_at
    assert dossier.timeliness_766 == resolution.timeliness == Timeliness.EARLY
    assert dossier.irregular_supplement is False


def test_the_view_shows_both_clocks():
    view = DossierView.from_state(model.replay(history(
        ("request", "2022-07-13T10:00"), ("supplement", "2022-07-14T09:00"),
        ("resolve", "2022-07-18T10:00"))))
    shown = view.model_dump(mode="json")
    assert shown["timeliness"] == "early" and shown["timeliness_766"] == "late"
    assert shown["due_at_766"] == "2022-07-15T17:00:00+07:00"
    assert shown["irregular_supplement"] is False
