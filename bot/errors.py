"""The one exception type whose message a member sees: what was wrong and how to write it."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or a refused action. `message` is one line; `hint` is an optional second
    line, usually an example of the right way (`for example !vote 7 yes`). Raising it
    anywhere in a command's transaction rolls the transaction back: nothing changes."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n{self.hint}"
