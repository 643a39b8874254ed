"""Operating the embedded default: `cchc up` as a real process, stopped by SIGTERM, restarted."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cchc.runtime.natsserver import free_port

CCHC = str(Path(sys.executable).parent / "cchc")


def get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except OSError:
        return 0, {}


def post(url: str, token: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.status, json.loads(answer.read())


def start(data_dir: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [CCHC, "up", "--data-dir", str(data_dir), "--http-port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ},
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if get(f"http://127.0.0.1:{port}/health")[0] == 200:
            return process
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        time.sleep(0.2)
    process.kill()
    raise AssertionError("cchc up did not become healthy")


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


def test_cchc_up_serves_stops_on_sigterm_and_keeps_data_across_a_restart(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = start(tmp_path, port)
    try:
        token = (tmp_path / "admin.token").read_text().strip()
        assert get(f"{base}/api/v1/agencies")[0] == 401
        status, _ = post(f"{base}/api/v1/agencies", token,
                         {"code": "SNV", "name": "Sở Nội vụ", "group": "department"})
        assert status == 201
    finally:
        code = stop(process)
    assert code == 0
    nats_pid_gone = subprocess.run(["pgrep", "-f", str(tmp_path / "jetstream")],
                                   capture_output=True).returncode != 0
    assert nats_pid_gone, "nats-server outlived cchc up"

    process = start(tmp_path, port)
    try:
        token = (tmp_path / "admin.token").read_text().strip()
        status, agencies = get(f"{base}/api/v1/agencies", token)
        assert status == 200 and [a["code"] for a in agencies["items"]] == ["SNV"]
        officer = subprocess.run(
            [CCHC, "token", "--role", "officer", "--agency", "SNV", "--sub", "officer",
             "--data-dir", str(tmp_path)],
            capture_output=True, text=True, check=True).stdout.strip()
        status, me = get(f"{base}/api/v1/me", officer)
        assert status == 200 and me == {"sub": "officer", "role": "officer", "agency": "SNV"}
        busy = subprocess.run([CCHC, "rebuild", "dossier", "--data-dir", str(tmp_path)],
                              capture_output=True, text=True)
        assert busy.returncode == 1 and "in use" in busy.stderr
    finally:
        assert stop(process) == 0
    rebuilt = subprocess.run([CCHC, "rebuild", "dossier", "--data-dir", str(tmp_path)],
                             capture_output=True, text=True, timeout=60)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "replayed to position 1" in rebuilt.stdout
    # Its read model and its alerts (issue 16): a rebuild replays both.
    for line in ("dossier-read-v4: replayed to position 1",
                 "dossier-alerts-v1: replayed to position 1"):
        assert line in rebuilt.stdout, rebuilt.stdout
    # The scoring service keeps three projections: its read model and its metrics of the
    # dossier and planning streams; a rebuild replays each of them.
    rebuilt = subprocess.run([CCHC, "rebuild", "scoring", "--data-dir", str(tmp_path)],
                             capture_output=True, text=True, timeout=60)
    assert rebuilt.returncode == 0, rebuilt.stderr
    for line in ("scoring-read-v1: replayed to position 0",
                 "scoring-dossier-metrics-v3: replayed to position 1",
                 "scoring-planning-metrics-v2: replayed to position 0"):
        assert line in rebuilt.stdout, rebuilt.stdout


def test_an_open_event_stream_does_not_hold_up_a_stop(tmp_path):
    port = free_port()
    process = start(tmp_path, port)
    token = (tmp_path / "admin.token").read_text().strip()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/events?context=dossier",
        headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"})
    stream = urllib.request.urlopen(request, timeout=30)
    try:
        assert stream.readline().startswith(b"retry:")  # the stream is open and live
        stopping = time.monotonic()
        code = stop(process)  # SIGTERM; the stream would otherwise run for 5 minutes
        assert code == 0 and time.monotonic() - stopping < 15
    finally:
        stream.close()
        if process.poll() is None:
            process.kill()
