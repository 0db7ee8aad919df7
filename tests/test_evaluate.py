"""Eval figures on constructed debates whose right answers are known; `debate eval` on a
debate of labelled turns, faithful and drifting."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import cli
from bench.fake_openai import FakeOpenAI
from core.models import Citation, Debate, Turn
from episodes.evaluate import distinctiveness, evaluate
from episodes.store import DebateStore
from tests.conftest import StubSearch
from tests.tui_fixtures import sample_debate
from transcripts.attribution import Attributor, load_labelled

LABELLED = Path(__file__).parent / "data" / "attribution_turns.jsonl"


def stub_attributor() -> Attributor:
    """Judges the fixture's turns from their passages (its source is no bundled file)."""
    return Attributor(StubSearch(), lines={})


TOPICS = {"chips": 0, "money": 1, "power": 2}


def keyword_embed(texts):
    """One axis per keyword: texts about the same thing point the same way."""
    out = np.zeros((len(texts), len(TOPICS) + 1))
    for i, text in enumerate(texts):
        for word, axis in TOPICS.items():
            out[i, axis] = text.lower().count(word)
        out[i, -1] = 0.01
    return out


def test_distinctiveness_tells_apart_speakers_with_their_own_words():
    texts = ["chips chips", "chips fabs chips", "chips", "money money", "money bank", "money"]
    labels = ["a", "a", "a", "b", "b", "b"]
    assert distinctiveness(texts, labels, keyword_embed) == 1.0
    same = ["chips", "money", "chips money"] * 2  # both speakers say the same things
    assert distinctiveness(same, labels, keyword_embed) <= 0.5


def test_validity_grounding_and_support_on_a_constructed_debate():
    debate = sample_debate()
    # one citation outside the turn's passages: validity drops by exactly one citation
    debate.turns[2].citations.append(Citation(source_id="panel", line_start=50, line_end=50))
    result = evaluate(debate, keyword_embed, stub_attributor())
    cites = sum(len(t.citations) for t in debate.turns)
    assert result.citation_validity == (cites - 1) / cites
    # that turn also cites valid lines, but a grounded turn's citations are all valid
    spoken = [t for t in debate.turns if t.kind != "interjection"]
    assert result.grounding_rate == (len(spoken) - 1) / len(spoken)
    assert result.agenda_coverage == 1.0
    assert abs(sum(result.speaker_share.values()) - 1.0) < 1e-9
    assert result.tokens_out == 20 * len(debate.turns)


def test_turns_that_drift_from_their_lines_are_flagged_one_by_one():
    debate = sample_debate()
    good = evaluate(debate, keyword_embed, stub_attributor())
    for t in debate.turns:
        t.text = "Interest rates move bank lending, and inflation follows the money supply."
    bad = evaluate(debate, keyword_embed, stub_attributor())
    panel = [c for c in bad.turns if c.judged]
    assert panel and all(c.attributable is False and c.reason for c in panel)
    assert bad.attributable_share == 0.0 < good.attributable_share
    host = [c for c in bad.turns if not c.judged]
    assert host and all(c.attributable is None for c in host)


# -- `debate eval` on the bundled source ----------------------------------------------------------
def labelled_debate(ids: list[str]) -> Debate:
    """A saved debate whose panelist turns are labelled turns (by id), in that order."""
    rows = {r["id"]: r for r in load_labelled(LABELLED)}
    debate = sample_debate(turns=len(ids) + 1)
    turns = [debate.turns[0]]
    for i, row_id in enumerate(ids, 1):
        row = rows[row_id]
        cites = [
            c.model_copy(update={"source_id": "compute_resource_ism_panel"})
            for c in row["citations"]
        ]
        turns.append(
            Turn(
                index=i,
                speaker_id=row["speaker"],
                kind="argument",
                text=row["text"],
                citations=cites,
                segment=0,
            )
        )
    return debate.model_copy(update={"turns": turns})


