"""The outline and the HTML exports, on a saved debate."""

from __future__ import annotations

import json

from tests.tui_fixtures import sample_debate
from transcripts.export import to_html
from transcripts.outline import build_outline, outline_html, outline_markdown


def test_outline_sections():
    debate = sample_debate()
    outline = build_outline(debate)
    assert outline.simulated == ["Sam Altman (simulated)"]
    assert outline.cold_open is not None and outline.cold_open.turn in (1, 2, 5, 6)
    assert [s.title for s in outline.segments] == ["Money or not", "The race"]
    first = outline.segments[0]
    assert {p.speaker for p in first.talking_points} == {"Sam Altman (simulated)", "Keiko Tanabe"}
    assert first.clash is not None and first.clash.turn == 2
    assert first.minutes > 0
    assert {s.anchor for s in outline.sources} == {"panel:3-3", "panel:10-11", "panel:30-30"}
    md = outline_markdown(outline)
    assert "## Cold open" in md and "Simulated personas: Sam Altman (simulated)" in md


def test_unsupported_citation_is_listed_for_fact_check():
    debate = sample_debate()
    # turn 5 talks about 51% of compute but cites the benevolent-dictator passage
    outline = build_outline(debate)
    flagged = {f.turn for f in outline.fact_checks}
    assert 5 in flagged


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
