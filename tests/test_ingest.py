from pathlib import Path

import pytest

from core.errors import UserError
from core.text import split_sentences
from transcripts.ingest import chunk, join_text, load_gloss, read_source, skipped_note


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


# -- transcripts from the field ------------------------------------------------------------------
def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def texts(path: Path) -> list[tuple[int, str]]:
    return [(s.line, s.text) for s in read_source(path).sentences]


def test_wrapped_lines_join_by_script(tmp_path: Path):
    """English wrapped lines (cue lines, consecutive .txt lines, sentences of one line)
    join with one space; Japanese ones with none; mixed seams take no space."""
    srt = write(
        tmp_path,
        "en.srt",
        "1\n00:00:01,000 --> 00:00:03,000\nThe grid operator\nsets the price of chips,\n\n"
        "2\n00:00:03,500 --> 00:00:05,000\nso energy decides.  Really? Yes.\n",
    )
    (c,) = chunk(read_source(srt), "en")
    assert c.text == "The grid operator sets the price of chips, so energy decides. Really? Yes."
    txt = write(tmp_path, "mixed.txt", "電力が\n足りない。\nGPU\nの時代です。\nsee the\nnumbers\n")
    (c,) = chunk(read_source(txt), "mixed")
    assert c.text == "電力が足りない。GPUの時代です。see the numbers"


def test_youtube_auto_captions_read_each_line_once(tmp_path: Path):
    """Automatic captions: inline word timings and <c> tags, a first line of one space,
    every line shown twice as it rolls up. Each line is kept once, on its own file line."""
    vtt = write(
        tmp_path,
        "auto.ja.vtt",
        "WEBVTT\nKind: captions\nLanguage: ja\n\n"
        "00:00:00.100 --> 00:00:02.000 align:start position:0%\n \n"
        "電力<00:00:00.500><c>が</c><00:00:00.900><c>足りない</c>\n\n"  # line 7
        "00:00:02.000 --> 00:00:02.010 align:start position:0%\n電力が足りない\n \n\n"
        "00:00:02.010 --> 00:00:04.000 align:start position:0%\n電力が足りない\n"
        "<c.colorE5E5E5>と</c><00:00:02.500><c>言われます</c>\n\n"  # line 15
        "00:00:04.000 --> 00:00:04.010 align:start position:0%\nと言われます\n \n",
    )
    source = read_source(vtt)
    assert texts(vtt) == [(7, "電力が足りない"), (15, "と言われます")]
    assert source.cues == 4 and source.repeats == 3 and source.skipped == []
    (c,) = chunk(source, "auto")
    assert (c.line_start, c.line_end, c.text) == (7, 15, "電力が足りないと言われます")


def test_vtt_header_without_a_blank_line_keeps_the_first_cue(tmp_path: Path):
    vtt = write(
        tmp_path,
        "h.vtt",
        "WEBVTT - rehearsal\n00:00:01.000 --> 00:00:02.000\nFirst cue.\n\n"
        "00:00:02.000 --> 00:00:03.000\nSecond cue.\n",
    )
    assert texts(vtt) == [(3, "First cue."), (6, "Second cue.")]
    with_id = write(
        tmp_path, "i.vtt", "\ufeffWEBVTT\nKind: captions\nc1\n00:01.000 --> 00:02.000\nHi.\n"
    )
    assert texts(with_id) == [(5, "Hi.")]


def test_srt_without_blank_lines_between_cues(tmp_path: Path):
    """Cue numbers are not text, whether cues are packed or parted by lines of spaces."""
    packed = write(
        tmp_path,
        "p.srt",
        "1\n00:00:01,000 --> 00:00:02,000\n電力です。\n2\n00:00:02,000 --> 00:00:03,000\n"
        "核融合です。\n3\n00:00:03,000 --> 00:00:04,000\n12\n",
    )
    source = read_source(packed)
    assert [(s.line, s.text) for s in source.sentences] == [
        (3, "電力です。"),
        (6, "核融合です。"),
        (9, "12"),
    ]
    assert chunk(source, "p")[0].text == "電力です。核融合です。12"
    spaced = write(
        tmp_path,
        "s.srt",
        "1\n00:00:01,000 --> 00:00:02,000\nOne.\n  \n2\n00:00:02,000 --> 00:00:03,000\nTwo.\n",
    )
    assert texts(spaced) == [(3, "One."), (7, "Two.")]


