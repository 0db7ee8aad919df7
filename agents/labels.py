"""Speaker labels: whose voice a line's label ("Dr. Tanabe", "Keiko Tanabe-san",
"Ki-Shin Tanabe said", "タナベさん") gives the line to.

A small model often writes the next speaker's line itself. The cut that stops a
voice speaking for another (agents/speaker.py) asks this module whether a label
names a person at the table: by full name, either name part, or a near
misspelling of one, with titles (Dr., Prof., Mr., Ms. ...), honorifics (-san,
-sensei, -sama, -kun, -chan, さん, 先生, 様, 氏 ...), stage notes in brackets, a
trailing "said"/"asks", and kana spellings of romanized names taken off first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from typing import Literal

NEAR = 0.8  # similarity (difflib ratio) from which a word of 4+ letters is a misspelled name
MAX_WORDS = 4  # a label of more words is prose, not a name

TITLES = frozenset(
    "dr doctor prof professor mr mister mrs ms miss mx sir dame madam madame mme mlle "
    "herr frau dean chairman chairwoman president".split()
)
HONORIFICS = frozenset(
    "san sama sensei kun chan shi dono senpai sempai hakase kyoju kyouju".split()
)
_JA_HONORIFIC = re.compile(
    r"(?:さん|さま|様|せんせい|先生|氏|くん|君|ちゃん|殿|どの|教授|博士|社長|議員)$"
)
_ROMAN_HONORIFIC = re.compile(r"-(" + "|".join(sorted(HONORIFICS)) + r")$", re.I)
_SPOKE = re.compile(
    r"\s+(?:said|says|asked|asks|replied|replies|answered|answers|added|adds|continued|"
    r"continues|responded|responds|noted|notes|explained|explains|argued|argues|wrote|"
    r"writes|interjected|interjects)$",
    re.I,
)
_SPOKE_JA = re.compile(r"(?:は|が)?(?:言った|言う|言いました|述べた|曰く|いわく)$")
_NOTE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】")
_WRAPPED = re.compile(r"^[(\[【](.+)[)\]】]$")
_EDGES = "*_\"'“”‘’「」『』<>#•·~-–—=+|`: \t"
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
_WORD = re.compile(r"^[^\W\d_](?:[\w'’.-]*[^\W_])?\.?$")
# Labels that name a role rather than a person. The host's: another voice for a panelist.
HOST_ROLES = frozenset({"host", "moderator", "presenter", "anchor", "mc", "司会", "司会者"})
# Anyone but the speaker: a chat transcript's parties, the audience, a generic guest.
OTHER_ROLES = frozenset(
    {
        "human",
        "user",
        "assistant",
        "ai assistant",
        "system",
        "audience",
        "audience member",
        "viewer",
        "caller",
        "interviewer",
        "guest",
        "panelist",
        "panellist",
        "観客",
        "視聴者",
        "ゲスト",
    }
)
PANEL_ROLES = frozenset({"guest", "panelist", "panellist", "ゲスト"})
_NUMBERED = re.compile(
    r"^(?:speaker|voice|person|participant|guest|panell?ist|audience member|caller)\s*#?\d+$"
)
# Words that open a sentence with a capital yet name no one ("As Tanabe said", "Thank you").
_PROSE = frozenset(
    "a an and as at but by dear for from hello hi i in let like me my no now of ok okay on our "
    "right so thank thanks the then to we well what when where who why with yes you your".split()
)


@dataclass(frozen=True)
class Label:
    """A label read as a name: its words (lower-case, titles, honorifics and notes taken
    off), whether each looks like a name by itself (capitalised, an initial, or not in
    Latin letters), and whether it ended in a speech verb ("Mika Aoyama said")."""

    words: tuple[str, ...]
    named: tuple[bool, ...]
    kana: tuple[bool, ...]
    replayed: bool
    role: str | None = None


def _kana_to_romaji(text: str) -> str:
    """Hepburn-style romaji of kana (katakana read as hiragana); other characters kept.
    Long-vowel marks are dropped, as romanized names drop them."""
    out = ""
    i = 0
    chars = [chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text]
    double = False
    while i < len(chars):
        c = chars[i]
        if c == "っ":
            double = True
            i += 1
            continue
        if c in "ーｰ":
            i += 1
            continue
        syllable = _KANA.get(c, c)
        following = chars[i + 1] if i + 1 < len(chars) else ""
        if following in "ゃゅょ" and following and syllable.endswith("i") and len(syllable) > 1:
            vowel = {"ゃ": "a", "ゅ": "u", "ょ": "o"}[following]
            stem = syllable[:-1]
            syllable = stem + vowel if stem in ("sh", "ch", "j") else stem + "y" + vowel
            i += 1
        if double and syllable[:1].isalpha():
            syllable = ("t" if syllable.startswith("ch") else syllable[0]) + syllable
        double = False
        out += syllable
        i += 1
    return out


def _kana_table() -> dict[str, str]:
    rows = {
        "": "あいうえお",
        "k": "かきくけこ",
        "g": "がぎぐげご",
        "s": "さしすせそ",
        "z": "ざじずぜぞ",
        "t": "たちつてと",
        "d": "だぢづでど",
        "n": "なにぬねの",
        "h": "はひふへほ",
        "b": "ばびぶべぼ",
        "p": "ぱぴぷぺぽ",
        "m": "まみむめも",
        "r": "らりるれろ",
    }
    table: dict[str, str] = {}
    for consonant, kana in rows.items():
        for ch, vowel in zip(kana, "aiueo", strict=True):
            table[ch] = consonant + vowel
    table.update(
        {
            "し": "shi",
            "ち": "chi",
            "つ": "tsu",
            "ふ": "fu",
            "じ": "ji",
            "ぢ": "ji",
            "づ": "zu",
            "や": "ya",
            "ゆ": "yu",
            "よ": "yo",
            "わ": "wa",
            "を": "o",
            "ん": "n",
            "ゔ": "vu",
            "ぁ": "a",
            "ぃ": "i",
            "ぅ": "u",
            "ぇ": "e",
            "ぉ": "o",
            "ゃ": "ya",
            "ゅ": "yu",
            "ょ": "yo",
        }
    )
    return table


_KANA = _kana_table()
_HAS_KANA = re.compile(r"[\u3041-\u3096\u30a1-\u30fa]")


def _long_vowels(word: str) -> str:
    """Romanized names write long vowels many ways (Satou, Satoo, Sato): one way."""
    return word.replace("ou", "o").replace("oo", "o").replace("uu", "u").replace("oh", "o")


def read_label(text: str) -> Label | None:
    """A label (the text before a line's colon) read as a person's name or a role, or
    None when it reads as prose ("Question for Tanabe", "Note", "Thank you all")."""
    text = unicodedata.normalize("NFKC", text).strip(_EDGES)
    wrapped = _WRAPPED.match(text)
    if wrapped:
        text = wrapped.group(1)
    text = _NOTE.sub(" ", text).strip(_EDGES)
    replayed = False
    for spoke in (_SPOKE, _SPOKE_JA):
        cut = spoke.sub("", text)
        if cut != text:
            text, replayed = cut.strip(_EDGES), True
    role = " ".join(text.lower().split())
    if role in HOST_ROLES or role in OTHER_ROLES or _NUMBERED.match(role):
        return Label((), (), (), replayed, role)
    words: list[str] = []
    for raw in re.split(r"[\s・]+", text):
        raw = raw.strip(_EDGES.replace(".", "").replace("-", "") + ",")
        if not raw:
            continue
        bare = _JA_HONORIFIC.sub("", raw) or raw
        bare = _ROMAN_HONORIFIC.sub("", bare) or bare
        lower = bare.lower().rstrip(".")
        if lower in HONORIFICS or (not words and lower in TITLES):
            continue
        if not _WORD.match(bare):
            return None
        words.append(bare)
    if not words or len(words) > MAX_WORDS:
        return None
    named = tuple(
        (w[0].isupper() and w.lower() not in _PROSE)
        or not w[0].isascii()
        or len(w.rstrip(".")) == 1
        for w in words
    )
    kana = tuple(bool(_HAS_KANA.search(w)) for w in words)
    lowered = tuple(
        _kana_to_romaji(w) if k else w.lower().rstrip(".").replace("'", "").replace("’", "")
        for w, k in zip(words, kana, strict=True)
    )
    return Label(lowered, named, kana, replayed)


def label_forms(text: str) -> list[Label]:
    """The label as a whole, and the name after its last sentence end ("Thank you all.
    Dr. Tanabe"), where each reads as a name or role."""
    forms = [read_label(text)]
    pieces = [p for p in _SENTENCE_END.split(text) if p.strip()]
    # Rejoin what a title's or an initial's period split off ("Dr." "Tanabe").
    tail = ""
    for piece in reversed(pieces):
        word = piece.strip().rsplit(None, 1)[-1].rstrip(".").lower() if piece.strip() else ""
        if tail and (word in TITLES or len(word) == 1) and len(piece.split()) == 1:
            tail = f"{piece.strip()} {tail}"
            continue
        if tail:
            break
        tail = piece.strip()
    if len(pieces) > 1 and tail and tail != text.strip():
        forms.append(read_label(tail))
    return [f for f in forms if f is not None]


def _parts(name: str) -> tuple[str, ...]:
    """The parts of a name a label may use, lower-case: "Ki-Shin Tanabe" -> ki-shin,
    kishin, ki, shin, tanabe."""
    out: list[str] = []
    for word in re.split(r"[\s・]+", unicodedata.normalize("NFKC", name).lower()):
        word = word.strip(".,'’")
        if _HAS_KANA.search(word):
            word = _kana_to_romaji(word)
        if not word:
            continue
        out.append(word)
        if "-" in word:
            out.append(word.replace("-", ""))
            out.extend(p for p in word.split("-") if p)
    return tuple(dict.fromkeys(out))


def _word_score(word: str, kana: bool, parts: Sequence[str]) -> int:
    """2 for a name part as written, 1 for a near misspelling of one, else 0."""
    variants = {word, _long_vowels(word)}
    if "-" in word:
        variants.add(word.replace("-", ""))
        variants.update(p for p in word.split("-") if p)
    if kana and word[-1:] in ("u", "o") and len(word) > 2:
        variants.add(word[:-1])  # サム -> samu -> sam
    best = 0
    for part in parts:
        targets = {part, _long_vowels(part)}
        if kana:
            targets.add(part.replace("l", "r"))  # kana have no l: アルトマン -> arutoman
        for v in variants:
            for t in targets:
                if v == t:
                    return 2
                if len(v) >= 4 and len(t) >= 4 and SequenceMatcher(None, v, t).ratio() >= NEAR:
                    best = 1
    return best


def name_score(label: Label, name: str) -> int:
    """How well a label names `name`: 0 when it does not; else higher for more words
    matched and more of them exactly. Every word of the label must match a part of the
    name or look like a name itself ("Ki-Shin Tanabe" names Keiko Tanabe; "Question
    for Tanabe" names no one)."""
    if label.role is not None:
        return 0
    parts = _parts(name)
    total = matched = 0
    for word, named, kana in zip(label.words, label.named, label.kana, strict=True):
        score = _word_score(word, kana, parts)
        if score:
            matched += 1
            total += score
        elif not named:
            return 0
    return total if matched else 0


Owner = Literal["own", "other"]


class Voices:
    """Whose voice a label gives a line to, for one speaker among others at the table."""

    def __init__(self, own: str, others: Sequence[str], *, host: bool = False) -> None:
        self.own = own
        self.others = [o for o in others if o.strip()]
        self.host = host

    def owner(self, label: str) -> Owner | None:
        """ "own" for the speaker's own name (or role), "other" for anyone else at the
        table, a role that is not the speaker's, or the speaker's own name replayed in
        the prompt's "Name said" form; None when the label names no one."""
        for form in label_forms(label):
            found = self._owner(form)
            if found is not None:
                return found
        return None

    def _owner(self, form: Label) -> Owner | None:
        if form.role is not None:
            if form.role in HOST_ROLES:
                return "own" if self.host and not form.replayed else "other"
            if form.role in PANEL_ROLES and not self.host and not form.replayed:
                return "own"
            return "other"
        own = name_score(form, self.own)
        theirs = max((name_score(form, o) for o in self.others), default=0)
        if theirs and theirs >= own:
            return "other"
        if own:
            return "other" if form.replayed else "own"
        return None

    def is_own(self, label: str) -> bool:
        """Whether the label as a whole is the speaker's own name or role (which a reply
        may open with), never another's."""
        form = read_label(label)
        # "Mika Aoyama said:" opening Mika Aoyama's own reply is her label, replayed.
        return form is not None and self._owner(replace(form, replayed=False)) == "own"

    def is_other(self, label: str) -> bool:
        """Whether the label gives the line to another voice."""
        return self.owner(label) == "other"
