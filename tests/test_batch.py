"""Many debates at once against OpenAI-compatible servers on 127.0.0.1; merged outlines."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from agents.llm.openai_backend import OpenAIModel
from bench.fake_openai import FakeOpenAI, FaultPlan
from core.errors import UserError
from core.models import Turn
from episodes.merge import merge_debates, merged_html, merged_markdown
from episodes.store import DebateStore
from graphs.batch import run_batch
from graphs.checkpoint import open_checkpointer
from graphs.session import e5_embed
from tests.conftest import DEBATE
from tests.tui_fixtures import sample_debate

TAG = re.compile(r"\(run-\d+\)")


def batch(settings, search, servers, runs, concurrency, topics, progress=None):
    models = {
        s.base_url: OpenAIModel(
            "fake", base_url=s.base_url, timeout=5, max_retries=settings.max_retries
        )
        for s in servers
    }
    with open_checkpointer(settings.data_dir) as saver:
        return asyncio.run(
            run_batch(
                settings,
                topics,
                runs=runs,
                concurrency=concurrency,
                models=models,
                search=search,
                checkpointer=saver,
                on_progress=progress,
            )
        )


def test_batch_runs_debates_concurrently_spread_over_servers(settings, search):
    s = settings.model_copy(update={"backend": "openai", "turns": 5})
    topics = [f"Who owns compute? run-{i}" for i in range(8)]
    seen = []
    with (
        FakeOpenAI(delay_s=0.01, reply_tokens=12) as a,
        FakeOpenAI(delay_s=0.01, reply_tokens=12) as b,
    ):
        results = batch(s, search, [a, b], 8, 4, topics, lambda p, r: seen.append(p.running))
        # Both servers answered; how many calls a debate makes varies (a host's recap of
        # the claims made asks no model), so the spread is checked debate by debate below.
        assert a.stats.requests["stream"] > 0 and b.stats.requests["stream"] > 0
    assert [r.status for r in results] == ["finished"] * 8
    assert max(seen) == 4  # never more than the concurrency, and it was reached
    store = DebateStore(s.out_dir)
    for i, r in enumerate(results):
        debate = store.load(r.debate_id)
        assert debate.status == "finished" and len(debate.turns) == 5
        assert [t.index for t in debate.turns] == list(range(5))
        assert debate.settings.base_url == (a if i % 2 == 0 else b).base_url
        assert debate.settings.seed == i
        # Every turn's text came from a prompt of its own debate: no turn crossed over.
        tags = {m for t in debate.turns for m in TAG.findall(t.text)}
        assert tags == {f"(run-{i})"}, (i, tags)
    assert len({r.debate_id for r in results}) == 8


def test_one_failing_debate_does_not_stop_the_batch(settings, search):
    s = settings.model_copy(update={"backend": "openai", "turns": 4, "max_retries": 0})
    with FakeOpenAI(faults=FaultPlan(stream={3: "500"}), reply_tokens=10) as server:
        results = batch(s, search, [server], 3, 1, "Who owns compute?")
    assert [r.status for r in results].count("failed") == 1
    failed = next(r for r in results if r.status == "failed")
    assert "HTTP 500" in failed.message and "debate resume" in failed.message
    assert DebateStore(s.out_dir).load(failed.debate_id).status == "stopped"


def test_batch_refuses_bad_counts(settings, search):
    with pytest.raises(UserError, match="the number of runs"):
        batch(settings, search, [], 0, 1, "t")


# -- merge --------------------------------------------------------------------------------------
AGREED = "Compute will become the unit of account for every national economy."
CONTESTED = "One company holding half of the world's compute is a danger to democracy."
REBUTTAL = (
    "No, a company holding half of the world's compute is a danger to democracy "
    "only if unregulated."
)


def constructed(debate_id: str, texts: list[tuple[str, str, str]]):
    """A saved debate whose turns are (speaker, kind, text)."""
    base = sample_debate(debate_id)
    turns = [
        Turn(index=i, speaker_id=sp, kind=kind, text=text, segment=0, model="scripted")
        for i, (sp, kind, text) in enumerate(texts)
    ]
    return base.model_copy(update={"turns": turns})


def test_merge_finds_agreed_and_contested_points_with_traces():
    a = constructed(
        "20261128-100000-aaaaaa",
        [
            ("host", "opening", "Welcome to the show about compute."),
            ("altman", "argument", AGREED),
            ("economist", "argument", CONTESTED),
            ("futurist", "rebuttal", REBUTTAL),
        ],
    )
    b = constructed(
        "20261128-100000-bbbbbb",
        [
            ("host", "opening", "Welcome back to the show about compute."),
            ("economist", "argument", AGREED),
            ("futurist", "argument", "Fusion power will make compute nearly free by 2040."),
        ],
    )
    merged = merge_debates([a, b], e5_embed)
    assert [p.point for p in merged.agreed] == [AGREED]
    agreed = merged.agreed[0]
    assert agreed.debates == [a.id, b.id]
    assert {(t.debate_id, t.turn) for t in agreed.traces} == {(a.id, 2), (b.id, 2)}
    contested = {t.text for p in merged.contested for t in p.traces}
    assert CONTESTED in contested and REBUTTAL in contested
    # A point made once and never rebutted is neither agreed nor contested.
    everything = [t.text for p in merged.agreed + merged.contested for t in p.traces]
    assert not any("Fusion" in t for t in everything)
    # Hosts' words are not points.
    assert not any("Welcome" in t for t in everything)
    md = merged_markdown(merged)
    assert f"{a.id} turn 2" in md and "Sam Altman (simulated)" in md
    assert "<script>" not in merged_html(merged)


def test_merge_refuses_a_single_debate_or_different_topics():
    a = sample_debate("20261128-100000-aaaaaa")
    with pytest.raises(UserError, match="at least two"):
        merge_debates([a], e5_embed)
    other = sample_debate("20261128-100000-cccccc", topic="Fusion power")
    with pytest.raises(UserError, match="different topics"):
        merge_debates([a, other], e5_embed)


# -- the command line against a loopback server ---------------------------------------------------
def test_batch_and_merge_commands(tmp_path: Path, indexed_data: Path):
    data = tmp_path / "data"
    shutil.copytree(indexed_data, data)
    with FakeOpenAI(delay_s=0.005, reply_tokens=20) as a, FakeOpenAI(reply_tokens=20) as b:
        run = subprocess.run(
            [
                *DEBATE,
                "batch",
                "--runs",
                "4",
                "--concurrency",
                "2",
                "--turns",
                "5",
                "--topic",
                "Is compute money?",
                "--base-url",
                a.base_url,
                "--base-url",
                b.base_url,
                "--model",
                "fake",
                "--data-dir",
                str(data),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stderr
        assert "4/4 debates finished" in run.stdout
        assert run.stderr.count("finished on http://127.0.0.1") == 4  # progress, one per debate
        ids = re.findall(r"✓ (\S+)", run.stdout)
        assert len(ids) == 4
        merged = subprocess.run(
            [*DEBATE, "outline", "--merge", *ids, "--format", "json", "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
    assert merged.returncode == 0, merged.stderr
    outline = json.loads(merged.stdout)
    assert outline["debate_ids"] == ids and outline["topic"] == "Is compute money?"
    traced = {t["debate_id"] for p in outline["agreed"] + outline["contested"] for t in p["traces"]}
    assert traced <= set(ids) and traced
    bad = subprocess.run(
        [*DEBATE, "batch", "--runs", "0", "--base-url", a.base_url],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0
    assert "--runs" in bad.stderr and "Traceback" not in bad.stderr


def test_sixty_four_debates_at_once_through_faults(settings, search):
    """Point 7 of the load issue, small: 64 debates at once over 4 servers that inject every
    kind of fault now and then; every debate completes, no turn is lost, broken or crossed."""
    s = settings.model_copy(
        update={"backend": "openai", "turns": 4, "request_timeout_s": 0.5, "max_retries": 4}
    )
    plan = dict(rate=0.05, retry_after_s=0.2, stall_s=1.0)
    servers = [
        FakeOpenAI(delay_s=0.005, reply_tokens=10, faults=FaultPlan(seed=i, **plan)).start()
        for i in range(4)
    ]
    try:
        topics = [f"Who owns compute? run-{i}" for i in range(64)]
        results = batch(s, search, servers, 64, 64, topics)
        injected = sum(sum(srv.stats.faults.values()) for srv in servers)
    finally:
        for srv in servers:
            srv.stop()
    assert injected > 0
    assert [r.status for r in results] == ["finished"] * 64, [r.message for r in results]
    store = DebateStore(s.out_dir)
    for i, r in enumerate(results):
        debate = store.load(r.debate_id)
        assert [t.index for t in debate.turns] == [0, 1, 2, 3]
        assert {m for t in debate.turns for m in TAG.findall(t.text)} == {f"(run-{i})"}
        assert not any("CUT-HERE" in t.text or "broken" in t.text for t in debate.turns)
