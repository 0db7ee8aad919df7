"""Read transcripts (.txt/.md/.srt/.vtt, any common Japanese encoding) and chunk them.

Chunks follow sentence boundaries and keep the exact 1-based file lines they
came from, so a citation of a chunk points at real lines of the file.
"""

from __future__ import annotations

import bisect
import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import UserError
from core.text import split_sentences

SUFFIXES = (".txt", ".md", ".srt", ".vtt")
MAX_BYTES = 20 * 1024 * 1024

_LABEL = re.compile(r"^\s*([^\s:：<>]{1,20}|[A-Z][\w .'-]{0,30}?)\s*[:：]\s*")
# A cue's timing line: start --> end, hours optional, milliseconds optional (some tools
# leave them out or write them after a colon), cue settings after it.
_STAMP = r"(?:\d+:)?\d{1,2}:\d{2}(?:[,.:]\d{1,3})?"
_CUE_TIME = re.compile(rf"^\s*({_STAMP})\s*-+>\s*{_STAMP}(?:\s|$)")
# Cue markup: `<v Name>` voices (with classes: `<v.loud Name>`), inline word timestamps
# (`<00:00:03.360>`), ruby annotations, other tags (`<c>`, `<i>`, `</v>`), and the
# `{\an8}` overrides of ASS-made SRT files. `[^<>]`, not `[^>]`: a line of many
# unclosed "<a" stays linear to scan.
_VOICE = re.compile(r"<v(?:\.[^\s<>]*)?\s+([^<>]{1,40})>", re.I)
_RUBY = re.compile(r"<(rt|rp)\b[^<>]*>[^<>]*</\1>", re.I)
_TIMESTAMP_TAG = re.compile(r"<\d[\d:.,]*>")
_TAG = re.compile(r"</?[a-z][^<>]*>", re.I)
_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Marks that take no room: zero-width spaces and joiners, direction marks, a stray BOM.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_VTT_BLOCKS = ("NOTE", "STYLE", "REGION")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a source, with the file line it sits on and what was known about it."""

    line: int
    text: str
    speaker: str | None = None
    timestamp: str | None = None


@dataclass(frozen=True)
class Skipped:
    """Lines line_start..line_end of a file that held text the parser could not read (a
    cue with a broken timing line, text outside any cue). Their text is not indexed, and
    no chunk spans them."""

    line_start: int
    line_end: int


@dataclass(frozen=True)
class Chunk:
    """A run of sentences, anchored to lines line_start..line_end of its file."""

    source_id: str
    chunk_id: str
    line_start: int
    line_end: int
    text: str
    speakers: tuple[str, ...] = ()
    timestamp: str | None = None
    # The sentences, and their glosses where every one has one: the sparse side of the
    # index encodes each sentence once and pools them per chunk.
    parts: tuple[str, ...] = ()
    gloss_parts: tuple[str, ...] = ()

    @property
    def gloss(self) -> str | None:
        """The chunk's English gloss, where every sentence of it has one."""
        return " ".join(self.gloss_parts) or None


@dataclass
class SourceText:
    """A decoded source file, split into lines exactly as the file has them.

    For subtitles, `cues` counts the cues read, `skipped` lists what could not be read,
    and `repeats` counts caption lines dropped as rolling repeats of the cue before
    (automatic captions show each line twice as it scrolls up)."""

    path: Path
    lines: list[str]
    encoding: str
    sha256: str
    sentences: list[Sentence] = field(default_factory=list)
    cues: int | None = None
    skipped: list[Skipped] = field(default_factory=list)
    repeats: int = 0


def is_cjk(ch: str) -> bool:
    """Whether a character belongs to writing that puts no spaces between words: kana,
    CJK ideographs, CJK punctuation, and full- or half-width forms."""
    code = ord(ch)
    return (
        0x3000 <= code <= 0x30FF  # CJK punctuation, hiragana, katakana
        or 0x31F0 <= code <= 0x31FF  # katakana extensions
        or 0x3400 <= code <= 0x4DBF  # ideographs, extension A
        or 0x4E00 <= code <= 0x9FFF  # ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFF00 <= code <= 0xFFEF  # full-width and half-width forms
        or 0x20000 <= code <= 0x3FFFF  # ideographs, extensions B and on
    )


