"""Whatever a member types, the parser and help answer with a result or a short UserError."""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.commands.help import help_reply
from bot.commands.parser import ParsedCommand, bind, parse, split_options, to_text
from bot.commands.spec import Command, Kind, Param
from bot.commands.tree import CommandTree, build_command_tree
from bot.errors import UserError

TREE: CommandTree = build_command_tree()
COMMANDS = list(TREE)

# Pieces that exercise the grammar: command words, option keys, quotes, colons, numbers.
_WORDS = sorted(
    {word for command in COMMANDS for word in command.path}
    | {f"{p.name}:" for command in COMMANDS for p in command.params}
    | {'"', "'", "“", "”", "„", "‘", "’", "«", "»", "#", ":", "|", ">", "=", ",", "`"}
    | {"#7", "7", "0", "-1", "2.5", "1,5", "18:00", "2026-12-01", "yes", "@bob", "<@123>"}
    | {"@alice:example.org", "colour:red", "Re:", "\n", "\t", " ", "x" * 250}
)
_pieces = st.one_of(
    st.sampled_from(_WORDS),
    st.text(max_size=12),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=6),
)
_sentences = st.lists(_pieces, max_size=14).map(" ".join)
_inputs = st.one_of(_sentences, st.text(max_size=300), st.text(min_size=3000, max_size=6000))

_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _is_short(error: UserError) -> bool:
    return len(str(error).split("\n")) <= 2 and "\n" not in error.message


@_FUZZ
@given(_inputs)
def test_parse_returns_a_command_or_a_short_user_error(text: str) -> None:
    try:
        parsed = parse(text, TREE)
    except UserError as error:
        assert _is_short(error), str(error)
    else:
        assert parsed.command in COMMANDS
        assert set(parsed.values) <= {p.name for p in parsed.command.params}


@_FUZZ
@given(st.sampled_from(COMMANDS), _sentences)
def test_any_text_after_a_real_command(command: Command, tail: str) -> None:
    try:
        parse(f"{command.name} {tail}", TREE, prefix="?")
    except UserError as error:
        assert _is_short(error), str(error)


@_FUZZ
@given(st.one_of(st.none(), _inputs))
def test_help_returns_a_reply_or_a_short_user_error(topic: str | None) -> None:
    try:
        reply = help_reply(TREE, "!", topic)
    except UserError as error:
        assert _is_short(error), str(error)
    else:
        assert reply.blocks


@_FUZZ
@given(
    st.sampled_from(COMMANDS),
    st.dictionaries(st.sampled_from(["id", "choice", "title", "x", "hours", "secret"]), _inputs),
)
def test_bind_returns_a_command_or_a_short_user_error(
    command: Command, raw: dict[str, str]
) -> None:
    try:
        bind(command, raw)
    except UserError as error:
        assert _is_short(error), str(error)


@_FUZZ
@given(_inputs)
def test_split_options_returns_options_or_a_short_user_error(text: str) -> None:
    try:
        options = split_options(text)
    except UserError as error:
        assert _is_short(error), str(error)
    else:
        assert 2 <= len(options) <= 20
        assert all(0 < len(option) <= 200 for option in options)


@_FUZZ
@given(
    st.one_of(
        _inputs,
        st.sampled_from(COMMANDS).flatmap(
            lambda c: _sentences.map(lambda tail: f"{c.name} {tail}")
        ),
    )
)
def test_to_text_reads_back_as_the_same_command(text: str) -> None:
    try:
        parsed = parse(text, TREE)
    except UserError:
        return
    assert parse(to_text(parsed), TREE) == parsed


_tricky_text = st.lists(
    st.one_of(
        st.sampled_from(_WORDS),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8),
    ),
    min_size=1,
    max_size=8,
).map(" ".join)


def _raw_value(param: Param) -> st.SearchStrategy[str]:
    if param.kind in (Kind.DECISION_ID, Kind.TASK_ID):
        return st.integers(1, 10**6).map(str) | st.integers(1, 10**6).map(lambda n: f"#{n}")
    if param.kind is Kind.INT:
        return st.integers(0, 10**6).map(str)
    if param.kind is Kind.NUMBER:
        return st.decimals(-(10**6), 10**6, places=2).map(str)
    if param.kind is Kind.BOOL:
        return st.sampled_from(["yes", "no", "TRUE", "false"])
    if param.choices:
        return st.sampled_from(param.choices).map(str.upper)
    if (param.name, param.kind) == ("options", Kind.REST):
        return st.lists(
            st.text(alphabet="abcdefgh :'“", min_size=1, max_size=10).map(str.strip),
            min_size=2,
            max_size=5,
        ).map(" | ".join)
    return _tricky_text


@st.composite
def _bound_commands(draw: st.DrawFn) -> ParsedCommand | None:
    command = draw(st.sampled_from(COMMANDS))
    raw = {p.name: draw(_raw_value(p)) for p in command.params if p.required or draw(st.booleans())}
    try:
        return bind(command, raw)
    except UserError:
        return None


@_FUZZ
@given(_bound_commands())
def test_slash_command_values_round_trip_through_text(bound: ParsedCommand | None) -> None:
    assume(bound is not None)
    assert bound is not None
    assert parse(to_text(bound), TREE) == bound
