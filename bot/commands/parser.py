"""Reads command text (prefix removed) or slash-command values into checked, typed values."""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from types import MappingProxyType
from typing import Any

from bot.commands.args import build_args
from bot.commands.spec import Command, Kind, Param, Permission
from bot.commands.tree import CommandTree, usage
from bot.domain.limits import OPTION_MAX, OPTIONS_MAX, OPTIONS_MIN
from bot.domain.numbers import decimal_number, whole_number
from bot.errors import UserError

ID_MAX = 999_999_999
ID_DIGITS = 9
INT_MAX = 1_000_000
INT_DIGITS = 7
# Any string parameter without its own bound still has one (SPEC §7: every input is bounded).
DEFAULT_MAX_LENGTH = 200
# Kinds the services read as numbers or times have a tighter bound: nothing longer is one.
KIND_MAX_LENGTH: Mapping[Kind, int] = MappingProxyType(
    {Kind.WHEN: 32, Kind.DURATION: 32, Kind.PERIOD: 16, Kind.RATIO: 16}
)
# How much of a member's input an error message repeats back.
_SHOWN_MAX = 40

_DATE = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
_CLOCK = re.compile(r"[0-9]{1,2}:[0-9]{2}")
_KEY = re.compile(r"([A-Za-z][A-Za-z0-9_]*):")
_LOOKS_LIKE_OPTION = re.compile(r"([A-Za-z][A-Za-z0-9_-]*):")
_TRUE = frozenset({"yes", "true", "on", "y"})
_FALSE = frozenset({"no", "false", "off", "n"})
# Opening quote → the quotes that may close it. Phones type typographic quotes, and German
# keyboards open with „. Double quotes are always deliberate; a single quote may be an
# apostrophe ('90s), so an unclosed one is just text.
_CLOSERS = {
    '"': '"',
    "“": "”“",
    "„": "“”",
    "«": "»",
    "'": "'",
    "‘": "’",
}
_LENIENT_OPENERS = frozenset("'‘")
_POLL_OPTIONS = (("poll",), "options")

_NOUNS = {
    "choice": "a choice",
    "title": "a title",
    "question": "a question",
    "member": "a member",
    "role": "a role",
    "code": "a code",
    "name": "a name",
    "duration": "a duration",
    "hours": "hours",
    "note": "a note",
    "surplus": "an amount",
    "kind": "what to export",
    "state": "a state",
    "command": "a command",
}


