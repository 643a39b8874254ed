"""Properties of the dossier clock and aggregate over random histories (hypothesis).

Random command sequences are decided one by one (a command the state forbids is refused and
writes nothing), so every history here is one the service could have written.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cchc.contracts.dossier import (
    Channel,
    DayKind,
    DossierReceived,
    DossierResolved,
    DossierSupplemented,
    OnlineLevel,
    Outcome,
    business_time,
)
from cchc.contracts.dossier_commands import (
    ExtendDossier,
    ReceiveDossier,
    RequestSupplement,
    ResolveDossier,
    ReturnResult,
    SupplementDossier,
    WithdrawDossier,
)
from cchc.contracts.events import decode_event
from cchc.dossier.domain import model
from cchc.dossier.domain.calendar import WorkingCalendar, local_date
from cchc.dossier.domain.errors import DomainError
from cchc.dossier.domain.reference import Procedure

START = datetime(2021, 12, 20, tzinfo=UTC)
WINDOW_DAYS = 500

# A province's declarations over the window: days off (storms, local holidays) and make-up days.
DECLARATIONS = st.dictionaries(
    st.integers(0, WINDOW_DAYS + 120).map(lambda n: START.date() + timedelta(days=n)),
    st.sampled_from(list(DayKind)),
    max_size=40,
)
MOMENTS = st.integers(0, WINDOW_DAYS * 24 * 60).map(lambda m: START + timedelta(minutes=m))
ACTIONS = ["supplement-request", "supplement", "extend", "resolve", "return", "withdraw"]
STEPS = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, 20 * 24 * 60)),  # minutes after the last
    max_size=10,
)


@dataclass
class Decided:
    events: list  # the dossier's events, in order
    states: list  # states[k] = the state the decider saw after the first k + 1 events
    calendar: WorkingCalendar


def decide_history(declared, received_minutes: int, days: int, channel, steps) -> Decided:
    calendar = WorkingCalendar(declared)
    procedure = Procedure(code="P", name="P", agency="S1", field="f", processing_days=days,
                          online_level=OnlineLevel.FULL)
    moment = START + timedelta(minutes=received_minutes)
    events = [model.receive("d1", ReceiveDossier(
        procedure="P", channel=channel, received_at=moment, applicant={"name": "Nguyễn Văn A"}),
        procedure, calendar)]
    states = [model.evolve(None, events[0])]
    for action, delay in steps:
        moment += timedelta(minutes=delay)
        state = states[-1]
        try:
            event = _decide(action, state, moment, calendar)
        except DomainError:
            continue  # refused: the state forbids it, nothing is written
        events.append(event)
        states.append(model.evolve(state, event))
    return Decided(events, states, calendar)


def _decide(action: str, state, moment: datetime, calendar: WorkingCalendar):
    if action == "supplement-request":
        return model.request_supplement(state, RequestSupplement(requested_at=moment, reason="r"),
                                        calendar)
    if action == "supplement":
        return model.supplement(state, SupplementDossier(supplemented_at=moment), calendar)
    if action == "extend":
        return model.extend(state, ExtendDossier(
            extended_at=moment, new_due_at=moment + timedelta(days=7), reason="xin lỗi"))
    if action == "resolve":
        return model.resolve(state, ResolveDossier(resolved_at=moment, outcome=Outcome.APPROVED))
    if action == "return":
        return model.return_result(state, ReturnResult(returned_at=moment))
    return model.withdraw(state, WithdrawDossier(withdrawn_at=moment, reason="r"))


HISTORIES = st.builds(
    decide_history,
    declared=DECLARATIONS,
    received_minutes=st.integers(0, WINDOW_DAYS * 24 * 60),
    days=st.integers(1, 25),
    channel=st.sampled_from(list(Channel)),
    steps=STEPS,
)


@settings(max_examples=150, deadline=None)
@given(declared=DECLARATIONS, moment=MOMENTS, days=st.integers(1, 30))
def test_a_due_date_never_falls_on_a_day_off_even_with_the_provinces_declarations(
    declared, moment, days
):
    calendar = WorkingCalendar(declared)
    receipt_day = calendar.receipt_day(moment)
    due_day = local_date(calendar.due_at(receipt_day, days))
    assert calendar.is_working_day(receipt_day) and calendar.is_working_day(due_day)
    assert declared.get(due_day) != DayKind.DAY_OFF  # a declaration always wins
    counted = [receipt_day + timedelta(days=i) for i in range(1, (due_day - receipt_day).days + 1)]
    assert sum(map(calendar.is_working_day, counted)) == days  # the receipt day is not counted


@settings(max_examples=150, deadline=None)
@given(history=HISTORIES)
def test_every_due_date_a_dossier_ever_gets_is_a_working_day_after_its_clock_started(history):
    calendar = history.calendar
    for event in history.events:
        if isinstance(event, DossierReceived):
            started, due = event.receipt_day, event.due_at
        elif isinstance(event, DossierSupplemented):
            started, due = event.restart_day, event.due_at
        elif isinstance(event, DossierResolved):
            assert event.due_at in {s.due_at for s in history.states}  # judged by a real due date
            continue
        else:
            continue
        assert calendar.is_working_day(local_date(due)) and local_date(due) > started
        assert (due.hour, due.minute) == (17, 0)


@settings(max_examples=150, deadline=None)
@given(history=HISTORIES)
def test_evolve_is_deterministic(history):
    """Same events, same state: twice over, from the JSON on the log, and whatever came after."""
    events = history.events
    assert model.replay(events) == model.replay(events) == history.states[-1]
    from_the_log = [
        decode_event(e.event_type(), e.schema_version, e.model_dump(mode="json")) for e in events
    ]
    assert model.replay(from_the_log) == history.states[-1]
    # Evolving never changes the state it started from (frozen states, no shared mutables).
    for k, state in enumerate(history.states):
        assert state == model.replay(events[: k + 1])
        assert model.evolve(state, events[k]) == model.evolve(state, events[k])


@settings(max_examples=150, deadline=None)
@given(history=HISTORIES, moment=MOMENTS)
def test_replaying_a_prefix_gives_the_state_as_of_that_moment(history, moment):
    events, states = history.events, history.states
    times = [business_time(e) for e in events]
    assert times == sorted(times)  # a history never goes back in business time
    for k in range(1, len(events) + 1):
        prefix = model.replay(events[:k])
        assert prefix == states[k - 1] and prefix.version == k
        assert prefix.last_event_at == times[k - 1]
    # As of any moment: the events that had happened by then, which is always a prefix.
    known = [e for e, t in zip(events, times, strict=True) if t <= moment]
    as_of = model.replay(known)
    if not known:
        assert as_of is None and moment < events[0].received_at
        return
    assert as_of == states[len(known) - 1]
    assert as_of.last_event_at <= moment
    later = [t for t in times if t > moment]
    assert not later or as_of.version < len(events)


def test_the_strategies_reach_every_status():
    """Guard against a generator that only ever builds dossiers in progress."""
    seen = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(history=HISTORIES)
    def collect(history):
        seen.add(history.states[-1].status)

    collect()
    assert seen == set(model.DossierStatus)


def test_a_declared_day_off_moves_the_due_date():
    receipt = datetime(2022, 7, 11, 2, 0, tzinfo=UTC)  # Monday 09:00 in Hanoi
    plain = WorkingCalendar().due_at(WorkingCalendar().receipt_day(receipt), 3)
    storm = WorkingCalendar({date(2022, 7, 13): DayKind.DAY_OFF})
    assert local_date(plain) == date(2022, 7, 14)
    assert local_date(storm.due_at(storm.receipt_day(receipt), 3)) == date(2022, 7, 15)


# --- Decision 766's clock beside the form's ---------------------------------------------------

BETTER_FIRST = ["early", "on_time", "late"]


def _nth_counted_day(calendar: WorkingCalendar, receipt_day: date, days: int,
                     stopped_after: date, restarted_on: date) -> date:
    """The definition, by brute force: the days-th working day after receipt, not counting
    the working days after the request's day up to and including the restart day."""
    day, counted = receipt_day, 0
    while counted < days:
        day += timedelta(days=1)
        if calendar.is_working_day(day) and not stopped_after < day <= restarted_on:
            counted += 1
    return day


@settings(max_examples=150, deadline=None)
@given(history=HISTORIES)
def test_the_766_due_date_counts_the_working_days_outside_the_supplementation_period(history):
    events, calendar = history.events, history.calendar
    received = events[0]
    requests = 0
    for k, event in enumerate(events):
        if type(event).__name__ == "SupplementRequested":
            requests += 1
            requested_on = local_date(event.requested_at)
        if isinstance(event, DossierSupplemented):
            if requests > 1:
                assert event.due_at_766 is None
                continue
            expected = _nth_counted_day(calendar, received.receipt_day,
                                        received.processing_days, requested_on,
                                        event.restart_day)
            assert local_date(event.due_at_766) == expected
            assert event.due_at_766 <= event.due_at  # never more time than the form's restart


@settings(max_examples=150, deadline=None)
@given(history=HISTORIES)
def test_766_never_judges_a_dossier_better_than_the_form(history):
    final = history.states[-1]
    if final.timeliness is None:
        return
    form, by_766 = final.timeliness.value, final.timeliness_766.value
    if final.supplement_requests == 0:
        assert by_766 == form
    elif final.supplement_requests > 1:
        assert by_766 == "late"
    else:
        assert BETTER_FIRST.index(by_766) >= BETTER_FIRST.index(form)
