"""The ChatModel protocol every backend implements, and the values it passes around."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import ModelError, StructuredOutputError

T = TypeVar("T", bound=BaseModel)


class Message(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass
class Completion:
    """What a finished call produced, with its accounting."""

    text: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    latency_ms: float = 0.0


@dataclass(frozen=True)
class Sampling:
    """Sampling settings for one call."""

    temperature: float = 0.7
    max_tokens: int = 160
    top_p: float = 0.95
    repeat_penalty: float = 1.3
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)
    min_tokens: int = 0  # end-of-turn is not allowed before this many tokens (where supported)
    # After min_tokens, stop at the first sentence end instead of running to max_tokens,
    # so no turn ends on a broken sentence (where supported).
    end_on_sentence: bool = False
    # The reply starts with these words and the model continues them (where supported:
    # the embedded backend). It is part of the reply's text.
    prefix: str = ""
    # Stop as soon as a line of the reply starts with a label ("Name:") for which this
    # returns True, e.g. another speaker's; given the label's text before the colon
    # (where supported: the embedded and OpenAI backends).
    stop_label: Callable[[str], bool] | None = None


LABEL_SPAN = 42  # a colon this far into a line makes what precedes it a label
_COLON = re.compile("[:：]")


def label_of(line: str) -> str | None:
    """The label a line opens with: what precedes its first colon (":" or "："), if that
    colon is within `LABEL_SPAN` characters."""
    m = _COLON.search(line, 0, LABEL_SPAN)
    return line[: m.start()] if m else None


# A reply's own speaker label opening its first line: what is dropped of it.
_OWN_LABEL = re.compile(r"^\s*[\w .()'-]{1,40}[:：]\s*", re.UNICODE)


class LabelCheck:
    """The one check of a reply's speaker labels, on its stream and on its finished text.

    Reads the reply line by line, as it streams or whole, and judges each line's label
    (`label_of`) once, as soon as it is known: when a colon arrives within `LABEL_SPAN`
    characters of the line's start, or the line has grown past that with none, or the
    line or the reply ends. Until then the line's head is held back.

    - `foreign(label)` true: the line is another voice's. It and everything after it
      are dropped, and `closed` is set: a backend stops generating there.
    - `own(label)` true on the reply's first line: the speaker's own label, dropped; the
      line's text stays.
    - Everything else passes to `emit` (newlines included) as soon as its line's label
      is judged.

    Call it (or `feed`) with each piece, then `flush()` once the reply is over. The
    backends use it to stop (`Sampling.stop_label`), the speaker to gate what front ends
    see (`agents.speaker.StreamGate`) and to cut the finished text (`clean_reply`), so the
    live stream shows what the saved turn says."""

    def __init__(
        self,
        foreign: Callable[[str], bool],
        own: Callable[[str], bool] | None = None,
        emit: Callable[[str], None] | None = None,
    ) -> None:
        self.foreign, self.own, self.emit = foreign, own, emit
        self.head = ""  # the current line's text not yet judged
        self.decided = False  # whether the current line's label has been judged
        self.first = True  # still on the reply's first line
        self.closed = False  # a line of another voice has begun
        self.unlabelled = False  # its own label was dropped and no text has followed yet

    def feed(self, piece: str) -> bool:
        """Add a piece of the reply; True once another voice's line has begun."""
        while piece and not self.closed:
            line, newline, piece = piece.partition("\n")
            self._add(line)
            if newline and not self.closed:
                self._decide(end=True)
                self._pass("\n")
                self.head, self.decided, self.first = "", False, False
        return self.closed

    __call__ = feed

    def flush(self) -> None:
        """The reply is over: judge and pass on what is held back."""
        if not self.closed:
            self._decide(end=True)

    def _pass(self, text: str) -> None:
        if self.unlabelled:  # the space after a dropped label is the label's
            text = text.lstrip(" \t")
            self.unlabelled = not text
        if text and self.emit is not None:
            self.emit(text)

    def _add(self, text: str) -> None:
        if self.decided:
            self._pass(text)
            return
        self.head += text
        self._decide(end=False)

    def _decide(self, *, end: bool) -> None:
        if self.decided:
            return
        label = label_of(self.head)
        if label is None and len(self.head) < LABEL_SPAN and not end:
            return  # a colon may still come
        self.decided = True
        text, self.head = self.head, ""
        if label is not None and self.foreign(label):
            self.closed = True
            return
        if self.first and label is not None and self.own is not None and self.own(label):
            text = _OWN_LABEL.sub("", text, count=1)
            self.unlabelled = True
        self._pass(text)


def backoff_s(attempt: int, *, base: float = 0.5, cap: float = 8.0, rng: Any = None) -> float:
    """Seconds to wait before try `attempt + 1`: exponential with full jitter, so many
    debates that failed together do not come back together."""
    import random

    return (rng or random).uniform(0, min(cap, base * 2**attempt))


OnToken = Callable[[str], None]


@dataclass(frozen=True)
class Capabilities:
    """What a model can be given to do, where the runner decides for the producer (the
    `auto` settings, a Japanese debate): a backend says it with its `capabilities`
    attribute, so that no decision hangs on a model's name.

    plans_agenda: its agendas are worth asking for (else `auto` takes the standard one).
    turns_as_queries: its turns make usable search queries (else `auto` searches a
        reply's passages with the segment question alone).
    writes_japanese: it can hold a Japanese debate (else one is refused before it starts).
    """

    plans_agenda: bool = True
    turns_as_queries: bool = True
    writes_japanese: bool = True


FULL = Capabilities()
# The bundled 135M model (docs/ARCHITECTURE.md has what it does with each).
SMALL = Capabilities(plans_agenda=False, turns_as_queries=False, writes_japanese=False)


def capabilities_of(model: object) -> Capabilities:
    """A model's `capabilities`; FULL for a model that states none."""
    return getattr(model, "capabilities", FULL)


class ChatModel(Protocol):
    """Stream text for a list of messages; return a pydantic object for a schema.
    `capabilities` says what it can be given to do (`Capabilities`)."""

    name: str
    capabilities: Capabilities

    def stream(
        self,
        messages: list[Message],
        sampling: Sampling,
        *,
        slot: str | None = None,
    ) -> Iterator[str | Completion]:
        """Yield text pieces as they are generated, then one Completion.

        `slot` names the speaker, so a backend can keep that speaker's prompt
        cached between turns.
        """
        ...

    def structured(
        self, messages: list[Message], schema: type[T], sampling: Sampling
    ) -> tuple[T, Completion]:
        """Decode an instance of `schema` under its JSON schema; raise StructuredOutputError."""
        ...


def complete(
    model: ChatModel,
    messages: list[Message],
    sampling: Sampling,
    *,
    slot: str | None = None,
    on_token: OnToken | None = None,
) -> Completion:
    """Run a streaming call to the end, handing each piece to `on_token`."""
    for piece in model.stream(messages, sampling, slot=slot):
        if isinstance(piece, Completion):
            return piece
        if on_token is not None:
            on_token(piece)
    raise ModelError(f"{model.name}: the stream ended without a result")


def parse_structured(text: str, schema: type[T]) -> T:
    """Parse a JSON reply into `schema`, tolerating prose around the object."""
    start, end = text.find("{"), text.rfind("}")
    candidate = text[start : end + 1] if start != -1 and end > start else text
    try:
        return schema.model_validate(json.loads(candidate))
    except (json.JSONDecodeError, ValidationError) as exc:
        snippet = text.strip().replace("\n", " ")[:80]
        raise StructuredOutputError(f"reply does not fit {schema.__name__}: {snippet!r}") from exc
