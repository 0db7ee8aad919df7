"""The passage index: ingest once, replace on change, hybrid search, Chroma server mode."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.errors import UserError
from core.text import JapaneseTokenizer
from tests.conftest import DEBATE, SOURCE, free_port
from transcripts.index import PassageIndex
from transcripts.lexical import BM25


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> PassageIndex:
    ix = PassageIndex(tmp_path_factory.mktemp("data"))
    ix.ensure_bundled()
    return ix


def covers(passages, line: int) -> bool:
    return any(p.line_start <= line <= p.line_end for p in passages)


def test_bundled_source_is_indexed_once(index: PassageIndex):
    (again,) = index.ensure_bundled()
    assert again.status == "unchanged"
    (info,) = index.sources()
    assert info.source_id == "compute_resource_ism_panel" and info.chunks == again.chunks


def test_english_question_finds_japanese_lines(index: PassageIndex):
    found = index.search("Who plans to build semiconductor fabs and fusion reactors?", 5)
    assert covers(found, 10)
    assert all(p.gloss for p in found)
    assert [p.score for p in found] == sorted((p.score for p in found), reverse=True)


def test_japanese_question_finds_lines(index: PassageIndex):
    found = index.search("ベーシックインカムは資本主義の上に成り立つ", 5)
    assert covers(found, 43) or covers(found, 44)


def test_bm25_matches_english_words_by_stem():
    tokenize = JapaneseTokenizer()
    assert tokenize("Computing resources") == tokenize("compute resource")
    docs = [
        tokenize("計算資源が通貨になる compute resources become the currency"),
        tokenize("金の延べ棒 the price of gold bars"),
    ]
    scores = BM25(docs).scores(tokenize("Is computing becoming a currency?"))
    assert scores[0] > 0 and scores[1] == 0


def test_changed_file_replaces_its_chunks(tmp_path: Path):
    ix = PassageIndex(tmp_path / "data")
    path = tmp_path / "talk.txt"
    path.write_text("計算資源は通貨になる。\n半導体が足りない。\n", encoding="utf-8")
    first = ix.ingest(path)
    assert first.status == "added"
    assert ix.ingest(path).status == "unchanged"
    path.write_text(
        "計算資源は通貨にならない。\n電力が足りない。\n核融合が鍵だ。\n", encoding="utf-8"
    )
    second = ix.ingest(path)
    assert second.status == "replaced"
    texts = [p.text for p in ix.search("電力", 10)]
    assert all("半導体" not in t for t in texts)
    assert ix.sources()[0].chunks == second.chunks
    assert ix.remove("talk") == second.chunks
    assert ix.sources() == []
    with pytest.raises(UserError, match="no source with id 'talk'"):
        ix.remove("talk")


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory) -> Iterator[str]:
    binary = shutil.which("chroma") or str(Path(DEBATE[0]).with_name("chroma"))
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma")
    proc = subprocess.Popen(
        [binary, "run", "--path", str(folder), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("chroma server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_ingest_and_search_against_a_chroma_server(tmp_path: Path, chroma_server: str):
    def run(*args):
        return subprocess.run(
            [*DEBATE, *args, "--chroma-url", chroma_server],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )

    copy = tmp_path / "show.txt"
    copy.write_bytes(SOURCE.read_bytes())
    ingest = run("ingest", str(copy), "--source-id", "show")
    assert ingest.returncode == 0, ingest.stderr
    assert "show: added" in ingest.stdout
    assert "show: unchanged" in run("ingest", str(copy), "--source-id", "show").stdout
    found = run("search", "basic income funding", "--json", "--source", "show")
    assert found.returncode == 0, found.stderr
    rows = json.loads(found.stdout)
    assert rows and all(r["source_id"] == "show" for r in rows)
    assert not (tmp_path / ".debate" / "chroma").exists()
    listing = run("sources")
    assert "show" in listing.stdout


def test_a_query_uses_every_core_only_when_nothing_else_runs(index: PassageIndex, monkeypatch):
    """Alone, a query embedding takes the whole machine; beside a generating model it
    keeps to one thread, so two OpenMP teams do not spin against each other."""
    from core import workload
    from transcripts.embedder import E5Embedder

    threads: list[int] = []
    real = E5Embedder._engine

    def spy(self, n):
        threads.append(n)
        return real(self, n)

    monkeypatch.setattr(E5Embedder, "_engine", spy)
    monkeypatch.setattr(E5Embedder, "CACHE", 0)
    embedder = index.embedder
    # The machine's other processes leave every core free ...
    monkeypatch.setattr(workload.machine, "threads", lambda most: most)
    embedder.query(["a question asked while nothing else runs"])
    with workload.busy():  # as llama.cpp marks itself while it generates
        embedder.query(["a question asked while a model generates"])
    # ... or hold one of two: alone in this process, the query takes what is left.
    monkeypatch.setattr(workload.machine, "threads", lambda most: max(1, most - 1))
    embedder.query(["a question asked beside another process"])
    expected = max(1, embedder._default_threads - 1)
    assert threads == [embedder._default_threads, 1, expected]
    assert workload.running() == 0


def test_results_never_list_the_same_lines_twice(index: PassageIndex):
    """Chunks overlap by a sentence; two of them that share lines come back as one
    passage (merged while they span at most two lines), never as two rows."""
    for query in (
        "最強の計算資源を巡る争いは、どの国とどの国の奪い合いになるか",
        "How would basic income relate to compute?",
        "資本主義の寿命",
    ):
        found = index.search(query, 8)
        for i, a in enumerate(found):
            for b in found[i + 1 :]:
                assert a.line_end < b.line_start or b.line_end < a.line_start, (query, a, b)


def test_two_overlapping_chunks_read_as_one_passage():
    from core.models import Passage
    from transcripts.fusion import merged

    first = Passage(
        source_id="s", chunk_id="s:19", line_start=19, line_end=20,
        text="A. B. C.", score=0.5, gloss="a. b. c.",
    )  # fmt: skip
    second = Passage(
        source_id="s", chunk_id="s:20", line_start=20, line_end=20,
        text="C. D.", score=0.4, gloss="c. d.",
    )  # fmt: skip
    one = merged(second, first)  # the higher-ranked may come later in the text
    assert (one.line_start, one.line_end, one.chunk_id, one.score) == (19, 20, "s:20", 0.4)
    assert one.text == "A. B. C. D." and one.gloss == "a. b. c. d."
    assert merged(first, first).text == "A. B. C."


# -- the sparse side -----------------------------------------------------------------------
def test_sparse_vectors_pool_add_and_survive_metadata():
    from transcripts.lexical import SparseIndex, add, decode_sparse, encode_sparse, max_pool

    a, b = {1: 0.5, 7: 1.25}, {1: 0.75, 3: 0.1}
    assert max_pool([a, b]) == {1: 0.75, 7: 1.25, 3: 0.1}
    assert add(a, b) == {1: 1.25, 7: 1.25, 3: 0.1}
    text = encode_sparse({12: 0.3333, 5: 1.5})
    assert text == "5:1.500 12:0.333" and decode_sparse(text) == {5: 1.5, 12: 0.333}
    idx = SparseIndex([{1: 1.0, 2: 2.0}, None, {2: 0.5}])
    assert idx.covered == 2
    assert idx.scores({2: 2.0, 9: 5.0}).tolist() == [4.0, 0.0, 1.0]


def test_every_chunk_carries_the_pooled_sparse_vector_of_its_sentences(index: PassageIndex):
    from transcripts.ingest import chunk, load_gloss, read_source
    from transcripts.lexical import add, decode_sparse, max_pool

    path = SOURCE
    chunks = chunk(read_source(path), "compute_resource_ism_panel", gloss=load_gloss(path))
    with index._store.use() as collection:
        got = collection.get(ids=[c.chunk_id for c in chunks[:3]], include=["metadatas"])
    metas = dict(zip(got["ids"], got["metadatas"], strict=True))
    for c in chunks[:3]:
        assert c.parts and c.gloss_parts  # the bundled source is glossed sentence by sentence
        want = add(
            max_pool(index.embedder.sparse(list(c.parts))),
            max_pool(index.embedder.sparse(list(c.gloss_parts))),
        )
        stored = decode_sparse(metas[c.chunk_id]["sparse"])
        assert stored.keys() == want.keys()
        assert all(abs(stored[f] - w) < 1e-3 for f, w in want.items())
        assert metas[c.chunk_id]["format"] == 2


class _Vectors:
    """Dense vectors that do not tell chunks apart; sparse vectors that name one."""

    def query(self, texts):
        return [[1.0, 0.0] for _ in texts]

    def passage(self, texts):
        return [[1.0, 0.0] for _ in texts]

    def sparse(self, texts, *, query=False):
        return [{7: 1.0} if "鍵" in t or "key" in t else {1: 1.0} for t in texts]


def test_the_sparse_ranking_is_fused_in(tmp_path: Path, monkeypatch):
    from transcripts import fusion

    path = tmp_path / "talk.txt"
    lines = [
        "計算資源は通貨になる" * 20 + "。",
        "電力が足りない" * 25 + "。",
        "核融合が鍵だ" * 30 + "。",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ix = PassageIndex(tmp_path / "data", embedder=_Vectors())
    assert ix.ingest(path).chunks == 3
    monkeypatch.setattr(fusion, "LEXICAL_WEIGHT", 0.0)  # the query shares no word with them
    assert ix.search("the key", 3)[0].line_start == 3  # only the sparse side can tell


def test_chunks_of_an_older_index_layout_are_indexed_again(tmp_path: Path):
    path = tmp_path / "talk.txt"
    path.write_text("計算資源は通貨になる。\n半導体が足りない。\n", encoding="utf-8")
    ix = PassageIndex(tmp_path / "data", embedder=_Vectors())
    ix.ingest(path)
    with ix._store.use(write=True) as collection:
        ids = collection.get(include=[])["ids"]
        # as written before the sparse side: no layout mark (update merges, so say 1)
        collection.update(ids=ids, metadatas=[{"format": 1} for _ in ids])
    assert ix.ingest(path).status == "replaced"
    with ix._store.use() as collection:
        metas = collection.get(include=["metadatas"])["metadatas"]
    assert all(m["format"] == 2 and "sparse" in m for m in metas)
    assert ix.ingest(path).status == "unchanged"


# -- queries of several parts, and the process's query caches ------------------------------
class _Directions:
    """Dense vectors by what a text names: "east" [1, 0], "north" [0, 1], both (a chunk
    about the two) their diagonal; no sparse head."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def _vector(self, text: str) -> list[float]:
        east, north = "east" in text or "東" in text, "north" in text or "北" in text
        if east and north:
            return [0.7071, 0.7071]
        return [1.0, 0.0] if east else [0.0, 1.0]

    def query(self, texts):
        self.asked += texts
        return [self._vector(t) for t in texts]

    def passage(self, texts):
        return [self._vector(t) for t in texts]


