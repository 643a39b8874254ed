"""The report form's reads beyond the plain statistics: one agency by field of procedures."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from cchc.contracts.dossier_commands import DossierFieldStatsQuery
from cchc.contracts.messages import Reply, Request
from cchc.dossier.domain.errors import InvalidCommand
from cchc.dossier.field_statistics import dossier_stats_by_field
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.reads import caught_up, readable_agencies


class FormQueries:
    def __init__(self, engine: AsyncEngine, runner: ProjectionRunner) -> None:
        self.engine = engine
        self.runner = runner

    async def dossier_stats_by_field(
        self, request: Request[DossierFieldStatsQuery]
    ) -> Reply[dict[str, Any]]:
        """One agency's II.06a figures per field (lĩnh vực) of its procedures."""
        await caught_up(self.runner, request)
        query = request.body
        if query.from_ > query.to:
            raise InvalidCommand("'from' is after 'to'", field="from")
        readable_agencies(request.meta.principal, query.agency)
        async with self.engine.connect() as conn:
            by_field = await dossier_stats_by_field(conn, query.agency, query.from_, query.to)
        return Reply(ok=True, result={"agency": query.agency, "from": query.from_.isoformat(),
                                      "to": query.to.isoformat(), "by_field": by_field})
