"""A deterministic model for tests: replies are queued, prompts are recorded."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from pydantic import BaseModel

from agents.llm.base import FULL, Capabilities, Completion, Message, Sampling, T, parse_structured
from core.errors import ModelError

Reply = str | BaseModel | dict | Exception
Responder = Callable[[list[Message]], Reply]


@dataclass
class ScriptedCall:
    messages: list[Message]
    sampling: Sampling
    slot: str | None
    schema: type[BaseModel] | None


@dataclass
class ScriptedModel:
    """Replies come from `enqueue()` in order, else from `responder`, else `default`."""

    name: str = "scripted"
    default: str | None = "A scripted reply."
    # "small" (what the bundled model gets) or "large" (a server model's prompt budget)
    prompt_budget: str = "small"
    # What the runner takes it to be able to do: FULL, or SMALL to stand for the bundled
    # model (`agents.llm.base.Capabilities`).
    capabilities: Capabilities = FULL
    responder: Responder | None = None
    history: list[ScriptedCall] = field(default_factory=list)
    _queue: deque[Reply] = field(default_factory=deque)

    def enqueue(self, *replies: Reply) -> ScriptedModel:
        self._queue.extend(replies)
        return self

    def _next(self, messages: list[Message]) -> Reply:
        if self._queue:
            return self._queue.popleft()
        if self.responder is not None:
            return self.responder(messages)
        if self.default is None:
            raise ModelError("scripted model: no reply queued")
        return self.default

    def stream(
        self, messages: list[Message], sampling: Sampling, *, slot: str | None = None
    ) -> Iterator[str | Completion]:
        self.history.append(ScriptedCall(list(messages), sampling, slot, None))
        reply = self._next(messages)
        if isinstance(reply, Exception):
            raise reply
        text = reply if isinstance(reply, str) else str(reply)
        words = text.split(" ")
        for i, word in enumerate(words):
            yield word if i == 0 else " " + word
        yield Completion(
            text=text,
            model=self.name,
            tokens_in=sum(len(m["content"].split()) for m in messages),
            tokens_out=len(words),
        )

    def structured(
        self, messages: list[Message], schema: type[T], sampling: Sampling
    ) -> tuple[T, Completion]:
        self.history.append(ScriptedCall(list(messages), sampling, None, schema))
        reply = self._next(messages)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, BaseModel):
            text = reply.model_dump_json()
        elif isinstance(reply, dict):
            import json

            text = json.dumps(reply)
        else:
            text = reply
        value = parse_structured(text, schema)
        return value, Completion(text=text, model=self.name, tokens_out=len(text.split()))
