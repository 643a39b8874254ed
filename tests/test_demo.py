"""``cchc demo``: the demo province loaded through the API of a running stack, its figures
consistent with what it sent, and a second load refused with nothing written."""

from datetime import date

import pytest
from cchc.cli.demo import DemoError, load
from cchc.cli.demo_data import DEPARTMENTS

TODAY = date(2025, 10, 15)
PER_AGENCY = 4


@pytest.mark.parametrize("stack_api", ["sqlite"], indirect=True)
async def test_the_demo_province_reads_as_a_living_year(stack_api):
    admin = stack_api.admin
    sent = []
    loader = await load(admin, TODAY, PER_AGENCY, sent.append)
    dossiers = len(DEPARTMENTS) * PER_AGENCY
    assert sum(len(p.dossiers) for p in loader.plans) == dossiers
    assert sum(loader.outcomes.values()) == dossiers
    assert len(sent) > dossiers  # every request counted for the progress bar

    stats = await admin.get("/api/v1/dossier-stats", params={
        "from": f"{TODAY.year}-01-01", "to": TODAY.isoformat()},
        headers={"X-Min-Position": str(loader.positions["dossier"])})
    assert stats.status_code == 200, stats.text
    figures = stats.json()
    assert figures["received"]["total"] == dossiers
    assert figures["resolved"]["total"] == loader.outcomes["resolved"]
    assert figures["withdrawn"] == loader.outcomes["withdrawn"]
    assert figures["in_progress"]["total"] == loader.outcomes["open"]
    assert len(figures["by_agency"]) == len(DEPARTMENTS)

    ranking = await admin.get("/api/v1/rankings", params={
        "index": "PAR", "year": TODAY.year - 1, "group": "department"},
        headers={"X-Min-Position": str(loader.positions["scoring"])})
    assert ranking.status_code == 200, ranking.text
    assert ranking.json()["of"] == len(DEPARTMENTS)

    planning = str(loader.positions["planning"])
    plans = (await admin.get("/api/v1/plans", params={"agency": "STTTT", "year": TODAY.year},
                             headers={"X-Min-Position": planning})).json()["items"]
    progress = (await admin.get(f"/api/v1/plans/{plans[0]['id']}/progress",
                                params={"as_of": TODAY.isoformat()})).json()
    stttt = next(p for p in loader.plans if p.code == "STTTT")
    assert progress["total"] == len(stttt.tasks)
    assert progress["completed"] == sum(
        1 for t in stttt.tasks if t.completed_at and t.completed_at.date() <= TODAY)

    page = await admin.get("/api/v1/reports/agency", params={
        "agency": "STTTT", "year": TODAY.year, "as_of": TODAY.isoformat()},
        headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Sở Thông tin và Truyền thông" in page.text

    with pytest.raises(DemoError, match="already loaded"):
        await load(admin, TODAY, PER_AGENCY)
    again = await admin.get("/api/v1/dossier-stats", params={
        "from": f"{TODAY.year}-01-01", "to": TODAY.isoformat()})
    assert again.json()["received"]["total"] == dossiers

