"""A hung test fails at pytest-timeout's limit, naming where each asyncio task waits, and the
run goes on (cchc.runtime.hung_tests)."""

import subprocess
import sys
from pathlib import Path

HUNG = '''
import asyncio

async def _stuck_deep_inside():
    await asyncio.Event().wait()

async def test_hangs():
    await asyncio.create_task(_stuck_deep_inside(), name="the-stuck-one")

async def test_after_it():
    await asyncio.sleep(0.01)
'''


def test_a_hung_test_fails_naming_the_await_each_task_is_stuck_in(tmp_path: Path) -> None:
    (tmp_path / "test_hung.py").write_text(HUNG)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "test_hung.py", "-q", "-p", "no:cacheprovider",
         "-p", "cchc.runtime.hung_tests", "-o", "asyncio_mode=auto", "--timeout", "2"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "1 failed, 1 passed" in out
    assert "Timeout (>2.0s)" in out
    assert "the-stuck-one: _stuck_deep_inside (test_hung.py:5) -> Event.wait" in out
