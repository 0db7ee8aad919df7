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
    "turns": "the turns to add",
    "steer": "a steering question",
    "runs": "the number of runs",
    "concurrency": "the number of debates at once",
    "merge": "a merge",
}


class DebateError(Exception):
    """Base of every error the program raises for a person to read; the message is one
    line (line breaks in it are shown escaped)."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(str(message).translate(_LINE_BREAKS), *args)


class UserError(DebateError):
    """Bad input or an unusable environment, described in one line for the user.

    `setting`: the setting the message is about, when it is about one; the message then
    starts with that setting's words (`SETTING_WORDS`) and `detail` is the rest of it.
    `fix`: settings (with example values) that would make it work, which the message
    names in words at its end.
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
        text = f"{SETTING_WORDS[setting]} {message}" if setting else str(message)
        if self.fix:
            text += " (" + ", ".join(f"{SETTING_WORDS[k]} {v}" for k, v in self.fix.items()) + ")"
        super().__init__(text, *args)

    def shown(self, names: Mapping[str, str]) -> str:
        """The message with each setting named as in `names` (a front end's names for its
        settings, such as the CLI's flags) where it has a name there: the setting's
        words replaced, and the fix given as `NAME VALUE` pairs after a colon. One line."""
        if self.setting is None and not self.fix:
            return str(self)
        if self.setting is not None and self.setting not in names:
            return str(self)
        if any(k not in names for k in self.fix):
            return str(self)
        text = f"{names[self.setting]} {self.detail}" if self.setting else self.detail
        if self.fix:
            text += ": " + " ".join(f"{names[k]} {v}" for k, v in self.fix.items())
        return str(DebateError(text))


class ModelError(DebateError):
    """A model call failed (unreachable server, bad reply) in a way the user should see."""


class StructuredOutputError(ModelError):
    """A structured call returned text that does not fit its schema."""


class TransientModelError(ModelError):
    """A call broke off in a way a new try may not: a stream cut or stalled mid-reply.

    Whatever text it streamed before breaking off is not a reply and is dropped.
    """
