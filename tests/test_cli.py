"""The command line as a user meets it: one clear line for bad input, nothing half-written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEBATE, free_port


def debate(*args: str, cwd: Path, timeout: float = 300, env: dict | None = None):
    return subprocess.run(
        [*DEBATE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def files_under(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


BAD_PERSONA = """id: guest
name: Ada Guest
role: panelist
title: Engineer
bio: Builds chips.
style: Dry.
color: "#ffffff"
"""


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--topic", "  "], "--topic is empty"),
        (["run", "--personas", "host,nobody"], "unknown persona 'nobody'"),
        (["run", "--model-path", "missing.gguf"], "missing.gguf: no such GGUF file"),
        (["run", "--turns", "1"], "--turns"),
        (
            [
                "run",
                "--backend",
                "openai",
                "--base-url",
                "http://127.0.0.1:{port}/v1",
                "--model",
                "x",
            ],
            "cannot reach the server",
        ),
        (["run", "--personas-dir", "personas"], "personas/guest.yaml: field 'stance' is missing"),
        (["resume", "nosuchid"], "no debate 'nosuchid'"),
        (["search", ""], "the search query is empty"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, args, message):
    (tmp_path / "personas").mkdir()
    (tmp_path / "personas" / "guest.yaml").write_text(BAD_PERSONA, encoding="utf-8")
    before = files_under(tmp_path)
    args = [a.replace("{port}", str(free_port())) for a in args]
    result = debate(*args, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert lines[0].startswith("debate: error: ")
    assert "Traceback" not in result.stderr + result.stdout
    after = files_under(tmp_path)
    written = {f for f in after - before if not f.startswith(".debate/")}
    assert written == set()


def test_personas_lists_the_panel_with_simulated_label(tmp_path: Path):
    result = debate("personas", cwd=tmp_path)
    assert result.returncode == 0
    rows = result.stdout.splitlines()
    assert len(rows) == 4
    assert any(r.startswith("altman") and "[simulated]" in r for r in rows)


def test_search_json_contract(tmp_path: Path):
    result = debate(
        "search", "Who will build semiconductor factories?", "--k", "5", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 5
    for row in rows:
        assert {"source_id", "line_start", "line_end", "text", "score"} <= set(row)
        assert row["source_id"] == "compute_resource_ism_panel"
        assert 1 <= row["line_start"] <= row["line_end"] <= 62
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True)
    # indexing happens once: a second search re-embeds nothing
    again = debate("search", "basic income", "--json", cwd=tmp_path)
    assert "Indexing" not in again.stderr and again.returncode == 0
