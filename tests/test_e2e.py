"""End to end: real debates on the embedded model, and through a real OpenAI-compatible
server (llama-cpp-python's own, with the same GGUF) on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.llm.embedded import bundled_model_path
from tests.conftest import DEBATE, ROOT, SOURCE, free_port

pytestmark = pytest.mark.e2e


def this_checkout(env: dict | None = None) -> dict:
    """The environment for a `debate` subprocess that runs this checkout's code, wherever
    the package is installed from."""
    return {**(os.environ if env is None else env), "PYTHONPATH": str(ROOT)}


def run_cli(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*DEBATE, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env=this_checkout(env),
    )


def check_saved(cwd: Path, stdout: str, speakers: list[str] | None) -> dict:
    saved = [ln.split("saved ", 1)[1].strip() for ln in stdout.splitlines() if "saved " in ln]
    assert any(p.endswith(".json") for p in saved) and any(p.endswith(".md") for p in saved)
    path = cwd / next(p for p in saved if p.endswith(".json"))
    debate = json.loads(path.read_text(encoding="utf-8"))
    assert debate["status"] == "finished"
    if speakers is not None:
        assert [t["speaker_id"] for t in debate["turns"]] == speakers
    lines = SOURCE.read_text(encoding="utf-8").split("\n")
    for turn in debate["turns"]:
        assert turn["text"].strip()
        assert turn["citations"], turn
        for c in turn["citations"]:
            assert any(
                p["source_id"] == c["source_id"]
                and p["line_start"] <= c["line_start"] <= c["line_end"] <= p["line_end"]
                for p in turn["passages"]
            )
            cited = "".join(lines[c["line_start"] - 1 : c["line_end"]])
            assert c["quote"].rstrip("…")[:30] in cited
            assert f"{c['source_id']}:{c['line_start']}-{c['line_end']}" in stdout
    return debate


def test_embedded_four_turn_debate(tmp_path: Path):
    result = run_cli("run", "--turns", "4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    debate = check_saved(tmp_path, result.stdout, ["host", "futurist", "altman", "host"])
    assert debate["settings"]["backend"] == "embedded"
    assert debate["settings"]["model"] == "SmolLM2-135M-Instruct-Q4_1"
    assert "Sam Altman (simulated)" in result.stdout
    md = (tmp_path / "debates" / f"{debate['id']}.md").read_text()
    assert "*simulated*" in md


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    port = free_port()
    log = open(os.devnull, "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agents.llm.llama_server",
            "--model",
            str(bundled_model_path()),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--model_alias",
            "smollm2",
            "--n_threads",
            "2",
            # By default the server cuts off the reply it is streaming when a new request
            # arrives; concurrent debates need each reply whole.
            "--interrupt_requests",
            "False",
        ],
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("llama_cpp.server exited") from None
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("llama_cpp.server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_openai_backend_debate_against_a_real_server(tmp_path: Path, llama_server: str):
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-secret-key-1234"}
    result = run_cli(
        "run",
        "--turns",
        "4",
        "--backend",
        "openai",
        "--base-url",
        llama_server,
        "--model",
        "smollm2",
        "--policy",
        "host-directed",
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    debate = check_saved(tmp_path, result.stdout, None)
    assert [t["speaker_id"] for t in debate["turns"]][::3] == ["host", "host"]
    panel = [t["speaker_id"] for t in debate["turns"][1:3]]
    assert set(panel) <= {"altman", "economist", "futurist"} and panel[0] != panel[1]
    assert debate["settings"]["backend"] == "openai"
    assert debate["settings"]["base_url"] == llama_server
    # every turn a model spoke records the tokens the server reported (the host's recaps
    # of the claims made are no model's)
    spoken = [t for t in debate["turns"] if t["voiced_by"] == "model"]
    assert spoken and all(t["tokens_out"] > 0 and t["tokens_in"] > 0 for t in spoken)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"sk-test-secret-key-1234" not in path.read_bytes(), path


def test_structured_pick_over_the_openai_api(llama_server: str):
    from agents.host import host_pick
    from agents.llm.openai_backend import OpenAIModel
    from agents.personas import load_personas

    personas = load_personas()
    model = OpenAIModel("smollm2", base_url=llama_server)
    choices = [personas["economist"], personas["futurist"]]
    pick, tokens = host_pick(
        model,
        "Compute as money",
        "Who gains?",
        "en",
        personas["altman"],
        "Compute is the new money.",
        choices,
    )
    assert pick in {"economist", "futurist"} and tokens > 0


def test_mixed_panel_one_persona_on_a_server(tmp_path: Path, llama_server: str):
    import shutil

    from prompts import personas_dir

    folder = tmp_path / "personas"
    shutil.copytree(str(personas_dir()), folder)
    # the futurist opens the default topic; the simulated Altman only quotes the show's
    # reports of him, which no model voices
    futurist = folder / "futurist.yaml"
    futurist.write_text(
        futurist.read_text(encoding="utf-8") + "model: openai:smollm2\ntemperature: 0.4\n",
        encoding="utf-8",
    )
    result = run_cli(
        "run",
        "--turns",
        "4",
        "--personas-dir",
        str(folder),
        "--base-url",
        llama_server,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    debate = check_saved(tmp_path, result.stdout, ["host", "futurist", "altman", "host"])
    assert debate["settings"]["persona_models"] == {"futurist": "openai:smollm2"}
    models = {t["speaker_id"]: t["model"] for t in debate["turns"]}
    assert models["futurist"] == "smollm2"
    assert models["altman"] == "template"  # quoted from the show's report, word for word
    # the host's turns on the bundled model are its templates and a recap of the claims
    assert models["host"] == "template"


def test_interactive_question_from_stdin_and_list_shows_branches(tmp_path: Path):
    result = subprocess.run(
        [*DEBATE, "run", "--turns", "5", "--interactive"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        input="a: @futurist Who pays for the chips?\n",
        env=this_checkout(),
    )
    assert result.returncode == 0, result.stderr
    path = next((tmp_path / "debates").glob("*.json"))
    debate = json.loads(path.read_text(encoding="utf-8"))
    asked = [t for t in debate["turns"] if t["kind"] == "interjection"]
    assert len(asked) == 1 and "Who pays for the chips?" in asked[0]["text"]
    assert asked[0]["text"].startswith("We have a question from the audience")
    answer = debate["turns"][asked[0]["index"] + 1]
    assert answer["speaker_id"] == "futurist"

    number = asked[0]["index"] + 1  # the question as replay and exports number it
    refused = run_cli(
        "fork", debate["id"], "--at-turn", str(number), "--steer", "Energy?", cwd=tmp_path
    )
    assert refused.returncode == 2 and "needs a turn of the panel" in refused.stderr
    # forking right after the producer's question lets the panel answer it afresh
    fork = run_cli("fork", debate["id"], "--at-turn", str(number), cwd=tmp_path)
    assert fork.returncode == 0, fork.stderr
    child = json.loads(
        next(p for p in (tmp_path / "debates").glob("*.json") if p != path).read_text(
            encoding="utf-8"
        )
    )
    assert child["forked_at"] == asked[0]["index"]  # stored as the turn's index
    assert child["turns"][number]["speaker_id"] == "futurist"
    assert child["turns"][number]["kind"] == "argument"
    listing = run_cli("list", cwd=tmp_path)
    lines = listing.stdout.splitlines()
    assert lines[0].startswith(debate["id"])
    assert lines[1].startswith("  └ ") and f"(fork after turn {number})" in lines[1]


def test_batch_merge_and_outline_against_a_real_server(tmp_path: Path, llama_server: str):
    import re

    batch = run_cli(
        "batch",
        "--runs",
        "2",
        "--concurrency",
        "2",
        "--turns",
        "4",
        "--base-url",
        llama_server,
        "--model",
        "smollm2",
        cwd=tmp_path,
    )
    assert batch.returncode == 0, batch.stderr
    ids = re.findall(r"✓ (\S+)", batch.stdout)
    assert len(ids) == 2 and "2/2 debates finished" in batch.stdout
    for i in ids:
        saved = json.loads((tmp_path / "debates" / f"{i}.json").read_text())
        assert saved["status"] == "finished" and len(saved["turns"]) == 4
        assert saved["settings"]["base_url"] == llama_server
    merged = run_cli("outline", "--merge", *ids, "--format", "json", cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    outline = json.loads(merged.stdout)
    assert outline["debate_ids"] == ids
    for point in outline["agreed"] + outline["contested"]:
        assert {t["debate_id"] for t in point["traces"]} <= set(ids)
    # The outline of one debate, its prose written through the server's structured output.
    single = run_cli("outline", ids[0], "--format", "json", cwd=tmp_path)
    assert single.returncode == 0, single.stderr
    one = json.loads(single.stdout)
    assert one["written_by"] in ("smollm2", "assembly")
    assert one["title"] and one["segments"] and one["simulated"] == ["Sam Altman (simulated)"]
