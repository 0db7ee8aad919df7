"""The errors this program raises for a person to read, under one base class.

Every message is one line, in the user's terms: it never names a command-line flag.
An error about one setting says which (`UserError.setting`, a `Settings` field name or
an option of a command, such as "model_path" or "at_turn"); a front end then shows the
setting its own way (the CLI: its flag, `--model-path`), where the message shows it in
words (`SETTING_WORDS`: "the model file").
"""

from __future__ import annotations

from collections.abc import Mapping

# Every character str.splitlines() breaks at, shown escaped so a message stays one line
# whatever file name, id or value it quotes.
_LINE_BREAKS = {
    c: repr(chr(c))[1:-1] for c in (0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029)
}

# How a message names each setting it can be about: the user's words for it.
SETTING_WORDS: dict[str, str] = {
    "topic": "the topic",
    "language": "the language",
    "backend": "the backend",
    "model": "the model name",
    "model_path": "the model file",
    "base_url": "the server URL",
    "chroma_url": "the Chroma server URL",
    "checkpoint_url": "the checkpoint URL",
    "at_turn": "the turn to fork after",
    "steer": "a steering question",
    "runs": "the number of runs",
    "concurrency": "the number of debates at once",
    "fork_turns": "the turns to add",
    "merge": "a merge",
    "source": "the source",
}


class DebateError(Exception):
    """Base of every error the program raises for a person to read; the message is one
    line (line breaks in it are shown escaped)."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(str(message).translate(_LINE_BREAKS), *args)


class UserError(DebateError):
    """Bad input or an unusable environment, described in one line for the user.

    `setting`: the setting the error is about, when it is about one: the message is that
    setting's words (`SETTING_WORDS`) followed by `message` (its `detail`), as in "the
    model file x.gguf: no such GGUF file". `fix`: settings, with the values to give them,
    that would make it work; the message names them at its end, in parentheses.
    """

    def __init__(
        self,
        message: object = "",
        *args: object,
        setting: str | None = None,
        fix: Mapping[str, str] | None = None,
    ) -> None:
        self.setting = setting
        self.fix = dict(fix or {})
        self.detail = str(message)
        text = _named(SETTING_WORDS.get(setting or ""), self.detail)
        if self.fix:
            given = "; ".join(f"{SETTING_WORDS[k]}: {v}" for k, v in self.fix.items())
            text += f" ({given})"
        super().__init__(text, *args)

    def shown(self, names: Mapping[str, str]) -> str:
        """The message as a front end shows it, each setting under the front end's own name
        for it in `names` (the CLI's flags: "--model-path x.gguf: no such GGUF file"), the
        settings of the fix after a colon ("...: --backend openai --base-url URL"). As
        `str(self)` when a setting of it has no name there. One line."""
        wanted = [k for k in (self.setting, *self.fix) if k is not None]
        if not wanted or any(k not in names for k in wanted):
            return str(self)
        text = _named(names.get(self.setting or ""), self.detail)
        if self.fix:
            text += ": " + " ".join(f"{names[k]} {v}" for k, v in self.fix.items())
        return str(DebateError(text))


def _named(name: str | None, detail: str) -> str:
    """`detail` after the name of the setting it is about ("NAME DETAIL", or "NAME: ..."
    for a detail that opens on a colon); `detail` alone without a name."""
    if not name:
        return detail
    return f"{name}{'' if detail.startswith(':') else ' '}{detail}"


class ModelError(DebateError):
    """A model call failed (unreachable server, bad reply) in a way the user should see."""


class StructuredOutputError(ModelError):
    """A structured call returned text that does not fit its schema."""


class TransientModelError(ModelError):
    """A call broke off in a way a new try may not: a stream cut or stalled mid-reply.

    Whatever text it streamed before breaking off is not a reply and is dropped.
    """
