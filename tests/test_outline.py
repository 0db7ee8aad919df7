"""The outline and the HTML exports, on a saved debate."""

from __future__ import annotations

import json

import pytest

from core.models import Verdict
from episodes.export import to_html, to_markdown
from episodes.outline import build_outline, outline_html, outline_markdown
from tests.conftest import PASSAGES
from tests.tui_fixtures import claimed_debate, sample_debate


def test_outline_sections():
    debate = claimed_debate()
    outline = build_outline(debate)
    assert outline.simulated == ["Sam Altman (simulated)"]
    # turns are numbered from 1, as replay and the debate's export number them
    assert outline.cold_open is not None and outline.cold_open.turn in (2, 3, 6)
    assert [s.title for s in outline.segments] == ["Money or not", "The race"]
    first = outline.segments[0]
    # talking points are the claims made, with their lines and who made them, and the
    # turn's own words beside them
    points = [(p.speaker, p.turn, p.anchor, p.claim, p.move) for p in first.talking_points]
    assert points == [
        ("Sam Altman (simulated)", 2, "panel:10-11", PASSAGES[1].gloss, "open"),
        ("Keiko Tanabe", 3, "panel:30-30", PASSAGES[2].gloss, "challenge"),
    ]
    assert first.talking_points[0].said == debate.turns[1].text
    # a clash is a pair of opposed claims: the challenge and the claim it answers
    assert first.clash is not None
    assert (first.clash.challenge.turn, first.clash.against.turn) == (3, 2)
    assert first.minutes > 0
    assert {s.anchor for s in outline.sources} == {"panel:3-3", "panel:10-11", "panel:30-30"}
    md = outline_markdown(outline)
    assert "## Cold open" in md and "Simulated personas: Sam Altman (simulated)" in md
    assert f"“{PASSAGES[2].gloss}”" in md and "`panel:30-30`" in md and "**Key clash:**" in md
    # a claim whose turn failed its check is marked, is no clash and is not quoted
    second = outline.segments[1]
    (marked,) = [p for p in second.talking_points if p.unsupported]
    assert marked.turn == 7 and second.clash is None
    assert "⚠ unsupported" in md
    assert all(q.turn != 7 for s in outline.segments for q in s.quotes)


def test_a_debate_recorded_before_claims_still_has_an_outline():
    outline = build_outline(sample_debate())
    first = outline.segments[0]
    assert [(p.turn, p.claim) for p in first.talking_points] == [(2, None), (3, None)]
    assert first.talking_points[0].said.startswith("Compute is scarce")
    assert first.clash is None  # no claims, no opposed pair
    assert "Compute is scarce" in outline_markdown(outline)


def failing(reason: str = "does not argue from its lines", invented=()) -> Verdict:
    return Verdict(False, 0.05, None, tuple(invented), reason)


PASSING = Verdict(True, 0.6, 1, (), "")


def test_fact_check_lists_each_failing_turn_with_its_lines_and_reason():
    debate = sample_debate()
    # verdicts come keyed by turn index; the outline shows turns numbered from 1
    verdicts = {1: PASSING, 2: PASSING, 5: failing(invented=["Elon Musk"]), 6: PASSING}
    outline = build_outline(debate, verdicts=verdicts)
    assert [(f.turn, f.anchor, f.invented) for f in outline.fact_checks] == [
        (6, "panel:30-30", ["Elon Musk"])
    ]
    assert outline.checked == 4 and outline.unchecked == []
    md = outline_markdown(outline)
    section = md.split("## Fact-check", 1)[1]
    assert "- ⚠ turn 6 (Ren Kurosawa) `panel:30-30`: does not argue from its lines" in (section)
    assert "Every citation" not in md and "All 4 panelist turns" not in md
    # the failing turn's talking point and quote carry the mark; the cold open is a good one
    points = [p for seg in outline.segments for p in seg.talking_points]
    assert [(p.turn, p.said) for p in points if p.flagged] == [
        (6, "Whoever holds 51% of all compute writes the rules for everyone else.")
    ]
    assert outline.cold_open is not None and outline.cold_open.turn != 6
    assert "(turn 6) `panel:30-30`: Whoever holds 51% of all compute writes the rules" in md
    assert "⚠ not supported by its lines: see the fact-check" in md
    html = outline_html(outline)
    assert "⚠ turn 6 (Ren Kurosawa) `panel:30-30`" in html


