"""``cchc import procedures|dossiers FILE``: the same import as ``POST /api/v1/imports/{kind}``,
through the running gateway's API in parts, with a progress bar.

The file is read and every row checked here first (against the catalogue the API lists); one
refused row refuses the file, and the report names each: row, column, reason. Then the rows go
to ``POST /api/v1/imports/{kind}`` a part at a time (each row keeping its number in the file),
where their commands get idempotency keys derived from the rows: running the same file again,
whoever runs it, writes nothing twice (the report counts what was already there).
"""

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from cchc.gateway.importing.dossier_rows import check_dossiers
from cchc.gateway.importing.procedure_rows import check_procedures
from cchc.gateway.importing.sheets import Row, UnreadableFile, part_csv, read_rows

PART_ROWS = 250  # rows per request: a part is checked and written by the gateway as a whole


async def _pages(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        answer = await client.get(path, params={"limit": 500, **({"cursor": cursor} if cursor
                                                                 else {})})
        answer.raise_for_status()
        items += answer.json()["items"]
        if not (cursor := answer.json().get("next_cursor")):
            return items


async def run_import(kind: str, file: Path, url: str, token: str, concurrency: int) -> int:
    try:
        header, rows = read_rows(file.read_bytes())
    except (OSError, UnreadableFile) as error:
        print(f"cchc import: {file}: {error}", file=sys.stderr)
        return 2
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60,
                                 limits=limits) as client:
        if kind == "procedures":
            agencies = {a["code"]: a["name"] for a in await _pages(client, "/api/v1/agencies")}
            checked = check_procedures(header, rows, agencies, file.name)
        else:
            catalogue = {p["code"]: p["agency"] for p in
                         await _pages(client, "/api/v1/procedures")}
            checked = check_dossiers(header, rows, catalogue, file.name, datetime.now(UTC))
        if checked.refusals:
            print(f"cchc import: {len({r.row for r in checked.refusals})} of {len(rows)} rows "
                  "refused; nothing was written", file=sys.stderr)
            for refusal in sorted(checked.refusals, key=lambda r: r.row):
                print(f"  row {refusal.row}: {refusal.field}: {refusal.reason}", file=sys.stderr)
            return 1

        parts = [rows[i:i + PART_ROWS] for i in range(0, len(rows), PART_ROWS)]
        gate = asyncio.Semaphore(max(1, concurrency // 4))
        reports: list[dict[str, Any]] = []

        async def send(part: list[Row]) -> None:
            async with gate:
                answer = await client.post(
                    f"/api/v1/imports/{kind}", content=part_csv(header, part),
                    params={"file_name": file.name}, headers={"Content-Type": "text/csv"})
            if answer.status_code not in (200, 207):
                raise SystemExit(f"cchc import: {answer.status_code} {answer.text}")
            reports.append(answer.json() | {
                "position": int(answer.headers.get("X-Event-Position", 0))})
            bar.update(len(part))

        started = asyncio.get_running_loop().time()
        with tqdm(total=len(rows), unit="row", desc=f"{kind} {file.name}", file=sys.stderr) as bar:
            await asyncio.gather(*(send(part) for part in parts))
        seconds = asyncio.get_running_loop().time() - started
    rejected = sorted((r for one in reports for r in one["rejected"]), key=lambda r: r["row"])
    totals = {name: sum(one[name] for one in reports)
              for name in ("rows", "imported", "commands", "already_present")}
    report = {**totals, "rejected": rejected,
              "position": max((one["position"] for one in reports), default=0),
              "seconds": round(seconds, 1),
              "rows_per_second": round(len(rows) / seconds, 1) if seconds else None}
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return 0 if not rejected else 1
