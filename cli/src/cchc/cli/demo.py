"""``cchc demo``: load a realistic province into a running installation through its REST API,
with a progress bar, so a new user sees a living dashboard.

Everything goes through the public API as an administrator would enter it (each command with an
Idempotency-Key), so the demo is events like any others: statistics, plans, rankings and the
agency report all follow from them. A second run on the same installation changes nothing.
"""

import asyncio
import logging
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from cchc.cli.demo_data import (
    DEPARTMENTS,
    AgencyPlan,
    DossierPlan,
    Fate,
    local,
    province,
    resolution_time,
)
from cchc.contracts.localtime import local_date

CONCURRENT_AGENCIES = 4
# The context whose log a command's X-Event-Position counts, by the path's first segment.
CONTEXTS = {"agencies": "dossier", "procedures": "dossier", "dossiers": "dossier",
            "plans": "planning", "tasks": "planning", "index-results": "scoring"}


class DemoError(Exception):
    pass


class Loader:
    def __init__(self, api: httpx.AsyncClient, progress: Callable[[int], None]) -> None:
        self.api = api
        self.progress = progress
        self.outcomes: Counter[str] = Counter()  # open / withdrawn / resolved dossiers
        self.plans: list[AgencyPlan] = []
        self.positions: Counter[str] = Counter()  # the last log position written per context

    async def post(self, path: str, body: dict[str, Any], key: str,
                   accept: tuple[int, ...] = (200, 201)) -> httpx.Response:
        answer = await self.api.post(path, json=body, headers={"Idempotency-Key": key})
        self.progress(1)
        if answer.status_code not in accept:
            raise DemoError(f"POST {path}: {answer.status_code} {answer.text[:300]}")
        position = int(answer.headers.get("X-Event-Position", 0))
        context = CONTEXTS[path.split("/")[3]]
        self.positions[context] = max(self.positions[context], position)
        return answer

    async def agency(self, plan: AgencyPlan, today: date, now: datetime) -> None:
        code = plan.code
        await self.post("/api/v1/agencies", {"code": code, "name": plan.name,
                                             "group": "department"}, f"demo-agency-{code}")
        for procedure in plan.procedures:
            await self.post("/api/v1/procedures", procedure, f"demo-procedure-{procedure['code']}")
        for number, dossier in enumerate(plan.dossiers):
            await self.dossier(code, number, dossier, now)
        await self.tasks(plan, today)
        last_year = today.year - 1
        published = min(date(today.year, 4, 20), today).isoformat()
        for index, score in (("PAR", plan.par), ("SIPAS", plan.sipas)):
            await self.post("/api/v1/index-results", {
                "index": index, "year": last_year, "agency": code, "score": score,
                "group": "department", "published_on": published,
            }, f"demo-result-{index}-{last_year}-{code}")

    async def dossier(self, agency: str, number: int, dossier: DossierPlan, now: datetime) -> None:
        key = f"demo-dossier-{agency}-{number}"
        received = (await self.post("/api/v1/dossiers", {
            "procedure": dossier.procedure, "channel": dossier.channel,
            "received_at": dossier.received_at.isoformat(),
            "applicant": {"name": dossier.applicant},
        }, key)).json()
        when = resolution_time(dossier, datetime.fromisoformat(received["due_at"]), now)
        if when is None:
            self.outcomes["open"] += 1
            return
        path = f"/api/v1/dossiers/{received['id']}"
        if dossier.fate is Fate.WITHDRAWN:
            await self.post(f"{path}/withdrawal", {
                "withdrawn_at": when.isoformat(), "reason": "Công dân xin rút hồ sơ"},
                f"{key}-withdrawal")
            self.outcomes["withdrawn"] += 1
            return
        await self.post(f"{path}/resolution", {"resolved_at": when.isoformat(),
                                               "outcome": "approved"}, f"{key}-resolution")
        self.outcomes["resolved"] += 1

    async def tasks(self, plan: AgencyPlan, today: date) -> None:
        year = today.year
        issued = (await self.post("/api/v1/plans", {
            "agency": plan.code, "year": year,
            "title": f"Kế hoạch cải cách hành chính năm {year} của {plan.name}",
            "issued_at": local(date(year, 1, 5), 8).isoformat(),
        }, f"demo-plan-{plan.code}-{year}")).json()
        for number, task in enumerate(plan.tasks):
            key = f"demo-task-{plan.code}-{year}-{number}"
            added = (await self.post(f"/api/v1/plans/{issued['id']}/tasks", {
                "title": task.title, "area": task.area, "due_date": task.due_date.isoformat(),
                "owner": "Văn phòng", "added_at": local(date(year, 1, 10), 8).isoformat(),
            }, key)).json()
            if task.completed_at is not None:
                await self.post(f"/api/v1/tasks/{added['id']}/completion", {
                    "completed_at": task.completed_at.isoformat(),
                    "evidence": [f"Báo cáo kết quả thực hiện nhiệm vụ số {number + 1}"],
                }, f"{key}-completion")