def test_a_query_of_two_parts_searches_for_both(tmp_path: Path, monkeypatch):
    """Each part is encoded on its own and the query's dense vector is their mean: a
    question about one thing and a claim about another find the passage about both."""
    from transcripts import fusion

    path = tmp_path / "talk.txt"
    lines = ["東の話をしよう" * 30 + "。", "北の話をしよう" * 30 + "。", "東と北の話だ" * 40 + "。"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    embedder = _Directions()
    ix = PassageIndex(tmp_path / "data", embedder=embedder)
    ix.ingest(path)
    monkeypatch.setattr(fusion, "LEXICAL_WEIGHT", 0.0)  # the dense side alone decides
    assert ix.search("east", 3)[0].line_start == 1
    assert ix.search(("north",), 3)[0].line_start == 2  # one part: the text itself
    embedder.asked.clear()
    assert ix.search(("east", " north ", "east"), 3)[0].line_start == 3
    assert embedder.asked == ["east", "north"]  # stripped, each part once
    with pytest.raises(UserError, match="empty"):
        ix.search(("", "  "), 3)


def test_the_sparse_terms_of_the_parts_are_pooled(tmp_path: Path, monkeypatch):
    from transcripts import fusion

    path = tmp_path / "talk.txt"
    lines = ["計算資源は通貨になる" * 20, "電力が足りない" * 25, "核融合が鍵だ" * 30]
    path.write_text("".join(line + "。\n" for line in lines), encoding="utf-8")

    class Weighted(_Vectors):
        def sparse(self, texts, *, query=False):
            if not query:
                return super().sparse(texts)
            return [{7: 1.0} if "key" in t else {9: 1.0} for t in texts]  # 9: in no chunk

    ix = PassageIndex(tmp_path / "data", embedder=Weighted())
    ix.ingest(path)
    monkeypatch.setattr(fusion, "LEXICAL_WEIGHT", 0.0)
    assert ix.search("the price", 3)[0].line_start != 3
    # only the second part names the key; its terms still reach the sparse ranking
    assert ix.search(("the price", "the key"), 3)[0].line_start == 3


def test_every_index_of_the_process_shares_one_embedder_and_its_cache(
    index: PassageIndex, tmp_path: Path
):
    """Two debates (here, two indexes) that answer the same claim encode it once: a search
    of the question of one and a claim, then of another question and the same claim,
    encodes only the second question (dense and sparse)."""
    other = PassageIndex(tmp_path / "other")
    assert other.embedder is index.embedder
    tag = secrets.token_hex(4)  # texts no other test asked for
    claim = f"The price of a GPU hour is the real interest rate ({tag})."
    index.search((f"Who should own compute? ({tag})", claim), 5)
    before = index.embedder.counts()
    other.ensure_bundled()
    other.search((f"What would change for wages? ({tag})", claim), 5)
    after = index.embedder.counts()
    assert after["asked"] - before["asked"] == 4  # two parts, dense and sparse
    assert after["encoded"] - before["encoded"] == 2  # the new question, dense and sparse


def test_a_text_being_encoded_is_waited_for_not_encoded_again():
    """Eight threads ask for one text at once: it is encoded once, and all get it."""
    from transcripts.embedder import _QueryCache

    cache = _QueryCache(16)
    calls: list[list[str]] = []

    def encode(texts: list[str]) -> list[str]:
        calls.append(texts)
        deadline = time.monotonic() + 10
        while cache.counts["joined"] < 7 and time.monotonic() < deadline:
            time.sleep(0.005)  # until the seven others are waiting for this encoding
        return [f"vector of {t}" for t in texts]

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda _: cache.get(["claim"], encode), range(8)))
    assert calls == [["claim"]]
    assert got == [["vector of claim"]] * 8
    assert cache.counts == {"asked": 8, "encoded": 1, "joined": 7}
    assert cache.get(["claim"], encode) == ["vector of claim"] and len(calls) == 1  # cached