@pytest.fixture
def eval_dirs(tmp_path: Path, indexed_data: Path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    shutil.copytree(indexed_data, data)
    return data, tmp_path / "debates"


def run_eval(capsys, data: Path, out: Path, *args: str) -> tuple[int, str, str]:
    code = cli.main(["eval", *args, "--data-dir", str(data), "--out", str(out)])
    got = capsys.readouterr()
    return code, got.out, got.err


def test_eval_says_turn_by_turn_which_turns_argue_from_their_lines(capsys, eval_dirs):
    data, out = eval_dirs
    debate = labelled_debate(["f03", "u01", "u13"])  # faithful, drifting, inventing
    DebateStore(out).save(debate)
    code, text, _ = run_eval(capsys, data, out, debate.id)
    assert code == 0
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith("    #")}
    # turns are numbered from 1, as replay and exports number them: #1 is the host's
    assert "host turn" in rows["#1"] and "#0" not in rows
    assert ": attributable (score" in rows["#2"]
    assert "NOT attributable" in rows["#3"] and "invented" not in rows["#3"]
    assert "NOT attributable" in rows["#4"]
    assert "Christine Lagarde" in rows["#4"] and "18%" in rows["#4"]
    assert "attributable              0.33  (1 of 3 panelist turns" in text
    assert "invented names or figures 0.33  (1 of 3" in text
    assert "copy_rate / distinct-2" in text and "support" not in text
    saved = DebateStore(out).load(debate.id)
    assert [t.attribution.attributable for t in saved.turns[1:]] == [True, False, False]
    assert saved.metrics.evaluation["attributable_share"] == pytest.approx(1 / 3)


def test_eval_json_carries_the_verdict_of_every_turn(capsys, eval_dirs):
    data, out = eval_dirs
    debate = labelled_debate(["f08", "u24"])  # right lines; fusion and fabs cited to line 48
    DebateStore(out).save(debate)
    code, text, _ = run_eval(capsys, data, out, debate.id, "--json")
    assert code == 0
    result = json.loads(text)
    turns = {t["turn"]: t for t in result["turns"]}  # numbered from 1
    assert sorted(turns) == [1, 2, 3]
    assert turns[2]["attributable"] is True and turns[2]["rank"] == 1
    assert turns[3]["attributable"] is False and turns[3]["score"] < result["threshold"]
    assert turns[3]["reason"].startswith("does not argue from its lines")
    assert turns[1]["judged"] is False and turns[1]["attributable"] is None
    assert result["attributable_share"] == 0.5 and result["judge"] is None


def test_eval_asks_a_judge_model_when_given_one(capsys, eval_dirs, monkeypatch):
    data, out = eval_dirs
    # A bound on every judge call: a stall fails the test in a minute, not in ten.
    monkeypatch.setenv("DEBATE_REQUEST_TIMEOUT_S", "30")
    monkeypatch.setenv("DEBATE_MAX_RETRIES", "1")
    debate = labelled_debate(["f08", "u01"])
    DebateStore(out).save(debate)
    with FakeOpenAI(reply_tokens=5) as server:
        code, text, _ = run_eval(
            capsys,
            data,
            out,
            debate.id,
            "--judge-base-url",
            server.base_url,
            "--judge-model",
            "fake-judge",
            "--json",
        )
    assert code == 0
    judge = json.loads(text)["judge"]
    assert judge["model"] == "fake-judge"
    assert [r["turn"] for r in judge["ratings"]] == [2, 3]  # the panelists' turns, from 1
    assert all(r["rating"]["supported"] in ("supported", "partly", "not") for r in judge["ratings"])


def test_eval_judge_options_go_together(capsys, eval_dirs):
    data, out = eval_dirs
    code, _, err = run_eval(capsys, data, out, "x", "--judge-model", "m")
    assert code == 2
    assert err.strip() == (
        "debate: error: --judge-base-url and --judge-model go together: give both or neither"
    )


