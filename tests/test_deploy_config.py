"""The production nats-server configuration is valid for the real server and syncs every write."""

import re
import subprocess
from pathlib import Path

from cchc.runtime.natsserver import find_binary

CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "nats" / "nats-server.conf"


def test_the_production_nats_config_is_valid_for_nats_server():
    checked = subprocess.run([find_binary(), "-t", "-c", str(CONFIG)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "is valid" in checked.stderr + checked.stdout


def test_the_production_nats_config_syncs_before_acknowledging():
    text = CONFIG.read_text()
    assert re.search(r"^\s*sync_interval:\s*always\s*$", text, re.M)


def test_the_monitoring_port_listens_on_the_loopback_only(tmp_path):
    """nats-server run with the production config (its monitoring port moved to a free one, its
    store to a temporary folder) serves /healthz on 127.0.0.1 and on no other address."""
    from cchc.runtime.natsserver import NatsServer, free_port

    monitor = free_port()
    text = CONFIG.read_text()
    assert re.search(r'^http:\s*"127\.0\.0\.1:8222"\s*$', text, re.M)
    text = text.replace('"127.0.0.1:8222"', f'"127.0.0.1:{monitor}"')
    text = text.replace('store_dir: "/data/jetstream"', "")  # given by NatsServer (-sd)
    text = text.replace("max_file_store: 200G", "max_file_store: 1G")
    (tmp_path / "server.conf").write_text(text)
    server = NatsServer(store_dir=tmp_path / "js", config_file=tmp_path / "server.conf").start()
    try:
        log = server.log_path.read_text()
        assert f"Starting http monitor on 127.0.0.1:{monitor}" in log, log
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{monitor}/healthz", timeout=5) as answer:
            assert answer.status == 200
    finally:
        server.stop()
