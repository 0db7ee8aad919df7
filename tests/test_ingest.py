from pathlib import Path

import pytest

from agents.errors import UserError
from transcripts.ingest import chunk, load_gloss, read_source, split_sentences


def test_sentences_keep_every_character():
    line = "計算資源が通貨になる。本当ですか？ええ！では次へ"
    parts = split_sentences(line)
    assert parts == ["計算資源が通貨になる。", "本当ですか？", "ええ！", "では次へ"]
    assert "".join(parts) == line


def test_chunks_point_at_their_own_lines(bundled_source: Path):
    source = read_source(bundled_source)
    lines = bundled_source.read_text(encoding="utf-8").split("\n")
    chunks = chunk(source, "panel")
    assert len(chunks) > 20
    for c in chunks:
        span = "".join(lines[c.line_start - 1 : c.line_end])
        # every sentence of the chunk sits inside its line span
        for sentence in split_sentences(c.text):
            assert sentence.strip() in span
        assert len(c.text) <= 700


def test_chunk_ids_are_stable(bundled_source: Path):
    a = [c.chunk_id for c in chunk(read_source(bundled_source), "panel")]
    b = [c.chunk_id for c in chunk(read_source(bundled_source), "panel")]
    assert a == b and len(set(a)) == len(a)


def test_bundled_gloss_covers_every_sentence(bundled_source: Path):
    source = read_source(bundled_source)
    gloss = load_gloss(bundled_source)
    missing = [(s.line, s.text[:20]) for s in source.sentences if (s.line, s.text) not in gloss]
    assert missing == []
    assert all(c.gloss for c in chunk(source, "panel", gloss=gloss))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932", "euc_jp"])
def test_japanese_encodings_are_detected(tmp_path: Path, encoding: str):
    text = (
        "司会：計算機資源が新しい通貨になるという話です。\n斎藤：ベーシックインカムも必要です。\n"
    )
    path = tmp_path / "show.txt"
    path.write_bytes(text.encode(encoding))
    source = read_source(path)
    assert [s.text for s in source.sentences] == [
        "計算機資源が新しい通貨になるという話です。",
        "ベーシックインカムも必要です。",
    ]
    assert [s.speaker for s in source.sentences] == ["司会", "斎藤"]


def test_srt_and_vtt_keep_times_speakers_and_lines(tmp_path: Path):
    srt = tmp_path / "a.srt"
    srt.write_text(
        "1\n00:00:01,000 --> 00:00:03,000\nHOST: Compute is money now.\n\n"
        "2\n00:00:04,000 --> 00:00:06,000\nIs it?\n",
        encoding="utf-8",
    )
    s = read_source(srt).sentences
    assert [(x.line, x.text, x.speaker, x.timestamp) for x in s] == [
        (3, "Compute is money now.", "HOST", "00:00:01.000"),
        (7, "Is it?", None, "00:00:04.000"),
    ]
    vtt = tmp_path / "b.vtt"
    vtt.write_text(
        "WEBVTT\n\n00:01.000 --> 00:03.000\n<v Sam>Chips are scarce.</v>\n", encoding="utf-8"
    )
    (only,) = read_source(vtt).sentences
    assert (only.line, only.text, only.speaker) == (4, "Chips are scarce.", "Sam")


@pytest.mark.parametrize(
    "content, message",
    [(b"", "the file is empty"), (b"\x00\x01\x02binary", "binary file")],
)
def test_bad_files_are_refused(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "x.txt"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        read_source(path)


def test_unsupported_suffix(tmp_path: Path):
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF")
    with pytest.raises(UserError, match="unsupported file type"):
        read_source(path)


def test_a_utf8_file_with_stray_lines_keeps_its_utf8_lines():
    """Mojibake ("donât") came from here, not from streaming: a UTF-8 transcript with one
    line in another encoding was read whole in a single-byte encoding, and the models
    repeated what the passages said."""
    from transcripts.ingest import decode

    data = (
        "Sam said he doesn’t — won’t — sell compute.\n".encode()
        + b"It was \x93quoted\x94 on a Windows machine.\n"
        + "計算資源は通貨になる。\n".encode()
    )
    text, encoding = decode(data, "x.txt")
    lines = text.splitlines()
    assert lines[0] == "Sam said he doesn’t — won’t — sell compute."
    assert lines[1] == "It was “quoted” on a Windows machine."
    assert lines[2] == "計算資源は通貨になる。"
    assert encoding == "utf-8 with cp1252 lines"
    assert not any(ch in text for ch in "âÃ€\x80\x99")
    sjis = "こんにちは、計算資源の話です。\n".encode() + "司会：ようこそ。\n".encode("cp932")
    text, encoding = decode(sjis, "y.txt")
    assert text.splitlines() == ["こんにちは、計算資源の話です。", "司会：ようこそ。"]
    assert encoding == "utf-8 with cp932 lines"