@dataclass(frozen=True)
class ParsedCommand:
    """A command with its values checked and converted.

    `values` holds only the parameters that were given, by parameter name: int for INT and
    ID kinds, Decimal for NUMBER, bool for BOOL, the canonical lower-case choice for
    parameters with choices, a stripped str otherwise. `extra_options` holds `key:value`
    pairs the command does not declare (only commands with `free_options`). `args` is the
    same as the command's typed arguments object, what its handler receives."""

    command: Command
    values: dict[str, object] = field(default_factory=dict)
    extra_options: dict[str, str] = field(default_factory=dict)

    @cached_property
    def args(self) -> Any:
        """The command's arguments (an instance of `command.args`), built once."""
        return build_args(self.command, self.values, self.extra_options)

    def get_str(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if isinstance(value, str) else None

    def get_int(self, name: str) -> int | None:
        value = self.values.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def get_decimal(self, name: str) -> Decimal | None:
        value = self.values.get(name)
        return value if isinstance(value, Decimal) else None

    def get_bool(self, name: str) -> bool | None:
        value = self.values.get(name)
        return value if isinstance(value, bool) else None

    @property
    def restricted(self) -> dict[str, Permission]:
        """Given parameters that need more than the command's permission (`opens:`)."""
        return {
            p.name: p.permission
            for p in self.command.params
            if p.permission is not None and p.name in self.values
        }


def hint(command: Command, prefix: str = "!") -> str:
    """The second line of a command's errors: its syntax and an example."""
    return f"usage: `{prefix}{usage(command)}` — for example `{prefix}{command.example}`"


def shown(text: str, limit: int = _SHOWN_MAX) -> str:
    """Member input as an error message may repeat it: one line, short, no backticks."""
    flat = " ".join(text.split()).replace("`", "'")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _fail(message: str, hint_line: str | None = None) -> UserError:
    # Errors are at most two lines: whatever was pasted, newlines never reach the message.
    first = " ".join(message.split())
    second = " ".join(hint_line.split()) if hint_line else ""
    return UserError(first[:1].upper() + first[1:], second or None)


def _or_list(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _and_list(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _noun(param: Param) -> str:
    if param.kind is Kind.DECISION_ID:
        return "a decision number"
    if param.kind is Kind.TASK_ID:
        return "a task number"
    return _NOUNS.get(param.name, f"a {param.name}")


def _subject(param: Param) -> str:
    """How a message names a parameter: `reason:` for options, "the title" for positionals."""
    if not param.positional:
        return f"`{param.name}:`"
    if param.kind in (Kind.DECISION_ID, Kind.TASK_ID):
        return "the " + _noun(param).removeprefix("a ")
    return {"kind": "what to export", "hours": "hours"}.get(param.name, f"the {param.name}")


# ---------------------------------------------------------------------------------------------
# Values


def split_options(text: str) -> list[str]:
    """A poll's options from `"A | B | C"`: 2 to 20, none empty, none twice, each ≤ 200."""
    example = 'for example `options:"Lakehouse | Cabin | City"`'
    parts = [part.strip() for part in text.split("|")]
    if len(parts) > OPTIONS_MAX:
        raise _fail(f"a poll can have at most {OPTIONS_MAX} options, not {len(parts)}", example)
    if len([p for p in parts if p]) < OPTIONS_MIN:
        raise _fail(f"a poll needs at least {OPTIONS_MIN} options, separated by |", example)
    seen: set[str] = set()
    for number, part in enumerate(parts, start=1):
        if not part:
            raise _fail(f"option {number} is empty: remove the extra |", example)
        if len(part) > OPTION_MAX:
            raise _fail(
                f"option {number} is {len(part)} characters long; the limit is {OPTION_MAX}",
                example,
            )
        folded = part.casefold()
        if folded in seen:
            raise _fail(f"the option `{shown(part)}` is listed twice", example)
        seen.add(folded)
    return parts


def _convert(command: Command, param: Param, raw: str, prefix: str) -> object:
    text = raw.strip()
    usage_hint = hint(command, prefix)
    if param.kind in (Kind.DECISION_ID, Kind.TASK_ID):
        what = "decision" if param.kind is Kind.DECISION_ID else "task"
        number = whole_number(text.removeprefix("#"), max_digits=ID_DIGITS) or 0
        if not 1 <= number <= ID_MAX:
            raise _fail(
                f"`{shown(text)}` is not a {what} number: write it like 7 or #7", usage_hint
            )
        return number
    if param.kind is Kind.INT:
        whole = whole_number(text, max_digits=INT_DIGITS)
        if whole is None or whole > INT_MAX:
            raise _fail(
                f"{_subject(param)} must be a whole number, not `{shown(text)}`", usage_hint
            )
        return whole
    if param.kind is Kind.NUMBER:
        # Much of the world writes 2,5 hours; three digits after a comma is a thousand.
        amount = decimal_number(text, max_digits=12, comma=True)
        if amount is None:
            raise _fail(
                f"{_subject(param)} must be a number like 2.5, not `{shown(text)}`", usage_hint
            )
        return amount
    if param.kind is Kind.BOOL:
        folded = text.casefold()
        if folded in _TRUE or folded in _FALSE:
            return folded in _TRUE
        raise _fail(f"{_subject(param)} must be yes or no, not `{shown(text)}`", usage_hint)
    if param.choices:
        folded = text.casefold()
        for choice in param.choices:
            if choice.casefold() == folded:
                return choice
        raise _fail(
            f"{_subject(param)} must be {_or_list(param.choices)}, not `{shown(text)}`",
            usage_hint,
        )
    if not param.multiline:
        # A title, a note, a reason or an option is one line, however it was pasted: every
        # line break (\n, \r, U+2028, …) and run of blanks becomes one space.
        text = " ".join(text.split())
    limit = param.max_length or KIND_MAX_LENGTH.get(param.kind, DEFAULT_MAX_LENGTH)
    if len(text) > limit:
        raise _fail(
            f"{_subject(param)} is {len(text)} characters long; the limit is {limit}",
            usage_hint,
        )
    if (command.path, param.name) == _POLL_OPTIONS:
        split_options(text)
    return text


def bind(command: Command, raw: Mapping[str, str], prefix: str = "!") -> ParsedCommand:
    """Check and convert raw string values by parameter name (slash-command options).

    Empty values count as not given. Undeclared names are kept in `extra_options` for a
    command with `free_options` and refused otherwise."""
    params = {p.name: p for p in command.params}
    usage_hint = hint(command, prefix)
    values: dict[str, object] = {}
    extra: dict[str, str] = {}
    for name, value in raw.items():
        param = params.get(name)
        if param is None:
            if not command.free_options or _KEY.fullmatch(name + ":") is None:
                raise _fail(f"`{command.name}` has no option `{shown(name)}:`", usage_hint)
            if len(name) > DEFAULT_MAX_LENGTH or len(value.strip()) > DEFAULT_MAX_LENGTH:
                raise _fail(
                    f"`{shown(name)}:` is too long; the limit is {DEFAULT_MAX_LENGTH} characters",
                    usage_hint,
                )
            if value.strip():
                extra[name.lower()] = value.strip()
            continue
        if value.strip():
            values[name] = _convert(command, param, value, prefix)
    missing = [p for p in command.positionals if p.required and p.name not in values]
    if missing:
        wanted = [_noun(p) for p in command.positionals if p.required]
        raise _fail(f"`{command.name}` needs {_and_list(wanted)}", usage_hint)
    for param in command.options:
        if param.required and param.name not in values:
            raise _fail(f"`{command.name}` needs `{param.name}:`", usage_hint)
    return ParsedCommand(command=command, values=values, extra_options=extra)


# ---------------------------------------------------------------------------------------------
# Text


@dataclass(frozen=True)
class _Token:
    start: int  # where the token begins in the text (its key, for an option)
    end: int
    value: str  # without quotes
    quoted: bool
    key: str | None = None  # lower-case option key
    value_start: int = 0  # where an option's value begins


def _word_end(text: str, i: int) -> int:
    while i < len(text) and not text[i].isspace():
        i += 1
    return i


class _Closings:
    """Where quotes can close in one text, found once: a closing quote must end a token, so
    `'Bob's party'` keeps its apostrophe. Looking them up by bisection keeps a text full of
    stray quotes from costing quadratic time."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._by_closers: dict[str, list[int]] = {}

    def after(self, i: int) -> int | None:
        """The index of the quote closing the one at `i`, or None."""
        closers = _CLOSERS[self._text[i]]
        positions = self._by_closers.get(closers)
        if positions is None:
            text = self._text
            positions = [
                j
                for j, char in enumerate(text)
                if char in closers and (j + 1 == len(text) or text[j + 1].isspace())
            ]
            self._by_closers[closers] = positions
        k = bisect.bisect_right(positions, i)
        return positions[k] if k < len(positions) else None


def _tokenize(
    text: str, is_key: Callable[[str], bool], command: Command, prefix: str
) -> list[_Token]:
    tokens: list[_Token] = []
    closings = _Closings(text)
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        start = i
        key = _KEY.match(text, i)
        if key is not None and is_key(key.group(1).lower()):
            j = key.end()
            opener = text[j] if j < len(text) else ""
            close = closings.after(j) if opener in _CLOSERS else None
            if opener in _CLOSERS and close is None and opener not in _LENIENT_OPENERS:
                raise _fail(
                    f"the quote after `{shown(key.group(0))}` is never closed",
                    hint(command, prefix),
                )
            if close is not None:
                tokens.append(
                    _Token(start, close + 1, text[j + 1 : close], True, key.group(1).lower(), j)
                )
                i = close + 1
            else:
                end = _word_end(text, j)
                tokens.append(_Token(start, end, text[j:end], False, key.group(1).lower(), j))
                i = end
            continue
        if text[i] in _CLOSERS:
            close = closings.after(i)
            if close is not None:
                tokens.append(_Token(start, close + 1, text[i + 1 : close], True))
                i = close + 1
                continue
            if text[i] not in _LENIENT_OPENERS:
                raise _fail(f"a quote is never closed: `{shown(text[i:])}`", hint(command, prefix))
        end = _word_end(text, i)
        tokens.append(_Token(start, end, text[i:end], False))
        i = end
    return tokens


def _unexpected(command: Command, token: _Token, prefix: str) -> UserError:
    usage_hint = hint(command, prefix)
    option = _LOOKS_LIKE_OPTION.match(token.value) if not token.quoted else None
    if option is not None:
        key = option.group(1)
        close = difflib.get_close_matches(key.lower(), [p.name for p in command.options], n=1)
        maybe = f" (did you mean `{close[0]}:`?)" if close else ""
        return _fail(f"`{command.name}` has no option `{shown(key)}:`{maybe}", usage_hint)
    takes = [_noun(p) for p in command.positionals]
    if not takes:
        takes_what = "only options" if command.options else "nothing more"
    else:
        takes_what = _and_list(takes) + (", then options" if command.options else "")
    return _fail(
        f"unexpected `{shown(token.value)}`: `{command.name}` takes {takes_what}", usage_hint
    )


def _span(text: str, tokens: Sequence[_Token]) -> str:
    """The text several tokens cover, as typed; one quoted token loses its quotes."""
    if len(tokens) == 1 and tokens[0].quoted:
        return tokens[0].value
    return text[tokens[0].start : tokens[-1].end]


def _text_run(tokens: Sequence[_Token], i: int) -> tuple[list[_Token], int]:
    """The text tokens from `i` up to the next option, and the index after them."""
    end = i
    while end < len(tokens) and tokens[end].key is None:
        end += 1
    return list(tokens[i:end]), end


def _assign(
    command: Command, text: str, tokens: Sequence[_Token], prefix: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Share the tokens out to the command's positionals and options, as raw strings."""
    options = {p.name: p for p in command.options}
    positionals = list(command.positionals)
    raw: dict[str, str] = {}
    extra: dict[str, str] = {}
    seen: set[str] = set()
    next_positional = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if token.key is None:
            if next_positional >= len(positionals):
                raise _unexpected(command, token, prefix)
            param = positionals[next_positional]
            next_positional += 1
            if param.kind is Kind.REST:
                # The last positional takes the rest of the text up to the next option.
                run, i = _text_run(tokens, i)
                run.insert(0, token)
                raw[param.name] = " ".join(_span(text, run).split())
            else:
                raw[param.name] = token.value
            continue
        key = token.key
        if key in seen:
            raise _fail(f"`{key}:` is given twice", hint(command, prefix))
        seen.add(key)
        option = options.get(key)
        value = token.value
        if option is not None and option.kind is Kind.REST and not token.quoted:
            # Free text runs on to the next option: `reason:too expensive for now`.
            run, i = _text_run(tokens, i)
            if not value and len(run) == 1 and run[0].quoted:
                value = run[0].value
            else:
                value = text[token.value_start : run[-1].end if run else token.end].strip()
        else:
            if not token.quoted and not value and i < len(tokens) and tokens[i].key is None:
                # `method: consent` — a space after the colon.
                value = tokens[i].value
                i += 1
            if (
                option is not None
                and option.kind is Kind.WHEN
                and _DATE.fullmatch(value)
                and i < len(tokens)
                and tokens[i].key is None
                and _CLOCK.fullmatch(tokens[i].value)
            ):
                # `closes:2026-12-01 18:00` without quotes.
                value = f"{value} {tokens[i].value}"
                i += 1
        if not value.strip():
            raise _fail(f"`{key}:` needs a value", hint(command, prefix))
        if option is None:
            extra[key] = value
        else:
            raw[key] = value
    return raw, extra


def suggest(tree: CommandTree, words: Sequence[str]) -> str | None:
    """The command or group name closest to what was typed, if any is close."""
    names = tree.names()
    # No command name is long, so a long word is compared by its start only.
    for query in (" ".join(words[:2]).lower()[:40], words[0].lower()[:40]):
        close = difflib.get_close_matches(query, names, n=1, cutoff=0.6)
        if close:
            return close[0]
    return None


def unknown_command(tree: CommandTree, words: Sequence[str], prefix: str = "!") -> UserError:
    """The error for words that name no command, suggesting the closest one."""
    group = tree.group(words[0])
    list_hint = f"type `{prefix}help` for the list of commands"
    if group is not None:
        subcommands = _or_list([c.path[-1] for c in group.commands])
        if len(words) == 1:
            return _fail(
                f"`{group.name}` needs one of: {subcommands}",
                f"for example `{prefix}{group.commands[0].example}` — "
                f"type `{prefix}help {group.name}` for more",
            )
        typed = f"{group.name} {shown(words[1])}"
    else:
        typed = shown(words[0])
    close = suggest(tree, words)
    if close is not None:
        list_hint = f"did you mean `{prefix}{close}`? — " + list_hint
    return _fail(f"Unknown command `{typed}`", list_hint)


def _leading_words(text: str, count: int) -> list[tuple[str, int]]:
    """The first `count` whitespace-separated words with the index just after each."""
    words: list[tuple[str, int]] = []
    i = 0
    while len(words) < count:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        end = _word_end(text, i)
        words.append((text[i:end], end))
        i = end
    return words


def parse(text: str, tree: CommandTree, prefix: str = "!") -> ParsedCommand:
    """Read one command typed as text, prefix removed: `vote 7 yes reason:"fine by me"`.

    Raises UserError (with `prefix` in its hint) for anything that is not a valid command."""
    leading = _leading_words(text, 3)
    if not leading:
        raise _fail("Empty command", f"type `{prefix}help` for the list of commands")
    words = [word for word, _ in leading]
    found = tree.match(words)
    if found is None:
        raise unknown_command(tree, words, prefix)
    command, used = found
    rest = text[leading[used - 1][1] :]
    option_names = {p.name for p in command.options}

    def is_key(key: str) -> bool:
        return key in option_names or command.free_options

    tokens = _tokenize(rest, is_key, command, prefix)
    raw, extra = _assign(command, rest, tokens, prefix)
    return bind(command, {**extra, **raw}, prefix)


# ---------------------------------------------------------------------------------------------
# Back to text


def _quote(value: str) -> str | None:
    """`value` in the first quotes that cannot close early, or None if none fits."""
    for opener in ('"', "“", "'", "‘", "«"):
        closers = _CLOSERS[opener]
        if not any(char in closers and value[k + 1].isspace() for k, char in enumerate(value[:-1])):
            return f"{opener}{value}{closers[0]}"
    return None


def _needs_quotes(value: str, is_key: Callable[[str], bool]) -> bool:
    for word in value.split():
        key = _KEY.match(word)
        if word[0] in _CLOSERS or (key is not None and is_key(key.group(1).lower())):
            return True
    return False


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def to_text(parsed: ParsedCommand) -> str:
    """Command text (no prefix) that `parse` reads back into the same values: what a
    slash command or a button would have looked like typed, for logs and the audit trail."""
    command = parsed.command
    option_names = {p.name for p in command.options}

    def is_key(key: str) -> bool:
        return key in option_names or command.free_options

    parts = list(command.path)
    for param in command.positionals:
        if param.name not in parsed.values:
            continue
        value = _as_text(parsed.values[param.name])
        tight = param.kind is Kind.REST or not any(c.isspace() for c in value)
        if tight and not _needs_quotes(value, is_key):
            parts.append(value)
        else:
            parts.append(_quote(value) or value)
    options = [(p.name, parsed.values[p.name]) for p in command.options if p.name in parsed.values]
    for key, raw in [*options, *parsed.extra_options.items()]:
        value = _as_text(raw)
        if any(c.isspace() for c in value) or value[0] in _CLOSERS or _needs_quotes(value, is_key):
            parts.append(f"{key}:{_quote(value) or value}")
        else:
            parts.append(f"{key}:{value}")
    return " ".join(parts)
