"""The one error type a user may cause; front ends print it as a single line."""

# Every character str.splitlines() breaks at, shown escaped so a message stays one line
# whatever file name, id or value it quotes.
_LINE_BREAKS = {
    c: repr(chr(c))[1:-1] for c in (0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029)
}


class UserError(Exception):
    """Bad input or an unusable environment, described in one line for the user."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(str(message).translate(_LINE_BREAKS), *args)
