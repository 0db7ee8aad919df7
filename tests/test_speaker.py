from agents.llm.scripted import ScriptedModel
from agents.personas import load_personas
from agents.speaker import TurnRequest, cite, clean_reply, speak, turn_messages
from core.models import Citation, Turn
from tests.conftest import PASSAGES


def request(**kw) -> TurnRequest:
    base = dict(
        index=3,
        kind="rebuttal",
        topic="Compute as currency",
        question="Who gains?",
        language="en",
        passages=PASSAGES[:2],
        previous=("Keiko Tanabe", "Old words."),
    )
    base.update(kw)
    return TurnRequest(**base)


def test_prompt_holds_persona_question_notes_and_only_the_previous_turn():
    altman = load_personas()["altman"]
    req = request(earlier=["A much earlier turn about tulips."])
    system, user = turn_messages(altman, req)
    assert "Sam Altman" in system["content"]
    assert "Who gains?" in user["content"]
    assert "Compute resources will become the new currency." in user["content"]
    assert "Old words." in user["content"]
    assert "tulips" not in user["content"]
    assert "lines 3-3, 10-11" in user["content"]


def test_japanese_prompt_uses_original_text():
    altman = load_personas()["altman"]
    _, user = turn_messages(altman, request(language="ja"))
    assert "計算資源こそが新しい通貨になる。" in user["content"]
    assert "新しい論点" in user["content"]


def test_clean_reply_strips_self_label_and_cuts_other_voices():
    altman = load_personas()["altman"]
    text = "Sam Altman: Compute is scarce. It will be money.\nKeiko Tanabe: No it will not."
    assert clean_reply(text, altman, ["Keiko Tanabe"]) == "Compute is scarce. It will be money."


def test_clean_reply_cuts_voices_however_the_model_labels_them():
    """Seen in embedded-model debates: another speaker labelled with a stage note, in
    capitals, by first or last name, and the prompt's own "Name said:" form."""
    host, altman = load_personas()["host"], load_personas()["altman"]
    guests = ["Sam Altman", "Keiko Tanabe", "Ren Kurosawa"]
    opening = "Welcome to the show.\nSam Altman (screen): Hello, there! Compute is money."
    assert clean_reply(opening, host, guests) == "Welcome to the show."
    question = "Let me turn to Ren Kurosawa.\nREN: So, you're saying a bit too much."
    assert clean_reply(question, host, guests) == "Let me turn to Ren Kurosawa."
    rebuttal = "Chips are scarce.\nTanabe: They are not.\nThey are."
    assert clean_reply(rebuttal, altman, ["Mika Aoyama", "Keiko Tanabe"]) == "Chips are scarce."
    japanese = "計算資源は通貨になります。\nRen Kurosawa：いいえ。"
    assert clean_reply(japanese, altman, ["Ren Kurosawa"]) == "計算資源は通貨になります。"
    replayed = 'I disagree.\nMika Aoyama said: "I\'ll be happy to talk."'
    assert clean_reply(replayed, host, guests) == "I disagree."
    # Its own label, however written, is stripped, and a line that names nobody stays.
    own = "SAM ALTMAN (simulated): Compute is scarce.\nNote: it will be money."
    kept = "Compute is scarce. Note: it will be money."
    assert clean_reply(own, altman, ["Keiko Tanabe"]) == kept


def test_a_line_watch_judges_each_line_once_when_its_label_is_out():
    from agents.llm.base import LabelCheck

    seen: list[str] = []

    def refuse(label: str) -> bool:
        seen.append(label)
        return label.strip() == "Ren"

    watch = LabelCheck(refuse)
    long = "\nA sentence that runs well past the label span: then a colon."
    pieces = ["Sam", ": compute", " is money: yes.", "\nKe", "iko: no.", long, "\nRe", "n:"]
    stops = [watch.feed(p) for p in pieces]
    assert stops == [False, False, False, False, False, False, False, True]
    assert seen == ["Sam", "Keiko", "Ren"]  # one look a line; a far colon makes no label


def test_one_label_check_cuts_the_stream_and_the_text_alike():
    """The check the backends stop with, the stream's gate and `clean_reply` are one: a
    reply cut into pieces anywhere passes the same text as the reply whole, and stops at
    the same place, also when a label's colon arrives with the next line."""
    from agents.llm.base import LabelCheck
    from agents.speaker import StreamGate, other_voice

    host = load_personas()["host"]
    guests = ["Sam Altman", "Ren Kurosawa"]
    reply = "Mika Aoyama: Welcome.\nNote: compute is money.\nRen Kurosawa: It is not.\nNo."

    def passed(pieces: list[str]) -> str:
        out: list[str] = []
        gate = StreamGate(out.append, host, other_voice(host, guests))
        for piece in pieces:
            gate(piece)
        gate.flush()
        return "".join(out)

    whole = passed([reply])
    assert whole == "Welcome.\nNote: compute is money.\n"
    for size in (1, 2, 3, 5, 8, 13):
        assert passed([reply[i : i + size] for i in range(0, len(reply), size)]) == whole
    assert clean_reply(reply, host, guests) == " ".join(whole.split())
    watch = LabelCheck(other_voice(host, guests))
    assert not watch("Fine.\nRen Kuro")
    assert watch("sawa: no.\nMore")  # the colon and the next line in one piece


