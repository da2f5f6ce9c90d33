"""What text may reach storage and screens: valid Unicode without NUL or control characters,
no bidi overrides or isolates, line breaks written one way; names on one line."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from bot.errors import UserError

# Embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI) reorder the text
# that follows them, so a member could make a line read differently from what it says.
# Right-to-left scripts need none of them; the marks LRM/RLM/ALM stay (they reorder nothing).
BIDI_CONTROLS: Final = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_DROP_BIDI: Final = str.maketrans(dict.fromkeys(map(ord, BIDI_CONTROLS)))
# Every way of breaking a line (CR LF, CR, VT, FF, NEL, file/group/record separators, the
# Unicode line and paragraph separators) becomes a plain \n.
_LINE_BREAKS: Final = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# What no database column or terminal should get: NUL and the other C0/C1 control
# characters except tab and line feed, and lone surrogates (not valid UTF-8 at all).
_UNSTORABLE: Final = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BLANKS: Final = re.compile(r"\s+")


def _describe(char: str) -> str:
    code = f"U+{ord(char):04X}"
    if "\udc80" <= char <= "\udcff":
        # How Python carries a byte that was not valid UTF-8 (the surrogateescape handler).
        return f"the byte 0x{ord(char) - 0xDC00:02X}, which is not valid UTF-8"
    if "\ud800" <= char <= "\udfff":
        return f"{code}, half of a character that was cut in two"
    name = unicodedata.name(char, "")
    return f"{code}, the control character {name}" if name else f"{code}, a control character"


def unstorable(text: str) -> str | None:
    """A description of the first character of `text` that can't be stored or shown
    (`U+0000, a control character`), or None when every character can."""
    found = _UNSTORABLE.search(text)
    return None if found is None else _describe(found.group())


def clean_message(text: str) -> str:
    """A member's message as the core reads it: line breaks written as \\n and bidi controls
    removed; refused (UserError) when it holds a character no database or screen takes.
    Ordinary text (accents, emoji, CJK, right-to-left scripts) comes back unchanged."""
    normal = _LINE_BREAKS.sub("\n", text)
    bad = unstorable(normal)
    if bad is not None:
        raise UserError(
            f"Your message contains a character I can't store ({bad})",
            "send it again without it",
        )
    return normal.translate(_DROP_BIDI)


def clean_name(text: str, limit: int = 100) -> str:
    """A name a platform gave us (a display name, a mention's text): kept, but on one line,
    without bidi or control characters, a cut-in-two character replaced by U+FFFD."""
    cleaned = _UNSTORABLE.sub(
        lambda m: "\ufffd" if "\ud800" <= m.group() <= "\udfff" else " ", text
    )
    one_line = _BLANKS.sub(" ", cleaned.translate(_DROP_BIDI)).strip()
    return one_line[:limit]


def for_screen(text: str) -> str:
    """Text as a renderer may show it whatever its origin (rows stored before these checks,
    names from a platform): bidi controls dropped, line breaks written as \\n (a bare \\r
    would overwrite a terminal line), other control characters replaced by U+FFFD."""
    cleaned = _LINE_BREAKS.sub("\n", text.translate(_DROP_BIDI))
    if _UNSTORABLE.search(cleaned) is None:
        return cleaned
    return _UNSTORABLE.sub("\ufffd", cleaned)
