"""Speaker labels: the cut that stops a voice speaking for another knows a person however
a line labels them."""

from __future__ import annotations

import pytest

from agents.labels import Voices, read_label
from agents.personas import load_personas
from agents.speaker import StreamGate, clean_reply, other_voice

PANEL = ["Sam Altman", "Keiko Tanabe", "Ren Kurosawa"]


@pytest.fixture(scope="module")
def host():
    return load_personas()["host"]


@pytest.mark.parametrize(
    "label",
    [
        # titles
        "Dr. Tanabe",
        "Prof. Kurosawa",
        "Mr Altman",
        "Ms. Keiko Tanabe",
        "Professor Dr. Tanabe",
        # honorifics, romanized and Japanese
        "Keiko Tanabe-san",
        "Tanabe-sensei",
        "Ren-kun",
        "Keiko-chan",
        "Tanabe-SAMA",
        "Tanabeさん",
        "Keiko先生",
        "Kurosawa様",
        "Tanabe氏",
        "Tanabe san",
        # kana spellings of the romanized names
        "タナベさん",
        "ケイコ・タナベ",
        "サム・アルトマン",
        "クロサワ先生",
        # either name part, any case, initials, near misspellings, the replayed form
        "Ki-Shin Tanabe said",
        "K. Tanabe",
        "Keiko T.",
        "TANABE",
        "kurosawa",
        "Altmann",
        "Tanabee",
        "Kurosowa",
        "Sam Altman (screen)",
        "**Dr. Tanabe**",
        "[Tanabe]",
        "- Tanabe",
        "Ren asks",
        "タナベさんは言った",
        # a name after a sentence on the same line
        "Thank you all. Dr. Tanabe",
        "以上です。タナベさん",
        # roles that are not the host's
        "Human",
        "AI Assistant",
        "Audience",
        "Speaker 2",
        "Guest",
    ],
)
def test_host_cuts_a_line_given_to_another_voice(host, label: str):
    assert other_voice(host, PANEL)(label), label


@pytest.mark.parametrize(
    "label",
    [
        "Note",
        "Question for Tanabe",
        "As Tanabe said",
        "Tanabe, you said",
        "Thank you. Keiko, what do you think",
        "Well, Ren",
        "Professor Tanabe's point",
        "Bottom line",
        "Tanaka",  # another name, not a misspelling of one at the table
        "Mike",
        "Compute",
        "Mika Aoyama",  # the host's own name and role
        "Host",
        "結論",
    ],
)
def test_host_keeps_lines_that_name_no_other_voice(host, label: str):
    assert not other_voice(host, PANEL)(label), label


def test_own_label_with_title_or_honorific_is_stripped_and_others_cut(host):
    reply = "Aoyama-san: Thank you all.\nDr. Tanabe: The poor should simply be given less."
    assert clean_reply(reply, host, PANEL) == "Thank you all."
    quote = 'Let us hear the panel.\nKi-Shin Tanabe said: "Compute is theft."'
    assert clean_reply(quote, host, PANEL) == "Let us hear the panel."
    japanese = "計算資源の話です。\nタナベ先生：それは違います。"
    assert clean_reply(japanese, host, PANEL) == "計算資源の話です。"


def test_the_stream_stops_at_a_title_label_too(host):
    out: list[str] = []
    gate = StreamGate(out.append, host, other_voice(host, PANEL))
    for piece in ["Welcome back.", "\nProf. Kur", "osawa-san: The fu", "ture is coin."]:
        gate(piece)
    gate.flush()
    assert "".join(out) == "Welcome back.\n"


def test_a_panelist_hears_the_host_role_as_another_voice():
    economist = load_personas()["economist"]
    others = ["Mika Aoyama", "Sam Altman"]
    foreign = other_voice(economist, others)
    assert foreign("Host") and foreign("Moderator said") and foreign("Aoyama-san")
    assert not foreign("Keiko") and not foreign("Panelist")
    reply = "Tanabe-sensei: Capital will not vanish.\nHost: Thank you, Keiko."
    assert clean_reply(reply, economist, others) == "Capital will not vanish."


def test_a_name_shared_with_another_is_theirs_unless_the_label_is_fully_ones_own():
    voices = Voices("Mika Aoyama", ["Mika Tanaka"], host=True)
    assert voices.owner("Mika Aoyama") == "own"
    assert voices.owner("Mika") == "other"  # either of them: cut
    assert voices.owner("Tanaka-san") == "other"


def test_label_reading():
    label = read_label("Dr. Keiko Tanabe-san (laughing) said")
    assert label is not None and label.words == ("keiko", "tanabe") and label.replayed
    assert read_label("The price of compute in 2030") is None
    assert read_label("Speaker 3") is not None and read_label("Speaker 3").role == "speaker 3"