def requests_of(plans: list[AgencyPlan]) -> int:
    """An upper bound of the requests the load sends (for the progress bar)."""
    return sum(1 + len(p.procedures) + 2 * len(p.dossiers) + 1 + 2 * len(p.tasks) + 2
               for p in plans)


async def agency_codes(api: httpx.AsyncClient) -> set[str]:
    codes: set[str] = set()
    params: dict[str, Any] = {"limit": 500}
    while True:
        page = await api.get("/api/v1/agencies", params=params)
        if page.status_code != 200:
            raise DemoError(f"GET /api/v1/agencies: {page.status_code} {page.text[:300]}")
        body = page.json()
        codes.update(item["code"] for item in body["items"])
        if not body.get("next_cursor"):
            return codes
        params["cursor"] = body["next_cursor"]


async def load(api: httpx.AsyncClient, today: date, dossiers_per_agency: int,
               progress: Callable[[int], None] = lambda n: None) -> Loader:
    """Load the demo province's year up to the end of ``today``; refuse if it is already there."""
    plans = province(today, dossiers_per_agency)
    if plans[0].code in await agency_codes(api):
        raise DemoError("the demo province is already loaded in this installation")
    loader = Loader(api, progress)
    now = min(datetime.now(UTC), local(today + timedelta(days=1), 0))
    gate = asyncio.Semaphore(CONCURRENT_AGENCIES)

    async def one(plan: AgencyPlan) -> None:
        async with gate:
            await loader.agency(plan, today, now)

    await asyncio.gather(*(one(plan) for plan in plans))
    loader.plans = plans
    return loader


async def run_demo(base_url: str, token: str, dossiers_per_agency: int) -> int:
    from tqdm import tqdm

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    today = local_date(datetime.now(UTC))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as api:
        try:
            health = await api.get("/health")
        except httpx.HTTPError as error:
            print(f"cchc demo: no CCHC Ledger at {base_url} ({error}); start it with "
                  "`python3 dev.py up`", file=sys.stderr)
            return 1
        if health.status_code != 200:
            print(f"cchc demo: {base_url} is not ready yet ({health.status_code})",
                  file=sys.stderr)
            return 1
        try:
            if DEPARTMENTS[0][0] in await agency_codes(api):
                raise DemoError("the demo province is already loaded in this installation")
        except DemoError as error:
            print(f"cchc demo: {error}", file=sys.stderr)
            return 1
        total = requests_of(province(today, dossiers_per_agency))
        with tqdm(total=total, unit="req", desc="demo province") as bar:
            try:
                plans = (await load(api, today, dossiers_per_agency, bar.update)).plans
            except DemoError as error:
                print(f"cchc demo: {error}", file=sys.stderr)
                return 1
            bar.update(bar.total - bar.n)
    dossiers = sum(len(p.dossiers) for p in plans)
    print(f"loaded {len(plans)} agencies, {dossiers} dossiers, {len(plans)} plans and their "
          f"{today.year - 1} PAR and SIPAS results; open {base_url}/")
    return 0