def test_cue_markup_and_html_entities_are_decoded(tmp_path: Path):
    vtt = write(
        tmp_path,
        "e.vtt",
        "WEBVTT\n\nSTYLE\n::cue { color: yellow }\n\nNOTE a note\nover two lines\n\n"
        "00:01.000 --> 00:02.000 line:0 size:50%\n"
        "<v.loud Ren><i>Chips</i> &amp; power &lt;b&gt; a&nbsp;b &#39;x&#x27; &quot;q&quot;"
        "&lrm; &hellip;\n\n"
        "00:02.000 --> 00:03.000\n{\\an8}<ruby>漢字<rt>かんじ</rt></ruby>&#12290;\n",
    )
    source = read_source(vtt)
    assert [(s.line, s.text, s.speaker) for s in source.sentences] == [
        (10, "Chips & power <b> a b 'x' \"q\" …", "Ren"),
        (13, "漢字。", None),
    ]
    assert source.skipped == []


@pytest.mark.parametrize(
    "bom, encoding",
    [
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
        (b"", "utf-16-le"),  # no byte-order mark: told by where the zero bytes fall
        (b"", "utf-16-be"),
        (b"\xff\xfe\x00\x00", "utf-32-le"),
    ],
)
def test_utf16_and_utf32_subtitles_are_read(tmp_path: Path, bom: bytes, encoding: str):
    text = "1\r\n00:00:01,000 --> 00:00:02,000\r\n司会：計算資源は通貨です。\r\n"
    path = write(tmp_path, "u.srt", bom + text.encode(encoding))
    source = read_source(path)
    assert source.encoding == encoding
    assert [(s.line, s.text, s.speaker) for s in source.sentences] == [
        (3, "計算資源は通貨です。", "司会")
    ]


def test_undecodable_lines_are_named(tmp_path: Path):
    mixed = "一行目です。\n二行目です。\n".encode() + "三行目です。\n".encode("cp932") + b"four\n"
    with pytest.raises(UserError) as err:
        read_source(write(tmp_path, "m.txt", mixed))
    assert "m.txt: line 3: not UTF-8 like the rest of the file (it reads as Shift-JIS)" in str(
        err.value
    )
    legacy = "一行目です。\n二行目です。\n".encode("cp932") + "三行目です。\n".encode()
    with pytest.raises(UserError) as err:
        read_source(write(tmp_path, "s.txt", legacy))
    assert "s.txt: line 3: not Shift-JIS like the rest of the file (it reads as UTF-8)" in str(
        err.value
    )
    broken16 = (
        b"\xff\xfe" + "ab\ncd\n".encode("utf-16-le") + b"\x00\xd8" + "x\n".encode("utf-16-le")
    )
    with pytest.raises(UserError, match=r"b16.srt: line 3: not UTF-16, though the file says"):
        read_source(write(tmp_path, "b16.srt", broken16))


def test_unreadable_cues_are_counted_and_never_inside_a_chunk(tmp_path: Path):
    srt = write(
        tmp_path,
        "k.srt",
        "1\n00:00:01,000 --> 00:00:02,000\nFirst cue.\n\n"
        "2\n00:00:0X,000 --> 00:00:03,000\nA cue with a broken time.\n\n"  # lines 5-7
        "3\n00:00:04,000 --> 00:00:05,000\nThird cue.\n\n"
        "words outside any cue\n\n"  # line 13
        "4\n00:00:06,000 --> 00:00:07,000\nFourth cue.\n",
    )
    source = read_source(srt)
    assert source.cues == 3
    assert [(s.line_start, s.line_end) for s in source.skipped] == [(5, 7), (13, 13)]
    assert [s.line for s in source.sentences] == [3, 11, 17]
    chunks = chunk(source, "k")
    for c in chunks:
        assert not any(c.line_start <= line <= c.line_end for line in (5, 6, 7, 13)), c
    assert join_text(c.text for c in chunks) == "First cue. Third cue. Fourth cue."
    assert skipped_note(source.skipped) == "skipped 2 unreadable cues at lines 5 and 13"
    with pytest.raises(
        UserError, match=r"no text found in the file \(skipped 1 unreadable cue at line 1\)"
    ):
        read_source(write(tmp_path, "none.srt", "1\n0:0 --> x\nLost.\n"))


def test_ingest_reports_what_it_read_and_skipped():
    from cli import ingest_line
    from transcripts.index import IngestResult
    from transcripts.ingest import Skipped

    result = IngestResult("ep1", 12, "added", 0.44, cues=42, skipped=(Skipped(7, 9),), repeats=2)
    assert ingest_line(result) == (
        "ep1: added, 12 chunks from 42 cues, skipped 1 unreadable cue at line 7, "
        "2 repeated caption lines dropped (0.4 s)"
    )
    plain = IngestResult("notes", 1, "unchanged", 0.0)
    assert ingest_line(plain) == "notes: unchanged, 1 chunk (0.0 s)"
