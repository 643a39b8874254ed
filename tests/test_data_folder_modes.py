"""Issue 13, files: the data folder of `cchc up` is its owner's alone. The folder and every folder
in it 0700; every file in it 0600 (projection databases with their -wal/-shm, the signing secret,
admin.token, nats config and url, the lock, and nats-server's own JetStream storage, which it
creates under the umask `cchc up` gives it), whatever umask `cchc up` was started with."""

import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from cchc.cli.installation import Installation
from cchc.runtime.natsserver import free_port
from cchc.runtime.sqldb import create_engine

CCHC = str(Path(sys.executable).parent / "cchc")


def entries(root: Path) -> dict[str, os.stat_result]:
    """Every path under root (root as "."), as one lstat found it. A path gone between the walk
    and its lstat (a temporary file nats-server renamed meanwhile) is left out."""
    found = {".": root.lstat()}
    for path in root.rglob("*"):
        try:
            found[str(path.relative_to(root))] = path.lstat()
        except FileNotFoundError:
            continue
    return found


def modes(root: Path) -> dict[str, int]:
    """Every path under root (root as "."), with its permission bits."""
    return {name: stat.S_IMODE(found.st_mode) for name, found in entries(root).items()}


def loose(root: Path) -> dict[str, str]:
    """What is not 0700 (a folder) or 0600 (a file) under root, judged by the same lstat: before,
    a file renamed between its lstat and a second look was "not a plain file or folder"."""
    wrong = {}
    for name, found in entries(root).items():
        if stat.S_ISDIR(found.st_mode):
            expected = 0o700
        elif stat.S_ISREG(found.st_mode):
            expected = 0o600
        else:
            wrong[name] = "not a plain file or folder"
            continue
        if stat.S_IMODE(found.st_mode) != expected:
            wrong[name] = oct(stat.S_IMODE(found.st_mode))
    return wrong


def request(url: str, token: str | None = None, body: dict | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers),
                                    timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def test_a_fresh_cchc_up_data_folder_is_the_owners_alone(tmp_path):
    data = tmp_path / "data"  # cchc up creates it
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [CCHC, "up", "--data-dir", str(data), "--http-port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=lambda: os.umask(0o022),  # the usual umask: files 0644 unless made private
    )
    try:
        deadline = time.monotonic() + 60
        while request(f"{base}/health") != 200:
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "cchc up did not become healthy"
            time.sleep(0.2)
        token = (data / "admin.token").read_text().strip()
        # Personal data in the projections: an agency, a procedure, a dossier.
        assert request(f"{base}/api/v1/agencies", token, {
            "code": "SNV", "name": "Sở Nội vụ", "group": "department"}) == 201
        assert request(f"{base}/api/v1/procedures", token, {
            "code": "1.000001.000.00.00.H26", "name": "Thủ tục", "agency": "SNV",
            "field": "Nội vụ", "processing_days": 3, "online_level": "full"}) == 201
        assert request(f"{base}/api/v1/dossiers", token, {
            "procedure": "1.000001.000.00.00.H26", "channel": "online",
            "received_at": "2024-03-04T09:00:00+07:00",
            "applicant": {"name": "Nguyễn Văn An", "phone": "0912345678"}}) == 201

        running = modes(data)
        for name in ("jwt.secret", "admin.token", "nats-server.conf", "nats.url", ".lock",
                     "projections/dossier.db", "projections/dossier.db-wal",
                     "projections/dossier.db-shm", "projections/planning.db",
                     "projections/scoring.db", "jetstream/nats-server.log"):
            assert name in running, sorted(running)
        assert any(name.startswith("jetstream/jetstream/") for name in running), sorted(running)
        assert loose(data) == {}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert loose(data) == {}


def test_an_older_looser_folder_is_tightened_and_the_secret_is_born_private(tmp_path):
    old = tmp_path / "old"
    (old / "projections").mkdir(parents=True)
    old.chmod(0o755)
    (old / "jwt.secret").write_text("s" * 64)
    (old / "admin.token").write_text("t")
    for name in ("dossier.db", "dossier.db-wal", "dossier.db-shm"):
        (old / "projections" / name).write_bytes(b"")
    for path in [old / "jwt.secret", old / "admin.token", *(old / "projections").iterdir()]:
        path.chmod(0o644)
    Installation(old).prepare()
    assert loose(old) == {}
    assert Installation(old).jwt_secret() == "s" * 64  # tightened, not replaced

    previous = os.umask(0)  # nothing taken away: only the mode a file is created with counts
    try:
        fresh = Installation(tmp_path / "fresh")
        fresh.jwt_secret()
        fresh.write_nats_config()
        fresh.lock().close()
        fresh.prepare()
    finally:
        os.umask(previous)
    assert loose(fresh.root) == {}


async def test_a_sqlite_projection_and_its_wal_and_shm_are_created_0600(tmp_path):
    from sqlalchemy import text

    previous = os.umask(0)  # SQLite would create 0644 files: only our 0600 file stops it
    engine = create_engine(f"sqlite:///{tmp_path / 'projection.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE applicants (name TEXT)"))
            await conn.execute(text("INSERT INTO applicants VALUES ('Nguyễn Văn An')"))
        created = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        assert created == {"projection.db": 0o600, "projection.db-wal": 0o600,
                           "projection.db-shm": 0o600}
    finally:
        os.umask(previous)
        await engine.dispose()
