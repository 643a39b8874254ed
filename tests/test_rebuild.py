"""A read model dropped and rebuilt from the log answers exactly as the live one."""

import nats

from cchc.contracts.dossier_commands import DossierStatsQuery
from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.dossier.projections import DossierReadModel
from cchc.dossier.queries import DossierQueries
from cchc.runtime.eventstore import EventStore
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine
from api_steps import act, agency_with_procedure, receive

ADMIN = CommandMeta(principal=Principal(sub="t", role=Role.ADMIN), correlation_id="t")


async def test_rebuilt_statistics_equal_the_live_ones(stack_api, tmp_path):
    admin = stack_api.admin
    _, procedure = await agency_with_procedure(admin, processing_days=2)
    for day in range(4, 9):
        dossier = (await receive(admin, procedure, f"2022-07-0{day}T09:00:00+07:00")).json()
        if day % 2:
            await act(admin, dossier["id"], "resolution",
                      {"resolved_at": f"2022-07-{day + 3:02d}T09:00:00+07:00", "outcome": "approved"})
        elif day == 6:
            await act(admin, dossier["id"], "withdrawal",
                      {"withdrawn_at": "2022-07-07T09:00:00+07:00", "reason": "công dân rút"})
    stack = stack_api.stack
    nc = await nats.connect(stack.nats_url_of("ops"))
    head = await EventStore(nc).last_position("dossier")
    params = {"from": "2022-07-01", "to": "2022-07-31"}
    live = (await admin.get("/api/v1/dossier-stats", params=params,
                            headers={"X-Min-Position": str(head)})).json()

    engine = create_engine(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    runner = ProjectionRunner(nc, engine, DossierReadModel(), consumer_name="rebuild-test")
    await runner.drop()
    assert await runner.catch_up() >= head
    rebuilt = await DossierQueries(engine, runner).dossier_stats(
        Request[DossierStatsQuery](meta=ADMIN, body={"from": params["from"], "to": params["to"]})
    )
    assert rebuilt.result == live
    assert live["received"]["total"] >= 5
    await engine.dispose()
    await nc.close()
