"""The command line as a user meets it: one clear line for bad input, nothing half-written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEBATE, free_port
from tests.conftest import SOURCE as ROOT_SOURCE


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
        (["run", "--lang", "ja"], "--lang ja: the bundled model (SmolLM2-135M) writes English"),
        (["topics", "--limit", "0"], "--limit 0"),
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


def test_japanese_on_the_bundled_model_is_refused_before_any_work(tmp_path: Path):
    """One line that names what to use instead; no model loaded, nothing indexed."""
    result = debate("run", "--lang", "ja", "--topic", "計算資源", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "debate: error: --lang ja: the bundled model (SmolLM2-135M) writes English only; run "
        "Japanese debates on a server model: --backend openai --base-url URL --model NAME"
    ]
    assert files_under(tmp_path) == set()  # not even the index or a checkpoint store


def test_topics_lists_claims_no_saved_debate_has_made(tmp_path: Path, indexed_data: Path):
    import shutil

    from core.models import Claim
    from episodes.store import DebateStore
    from tests.tui_fixtures import claimed_debate
    from transcripts.claims import read_book

    shutil.copytree(indexed_data, tmp_path / ".debate")
    book = read_book({"compute_resource_ism_panel": ROOT_SOURCE})
    sentence = next(s for s in book.of_source("compute_resource_ism_panel") if s.line == 31)
    made = Claim(
        source_id=sentence.source_id,
        line_start=31,
        line_end=31,
        text=sentence.gloss or "",
        source_text=sentence.text,
    )
    debate_ = claimed_debate()
    debate_.turns[1] = debate_.turns[1].model_copy(update={"claim": made})
    DebateStore(tmp_path / "debates").save(debate_)
    result = debate("topics", "--limit", "500", "--json", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and {"source_id", "line", "claim", "source_text"} <= set(rows[0])
    assert sentence.text not in {r["source_text"] for r in rows}
    assert any(r["line"] == 31 for r in rows)  # the line's other sentences are still there
    shown = debate("topics", "--limit", "3", cwd=tmp_path, timeout=120)
    assert shown.returncode == 0 and len(shown.stdout.splitlines()) == 3
    assert all(
        line.startswith("- compute_resource_ism_panel:") for line in shown.stdout.splitlines()
    )
