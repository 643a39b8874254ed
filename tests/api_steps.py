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
