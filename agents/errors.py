"""The one error type a user may cause; front ends print it as a single line."""


class UserError(Exception):
    """Bad input or an unusable environment, described in one line for the user."""
