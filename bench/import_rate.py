"""How long importing N dossier rows takes: `cchc up` on a fresh data folder, the sample
catalogue, then `cchc import dossiers` of a generated one-stop-shop export (receipts; 80%
resolved, half of those returned), timed end to end.

    .venv/bin/python bench/import_rate.py --rows 100000
"""

import argparse
import asyncio
import csv
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from broker_load import wait_healthy

from cchc.cli.importing import run_import
from cchc.runtime.natsserver import free_port

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "samples" / "thu-tuc-hanh-chinh-csdl-quoc-gia.xlsx"
PROCEDURES = ["1.001023.000.00.00.H26", "1.001025.000.00.00.H26", "2.000908.000.00.00.H26",
              "1.003957.000.00.00.H26", "1.004227.000.00.00.H26"]
HEADER = ["Mã hồ sơ", "Mã thủ tục", "Người nộp", "Kênh nộp", "Ngày tiếp nhận",
          "Ngày có kết quả", "Kết quả", "Ngày trả kết quả"]


def export(path: Path, rows: int) -> None:
    rng = random.Random(7)
    start = datetime(2023, 1, 3, 8, 0)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for i in range(rows):
            received = start + timedelta(minutes=5 * i % (360 * 24 * 60))
            resolved = received + timedelta(days=rng.randint(0, 12)) if rng.random() < 0.8 else None
            returned = resolved + timedelta(hours=2) if resolved and i % 2 else None
            fmt = "%d/%m/%Y %H:%M"
            writer.writerow([
                f"HS-{i:07d}", PROCEDURES[i % len(PROCEDURES)], f"Công dân số {i}",
                ("Trực tuyến", "Trực tiếp", "Bưu chính")[i % 3], received.strftime(fmt),
                resolved.strftime(fmt) if resolved else "", "Chấp thuận" if resolved else "",
                returned.strftime(fmt) if returned else ""])


async def main(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data, port = Path(folder) / "data", free_port()
        up = subprocess.Popen([sys.executable, "-m", "cchc.cli.main", "up", "--data-dir",
                               str(data), "--http-port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=url, timeout=60) as api:
                await wait_healthy(api)
                token = (data / "admin.token").read_text().strip()
                api.headers["Authorization"] = f"Bearer {token}"
                for code, name in (("STP", "Sở Tư pháp"),
                                   ("STTTT", "Sở Thông tin và Truyền thông")):
                    await api.post("/api/v1/agencies", json={"code": code, "name": name,
                                                             "group": "department"})
                answer = await api.post("/api/v1/imports/procedures", content=CATALOGUE.read_bytes(),
                                        params={"file_name": CATALOGUE.name})
                await api.get("/api/v1/procedures", headers={
                    "X-Min-Position": answer.headers["X-Event-Position"]})
            file = Path(folder) / "ho-so.csv"
            export(file, rows)
            began = time.perf_counter()
            code = await run_import("dossiers", file, url, token, 16)
            seconds = time.perf_counter() - began
            print(f"{rows} rows imported (exit {code}) in {seconds:.1f} s: "
                  f"{rows / seconds:.0f} rows/s", flush=True)
        finally:
            up.terminate()
            up.wait(30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().rows))
