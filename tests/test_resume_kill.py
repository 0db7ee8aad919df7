"""A debate killed with SIGKILL in the middle of a turn resumes from its last checkpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import DEBATE

pytestmark = pytest.mark.e2e


def test_sigkill_mid_turn_then_resume(tmp_path: Path):
    proc = subprocess.Popen(
        [*DEBATE, "run", "--turns", "8"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"},
    )
    debate_id = None
    headers = 0
    deadline = time.time() + 300
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip().startswith("debate ") and debate_id is None:
            debate_id = line.split()[1]
        if " · " in line and line.split(" · ")[-1].strip() in (
            "opening",
            "argument",
            "rebuttal",
            "question",
            "summary",
            "closing",
        ):
            headers += 1
        # The sixth turn, a panelist's, has started streaming. The host's turns before it
        # (its opening and question from its templates, a summary recapping the claims
        # made) ask no model and are over as soon as they start.
        if headers == 6:
            break
        assert time.time() < deadline
    time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert debate_id
    saved = tmp_path / "debates" / f"{debate_id}.json"
    before = json.loads(saved.read_text(encoding="utf-8"))
    assert before["status"] == "running"
    assert len(before["turns"]) == 5

    result = subprocess.run(
        [*DEBATE, "resume", debate_id[:12]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "resumed after 5 turns" in result.stdout
    after = json.loads(saved.read_text(encoding="utf-8"))
    assert after["status"] == "finished"
    assert [t["index"] for t in after["turns"]] == list(range(8))
    assert [t["text"] for t in after["turns"][:5]] == [t["text"] for t in before["turns"]]
    assert after["turns"][-1]["kind"] == "closing"
