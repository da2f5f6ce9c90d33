"""A member asks for help: the command list, one group, or one command with an example."""

from __future__ import annotations

import pytest

from bot.commands.help import help_reply
from bot.commands.parser import parse
from bot.commands.tree import CommandTree, build_command_tree, usage
from bot.errors import UserError


@pytest.fixture(scope="module")
def tree() -> CommandTree:
    return build_command_tree()


def test_help_lists_every_command_once_with_usage_summary_and_who(tree: CommandTree) -> None:
    reply = help_reply(tree, "!", None)
    lines = reply.plain_lines()
    assert lines[0] == "Commands — type !help <command> for details, e.g. !help vote"
    for command in tree:
        matching = [text for text in lines if text.startswith(f"!{usage(command)} — ")]
        assert len(matching) == 1, command.name
    assert (
        "!vote <id> <choice> [reason:] — cast or change your vote on an open decision (members)"
        in lines
    )
    assert "!close <id> — end a decision's vote now and count it (stewards)" in lines
    assert "!show <id> — a decision with its state and count (anyone)" in lines
    assert {"Decisions", "Tasks", "Contributions", "Members", "Co-op", "Help"} <= set(lines)
    assert "Other" not in lines
    assert reply.kind == "info"


def test_help_for_one_command_shows_usage_params_who_and_example(tree: CommandTree) -> None:
    lines = help_reply(tree, "!", "vote").plain_lines()
    assert lines[0] == "!vote <id> <choice> [reason:]"
    assert "Who: members" in lines
    assert "<id> — the decision number, like 7 or #7 (required)" in lines
    assert any(text.startswith("<choice> — ") for text in lines)
    assert "reason: — why; a block needs one (optional; at most 500 characters)" in lines
    assert lines[-1] == "Example: !vote 7 yes"


def test_help_shows_choices_and_steward_only_options(tree: CommandTree) -> None:
    lines = help_reply(tree, "!", "propose").plain_lines()
    method = next(text for text in lines if text.startswith("method: — "))
    assert "one of majority, supermajority, consent" in method
    opens = next(text for text in lines if text.startswith("opens: — "))
    assert "stewards only" in opens
    secret = next(text for text in lines if text.startswith("secret: — "))
    assert "yes or no" in secret


def test_help_for_a_subcommand_and_a_group(tree: CommandTree) -> None:
    lines = help_reply(tree, "!", "task claim").plain_lines()
    assert lines[0] == "!task claim <id>"
    assert lines[-1] == "Example: !task claim 4"
    group = help_reply(tree, "!", "task").plain_lines()
    assert group[0] == "task — the task board"
    assert "!task claim <id> — take a task on (members)" in group
    assert len([text for text in group if text.startswith("!task ")]) == 7


def test_help_forgives_a_prefix_capitals_and_extra_words(tree: CommandTree) -> None:
    expected = help_reply(tree, "!", "vote").plain_lines()
    assert help_reply(tree, "!", "!vote").plain_lines() == expected
    assert help_reply(tree, "!", "/Vote").plain_lines() == expected
    assert help_reply(tree, "!", "vote 7 yes").plain_lines() == expected


def test_help_uses_the_rooms_prefix(tree: CommandTree) -> None:
    lines = help_reply(tree, "?", "vote").plain_lines()
    assert lines[0] == "?vote <id> <choice> [reason:]"
    assert lines[-1] == "Example: ?vote 7 yes"
    assert help_reply(tree, "?", "?vote").plain_lines() == lines


def test_help_for_an_unknown_topic_suggests_one(tree: CommandTree) -> None:
    with pytest.raises(UserError) as caught:
        help_reply(tree, "!", "votee")
    assert caught.value.message == "No help for `votee`: there is no such command"
    assert caught.value.hint == "did you mean `!help vote`? — type `!help` for the list of commands"
    with pytest.raises(UserError) as caught:
        help_reply(tree, "!", "task clam")
    assert caught.value.hint is not None and "`!help task claim`" in caught.value.hint
    with pytest.raises(UserError) as caught:
        help_reply(tree, "!", "zzzzzz")
    assert caught.value.hint == "type `!help` for the list of commands"


def test_the_help_command_text_reaches_help_reply(tree: CommandTree) -> None:
    parsed = parse("help task claim", tree)
    lines = help_reply(tree, "!", parsed.get_str("command")).plain_lines()
    assert lines[0] == "!task claim <id>"


def test_every_command_has_help_with_an_example_that_parses(tree: CommandTree) -> None:
    for command in tree:
        lines = help_reply(tree, "!", command.name).plain_lines()
        assert lines[0] == f"!{usage(command)}"
        assert lines[-1] == f"Example: !{command.example}"
        assert parse(command.example, tree).command is command