def test_eval_of_a_faithful_debate_says_every_turn_argues_from_its_lines(capsys, eval_dirs):
    data, out = eval_dirs
    debate = labelled_debate(["f03", "f14", "f23"])
    DebateStore(out).save(debate)
    code, text, _ = run_eval(capsys, data, out, debate.id)
    assert code == 0
    assert "attributable              1.00  (3 of 3 panelist turns" in text
    assert "invented names or figures 0.00  (0 of 3" in text
    assert "NOT attributable" not in text


def test_eval_names_the_judge_flag_when_its_server_cannot_be_reached(capsys, eval_dirs):
    from tests.conftest import free_port

    data, out = eval_dirs
    debate = labelled_debate(["f03"])
    DebateStore(out).save(debate)
    url = f"http://127.0.0.1:{free_port()}/v1"
    code, _, err = run_eval(
        capsys, data, out, debate.id, "--judge-base-url", url, "--judge-model", "m"
    )
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"debate: error: --judge-base-url {url}: cannot reach the server")


def test_a_judge_that_stops_answering_fails_within_the_request_timeout(
    capsys, eval_dirs, monkeypatch
):
    """The judge's calls are bounded by the run's request timeout and retries: a server
    that stops answering ends `debate eval` with one line naming --judge-base-url after
    about (retries + 1) x timeout, and nothing is saved."""
    import time

    from bench.fake_openai import FaultPlan

    data, out = eval_dirs
    debate = labelled_debate(["f08"])
    DebateStore(out).save(debate)
    monkeypatch.setenv("DEBATE_REQUEST_TIMEOUT_S", "1")
    monkeypatch.setenv("DEBATE_MAX_RETRIES", "0")
    stall = FaultPlan(structured={n: "stall" for n in range(1, 6)}, stall_s=30)
    with FakeOpenAI(faults=stall) as server:
        began = time.perf_counter()
        code, _, err = run_eval(
            capsys,
            data,
            out,
            debate.id,
            "--judge-base-url",
            server.base_url,
            "--judge-model",
            "stalled-judge",
            "--json",
        )
        waited = time.perf_counter() - began
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(
        f"debate: error: --judge-base-url {server.base_url}: cannot reach the server"
    )
    assert waited < 20  # the server would have answered after 30 s
    assert DebateStore(out).load(debate.id).metrics.model_extra.get("evaluation") is None


def test_the_library_and_eval_give_one_grounding_figure(capsys, eval_dirs):
    """Grounding is one figure (`core.models.grounding`): the share of spoken turns
    that cite lines, all of them inside their passages. The library's column and
    `debate eval` print it alike for the same debate."""
    from core.models import Passage, grounding

    data, out = eval_dirs
    debate = labelled_debate(["f03", "u01", "u13"])

    def holding(c: Citation) -> Passage:
        return Passage(
            source_id=c.source_id,
            chunk_id=f"{c.source_id}:{c.line_start}",
            line_start=c.line_start,
            line_end=c.line_end,
            text="…",
            score=1.0,
        )

    t1, t2, t3 = debate.turns[1:4]
    t1.passages = [holding(c) for c in t1.citations]  # every citation valid: grounded
    t2.passages = [holding(t2.citations[0])]  # one valid, one not: not grounded
    t2.citations = [t2.citations[0], Citation(source_id="elsewhere", line_start=1, line_end=1)]
    t3.passages = []  # no citation valid: not grounded
    asked = Turn(index=4, speaker_id="host", kind="interjection", text="And energy?")
    debate = debate.model_copy(update={"turns": [*debate.turns, asked]})
    assert debate.turns[0].citations and not debate.turns[0].invalid_citations()
    assert grounding(debate.turns) == 0.5  # turns 0 and 1 of the four spoken

    DebateStore(out).save(debate)
    (summary,) = DebateStore(out).summaries()
    assert summary.grounding == 0.5
    code, text, _ = run_eval(capsys, data, out, debate.id)
    assert code == 0
    assert "grounding rate            0.50" in text
    code, text, _ = run_eval(capsys, data, out, debate.id, "--json")
    assert json.loads(text)["grounding_rate"] == summary.grounding
