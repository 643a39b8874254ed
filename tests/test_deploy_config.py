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
