"""Read transcripts (.txt/.md/.srt/.vtt, any common Japanese encoding) and chunk them.

Chunks follow sentence boundaries and keep the exact 1-based file lines they
came from, so a citation of a chunk points at real lines of the file.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from agents.errors import UserError

SUFFIXES = (".txt", ".md", ".srt", ".vtt")
MAX_BYTES = 20 * 1024 * 1024

# A sentence ends at 。！？!? (with closing brackets), at an ellipsis, or at the line's end.
_SENTENCE = re.compile(r".*?(?:[。！？!?]+[」』）)]*|・・・|…+|$)", re.S)
_EN_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")
_LABEL = re.compile(
    r"^\s*(?:<v\s+([^>]{1,40})>|([^\s:：<>]{1,20}|[A-Z][\w .'-]{0,30}?)\s*[:：])\s*"
)
_SRT_TIME = re.compile(
    r"^\s*(\d{1,2}:)?\d{1,2}:\d{2}[,.]\d{1,3}\s*-->\s*(\d{1,2}:)?\d{1,2}:\d{2}[,.]\d{1,3}"
)
# `[^<>]`, not `[^>]`: a line of many unclosed "<a" stays linear to scan.
_TAG = re.compile(r"</?[a-z][^<>]*>", re.I)


@dataclass(frozen=True)
class Sentence:
    """A sentence of a source, with the file line it sits on and what was known about it."""

    line: int
    text: str
    speaker: str | None = None
    timestamp: str | None = None


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
    """A decoded source file, split into lines exactly as the file has them."""

    path: Path
    lines: list[str]
    encoding: str
    sha256: str
    sentences: list[Sentence] = field(default_factory=list)


def split_sentences(line: str) -> list[str]:
    """Split one line into sentences, keeping every character (joined they are the line)."""
    parts = [m.group(0) for m in _SENTENCE.finditer(line) if m.group(0)]
    out: list[str] = []
    for part in parts:
        out.extend(s for s in _EN_SENTENCE.split(part) if s)
    return [s for s in out if s.strip()]


def _japanese_share(text: str) -> float:
    jp = sum(1 for ch in text if "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff")
    return jp / max(1, len(text))


def _decode_by_line(data: bytes) -> tuple[str, str] | None:
    """A file that is UTF-8 at heart (some line in it is UTF-8 beyond ASCII) but has lines
    in another encoding: a transcript pasted together from two files, or a Windows quote
    (0x92) typed into a UTF-8 file. Decoding the whole file in a single-byte encoding turns
    every UTF-8 character into mojibake ("don’t" -> "donât", which the models then
    repeat); decoding line by line keeps the UTF-8 lines and reads only the others in
    their own encoding. None when no line is UTF-8 beyond ASCII."""
    rows = data.split(b"\n")
    decoded: list[str | None] = []
    for raw in rows:
        try:
            decoded.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            decoded.append(None)
    if not any(text is not None and not text.isascii() for text in decoded):
        return None
    others = b"\n".join(raw for raw, text in zip(rows, decoded, strict=True) if text is None)
    encoding = "cp1252"  # Windows' quotes and dashes: the usual stray bytes in English text
    for candidate in ("cp932", "euc_jp"):
        try:
            if _japanese_share(others.decode(candidate)) > 0.05:
                encoding = candidate
                break
        except UnicodeDecodeError:
            continue
    out = [
        text if text is not None else raw.decode(encoding, errors="replace")
        for raw, text in zip(rows, decoded, strict=True)
    ]
    return "\n".join(out), f"utf-8 with {encoding} lines"


def decode(data: bytes, where: str) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM or not), Shift-JIS/CP932 or EUC-JP, detected."""
    if not data.strip():
        raise UserError(f"{where}: the file is empty")
    if b"\x00" in data[:8192]:
        raise UserError(f"{where}: this looks like a binary file, not a transcript")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8", errors="strict"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start + 3) + 1
            raise UserError(f"{where}: line {line}: not UTF-8, though the file says it is") from exc
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    mixed = _decode_by_line(data)
    if mixed is not None:
        return mixed
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
    from charset_normalizer import from_bytes

    match = from_bytes(data).best()
    if match is None or match.encoding is None:
        raise UserError(f"{where}: cannot tell the text encoding (not UTF-8, Shift-JIS or EUC-JP)")
    return str(match), match.encoding


def _speaker(text: str) -> tuple[str | None, str]:
    m = _LABEL.match(text)
    if not m:
        return None, text
    name = (m.group(1) or m.group(2) or "").strip()
    rest = text[m.end() :]
    if not rest.strip() or name.lower() in {"http", "https", "note", "q", "a"} and not m.group(1):
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


def _cue_sentences(lines: list[str]) -> list[Sentence]:
    """SRT and VTT: timestamps and <v Name> voices become metadata; cue text keeps its line."""
    out: list[Sentence] = []
    stamp: str | None = None
    in_header = bool(lines) and lines[0].lstrip("\ufeff").startswith("WEBVTT")
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if in_header:
            if not line:
                in_header = False
            continue
        if not line:
            stamp = None
            continue
        if _SRT_TIME.match(line):
            stamp = line.split("-->")[0].strip().replace(",", ".")
            continue
        if stamp is None:
            # A cue number or identifier, or a NOTE/STYLE block.
            continue
        speaker, text = _speaker(line)
        text = _TAG.sub("", text).strip()
        for sentence in split_sentences(text):
            out.append(Sentence(number, sentence, speaker, stamp))
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
    if suffix in (".srt", ".vtt"):
        sentences = _cue_sentences(lines)
    else:
        sentences = _plain_sentences(lines, markdown=suffix == ".md")
    if not sentences:
        raise UserError(f"{path}: no text found in the file")
    digest = hashlib.sha256(data).hexdigest()
    return SourceText(path, lines, encoding, digest, sentences)


def _too_big(path: Path, size: int) -> str:
    return f"{path}: {size / 2**20:.1f} MB is over the {MAX_BYTES >> 20} MB limit of a transcript"


def source_id_for(path: Path) -> str:
    """Default source id: the file name without its suffixes, as a slug."""
    stem = path.name.split(".")[0]
    slug = re.sub(r"[^\w-]+", "_", stem, flags=re.UNICODE).strip("_").lower()
    return slug or "source"


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
    neighbours. Ids depend only on the source id, lines and text, so they are stable."""
    sentences = source.sentences
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
        text = "".join(s.text for s in group).strip()
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