def test_fact_check_says_which_turns_were_never_checked_and_when_all_pass():
    debate = sample_debate()
    unchecked = build_outline(debate)
    assert unchecked.fact_checks == [] and unchecked.unchecked == [2, 3, 6, 7]
    assert "Not checked against their lines: turns 2, 3, 6, 7" in outline_markdown(unchecked)
    for t in debate.turns:
        t.attribution = PASSING if t.speaker_id != "host" else None
    passed = build_outline(debate)
    assert passed.fact_checks == [] and passed.unchecked == []
    assert "- All 4 panelist turns argue from their cited lines." in outline_markdown(passed)


def test_html_is_self_contained_and_escaped():
    debate = sample_debate()
    debate.turns[1].text = '<script>alert("x")</script> and <b>bold</b> [bold red]x[/]'
    for page in (to_html(debate), outline_html(build_outline(debate))):
        assert "<script>alert" not in page and "&lt;script&gt;" in page
        assert "<b>bold</b>" not in page
        assert "http://" not in page and "https://" not in page and "<link" not in page
        assert page.startswith("<!doctype html>")
    assert "simulated" in to_html(debate)


def test_outline_json_round_trip():
    outline = build_outline(sample_debate())
    again = type(outline).model_validate(json.loads(outline.model_dump_json()))
    assert again == outline


def test_model_writes_the_prose_and_assembly_keeps_the_rest():
    from agents.llm.scripted import ScriptedModel
    from graphs.session import write_notes

    debate = sample_debate()
    assembled = build_outline(debate)
    model = ScriptedModel(name="writer").enqueue(
        {
            "title": "Who Owns the Compute?",
            "logline": "Three guests argue whether chips are the new gold.",
            "segment_titles": ["Money, Rewired", "Who wins?"],  # 2nd repeats its question
            "open_questions": ["Should compute be taxed like land?"],
        }
    )
    outline = write_notes(assembled, debate.topic, model)
    assert outline.written_by == "writer"
    assert (outline.title, outline.logline) == (
        "Who Owns the Compute?",
        "Three guests argue whether chips are the new gold.",
    )
    # A working title that only repeats the question keeps the assembled one.
    assert [s.title for s in outline.segments] == ["Money, Rewired", "The race"]
    assert outline.open_questions[0] == "Should compute be taxed like land?"
    for part in ("cold_open", "sources", "fact_checks", "simulated"):
        assert getattr(outline, part) == getattr(assembled, part)
    assert [s.talking_points for s in outline.segments] == [
        s.talking_points for s in assembled.segments
    ]
    # The debate's words reach the model as quoted data.
    (call,) = model.history
    assert call.schema.__name__ == "OutlineNotes"
    assert "<<<" in call.messages[0]["content"] and "quoted data" in call.messages[0]["content"]
    assert "written by writer" in outline_markdown(outline)


def test_a_models_open_question_is_taken_only_whole_and_on_the_debate():
    from agents.llm.scripted import ScriptedModel
    from graphs.session import write_notes

    debate = sample_debate()
    assembled = build_outline(debate)
    # A read outline listed "What would" as its one open question for the next episode.
    questions = ["What would", "Is the weather nice today?", "Should compute be taxed like land?"]
    model = ScriptedModel(name="writer").enqueue(
        {"title": "Episode 3", "logline": "Three guests argue about compute.",
         "segment_titles": [], "open_questions": questions}
    )  # fmt: skip
    outline = write_notes(assembled, debate.topic, model)
    assert outline.open_questions[0] == "Should compute be taxed like land?"
    for dropped in ("What would", "weather"):
        assert dropped not in " ".join(outline.open_questions)
        assert any(dropped in note for note in outline.notes_dropped), outline.notes_dropped


