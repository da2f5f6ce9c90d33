"""Turns an incoming Matrix message into command text: user pills become bare user ids."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote

_MATRIX_TO = re.compile(r"^https://matrix\.to/#/(?P<id>[^?/]+)")
_MATRIX_URI = re.compile(r"^matrix:u/(?P<id>[^?/]+)")
_USER_ID = re.compile(r"^@[^\s:]+:\S+$")
# Old clients quote the message they answer as "> <@x:y> text" lines before the reply.
_REPLY_FALLBACK = re.compile(r"^(> .*\n)+\n?")


def pill_target(href: str) -> str | None:
    """The user id a pill link points at, or None when it is not a user pill."""
    for pattern in (_MATRIX_TO, _MATRIX_URI):
        match = pattern.match(href)
        if match:
            target = unquote(match.group("id"))
            if pattern is _MATRIX_URI:
                target = "@" + target
            return target if _USER_ID.match(target) else None
    return None


@dataclass
class CommandText:
    """A message as command text, plus who it mentioned ({"matrix:@u:s": display name})."""

    text: str
    mentioned: dict[str, str] = field(default_factory=dict)


class _PillReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.mentioned: dict[str, str] = {}
        self._pill: str | None = None
        self._pill_text: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "mx-reply":
            self._skip_depth += 1
        elif tag == "a" and self._pill is None:
            self._pill = pill_target(dict(attrs).get("href") or "")
            self._pill_text = []
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "mx-reply":
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "a" and self._pill is not None:
            if not self._skip_depth:
                self.parts.append(self._pill)
                name = "".join(self._pill_text).strip().removeprefix("@")
                self.mentioned[f"matrix:{self._pill}"] = name or self._pill
            self._pill = None
        elif tag == "p":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip_depth:
            return
        if self._pill is not None:
            self._pill_text.append(data)
        else:
            self.parts.append(data)


def command_text(body: str, formatted_body: str | None) -> CommandText:
    """Read what a member typed. With HTML, each pill becomes its user id (the canonical
    mention token the core expects); without, the plain body is used as typed."""
    if formatted_body:
        reader = _PillReader()
        reader.feed(formatted_body)
        reader.close()
        text = "".join(reader.parts)
        mentioned = reader.mentioned
    else:
        text = _REPLY_FALLBACK.sub("", body)
        mentioned = {}
    for token in text.split():
        if _USER_ID.match(token) and f"matrix:{token}" not in mentioned:
            mentioned[f"matrix:{token}"] = token[1:].split(":", 1)[0]
    return CommandText(text=text.strip(), mentioned=mentioned)
