"""A judge model's rating of a turn against the lines it cites: whether they support it,
whether it is coherent, whether it is in character (`core.models.Rating`), for `debate
eval --judge-model`. `episodes.evaluate.judge_turns` puts the turns to it."""

from __future__ import annotations

from agents.llm.base import ChatModel, Sampling
from core.errors import ModelError
from core.models import Rating

JUDGE_PROMPT = """You check one turn of a simulated panel debate against the source lines it
cites. The speaker is {name} ({title}); their stance: {stance}

Source lines cited (English gloss of a Japanese transcript):
<<<{lines}>>>

The turn:
<<<{text}>>>

Answer in JSON: "supported" is "supported" if the lines back what the turn claims,
"partly" if they back some of it, "not" otherwise; "coherent" is whether the turn makes
sense as a spoken argument; "in_character" is whether it sounds like this speaker."""


class Judge:
    """`model` as a judge of turns. Each call is bounded by the model's own request
    timeout and retries."""

    def __init__(self, model: ChatModel) -> None:
        self.model = model
        self.name = model.name

    def rate(self, *, name: str, title: str, stance: str, lines: str, text: str) -> Rating | None:
        """The model's rating of a turn (`text`, by the speaker `name`, `title`, `stance`)
        against its cited `lines` (each clipped to 1,500 characters); None when its reply
        never fits the schema. UserError (an unreachable or timed-out server) passes."""
        prompt = JUDGE_PROMPT.format(
            name=name,
            title=title,
            stance=stance,
            lines=" ".join(lines.split())[:1500],
            text=" ".join(text.split())[:1500],
        )
        try:
            rating, _ = self.model.structured(
                [{"role": "user", "content": prompt}],
                Rating,
                Sampling(temperature=0.0, max_tokens=80, repeat_penalty=1.0),
            )
        except ModelError:
            return None
        return rating
