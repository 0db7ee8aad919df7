"""API keys never reach a transcript, a log, a checkpoint, an export or an error message:
every file a run writes, and everything it prints, is scanned for the key."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bench.fake_openai import FakeOpenAI, FaultPlan
from tests.conftest import DEBATE

KEY = "sk-live-7f3a9c2e11b04d5e8a6f0c3b2d1e4f5a"


def run(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*DEBATE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def debate_on(server: FakeOpenAI, *extra: str, cwd: Path, env: dict):
    """`debate -v run` of 4 turns against `server`."""
    return run(
        "-v", "run", "--backend", "openai", "--base-url", server.base_url, "--model", "fake",
        "--turns", "4", *extra, cwd=cwd, env=env,
    )  # fmt: skip


def test_no_file_or_output_of_a_run_holds_the_api_key(tmp_path: Path, indexed_data: Path):
    data = tmp_path / "data"
    shutil.copytree(indexed_data, data)
    env = {**os.environ, "OPENAI_API_KEY": KEY, "DEBATE_DATA_DIR": str(data)}
    outputs: list[str] = []
    with FakeOpenAI(reply_tokens=20) as good:
        first = debate_on(good, cwd=tmp_path, env=env)
        assert first.returncode == 0, first.stderr
        outputs += [first.stdout, first.stderr]
        debate_id = next(
            line.split()[1] for line in first.stdout.splitlines() if line.startswith("  debate ")
        )
        for extra in (
            ("outline", debate_id, "-o", "outline.html", "--format", "html"),
            ("outline", debate_id, "-o", "outline.json", "--format", "json"),
            ("outline", debate_id, "-o", "debate.html", "--format", "debate-html"),
            ("eval", debate_id, "--json"),
            ("list", "--json"),
        ):
            done = run("-v", *extra, cwd=tmp_path, env=env)
            assert done.returncode == 0, done.stderr
            outputs += [done.stdout, done.stderr]
    # Failures print the server and the status, never the key.
    with FakeOpenAI(faults=FaultPlan(stream={n: "500" for n in range(1, 99)})) as bad:
        failed = debate_on(
            bad, "--checkpoint-url", f"postgresql://u:{KEY}@127.0.0.1:1/db", cwd=tmp_path, env=env
        )
        assert failed.returncode == 2
        outputs += [failed.stdout, failed.stderr]
        broken = debate_on(bad, cwd=tmp_path, env={**env, "DEBATE_MAX_RETRIES": "0"})
        assert broken.returncode == 1 and "HTTP 500" in broken.stderr
        outputs += [broken.stdout, broken.stderr]
    for text in outputs:
        assert KEY not in text
    scanned = 0
    for path in tmp_path.rglob("*"):
        if path.is_file():
            scanned += 1
            assert KEY.encode() not in path.read_bytes(), path
    # The debates, their Markdown, the exports, the checkpoints and the index were all there.
    names = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert {"checkpoints.sqlite", "outline.html", "outline.json", "debate.html"} <= names
    assert any(n.endswith(".md") for n in names) and scanned > 10
