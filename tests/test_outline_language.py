"""An outline says why it did not use what the model wrote, and a Japanese debate's pages
are Japanese: `lang="ja"`, headings and role labels in Japanese."""

from __future__ import annotations

from agents.llm.scripted import ScriptedModel
from tests.tui_fixtures import sample_debate
from transcripts.export import to_html, to_markdown
from transcripts.outline import build_outline, outline_html, outline_markdown, write_notes


def japanese():
    return sample_debate("20261128-150000-ja", topic="計算機資源は通貨になるか").model_copy(
        update={"language": "ja"}
    )


def test_a_dropped_title_is_explained_in_every_format():
    debate = sample_debate()
    assembled = build_outline(debate)
    point = assembled.segments[0].talking_points[0]
    line = point.claim or point.said
    reply = {
        "title": line[:80],
        "logline": "A panel weighs whether scarce compute can serve as money.",
    }
    outline = write_notes(assembled, debate.topic, ScriptedModel(name="writer").enqueue(reply))
    assert outline.written_by == "writer" and outline.title == assembled.title
    assert outline.logline.startswith("A panel weighs")
    (reason,) = outline.notes_dropped
    assert reason.startswith("the title, it copies a guest's line")
    assert "Not used from the model: the title" in outline_markdown(outline)
    assert "Not used from the model: the title" in outline_html(outline)
    assert '"notes_dropped"' in outline.model_dump_json()


def test_an_unusable_reply_is_explained():
    debate = sample_debate()
    outline = write_notes(build_outline(debate), debate.topic, ScriptedModel().enqueue("no json"))
    assert outline.written_by == "assembly"
    assert outline.notes_dropped[0].startswith("its reply did not fit the outline's schema")


def test_a_japanese_outline_is_japanese():
    outline = build_outline(japanese())
    html = outline_html(outline)
    assert html.startswith('<!doctype html>\n<html lang="ja">')
    for word in ("セグメント1", "問い", "出典", "ファクトチェック", "シミュレーションの人物"):
        assert word in html, word
    md = outline_markdown(outline)
    assert "## セグメント1" in md and "Segment" not in md and "Question" not in md


def test_a_japanese_debate_page_is_japanese():
    html = to_html(japanese())
    assert '<html lang="ja">' in html
    assert "出演者" in html and "司会" in html and "反論" in html and "シミュレーション" in html
    assert ">Panel<" not in html and "· rebuttal ·" not in html
    assert '<html lang="en">' in to_html(sample_debate())
    assert "## 出演者" in to_markdown(japanese())
