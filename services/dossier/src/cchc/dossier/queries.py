"""Reads of the dossier read model, scoped to what the caller may see.

Each handler waits, when asked (``min_position``), until the projection has applied that log
position, so a client reads its own writes.
"""

import unicodedata
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc.contracts.dossier_commands import (
    DossierListQuery,
    DossierStatsQuery,
    PageQuery,
    ProcedureListQuery,
    ProceduresPublishedQuery,
    PublicBoardQuery,
)
from cchc.contracts.localtime import local_date
from cchc.contracts.messages import NoBody, Reply, Request
from cchc.dossier import statistics, tables
from cchc.dossier.domain.errors import Forbidden, InvalidCommand, NotFound
from cchc.dossier.domain.receipt_codes import is_receipt_code
from cchc.dossier.public_views import public_dossier
from cchc.dossier.views import DossierView
from cchc.runtime.pagination import decode_typed, encode_cursor
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.reads import caught_up, readable_agencies


class DossierQueries:
    def __init__(self, engine: AsyncEngine, runner: ProjectionRunner) -> None:
        self.engine = engine
        self.runner = runner

    async def get_dossier(self, request: Request[NoBody]) -> Reply[dict[str, Any]]:
        """One dossier with its applicant and history."""
        await caught_up(self.runner, request)
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(tables.dossiers).where(_named(request.target)))).first()
            if row is None:
                raise NotFound(f"no dossier {request.target}")
            if not request.meta.principal.may_read(row.agency):
                raise Forbidden(f"dossier belongs to agency {row.agency}")
            events = await conn.execute(
                select(tables.history)
                .where(tables.history.c.dossier_id == row.id)
                .order_by(tables.history.c.position)
            )
            history = [
                {
                    "type": e.type, "version": e.version, "position": e.position,
                    "occurred_at": e.occurred_at.isoformat(), "recorded_at": e.recorded_at.isoformat(),
                    "actor": e.actor, "payload": e.payload,
                    **({"late_entry": e.late_entry} if e.late_entry else {}),
                }
                for e in events
            ]
        view = DossierView.from_row(row).with_late_entry(row)
        return Reply(ok=True, result={**view, "applicant": row.applicant, "history": history})

    async def list_dossiers(self, request: Request[DossierListQuery]) -> Reply[dict[str, Any]]:
        """A page of dossiers, newest first, filtered and searched."""
        await caught_up(self.runner, request)
        query = request.body
        agencies = readable_agencies(request.meta.principal, query.agency)
        d = tables.dossiers.c
        conditions = []
        if agencies is not None:
            conditions.append(d.agency.in_(agencies))
        if query.status:
            conditions.append(d.status == query.status)
        if query.received_from:
            conditions.append(d.received_on >= query.received_from)
        if query.received_to:
            conditions.append(d.received_on <= query.received_to)
        after = None
        if query.cursor:
            after = decode_typed(query.cursor, datetime, str)
        needle = folded(query.q.strip()) if query.q else ""
        if query.q and is_receipt_code(query.q.strip()):  # one indexed row, not a scan
            conditions.append(d.receipt_code == query.q.strip())
            needle = ""
        async with self.engine.connect() as conn:
            if needle:
                rows, after = await _search(conn, conditions, after, needle, query.limit)
            else:
                rows = (await conn.execute(_newest_first(conditions, after, query.limit + 1))).all()
                after = None
        page = rows[: query.limit]
        if len(rows) > query.limit:
            after = (page[-1].received_at, page[-1].id)
        next_cursor = encode_cursor([after[0].isoformat(), after[1]]) if after else None
        items = [{**DossierView.from_row(r).with_late_entry(r), "applicant": r.applicant}
                 for r in page]
        return Reply(ok=True, result={"items": items, "next_cursor": next_cursor})

    async def dossier_stats(self, request: Request[DossierStatsQuery]) -> Reply[dict[str, Any]]:
        """The report form's figures (II.06a) of a period, by agency."""
        await caught_up(self.runner, request)
        query = request.body
        if query.from_ > query.to:
            raise InvalidCommand("'from' is after 'to'", field="from")
        agencies = readable_agencies(request.meta.principal, query.agency)
        async with self.engine.connect() as conn:
            per_agency = await statistics.dossier_stats(conn, agencies, query.from_, query.to)
        period = {"from": query.from_.isoformat(), "to": query.to.isoformat()}
        if query.agency:
            stats = per_agency.get(query.agency) or statistics.empty_stats()
            return Reply(ok=True, result={"agency": query.agency, **period, **stats})
        total = statistics.summed(list(per_agency.values()))
        by_agency = {code: per_agency[code] for code in sorted(per_agency)}
        return Reply(ok=True, result={"agency": None, **period, **total, "by_agency": by_agency})

    async def receipt_slip(self, request: Request[NoBody]) -> Reply[dict[str, Any]]:
        """What a dossier's receipt slip prints: the dossier and the names of its agency and
        procedure."""
        await caught_up(self.runner, request)
        a, p = tables.agencies.c, tables.procedures.c
        query = (
            select(tables.dossiers, a.name.label("agency_name"), p.name.label("procedure_name"),
                   p.field)
            .join(tables.agencies, a.code == tables.dossiers.c.agency)
            .join(tables.procedures, p.code == tables.dossiers.c.procedure)
            .where(_named(request.target))
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"no dossier {request.target}")
        if not request.meta.principal.may_read(row.agency):
            raise Forbidden(f"dossier belongs to agency {row.agency}")
        return Reply(ok=True, result={
            **DossierView.from_row(row).with_late_entry(row), "applicant": row.applicant,
            "agency_name": row.agency_name, "procedure_name": row.procedure_name,
            "field": row.field})

    async def public_dossier(self, request: Request[NoBody]) -> Reply[dict[str, Any]]:
        """What anyone holding its receipt code may see of a dossier (public_views)."""
        await caught_up(self.runner, request)
        code = request.target or ""
        if not is_receipt_code(code):
            raise NotFound(f"no dossier with receipt code {code}")
        a, p = tables.agencies.c, tables.procedures.c
        query = (
            select(tables.dossiers, a.name.label("agency_name"), p.name.label("procedure_name"))
            .join(tables.agencies, a.code == tables.dossiers.c.agency)
            .join(tables.procedures, p.code == tables.dossiers.c.procedure)
            .where(tables.dossiers.c.receipt_code == code)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFound(f"no dossier with receipt code {code}")
        return Reply(ok=True, result=public_dossier(row))

    async def public_board(self, request: Request[PublicBoardQuery]) -> Reply[dict[str, Any]]:
        """Each registered agency's figures of a year, up to today (the transparency board)."""
        await caught_up(self.runner, request)
        year = request.body.year
        today = local_date(datetime.now(UTC))
        if year > today.year:
            raise InvalidCommand(f"{year} has not begun", field="year")
        end = min(today, date(year, 12, 31))
        async with self.engine.connect() as conn:
            per_agency = await statistics.dossier_stats(conn, None, date(year, 1, 1), end)
            agencies = (await conn.execute(
                select(tables.agencies).order_by(tables.agencies.c.code))).all()
        items = []
        for agency in agencies:
            stats = per_agency.get(agency.code) or statistics.empty_stats()
            items.append({
                "agency": agency.code, "agency_name": agency.name, "group": agency.group,
                "received": stats["received"]["total"], "resolved": stats["resolved"]["total"],
                "resolved_on_time": stats["resolved"]["early"] + stats["resolved"]["on_time"],
                "overdue": stats["in_progress"]["overdue"], "on_time_rate": stats["on_time_rate"],
            })
        return Reply(ok=True, result={"year": year, "as_of": end.isoformat(), "items": items})

    async def dossier_id_of(self, receipt_code: str) -> str | None:
        """The id of the dossier a receipt code names (commands may name a dossier by it)."""
        d = tables.dossiers.c
        async with self.engine.connect() as conn:
            return (await conn.execute(
                select(d.id).where(d.receipt_code == receipt_code))).scalar_one_or_none()

    async def list_agencies(self, request: Request[PageQuery]) -> Reply[dict[str, Any]]:
        """The registered agencies, by code."""
        await caught_up(self.runner, request)
        return await self._page(request.body, tables.agencies, tables.agencies.c.code, None)

    async def list_procedures(self, request: Request[ProcedureListQuery]) -> Reply[dict[str, Any]]:
        """The procedure catalogue, by code."""
        await caught_up(self.runner, request)
        agency = request.body.agency
        condition = tables.procedures.c.agency == agency if agency else None
        return await self._page(request.body, tables.procedures, tables.procedures.c.code, condition)

    async def procedures_published(
        self, request: Request[ProceduresPublishedQuery]
    ) -> Reply[dict[str, Any]]:
        """How many of an agency's procedures were published by a day (for its report)."""
        await caught_up(self.runner, request)
        query = request.body
        readable_agencies(request.meta.principal, query.agency)
        p = tables.procedures.c
        async with self.engine.connect() as conn:
            count = (await conn.execute(select(func.count()).select_from(tables.procedures).where(
                p.agency == query.agency, p.published_on <= query.as_of))).scalar_one()
        return Reply(ok=True, result={"agency": query.agency, "as_of": query.as_of.isoformat(),
                                      "published": count})

    async def _page(self, query: PageQuery, table, key, condition) -> Reply:  # type: ignore[no-untyped-def]
        limit = query.limit
        statement = select(table).order_by(key).limit(limit + 1)
        if condition is not None:
            statement = statement.where(condition)
        if cursor := query.cursor:
            statement = statement.where(key > decode_typed(cursor, str)[0])
        async with self.engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        page = rows[:limit]
        items = [_jsonable(dict(r._mapping)) for r in page]
        next_cursor = encode_cursor([getattr(page[-1], key.name)]) if len(rows) > limit else None
        return Reply(ok=True, result={"items": items, "next_cursor": next_cursor})


# A text search reads the matching page in batches and filters in Python (accent-insensitive
# matching that SQLite and PostgreSQL would do differently). It looks at most SEARCH_SCAN rows per
# page: a page may then come back short, with a cursor to go on from.
SEARCH_BATCH = 500
SEARCH_SCAN = 20_000


def folded(text: str) -> str:
    """Lower case without Vietnamese diacritics: "Nguyễn Văn Đức" -> "nguyen van duc"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return bare.casefold()


def _texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return [str(value)] if value is not None else []


def _matches(row: Any, needle: str) -> bool:
    texts = (row.id, row.receipt_code or "", row.procedure, *_texts(row.applicant))
    return any(needle in folded(text) for text in texts)


def _named(target: str | None) -> Any:
    """The dossier a path names: by its id, or by its receipt code."""
    d = tables.dossiers.c
    if target and is_receipt_code(target):
        return d.receipt_code == target
    return d.id == target


def _newest_first(conditions: list, after: tuple[datetime, str] | None, limit: int):  # type: ignore[no-untyped-def]
    d = tables.dossiers.c
    if after is not None:
        at, last_id = after
        conditions = [*conditions,
                      or_(d.received_at < at, and_(d.received_at == at, d.id < last_id))]
    return (select(tables.dossiers).where(*conditions)
            .order_by(d.received_at.desc(), d.id.desc()).limit(limit))


async def _search(conn: Any, conditions: list, after: tuple[datetime, str] | None, needle: str,
                  limit: int) -> tuple[list, tuple[datetime, str] | None]:
    """Up to limit + 1 matching rows, and where the scan stopped if it stopped before the end."""
    matched: list = []
    scanned = 0
    while scanned < SEARCH_SCAN:
        rows = (await conn.execute(_newest_first(conditions, after, SEARCH_BATCH))).all()
        scanned += len(rows)
        for row in rows:
            after = (row.received_at, row.id)
            if _matches(row, needle):
                matched.append(row)
                if len(matched) > limit:
                    return matched, None
        if len(rows) < SEARCH_BATCH:
            return matched, None
    return matched, after


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in row.items()}
