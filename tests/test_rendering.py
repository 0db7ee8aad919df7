"""The Markdown and HTML pages of a debate, its outline and a merged outline, byte for byte.

`tests/data/rendered/` holds each page as the renderers wrote it before they moved to
templates (since rewritten once, on purpose: a reply's header names its move, "pushes back
on #2", where it said "rebuttal"); every render must still give the same bytes. One of
the debates is hostile: markup, entities, quotes and Markdown specials in every text a
user, a model or a file gives, which every HTML page and the outline's Markdown show
escaped.

`python -m tests.test_rendering` writes the files anew (only after a deliberate change of
a page).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.models import Verdict
from episodes.export import to_html, to_markdown
from episodes.merge import (
    ContestedPoint,
    MergedOutline,
    MergedPoint,
    Trace,
    merged_html,
    merged_markdown,
)
from episodes.outline import build_outline, outline_html, outline_markdown
from tests.tui_fixtures import claimed_debate, sample_debate

HERE = Path(__file__).parent / "data" / "rendered"
HOSTILE = "<script>alert(\"x\")</script> & 'quoted' *bold* _it_ [link](http://x) `tick` | # ~"


def hostile_debate():
    """A claim-first debate whose every text holds markup and Markdown specials: topic,
    agenda, turns, claims, passages and glosses, a persona's name and title, a verdict's
    reason and invented items; a fork, with one turn failing its check."""
    debate = claimed_debate("20261128-120000-b0b0")
    personas = [
        p.model_copy(update={"name": f"{p.name} <i>&amp;</i>", "title": f"{p.title} *{HOSTILE}"})
        if p.id == "altman"
        else p
        for p in debate.personas
    ]
    turns = []
    for t in debate.turns:
        passages = [
            p.model_copy(update={"text": f"{p.text} {HOSTILE}", "gloss": f"{p.gloss} {HOSTILE}"})
            for p in t.passages
        ]
        update = {"text": f"{t.text} {HOSTILE}", "passages": passages}
        if t.claim is not None:
            update["claim"] = t.claim.model_copy(update={"text": f"{t.claim.text} {HOSTILE}"})
            update["attribution"] = Verdict(
                attributable=t.index != 5,
                score=0.1 if t.index == 5 else 0.6,
                rank=None if t.index == 5 else 1,
                invented=("Dr. <Evil> & Co",) if t.index == 5 else (),
                reason=f"invents {HOSTILE}" if t.index == 5 else "",
            )
        turns.append(t.model_copy(update=update))
    agenda = [s.model_copy(update={"title": f"{s.title} {HOSTILE}"}) for s in debate.agenda]
    return debate.model_copy(
        update={
            "topic": f"Compute {HOSTILE}?",
            "personas": personas,
            "turns": turns,
            "agenda": agenda,
            "parent_id": "20261128-110000-a0a0",
            "forked_at": 2,
        }
    )


def japanese_debate():
    debate = sample_debate("20261128-120000-ja00", topic="計算資源は新しい通貨か？")
    return debate.model_copy(update={"language": "ja"})


def merged(language: str, text: str) -> MergedOutline:
    one = Trace(debate_id="d1", turn=2, speaker=f"Ada {text}", text=f"Chips are money {text}.")
    two = Trace(
        debate_id="d2", turn=3, speaker="Ben", text=f"Chips wear out {text}.", challenged=True
    )
    return MergedOutline(
        topic=f"Compute {text}",
        debate_ids=["d1", "d2"],
        language=language,
        questions=[f"Is compute money {text}?"],
        agreed=[MergedPoint(point=f"Scarcity {text}", debates=["d1", "d2"], traces=[one, two])],
        contested=[
            ContestedPoint(
                point=one.text,
                debates=["d1", "d2"],
                traces=[one, two],
                claim=one,
                rebuttal=two,
            )
        ],
        simulated=[f"Sam Altman (simulated) {text}"],
    )


def pages() -> dict[str, str]:
    """Every page, by the name of its file."""
    out: dict[str, str] = {}
    debates = {
        "sample": sample_debate(),
        "claimed": claimed_debate(),
        "hostile": hostile_debate(),
        "japanese": japanese_debate(),
    }
    for name, debate in debates.items():
        out[f"{name}.debate.md"] = to_markdown(debate)
        out[f"{name}.debate.html"] = to_html(debate)
        outline = build_outline(debate)
        out[f"{name}.outline.md"] = outline_markdown(outline)
        out[f"{name}.outline.html"] = outline_html(outline)
    noted = build_outline(debates["hostile"]).model_copy(
        update={"written_by": f"model {HOSTILE}", "notes_dropped": [f"the title, {HOSTILE}"]}
    )
    out["hostile.outline-notes.md"] = outline_markdown(noted)
    out["hostile.outline-notes.html"] = outline_html(noted)
    for name, m in {
        "merged": merged("en", "plain"),
        "merged-hostile": merged("en", HOSTILE),
        "merged-ja": merged("ja", "です"),
    }.items():
        out[f"{name}.md"] = merged_markdown(m)
        out[f"{name}.html"] = merged_html(m)
    return out


@pytest.mark.parametrize("name", sorted(pages()))
def test_a_page_renders_as_it_did(name: str):
    assert pages()[name] == (HERE / name).read_text(encoding="utf-8")


def test_hostile_text_is_escaped_in_html_and_in_the_outlines_markdown():
    rendered = pages()
    for name in ("hostile.debate.html", "hostile.outline.html", "merged-hostile.html"):
        page = rendered[name]
        assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)" in page
        assert "&amp; &#x27;quoted&#x27;" in page
    page = rendered["hostile.debate.html"]
    assert "Sam Altman &lt;i&gt;&amp;amp;&lt;/i&gt;" in page  # a persona's name, as written
    assert "<i>&amp;</i>" not in page
    md = rendered["hostile.outline.md"]
    assert "<script>" not in md and "\\<script\\>" in md
    assert "\\*bold\\* \\_it\\_ \\[link\\](http://x) \\`tick\\` \\| \\# \\~" in md
    assert "\\&" in md


if __name__ == "__main__":
    HERE.mkdir(parents=True, exist_ok=True)
    for name, text in pages().items():
        (HERE / name).write_text(text, encoding="utf-8")
        print(f"wrote {HERE / name}", file=sys.stderr)