def join_text(parts: Iterable[str]) -> str:
    """Pieces of running text (wrapped lines, sentences) as one text, joined by script:
    nothing between two pieces where either side of the seam is Japanese or Chinese
    ("通貨に" + "なる" -> "通貨になる"), one space otherwise ("the power grid" +
    "controls" -> "the power grid controls")."""
    out = ""
    for part in parts:
        if not part.strip():
            continue
        if not out.strip():
            out = part.lstrip()
        elif is_cjk(out.rstrip()[-1]) or is_cjk(part.lstrip()[0]):
            out += part  # as the file has it
        else:
            out = f"{out.rstrip()} {part.lstrip()}"
    return out.strip()


def _japanese_share(text: str) -> float:
    jp = sum(1 for ch in text if "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff")
    return jp / max(1, len(text))


_BOMS = (
    (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _line_of(data: bytes, position: int, encoding: str) -> int:
    """The 1-based line of the byte at `position` of text in `encoding`."""
    if encoding.startswith(("utf-16", "utf-32")):
        width = 2 if encoding.startswith("utf-16") else 4
        head = data[: position - position % width].decode(encoding, errors="replace")
        return head.count("\n") + 1
    return data.count(b"\n", 0, position) + 1


def _utf16_without_bom(data: bytes) -> str | None:
    """The codec of UTF-16 text saved without a byte-order mark, told by its zero bytes:
    ASCII characters (line breaks, digits, Latin letters) have a zero byte, and it falls
    on one side of every pair only. None when the bytes do not read that way."""
    sample = data[:8192]
    sample = sample[: len(sample) - len(sample) % 2]
    if len(data) % 2 or len(sample) < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if (even and odd) or max(even, odd) < 2:
        return None
    encoding = "utf-16-le" if odd else "utf-16-be"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    return None if _CONTROL.search(text) else encoding


_NAMES = {"utf-8": "UTF-8", "cp932": "Shift-JIS", "euc_jp": "EUC-JP"}


def _reads_as(line: bytes, encoding: str) -> bool:
    """Whether a line decodes in `encoding` as text of its kind (Japanese, for the
    legacy Japanese encodings, which decode many byte runs as nonsense kanji)."""
    try:
        text = line.decode(encoding)
    except UnicodeDecodeError:
        return False
    return encoding == "utf-8" or _japanese_share(text) > 0.3


def _guess_of(line: bytes, encoding: str) -> str:
    """A hint at the encoding of one line that is not in `encoding`, or nothing."""
    for other, name in _NAMES.items():
        if other != encoding and not line.isascii() and _reads_as(line, other):
            return f" (it reads as {name})"
    return ""


def _fit(lines: list[bytes], encoding: str) -> tuple[list[int], int]:
    """The lines (1-based) that do not decode in `encoding`, and how many lines that are
    not ASCII read as `encoding`."""
    bad: list[int] = []
    good = 0
    for number, line in enumerate(lines, 1):
        try:
            line.decode(encoding)
        except UnicodeDecodeError:
            bad.append(number)
            continue
        good += not line.isascii() and _reads_as(line, encoding)
    return bad, good


def _mixed(data: bytes, where: str, encodings: Sequence[str]) -> None:
    """Refuse a file written in one encoding with a few lines in another, naming the first
    of them: one encoding for the whole file would garble one part or the other. The
    file's encoding is the one most of its non-ASCII lines read as; it is mixed when
    those lines are at least as many as the lines it cannot decode."""
    lines = data.split(b"\n")
    fits = {e: _fit(lines, e) for e in encodings}
    encoding = max(encodings, key=lambda e: fits[e][1])
    bad, good = fits[encoding]
    if bad and good >= len(bad):
        name = _NAMES[encoding]
        more = f" ({len(bad) - 1} more lines like it)" if len(bad) > 1 else ""
        raise UserError(
            f"{where}: line {bad[0]}: not {name} like the rest of the file"
            f"{_guess_of(lines[bad[0] - 1], encoding)}{more}; save the file as UTF-8, "
            "that line included, and ingest again"
        )


def decode(data: bytes, where: str) -> tuple[str, str]:
    """Decode bytes to text: by byte-order mark (UTF-8, UTF-16 and UTF-32, little- or
    big-endian), UTF-16 without one, UTF-8, Shift-JIS/CP932 or EUC-JP, detected.

    Returns (text, codec name). Raises UserError, naming the line where one is at fault:
    empty or binary files, undecodable text, a UTF-8 file with lines in another encoding."""
    if not data.strip():
        raise UserError(f"{where}: the file is empty")
    for bom, encoding, name in _BOMS:
        if data.startswith(bom):
            body = data[len(bom) :]
            try:
                text = body.decode(encoding)
            except UnicodeDecodeError as exc:
                line = _line_of(body, exc.start, encoding)
                raise UserError(
                    f"{where}: line {line}: not {name}, though the file says it is"
                ) from exc
            if not text.strip():
                raise UserError(f"{where}: the file is empty")
            return text, "utf-8-sig" if encoding == "utf-8" else encoding
    unmarked = _utf16_without_bom(data)
    if unmarked is not None:
        return data.decode(unmarked), unmarked
    if b"\x00" in data[:8192]:
        raise UserError(f"{where}: this looks like a binary file, not a transcript")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        first_bad = _line_of(data, exc.start, "utf-8")
    _mixed(data, where, ("utf-8",))
    best: tuple[float, str, str] | None = None
    for encoding in ("cp932", "euc_jp"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        share = _japanese_share(text)
        if best is None or share > best[0]:
            best = (share, text, encoding)
    if best is not None and best[0] > 0.05:
        return best[1], best[2]
    _mixed(data, where, ("cp932", "euc_jp"))
    from charset_normalizer import from_bytes

    match = from_bytes(data).best()
    if match is None or match.encoding is None:
        raise UserError(
            f"{where}: line {first_bad}: cannot tell the text encoding (not UTF-8, "
            "Shift-JIS or EUC-JP); save the file as UTF-8"
        )
    return str(match), match.encoding


def _speaker(text: str) -> tuple[str | None, str]:
    m = _LABEL.match(text)
    if not m:
        return None, text
    name = (m.group(1) or "").strip()
    rest = text[m.end() :]
    if not rest.strip() or name.lower() in {"http", "https", "note", "q", "a"}:
        return None, text
    return name, rest


def _plain_sentences(lines: list[str], markdown: bool) -> list[Sentence]:
    out: list[Sentence] = []
    for number, raw in enumerate(lines, 1):
        text = raw
        if markdown:
            text = re.sub(r"^\s{0,3}(#{1,6}\s+|[-*+]\s+|>\s*|\d+[.)]\s+)", "", text)
        speaker, text = _speaker(text)
        for sentence in split_sentences(text):
            out.append(Sentence(number, sentence, speaker))
    return out


def cue_text(line: str) -> tuple[str | None, str]:
    """One line of cue text as plain text, and the voice it names (`<v Name>`), if any:
    tags, inline timestamps, ruby readings and ASS overrides removed, HTML entities
    (`&amp;`, `&#39;`, `&nbsp;`...) decoded, invisible marks dropped, spaces collapsed."""
    voice = _VOICE.search(line)
    text = _RUBY.sub("", line)
    text = _TIMESTAMP_TAG.sub("", _TAG.sub("", text))
    text = _ASS_OVERRIDE.sub("", text)
    text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    text = " ".join(_INVISIBLE.sub("", text).split())
    return (voice.group(1).strip() if voice else None), text


@dataclass
class _Cues:
    """What the cue parser has read so far."""

    sentences: list[Sentence] = field(default_factory=list)
    cues: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    repeats: int = 0

    def skip(self, start: int, end: int) -> None:
        if self.skipped and self.skipped[-1].line_end >= start - 1:
            last = self.skipped.pop()
            start = last.line_start
        self.skipped.append(Skipped(start, end))


def _stamp(text: str) -> str:
    """A cue's start time as `[HH:]MM:SS.mmm`, however the file separates milliseconds."""
    head, _, millis = text.replace(",", ".").rpartition(".")
    if not head:
        parts = text.split(":")
        if len(parts) < 4:
            return text
        head, millis = ":".join(parts[:-1]), parts[-1]
    return f"{head}.{millis}"


def _cue_sentences(lines: list[str]) -> _Cues:
    """SRT and VTT: timings and `<v Name>` voices become metadata; cue text keeps its line.

    Read as players read them, not as the specs would have them: a header with no blank
    line after it, cues with no blank lines between them (a line just before a timing
    line is the next cue's number or id), a cue whose first line is a lone space (the
    layout of automatic captions, whose lines also come twice as they roll up: a line
    that repeats one of the cue before is dropped). Non-empty lines that belong to no
    cue (a broken timing line and what follows it, stray text) are `skipped`."""
    out = _Cues()
    stamp: str | None = None  # the open cue's start time
    voice: str | None = None
    previous: set[str] = set()  # the lines of the cue before, for rolling repeats
    current: set[str] = set()
    metadata = False  # inside a NOTE / STYLE / REGION block
    stray: int | None = None  # first line of a run of text that belongs to no cue
    start = 0
    if lines and lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        start = 1
        while start < len(lines) and lines[start].strip():
            if _CUE_TIME.match(lines[start]):
                break
            start += 1

    def next_is_timing(index: int) -> str | None:
        """'ok' when the line after `index` is a timing line, 'broken' when it has a cue
        arrow but cannot be read, else None."""
        if index + 1 >= len(lines) or "-->" not in lines[index + 1]:
            return None
        return "ok" if _CUE_TIME.match(lines[index + 1]) else "broken"

    def end_cue() -> None:
        nonlocal stamp, voice, previous, current
        if stamp is not None:
            previous, current = current, set()
        stamp, voice = None, None

    for index in range(start, len(lines)):
        number = index + 1
        raw = lines[index].lstrip("\ufeff")
        line = raw.strip()
        if not raw:  # a blank line ends a cue or a block
            if stray is not None:
                out.skip(stray, number - 1)
                stray = None
            end_cue()
            metadata = False
            continue
        m = _CUE_TIME.match(line)
        if m:
            if stray is not None:
                out.skip(stray, number - 1)
                stray = None
            end_cue()
            stamp, metadata = _stamp(m.group(1)), False
            out.cues += 1
            continue
        ahead = next_is_timing(index)
        blank_before = index == start or not lines[index - 1].strip()
        if ahead and (stamp is None or line.isdigit() or blank_before):
            # The next cue's number or id.
            end_cue()
            if ahead == "broken" and stray is None:
                stray = number  # its timing cannot be read: the cue is skipped
            elif ahead == "ok" and stray is not None:
                out.skip(stray, number - 1)
                stray = None
            continue
        if "-->" in line and stamp is not None:
            end_cue()  # a timing line that cannot be read: its cue is skipped
        if stamp is None:
            if metadata or not line:
                continue
            if stray is None and line.split(maxsplit=1)[0] in _VTT_BLOCKS:
                metadata = True  # a NOTE, STYLE or REGION block
            elif stray is None:
                stray = number
            continue
        named, text = cue_text(raw)
        if not text:
            continue
        key = "".join(text.split())
        current.add(key)
        if key in previous:
            out.repeats += 1
            continue
        if named:
            voice = named
        else:
            label, rest = _speaker(text)
            if label is not None:
                voice, text = label, rest
        for sentence in split_sentences(text):
            out.sentences.append(Sentence(number, sentence, voice, stamp))
    if stray is not None:
        out.skip(stray, len(lines))
    return out


def read_source(path: Path) -> SourceText:
    """Read a transcript file into lines and sentences; bad files are one-line UserErrors."""
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not a transcript file")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UserError(f"{path}: unsupported file type '{suffix}' (use {', '.join(SUFFIXES)})")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UserError(_too_big(path, size))
        # Read at most one byte past the limit: a file that grew since stat() is refused
        # without holding all of it in memory.
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    if len(data) > MAX_BYTES:
        raise UserError(_too_big(path, len(data)))
    text, encoding = decode(data, str(path))
    text = unicodedata.normalize("NFC", text)
    lines = text.split("\n")
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in lines]
    digest = hashlib.sha256(data).hexdigest()
    if suffix in (".srt", ".vtt"):
        cues = _cue_sentences(lines)
        source = SourceText(
            path, lines, encoding, digest, cues.sentences, cues.cues, cues.skipped, cues.repeats
        )
    else:
        sentences = _plain_sentences(lines, markdown=suffix == ".md")
        source = SourceText(path, lines, encoding, digest, sentences)
    if not source.sentences:
        skipped = f" ({skipped_note(source.skipped)})" if source.skipped else ""
        raise UserError(f"{path}: no text found in the file{skipped}")
    return source


def skipped_note(skipped: Sequence[Skipped]) -> str:
    """`skipped 1 unreadable cue at line 7`, `skipped 3 unreadable cues at lines 7, 19 and
    40`: what a parse left out, for the user."""
    starts = [s.line_start for s in skipped]
    if not starts:
        return ""
    shown = [str(n) for n in starts[:5]]
    if len(starts) > 5:
        where = f"lines {', '.join(shown)} and {len(starts) - 5} more"
    elif len(starts) > 1:
        where = f"lines {', '.join(shown[:-1])} and {shown[-1]}"
    else:
        where = f"line {shown[0]}"
    cues = "cue" if len(starts) == 1 else "cues"
    return f"skipped {len(starts)} unreadable {cues} at {where}"


def _too_big(path: Path, size: int) -> str:
    return f"{path}: {size / 2**20:.1f} MB is over the {MAX_BYTES >> 20} MB limit of a transcript"


def load_gloss(path: Path) -> dict[tuple[int, str], str]:
    """A parallel gloss file: JSON lines of {line, sentence, ja, en}, keyed by (line, ja)."""
    gloss_path = path.with_name(path.name.rsplit(".", 1)[0] + ".gloss.en.jsonl")
    if not gloss_path.exists():
        return {}
    table: dict[tuple[int, str], str] = {}
    try:
        text = gloss_path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{gloss_path}: not UTF-8 text") from exc
    except OSError as exc:
        raise UserError(f"{gloss_path}: cannot read the file ({exc.strerror or exc})") from exc
    for number, raw in enumerate(text.split("\n"), 1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
            table[(int(row["line"]), str(row["ja"]))] = str(row["en"])
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise UserError(f"{gloss_path}: line {number}: not a gloss row ({exc})") from exc
    return table


def chunk(
    source: SourceText,
    source_id: str,
    *,
    target_chars: int = 160,
    max_chars: int = 320,
    overlap: int = 1,
    gloss: dict[tuple[int, str], str] | None = None,
) -> list[Chunk]:
    """Group sentences into chunks of about `target_chars`, never over `max_chars`
    (a single longer sentence stands alone), repeating `overlap` sentences between
    neighbours. Ids depend only on the source id, lines and text, so they are stable.

    No chunk spans lines whose text was skipped (`SourceText.skipped`): its line range
    claims only lines whose text it holds. Sentences are joined by script (`join_text`)."""
    chunks: list[Chunk] = []
    for run in _runs(source):
        chunks.extend(_chunk_run(run, source_id, target_chars, max_chars, overlap, gloss))
    return chunks


def _runs(source: SourceText) -> list[list[Sentence]]:
    """The source's sentences, cut wherever skipped lines lie between two of them."""
    runs: list[list[Sentence]] = [[]]
    starts = sorted(g.line_start for g in source.skipped)
    for sentence in source.sentences:
        run = runs[-1]
        # Sentences come in line order; skipped lines never hold a sentence.
        if run and bisect.bisect_right(starts, run[-1].line) < bisect.bisect_left(
            starts, sentence.line
        ):
            runs.append(run := [])
        run.append(sentence)
    return [r for r in runs if r]


def _chunk_run(
    sentences: list[Sentence],
    source_id: str,
    target_chars: int,
    max_chars: int,
    overlap: int,
    gloss: dict[tuple[int, str], str] | None,
) -> list[Chunk]:
    chunks: list[Chunk] = []
    start = 0
    while start < len(sentences):
        end = start
        size = 0
        while end < len(sentences):
            length = len(sentences[end].text)
            if end > start and (size >= target_chars or size + length > max_chars):
                break
            size += length
            end += 1
        group = sentences[start:end]
        text = join_text(s.text for s in group)
        line_start, line_end = group[0].line, group[-1].line
        digest = hashlib.sha1(f"{line_start}:{line_end}:{text}".encode()).hexdigest()[:10]
        gloss_parts: tuple[str, ...] = ()
        if gloss:
            found = [gloss.get((s.line, s.text)) for s in group]
            if all(found):
                gloss_parts = tuple(p.strip() for p in found if p)
        speakers = tuple(dict.fromkeys(s.speaker for s in group if s.speaker))
        chunks.append(
            Chunk(
                source_id=source_id,
                chunk_id=f"{source_id}:{line_start}-{line_end}:{digest}",
                line_start=line_start,
                line_end=line_end,
                text=text,
                speakers=speakers,
                timestamp=group[0].timestamp,
                parts=tuple(s.text.strip() for s in group if s.text.strip()),
                gloss_parts=gloss_parts,
            )
        )
        if end >= len(sentences):
            break
        start = max(start + 1, end - overlap)
    return chunks
