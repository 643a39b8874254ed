"""Small REST helpers shared by the system tests."""

import uuid

import httpx


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6].upper()}"


async def register_agency(client: httpx.AsyncClient, code: str, group: str = "department") -> None:
    answer = await client.post(
        "/api/v1/agencies", json={"code": code, "name": f"Sở thử nghiệm {code}", "group": group}
    )
    assert answer.status_code == 201, answer.text


async def publish_procedure(
    client: httpx.AsyncClient, agency: str, code: str, processing_days: int, online_level="full"
) -> None:
    answer = await client.post(
        "/api/v1/procedures",
        json={
            "code": code, "name": f"Thủ tục {code}", "agency": agency, "field": "Viễn thông",
            "processing_days": processing_days, "online_level": online_level,
        },
    )
    assert answer.status_code == 201, answer.text


async def receive(
    client: httpx.AsyncClient, procedure: str, received_at: str, channel: str = "online",
    **headers: str,
) -> httpx.Response:
    return await client.post(
        "/api/v1/dossiers",
        json={
            "procedure": procedure, "channel": channel, "received_at": received_at,
            "applicant": {"name": "Nguyễn Văn An", "phone": "0912345678"},
        },
        headers=headers,
    )


async def act(
    client: httpx.AsyncClient, dossier_id: str, action: str, body: dict, **headers: str
) -> httpx.Response:
    return await client.post(f"/api/v1/dossiers/{dossier_id}/{action}", json=body, headers=headers)


async def agency_with_procedure(
    client: httpx.AsyncClient, processing_days: int = 3
) -> tuple[str, str]:
    agency = unique("S")
    procedure = f"1.{uuid.uuid4().int % 10**6:06d}.000.00.00.H26"
    await register_agency(client, agency)
    await publish_procedure(client, agency, procedure, processing_days)
    return agency, procedure


FRAMEWORK_CRITERIA = [
    {"code": "1.1", "title": "Ban hành kế hoạch CCHC", "area": "direction", "max_points": 1,
     "method": "manual"},
    {"code": "1.2", "title": "Mức độ hoàn thành kế hoạch", "area": "direction", "max_points": 2,
     "method": "auto", "metric": "plan.completion_rate",
     "bands": [{"min_rate": 0.9, "points": 2}, {"min_rate": 0.7, "points": 1}]},
    {"code": "8.1", "title": "Sự hài lòng", "area": "satisfaction", "max_points": 2,
     "method": "survey"},
]


def framework_body(code: str) -> dict:
    return {"code": code, "index": "PAR", "year": 2022, "group": "department", "max_score": 5,
            "criteria": FRAMEWORK_CRITERIA}


async def one_of_each(admin: httpx.AsyncClient) -> dict[str, str]:
    """An agency with a procedure, a dossier, a plan with a task, an inspection, an index
    framework with an assessment of the agency: their ids, for requests about real objects."""
    agency, procedure = await agency_with_procedure(admin)
    dossier = (await receive(admin, procedure, "2022-07-11T09:30:00+07:00")).json()
    plan = (await admin.post("/api/v1/plans", json={
        "agency": agency, "year": 2022, "title": "Kế hoạch CCHC 2022"})).json()
    task = (await admin.post(f"/api/v1/plans/{plan['id']}/tasks", json={
        "title": "Nhiệm vụ", "area": "direction", "due_date": "2022-12-31", "owner": "VP"})).json()
    inspection = (await admin.post("/api/v1/inspections", json={
        "agency": agency, "inspected_on": "2022-07-15", "team_lead": "Trưởng đoàn",
        "scope": "CCHC"})).json()
    framework = f"PAR-{agency}"
    answer = await admin.post("/api/v1/index-frameworks", json=framework_body(framework))
    assert answer.status_code == 201, answer.text
    assessment = (await admin.post("/api/v1/assessments", json={
        "framework": framework, "agency": agency})).json()
    return {"agency": agency, "procedure": procedure, "dossier_id": dossier["id"],
            "plan_id": plan["id"], "task_id": task["id"], "inspection_id": inspection["id"],
            "code": framework, "assessment_id": assessment["id"]}
