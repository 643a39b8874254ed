"""The read model, fed any prefix of a dossier's events in any batches, shows the aggregate's
state as of that prefix (hypothesis, real SQLite)."""

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cchc.contracts.dossier import Channel, OnlineLevel, Outcome
from cchc.contracts.dossier_commands import (
    ExtendDossier,
    ReceiveDossier,
    RequestSupplement,
    ResolveDossier,
    ReturnResult,
    SupplementDossier,
    WithdrawDossier,
)
from cchc.contracts.envelope import EventEnvelope
from cchc.dossier import tables
from cchc.dossier.domain import model
from cchc.dossier.domain.calendar import WorkingCalendar
from cchc.dossier.domain.errors import DomainError
from cchc.dossier.domain.reference import Procedure
from cchc.dossier.projections import DossierReadModel
from cchc.dossier.views import DossierView
from cchc.runtime.sqldb import create_engine

VN = WorkingCalendar()
START = datetime(2022, 1, 3, 1, 0, tzinfo=UTC)
DECIDERS = {
    "supplement-request": lambda s, t: model.request_supplement(
        s, RequestSupplement(requested_at=t, reason="r"), VN),
    "supplement": lambda s, t: model.supplement(s, SupplementDossier(supplemented_at=t), VN),
    "extend": lambda s, t: model.extend(
        s, ExtendDossier(extended_at=t, new_due_at=t + timedelta(days=9), reason="r")),
    "resolve": lambda s, t: model.resolve(s, ResolveDossier(resolved_at=t, outcome=Outcome.REJECTED)),
    "return": lambda s, t: model.return_result(s, ReturnResult(returned_at=t)),
    "withdraw": lambda s, t: model.withdraw(s, WithdrawDossier(withdrawn_at=t, reason="r")),
}
DOSSIER = st.tuples(
    st.integers(0, 300 * 24),  # hours after START: receipt
    st.integers(1, 15),  # processing days
    st.sampled_from(list(Channel)),
    st.lists(st.tuples(st.sampled_from(sorted(DECIDERS)), st.integers(0, 15 * 24)), max_size=8),
)


def decided_events(dossier_id: str, spec) -> list:
    offset, days, channel, steps = spec
    procedure = Procedure(code="P", name="P", agency="S1", field="f", processing_days=days,
                          online_level=OnlineLevel.PARTIAL)
    moment = START + timedelta(hours=offset)
    events = [model.receive(dossier_id, ReceiveDossier(
        procedure="P", channel=channel, received_at=moment, applicant={"name": "A"}), procedure, VN)]
    for action, hours in steps:
        moment += timedelta(hours=hours)
        try:
            events.append(DECIDERS[action](model.replay(events), moment))
        except DomainError:
            continue
    return events


def log_of(histories: dict[str, list]) -> list[tuple[EventEnvelope, object]]:
    """The dossiers' events interleaved as on the log: (envelope, event), positions from 1."""
    pending = {dossier_id: list(events) for dossier_id, events in histories.items()}
    log, versions = [], dict.fromkeys(histories, 0)
    while pending:
        for dossier_id in sorted(pending):
            event = pending[dossier_id].pop(0)
            versions[dossier_id] += 1
            log.append((EventEnvelope(
                event_id=f"{dossier_id}-{versions[dossier_id]}", type=event.event_type(),
                schema_version=1, context="dossier", agency="S1", aggregate_id=dossier_id,
                aggregate_version=versions[dossier_id], occurred_at=START, recorded_at=START,
                actor="t", correlation_id="c", payload=event.model_dump(mode="json"),
                position=len(log) + 1), event))
            if not pending[dossier_id]:
                del pending[dossier_id]
    return log


async def check_every_batch_boundary(log, cuts: list[int]) -> None:
    engine = create_engine("sqlite:///:memory:")
    read_model = DossierReadModel()
    async with engine.begin() as conn:
        await conn.run_sync(read_model.metadata.create_all)
    try:
        boundaries = sorted({c for c in cuts if 0 < c < len(log)} | {len(log)})
        done = 0
        for boundary in boundaries:
            async with engine.begin() as conn:  # one batch, one transaction, as the runner does
                await read_model.apply_batch(conn, [envelope for envelope, _ in log[done:boundary]])
            done = boundary
            prefix = log[:boundary]
            async with engine.connect() as conn:
                rows = {row.id: DossierView.from_row(row)
                        for row in await conn.execute(select(tables.dossiers))}
            expected = {}
            for dossier_id in {envelope.aggregate_id for envelope, _ in prefix}:
                as_of = model.replay(e for env, e in prefix if env.aggregate_id == dossier_id)
                expected[dossier_id] = DossierView.from_state(as_of)
            assert rows == expected, f"after position {boundary}"
    finally:
        await engine.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=st.lists(DOSSIER, min_size=1, max_size=5), cuts=st.lists(st.integers(0, 60), max_size=6))
def test_the_read_model_after_any_prefix_in_any_batches_is_the_as_of_state(specs, cuts):
    histories = {f"d{i}": decided_events(f"d{i}", spec) for i, spec in enumerate(specs)}
    asyncio.run(check_every_batch_boundary(log_of(histories), cuts))