def test_a_failed_encoding_fails_its_waiters_and_is_not_kept():
    from transcripts.embedder import _QueryCache

    cache = _QueryCache(16)
    started, release = threading.Event(), threading.Event()

    def broken(texts: list[str]) -> list[str]:
        started.set()
        release.wait(10)
        raise RuntimeError("engine failed")

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(cache.get, ["q"], broken)
        started.wait(10)
        second = pool.submit(cache.get, ["q"], lambda texts: ["never"])
        deadline = time.monotonic() + 10
        while cache.counts["joined"] < 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        release.set()
        for future in (first, second):
            with pytest.raises(RuntimeError, match="engine failed"):
                future.result(10)
    assert cache.get(["q"], lambda texts: ["again"]) == ["again"]  # tried anew


def test_the_query_cache_keeps_the_most_recently_used():
    from transcripts.embedder import _QueryCache

    cache = _QueryCache(2)
    encoded: list[str] = []

    def encode(texts: list[str]) -> list[str]:
        encoded.extend(texts)
        return [t.upper() for t in texts]

    assert cache.get(["a", "b", "a"], encode) == ["A", "B", "A"]
    cache.get(["a"], encode)  # "a" used last: "b" goes first
    cache.get(["c"], encode)
    cache.get(["a", "b"], encode)
    assert encoded == ["a", "b", "c", "b"]


def test_japanese_tokenizers_may_be_used_from_many_threads_at_once():
    """Every JapaneseTokenizer shares one Sudachi tokenizer, which refuses a second
    thread while it works ("Tokenizer is already in use"): a batch of debates tokenizes
    from many threads (the index's, the attribution's and `terms`' instances)."""
    line = SOURCE.read_text(encoding="utf-8").splitlines()[17]
    tokenizers = [JapaneseTokenizer() for _ in range(4)]

    def work(i: int) -> int:
        return len(tokenizers[i % 4](f"{line}{i}"))

    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(work, range(400)))
    assert all(n > 10 for n in counts)