def test_a_model_that_fails_leaves_a_valid_assembled_outline():
    from agents.llm.scripted import ScriptedModel
    from core.errors import ModelError
    from graphs.session import write_notes

    debate = sample_debate()
    assembled = build_outline(debate)
    for reply in ("not json at all", {"title": ""}, ModelError("server gone")):
        outline = write_notes(assembled, debate.topic, ScriptedModel().enqueue(reply))
        assert outline.model_copy(update={"notes_dropped": []}) == assembled
        assert outline.written_by == "assembly" and outline.notes_dropped  # and says why


def test_durations_follow_the_speech_rates():
    debate = sample_debate()
    normal = build_outline(debate, wpm=150)
    slow = build_outline(debate, wpm=75)
    for a, b in zip(normal.segments, slow.segments, strict=True):
        assert b.minutes == pytest.approx(a.minutes * 2, abs=0.1)
    ja = debate.model_copy(update={"language": "ja"})
    total = sum(len(t.text) for t in ja.turns if t.segment == 0)
    assert build_outline(ja, cpm=100).segments[0].minutes == pytest.approx(total / 100, abs=0.06)


def test_outline_command_without_a_model(tmp_path, indexed_data):
    import os
    import shutil
    import subprocess

    from episodes.store import DebateStore
    from tests.conftest import DEBATE, ROOT

    data = tmp_path / "data"
    shutil.copytree(indexed_data, data)
    store = DebateStore(tmp_path / "debates")
    debate = sample_debate()
    debate.turns[5].text = "Interest rates move bank lending; inflation follows the money supply."
    store.save(debate)
    result = subprocess.run(
        [
            *DEBATE,
            "outline",
            "20261128",
            "--no-model",
            "--out",
            str(tmp_path / "debates"),
            "--data-dir",
            str(data),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # this checkout's code, wherever installed
    )
    assert result.returncode == 0, result.stderr
    assert "assembled from the debate's turns" in result.stdout
    assert "## Segment 1: Money or not" in result.stdout
    # the turn that drifted from its lines is checked and listed, with its lines
    section = result.stdout.split("## Fact-check", 1)[1]
    assert "- ⚠ turn 6 (Ren Kurosawa) `panel:30-30`: does not argue" in section


def test_a_title_copied_from_a_guest_is_not_taken():
    from agents.llm.scripted import ScriptedModel
    from graphs.session import write_notes

    debate = sample_debate()
    assembled = build_outline(debate)
    line = assembled.segments[0].talking_points[0].said
    copied = {"title": line[:80], "logline": line[:200], "segment_titles": [line[:60]]}
    outline = write_notes(assembled, debate.topic, ScriptedModel().enqueue(copied))
    # Nothing new was written, so nothing is credited to the model, and the outline says why.
    assert outline.model_copy(update={"notes_dropped": []}) == assembled
    assert outline.written_by == "assembly"
    assert outline.notes_dropped[0].startswith("the title, it copies a guest's line")


def test_chatter_off_topic_and_cut_off_parts_are_not_taken_and_the_outline_says_why():
    from agents.llm.scripted import ScriptedModel
    from graphs.session import write_notes

    debate = sample_debate()
    assembled = build_outline(debate)
    written = {  # what the bundled model wrote for a debate on compute as money
        "title": "The new currency that everyone's no longer in the gold market. I'm not sure what",
        "logline": "Awesome episode, I'm so glad you brought it to my attention.",
        "segment_titles": ["Bananas, Ferries and Kites", "Money and the"],
    }
    outline = write_notes(assembled, debate.topic, ScriptedModel().enqueue(written))
    assert outline.model_copy(update={"notes_dropped": []}) == assembled
    assert outline.written_by == "assembly"
    assert [d.split(",")[0] for d in outline.notes_dropped] == [
        "the title",
        "the logline",
        "segment 1's title",
        "segment 2's title",
    ]
    assert "talks to the reader" in outline.notes_dropped[1]
    assert "shares no word with the debate" in outline.notes_dropped[2]
    assert "breaks off" in outline.notes_dropped[3]


def test_debate_exports_mark_a_failing_turn_with_its_reason():
    debate = sample_debate()
    reason = "does not argue from its lines (score 0.05 < 0.30: overlap 0.05, rank 7)"
    debate.turns[5].attribution = failing(reason)
    debate.turns[1].attribution = PASSING
    md = to_markdown(debate)
    assert md.count("⚠ not supported") == 1
    # the sixth turn (index 5) is "#6", as replay numbers it
    sixth = md.split("· #6", 1)[1].split("· #7", 1)[0]
    assert f"> ⚠ not supported: {reason}" in sixth
    assert "· #0" not in md and "· #1\n" in md
    page = to_html(debate)
    assert page.count("⚠ not supported") == 1 and "score 0.05 &lt; 0.30" in page


def test_a_claim_stated_from_the_template_is_not_printed_twice():
    debate = claimed_debate()
    turn = debate.turns[2]  # Keiko Tanabe's claim, said as the template states it
    debate.turns[2] = turn.model_copy(
        update={"voiced_by": "template", "text": f"I see it differently. {turn.claim.text}"}
    )
    outline = build_outline(debate)
    (point,) = [p for p in outline.segments[0].talking_points if p.turn == 3]
    assert point.stated
    md, html = outline_markdown(outline), outline_html(outline)
    assert md.count(turn.claim.text) >= 1 and "I see it differently." not in md
    assert "I see it differently." not in html
    voiced = [p for p in outline.segments[0].talking_points if p.turn == 2]
    assert voiced and "*said:* Compute is scarce" in md  # a voiced claim keeps its words


def test_a_replys_header_says_how_it_stands_to_the_turn_it_answers():
    from episodes.export import turn_label

    debate = claimed_debate()
    reply = debate.turns[2]
    assert reply.kind == "rebuttal" and reply.claim is not None
    assert turn_label(reply, "en") == f"pushes back on #{reply.claim.answers + 1}"
    builds = reply.model_copy(update={"claim": reply.claim.model_copy(update={"move": "extend"})})
    assert turn_label(builds, "en") == f"builds on #{reply.claim.answers + 1}"
    assert f"· builds on #{reply.claim.answers + 1} ·" in to_markdown(
        debate.model_copy(update={"turns": [*debate.turns[:2], builds, *debate.turns[3:]]})
    )
    assert turn_label(debate.turns[1], "en") == "argument"  # an argument keeps its kind
    unclaimed = reply.model_copy(update={"claim": None})
    assert turn_label(unclaimed, "en") == "rebuttal" and turn_label(unclaimed, "ja") == "反論"


def test_a_title_that_trails_a_numbered_table_is_not_taken():
    from agents.llm.scripted import ScriptedModel
    from graphs.session import write_notes

    debate = sample_debate()
    assembled = build_outline(debate)
    written = {  # what the bundled model wrote as a title for a default debate
        "title": "What happens when one AI holds 51% of all compute? | 1. | 2. | 3. | 4.",
        "logline": "Who holds the compute, and what that means for money.",
        "segment_titles": ["Compute as money", "Who holds it"],
    }
    outline = write_notes(assembled, debate.topic, ScriptedModel().enqueue(written))
    assert outline.title == assembled.title
    marks = "the title, it carries list or table marks"
    assert any(d.startswith(marks) for d in outline.notes_dropped), outline.notes_dropped
