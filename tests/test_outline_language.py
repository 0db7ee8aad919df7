"""An outline says why it did not use what the model wrote, and a Japanese debate's pages
are Japanese: `lang="ja"`, headings and role labels in Japanese."""

from __future__ import annotations

import re

from agents.llm.scripted import ScriptedModel
from core.models import Segment, Verdict
from episodes.export import to_html, to_markdown
from episodes.outline import build_outline, outline_html, outline_markdown
from graphs.session import write_notes
from tests.conftest import PASSAGES
from tests.tui_fixtures import claimed_debate, sample_debate


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


def japanese_claims():
    """`claimed_debate` held in Japanese: every turn and claim in Japanese, one claim stated
    from the template, one reply that builds on the claim before it."""
    debate = claimed_debate("20261128-150000-jc")
    turns = []
    for t in debate.turns:
        said = f"日本語で話したターンの言葉で、計算資源の行方を論じています、その{t.index}。"
        update = {"text": said}
        if t.claim is not None:
            claim = t.claim.model_copy(update={"text": t.claim.source_text})
            if t.index == 5:
                claim = claim.model_copy(update={"move": "extend", "answers": 2})
            update["claim"] = claim
        if t.index == 1:
            update["voiced_by"] = "template"
        turns.append(t.model_copy(update=update))
    agenda = [
        Segment(title="通貨か否か", question="計算資源はお金か?", turns=2),
        Segment(title="覇権争い", question="誰が勝つのか?", turns=2),
    ]
    return debate.model_copy(
        update={
            "language": "ja",
            "topic": "計算機資源は通貨になるか",
            "turns": turns,
            "agenda": agenda,
        }
    )


def english_words(page: str, debate) -> set[str]:
    """The English words of a page, less what the debate itself names (people, sources,
    its id), the English gloss of its sources (`英訳`) and the command named in the
    fact-check."""
    names = {w for p in debate.personas for w in p.name.split()}
    allowed = names | {"panel", "debate", "eval", "jc"}
    glosses = {w for p in PASSAGES for w in re.findall(r"[A-Za-z]{2,}", p.gloss or "")}
    return {w for w in re.findall(r"[A-Za-z]{2,}", page) if w not in allowed | glosses}


def test_a_japanese_outline_names_moves_marks_and_turns_in_japanese():
    debate = japanese_claims()
    failing = Verdict(False, 0.05, None, (), "引用箇所と内容が重なりません")
    outline = build_outline(debate, verdicts={5: failing})
    md = outline_markdown(outline)
    for word in ("主張", "補足", "反論", "発言", "に対して", "ターン2", "テンプレートによる発言"):
        assert word in md, word
    assert "根拠なし: どの下書きも検査を通りませんでした" in md  # the unsupported reply
    assert "引用箇所の裏付けなし: ファクトチェックを参照" in md  # the flagged one
    assert "引用箇所と照合していないターン: 2, 3, 7" in md
    assert outline.logline.endswith("による討論: 計算機資源は通貨になるか")
    assert english_words(md, debate) == set()
    html = outline_html(outline)
    body = html.split("<body>", 1)[1]
    assert "補足" in body and "に対して" in body and "<i>発言:</i>" in body
    assert english_words(re.sub(r"<[^>]+>", " ", body), debate) == set()
    # the English outline of the same debate keeps its English words
    english = outline_markdown(build_outline(debate.model_copy(update={"language": "en"})))
    assert "builds on it" in english and "challenges" in english and "*said:*" in english


def test_a_japanese_merged_outline_is_japanese():
    import numpy as np

    from episodes.merge import merge_debates, merged_html, merged_markdown

    a = japanese_claims()
    b = a.model_copy(update={"id": "20261128-160000-jc"})

    def embed(texts):  # the same words, the same point
        return np.array([[1.0, float(hash(t) % 997)] for t in texts])

    merged = merge_debates([a, b], embed)
    assert merged.contested and merged.contested[0].claim.turn == 2
    md = merged_markdown(merged)
    for word in ("2本の討論から統合", "討論をまたいで一致した点", "対立が残った点", "ターン2"):
        assert word in md, word
    assert english_words(md, a) == set()
    html = merged_html(merged)
    assert '<html lang="ja">' in html and "対立が残った点" in html