def test_the_stream_shows_what_the_turn_keeps():
    """Labels are held back until judged: the speaker's own is dropped, another voice's
    line never appears, and text without labels passes through whole."""
    from agents.speaker import StreamGate, other_voice

    host = load_personas()["host"]
    guests = ["Sam Altman", "Ren Kurosawa"]

    def shown(pieces: list[str]) -> str:
        out: list[str] = []
        gate = StreamGate(out.append, host, other_voice(host, guests))
        for piece in pieces:
            gate(piece)
        gate.flush()
        return "".join(out)

    reply = ["Mika", " Aoyama", ": Welcome", " to the show.", "\nNote", ": compute is", " money."]
    reply += ["\nSam Alt", "man (screen)", ": Hello", ", there!"]
    assert shown(reply) == "Welcome to the show.\nNote: compute is money.\n"
    plain = ["A long first line that has no label in it at all, none", ".\nShort", " end"]
    assert shown(plain) == "".join(plain)
    kept = clean_reply("".join(reply), host, guests)
    assert kept == "Welcome to the show. Note: compute is money."


def test_explicit_markers_outside_passages_are_not_cited():
    cites = cite("As said [10-11] and [40-41].", PASSAGES[:2])
    assert [(c.line_start, c.line_end) for c in cites] == [(10, 11)]


def test_without_markers_the_closest_passage_is_cited():
    (c,) = cite("We must build semiconductor factories everywhere.", PASSAGES[:2])
    assert (c.line_start, c.line_end) == (10, 11)


def test_turn_drops_citations_outside_its_passages():
    turn = Turn(
        index=0,
        speaker_id="x",
        kind="argument",
        text="t",
        passages=PASSAGES[:1],
        citations=[
            Citation(source_id="panel", line_start=3, line_end=3),
            Citation(source_id="panel", line_start=50, line_end=50),
        ],
    )
    assert [c.line_start for c in turn.invalid_citations()] == [50]


def test_echo_is_redrafted_and_counted():
    altman = load_personas()["altman"]
    earlier = "the world needs far more chips and data centres and energy for everyone"
    model = ScriptedModel().enqueue(earlier, "A fresh point about fusion power plants.")
    discards = []
    spoken = speak(model, altman, request(earlier=[earlier]), on_discard=discards.append)
    assert spoken.turn.text == "A fresh point about fusion power plants."
    assert spoken.turn.regenerated == 1 and discards == ["echo"]
    assert len(model.history) == 2
    assert model.history[1].sampling.temperature > model.history[0].sampling.temperature
    assert all(c.source_id == "panel" for c in spoken.turn.citations)
    assert spoken.turn.invalid_citations() == []


def test_a_reply_cut_by_the_token_limit_ends_on_a_whole_sentence():
    altman = load_personas()["altman"]
    assert clean_reply("Chips are scarce. Power is", altman, []) == "Chips are scarce."
    assert clean_reply("No sentence end at all", altman, []) == "No sentence end at all…"


def test_a_persona_opener_leads_argument_turns_and_rotates():
    economist = load_personas()["economist"]
    openers = economist.openers["en"]
    model = ScriptedModel(responder=lambda m: f"reply {len(m)} with wages and chips.")
    leads = []
    for index in (1, 2, 3):
        speak(model, economist, request(index=index, kind="argument", passages=PASSAGES[:1]))
        leads.append(model.history[-1].sampling.prefix)
    assert leads == openers[1:4]
    # Openings, closings and answers to a producer's question start freely (a host's
    # opening asks a model only on a large budget: on a small one it is the template's).
    server = ScriptedModel(responder=model.responder, prompt_budget="large")
    for kind, asked in (("opening", None), ("closing", None), ("argument", "Who pays?")):
        req = request(index=1, kind=kind, passages=PASSAGES[:1], producer_question=asked)
        speak(server, load_personas()["host" if kind != "argument" else "economist"], req)
        assert server.history[-1].sampling.prefix == ""


def test_openers_are_validated():
    import pytest
    from pydantic import ValidationError

    from agents.personas import Persona

    base = load_personas()["economist"].model_dump()
    with pytest.raises(ValidationError):
        Persona.model_validate({**base, "openers": {"en": ["x" * 81]}})
    with pytest.raises(ValidationError):
        Persona.model_validate({**base, "openers": {"fr": ["Bonjour"]}})


def test_the_host_sums_up_with_summary_openers_and_asks_by_name():
    host = load_personas()["host"]
    model = ScriptedModel(responder=lambda m: "What do you make of the chip shortage?")

    def lead(kind: str, index: int, first: str = "") -> str:
        speak(model, host, request(index=index, kind=kind, passages=PASSAGES[:1], first=first))
        return model.history[-1].sampling.prefix

    summaries = {lead("summary", i) for i in range(6)}
    assert summaries == set(host.summary_openers["en"])
    assert not summaries & set(host.openers["en"])
    # questions ask a model on a large budget (on a small one they are the template's)
    model.prompt_budget = "large"
    questions = {lead("question", i, first="Keiko Tanabe") for i in range(8)}
    assert "Thank you. Keiko Tanabe, what" in questions
    assert not any("$first" in q for q in questions)
    # with nobody named, openers that name the guest are not used
    unnamed = {lead("question", i) for i in range(8)}
    assert unnamed and not any("$first" in q or "Tanabe" in q for q in unnamed)


def test_summary_openers_are_validated():
    import pytest
    from pydantic import ValidationError

    from agents.personas import Persona

    base = load_personas()["host"].model_dump()
    with pytest.raises(ValidationError):
        Persona.model_validate({**base, "summary_openers": {"en": [" "]}})
