"""Members type commands as text; the parser reads them into checked values or explains why not."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from bot.commands.parser import ParsedCommand, bind, parse, split_options, to_text
from bot.commands.spec import Kind, Permission
from bot.commands.tree import CommandTree, build_command_tree, usage
from bot.errors import UserError


@pytest.fixture(scope="module")
def tree() -> CommandTree:
    return build_command_tree()


def refused(tree: CommandTree, text: str, prefix: str = "!") -> UserError:
    with pytest.raises(UserError) as caught:
        parse(text, tree, prefix)
    error = caught.value
    assert "\n" not in error.message
    assert error.hint is None or "\n" not in error.hint
    return error


# --- The tree holds SPEC §3 -------------------------------------------------------------------

SPEC_COMMANDS = {
    "help": Permission.ANYONE,
    "about": Permission.ANYONE,  # AGPL-3.0 §13: the source of the running bot (issue 12)
    "coop setup": Permission.ROOM_ADMIN,
    "coop bind": Permission.ROOM_ADMIN,
    "coop code": Permission.STEWARD,
    "coop settings": Permission.STEWARD,
    # Not in SPEC §3: dead letters of the outbox (issue 12, outbox policy).
    "coop outbox": Permission.STEWARD,
    "member add": Permission.STEWARD,
    "member remove": Permission.STEWARD,
    "member role": Permission.STEWARD,
    "member list": Permission.ANYONE,
    "member link": Permission.ANYONE,
    "propose": Permission.MEMBER,
    "poll": Permission.MEMBER,
    "vote": Permission.MEMBER,
    "show": Permission.ANYONE,
    "list": Permission.ANYONE,
    "close": Permission.STEWARD,
    "extend": Permission.STEWARD,
    "withdraw": Permission.MEMBER,
    "task add": Permission.MEMBER,
    "task claim": Permission.MEMBER,
    "task unclaim": Permission.MEMBER,
    "task done": Permission.MEMBER,
    "task assign": Permission.STEWARD,
    "task cancel": Permission.STEWARD,
    "task list": Permission.ANYONE,
    "log": Permission.MEMBER,
    "kudos": Permission.MEMBER,
    "tally": Permission.ANYONE,
    "summary": Permission.STEWARD,
    "patronage": Permission.STEWARD,
    "export": Permission.STEWARD,
}


# Beyond the table of SPEC §3: how stewards keep role sync per binding (SPEC §7).
ROLE_SYNC_COMMANDS = {
    "coop sync": Permission.STEWARD,
    "coop undo": Permission.STEWARD,
}


def test_the_tree_has_every_command_of_the_spec_and_no_other(tree: CommandTree) -> None:
    assert {c.name: c.permission for c in tree} == SPEC_COMMANDS | ROLE_SYNC_COMMANDS
    assert len(tree) == len(SPEC_COMMANDS) + len(ROLE_SYNC_COMMANDS)


def test_groups_and_top_level_commands_are_what_slash_commands_need(tree: CommandTree) -> None:
    groups = {g.name: [c.path[1] for c in g.commands] for g in tree.groups}
    assert groups == {
        "coop": ["setup", "bind", "code", "settings", "sync", "undo", "outbox"],
        "member": ["add", "remove", "role", "list", "link"],
        "task": ["add", "claim", "unclaim", "done", "assign", "cancel", "list"],
    }
    assert all(g.summary for g in tree.groups)
    top = {c.name for c in tree.top_level}
    assert {"propose", "vote", "help", "export"} <= top
    assert not top & set(groups)


def test_names_and_descriptions_fit_discord_limits(tree: CommandTree) -> None:
    valid = re.compile(r"^[-_a-z0-9]{1,32}$")
    for group in tree.groups:
        assert valid.match(group.name) and 1 <= len(group.summary) <= 100
    for command in tree:
        assert all(valid.match(word) for word in command.path), command.name
        assert 1 <= len(command.summary) <= 100, command.name
        assert len(command.params) <= 25
        names = [p.name for p in command.params]
        assert len(names) == len(set(names)), command.name
        for param in command.params:
            assert valid.match(param.name), (command.name, param.name)
            assert 1 <= len(param.help) <= 100, (command.name, param.name)
            assert len(param.choices) <= 25


def test_only_the_last_positional_takes_the_rest_of_the_text(tree: CommandTree) -> None:
    for command in tree:
        rests = [i for i, p in enumerate(command.positionals) if p.kind is Kind.REST]
        assert rests in ([], [len(command.positionals) - 1]), command.name
        required = [p.required for p in command.positionals]
        assert required == sorted(required, reverse=True), "optional positionals come last"


def test_bounds_of_spec_section_7_are_on_the_params(tree: CommandTree) -> None:
    def bound(path: str, name: str) -> int | None:
        command = tree.find(path)
        assert command is not None
        return next(p.max_length for p in command.params if p.name == name)

    assert bound("propose", "title") == 200
    assert bound("poll", "question") == 200
    assert bound("task add", "title") == 200
    assert bound("propose", "body") == 4000
    assert bound("vote", "reason") == 500
    assert bound("log", "note") == 500
    assert bound("kudos", "note") == 500


def test_opens_is_marked_steward_only_on_an_otherwise_member_command(tree: CommandTree) -> None:
    parsed = parse("propose Paint the shed opens:2d", tree)
    assert parsed.command.permission is Permission.MEMBER
    assert parsed.restricted == {"opens": Permission.STEWARD}
    assert parse("propose Paint the shed closes:2d", tree).restricted == {}


def test_every_example_in_the_tree_parses(tree: CommandTree) -> None:
    for command in tree:
        assert parse(command.example, tree).command is command


def test_find_and_match(tree: CommandTree) -> None:
    claim = tree.find("task claim")
    assert claim is not None and claim is tree.find(("Task", "CLAIM"))
    assert tree.find("task") is None
    assert tree.find(()) is None
    assert tree.match(["task", "claim", "4"]) == (claim, 2)
    assert tree.match(["frobnicate"]) is None


def test_coop_settings_options_are_the_settings_a_steward_may_change(tree: CommandTree) -> None:
    from bot.services.coop_config import EDITABLE

    command = tree.find("coop settings")
    assert command is not None and command.free_options
    assert {p.name for p in command.options} == set(EDITABLE)


def test_usage_lines_are_generated_from_the_tree(tree: CommandTree) -> None:
    def usage_of(name: str) -> str:
        command = tree.find(name)
        assert command is not None
        return usage(command)

    assert usage_of("vote") == "vote <id> <choice> [reason:]"
    assert usage_of("list") == "list [open|closed|all]"
    assert usage_of("task assign") == "task assign <id> @member"
    assert usage_of("export") == "export <decisions|votes|tasks|contributions|audit> [period:]"
    assert usage_of("poll").startswith('poll <question> options:"…" [method:]')
    assert usage_of("coop settings") == "coop settings [key:value …]"
    assert usage_of("member link") == "member link [code]"


# --- Every command, as a member would type it -------------------------------------------------

CASES: list[tuple[str, str, dict[str, object], dict[str, str]]] = [
    ("help", "help", {}, {}),
    ("help task claim", "help", {"command": "task claim"}, {}),
    ("about", "about", {}, {}),
    ("coop setup Riverside Co-op", "coop setup", {"name": "Riverside Co-op"}, {}),
    ("coop bind 7KQ2XM4P", "coop bind", {"code": "7KQ2XM4P"}, {}),
    ("coop code", "coop code", {}, {}),
    ("coop settings", "coop settings", {}, {}),
    (
        'coop settings timezone:Europe/Berlin quorum:60% summary_cron:"0 9 * * mon"',
        "coop settings",
        {"timezone": "Europe/Berlin", "quorum": "60%", "summary_cron": "0 9 * * mon"},
        {},
    ),
    (
        "coop settings max_claims:5 claim_days:10",
        "coop settings",
        {"max_claims": 5, "claim_days": 10},
        {},
    ),
    ("coop settings colour:red", "coop settings", {}, {"colour": "red"}),
    ("coop outbox", "coop outbox", {}, {}),
    ("coop outbox retry", "coop outbox", {"action": "retry"}, {}),
    ("member add @bob", "member add", {"member": "@bob"}, {}),
    ("member add <@1234> role:steward", "member add", {"member": "<@1234>", "role": "steward"}, {}),
    (
        "member add @alice:example.org role:Steward",
        "member add",
        {"member": "@alice:example.org", "role": "steward"},
        {},
    ),
    ("member remove @bob", "member remove", {"member": "@bob"}, {}),
    ("member role @bob steward", "member role", {"member": "@bob", "role": "steward"}, {}),
    ("member role @bob MEMBER", "member role", {"member": "@bob", "role": "member"}, {}),
    ("member list", "member list", {}, {}),
    ("member link", "member link", {}, {}),
    ("member link 4F7TQ2", "member link", {"code": "4F7TQ2"}, {}),
    (
        "propose Buy a 3D printer closes:3d method:consent",
        "propose",
        {"title": "Buy a 3D printer", "closes": "3d", "method": "consent"},
        {},
    ),
    (
        'propose Buy a 3D printer body:"We print parts ourselves" method:supermajority '
        "threshold:3/4 quorum:66% class:bylaw_change opens:1d closes:2026-12-01 secret:yes",
        "propose",
        {
            "title": "Buy a 3D printer",
            "body": "We print parts ourselves",
            "method": "supermajority",
            "threshold": "3/4",
            "quorum": "66%",
            "class": "bylaw_change",
            "opens": "1d",
            "closes": "2026-12-01",
            "secret": True,
        },
        {},
    ),
    (
        'poll Where should the retreat be? options:"Lakehouse | Cabin | City"',
        "poll",
        {"question": "Where should the retreat be?", "options": "Lakehouse | Cabin | City"},
        {},
    ),
    (
        'poll Lunch? options:"A | B | C" method:approval quorum:0 closes:36h secret:no',
        "poll",
        {
            "question": "Lunch?",
            "options": "A | B | C",
            "method": "approval",
            "quorum": "0",
            "closes": "36h",
            "secret": False,
        },
        {},
    ),
    ("vote 7 yes", "vote", {"id": 7, "choice": "yes"}, {}),
    ("vote #7 no", "vote", {"id": 7, "choice": "no"}, {}),
    (
        'vote 7 block reason:"we can\'t afford it"',
        "vote",
        {"id": 7, "choice": "block", "reason": "we can't afford it"},
        {},
    ),
    ("vote 9 B", "vote", {"id": 9, "choice": "B"}, {}),
    ("vote 9 A,C", "vote", {"id": 9, "choice": "A,C"}, {}),
    ("vote 9 C>A>B", "vote", {"id": 9, "choice": "C>A>B"}, {}),
    ("vote 9 C > A > B", "vote", {"id": 9, "choice": "C > A > B"}, {}),
    ("vote 9 A=5,B=3,C=0", "vote", {"id": 9, "choice": "A=5,B=3,C=0"}, {}),
    ("vote 9 Lakehouse by the sea", "vote", {"id": 9, "choice": "Lakehouse by the sea"}, {}),
    ("show 7", "show", {"id": 7}, {}),
    ("show #7", "show", {"id": 7}, {}),
    ("list", "list", {}, {}),
    ("list closed", "list", {"state": "closed"}, {}),
    ("list ALL", "list", {"state": "all"}, {}),
    ("close 7", "close", {"id": 7}, {}),
    ("extend 7 2d", "extend", {"id": 7, "duration": "2d"}, {}),
    ("withdraw #7", "withdraw", {"id": 7}, {}),
    ("task add Fix the gate", "task add", {"title": "Fix the gate"}, {}),
    (
        "task add Fix the gate points:3 due:2026-12-01 from:#7",
        "task add",
        {"title": "Fix the gate", "points": 3, "due": "2026-12-01", "from": 7},
        {},
    ),
    ("task add Sweep points:0", "task add", {"title": "Sweep", "points": 0}, {}),
    ("task claim 4", "task claim", {"id": 4}, {}),
    ("task unclaim #4", "task unclaim", {"id": 4}, {}),
    ("task done 4", "task done", {"id": 4}, {}),
    ("task assign 4 @bob", "task assign", {"id": 4, "member": "@bob"}, {}),
    ("task cancel 4", "task cancel", {"id": 4}, {}),
    ("task list", "task list", {}, {}),
    ("task list mine", "task list", {"state": "mine"}, {}),
    ("log 2.5", "log", {"hours": Decimal("2.5")}, {}),
    (
        "log 3 fixed the gate category:workshop",
        "log",
        {"hours": Decimal("3"), "note": "fixed the gate", "category": "workshop"},
        {},
    ),
    ("log 1,5 newsletter", "log", {"hours": Decimal("1.5"), "note": "newsletter"}, {}),
    (
        "kudos @bob thanks for the newsletter",
        "kudos",
        {"member": "@bob", "note": "thanks for the newsletter"},
        {},
    ),
    (
        "kudos @bob points:2 thanks for the newsletter",
        "kudos",
        {"member": "@bob", "points": 2, "note": "thanks for the newsletter"},
        {},
    ),
    (
        "kudos @bob thanks! points:2",
        "kudos",
        {"member": "@bob", "note": "thanks!", "points": 2},
        {},
    ),
    ("tally", "tally", {}, {}),
    ("tally period:2026-W47 member:@bob", "tally", {"period": "2026-W47", "member": "@bob"}, {}),
    ("summary", "summary", {}, {}),
    ("patronage 1200.50", "patronage", {"surplus": Decimal("1200.50")}, {}),
    ("patronage 1200 period:2026", "patronage", {"surplus": Decimal(1200), "period": "2026"}, {}),
    ("export votes", "export", {"kind": "votes"}, {}),
    ("export audit period:2026-Q4", "export", {"kind": "audit", "period": "2026-Q4"}, {}),
]


@pytest.mark.parametrize(("text", "name", "values", "extra"), CASES, ids=[c[0] for c in CASES])
def test_a_member_types_a_command(
    tree: CommandTree, text: str, name: str, values: dict[str, object], extra: dict[str, str]
) -> None:
    parsed = parse(text, tree)
    assert parsed.command.name == name
    assert parsed.values == values
    assert parsed.extra_options == extra


def test_every_command_of_the_spec_has_a_case() -> None:
    assert {name for _, name, _, _ in CASES} == set(SPEC_COMMANDS)


# --- The text rules ---------------------------------------------------------------------------


def test_a_title_needs_no_quotes_and_keeps_its_colons(tree: CommandTree) -> None:
    parsed = parse("propose Re: budget — meeting at 18:00 closes:3d", tree)
    assert parsed.values == {"title": "Re: budget — meeting at 18:00", "closes": "3d"}


def test_unknown_key_value_inside_a_title_is_just_text(tree: CommandTree) -> None:
    parsed = parse("propose Paint it colour:red method:consent", tree)
    assert parsed.values == {"title": "Paint it colour:red", "method": "consent"}


def test_a_quoted_title_loses_its_quotes_but_inner_quotes_stay(tree: CommandTree) -> None:
    assert parse('propose "Buy a printer" closes:3d', tree).get_str("title") == "Buy a printer"
    assert parse('propose Buy the "Prusa" printer', tree).get_str("title") == (
        'Buy the "Prusa" printer'
    )


def test_apostrophes_are_not_quotes(tree: CommandTree) -> None:
    assert parse("propose Let's hold a '90s night", tree).get_str("title") == (
        "Let's hold a '90s night"
    )
    assert parse("vote 3 no reason:'Bob's plan is better'", tree).get_str("reason") == (
        "Bob's plan is better"
    )


@pytest.mark.parametrize(
    "quoted",
    [
        '"We print parts ourselves"',
        "'We print parts ourselves'",
        "“We print parts ourselves”",
        "„We print parts ourselves“",
        "‘We print parts ourselves’",
    ],
)
def test_quotes_phones_type_work_too(tree: CommandTree, quoted: str) -> None:
    parsed = parse(f"propose Printer body:{quoted} method:consent", tree)
    assert parsed.values == {
        "title": "Printer",
        "body": "We print parts ourselves",
        "method": "consent",
    }


def test_a_free_text_option_runs_on_to_the_next_option(tree: CommandTree) -> None:
    parsed = parse("vote 7 no reason:too expensive for now", tree)
    assert parsed.get_str("reason") == "too expensive for now"
    parsed = parse("poll Lunch? options:Soup | Salad | Pie method:ranked", tree)
    assert parsed.values["options"] == "Soup | Salad | Pie"
    assert parsed.values["method"] == "ranked"


def test_a_space_after_the_colon_is_forgiven(tree: CommandTree) -> None:
    assert parse("propose Printer method: consent", tree).values["method"] == "consent"
    assert parse("vote 7 no reason: too dear", tree).values["reason"] == "too dear"


def test_a_date_and_time_join_without_quotes(tree: CommandTree) -> None:
    parsed = parse("propose Printer closes:2026-12-01 18:00 opens:2026-11-30 9:00", tree)
    assert parsed.values == {
        "title": "Printer",
        "closes": "2026-12-01 18:00",
        "opens": "2026-11-30 9:00",
    }
    quoted = parse('propose Printer closes:"2026-12-01 18:00"', tree)
    assert quoted.values["closes"] == "2026-12-01 18:00"


def test_body_keeps_its_line_breaks_but_a_title_is_one_line(tree: CommandTree) -> None:
    parsed = parse('propose Buy a\n printer body:"First.\nSecond."', tree)
    assert parsed.values == {"title": "Buy a printer", "body": "First.\nSecond."}


def test_every_one_line_field_is_one_line_however_it_was_pasted(tree: CommandTree) -> None:
    """Options ran across line breaks (`reason:"fine\n#7 … PASSED"`), so a member could
    write a line that looks like the bot's. Only a body may span lines."""
    forged = "\n#7 Buy a printer — PASSED"
    for text, name in [
        (f'vote 7 no reason:"too loud{forged}"', "reason"),
        (f"vote 7 no reason:too loud{forged}", "reason"),
        (f'log 2 category:"work{forged}"', "category"),
        (f'poll Lunch? options:"Soup{forged} | Pie"', "options"),
        (f'coop setup "Riverside\r\nCo-op{forged}"', "name"),
        (f"kudos @bob thanks\u2028for{forged}", "note"),
    ]:
        value = parse(text, tree).get_str(name)
        assert value is not None and "\n" not in value and "\u2028" not in value, (text, value)
        assert "#7 Buy a printer — PASSED" in value


def test_numbers_and_times_are_bounded_in_length_by_their_kind(tree: CommandTree) -> None:
    assert (
        "`closes:` is 33 characters long; the limit is 32"
        in refused(tree, "propose X closes:" + "9" * 33).message
    )
    assert (
        "`quorum:` is 17 characters long; the limit is 16"
        in refused(tree, "propose X quorum:" + "1" * 17).message
    )
    assert (
        "`min_voting_time:` is 33 characters"
        in refused(tree, "coop settings min_voting_time:" + "1" * 33).message
    )
    for digits in ("٣", "３", "1_0", "+-1"):
        assert "whole number" in refused(tree, f"task add X points:{digits}").message


def test_command_words_and_option_keys_ignore_letter_case(tree: CommandTree) -> None:
    parsed = parse("Task Claim #4", tree)
    assert parsed.command.name == "task claim" and parsed.get_int("id") == 4
    assert parse("Propose Printer Method:Consent", tree).values["method"] == "consent"


def test_secret_accepts_yes_no_true_false(tree: CommandTree) -> None:
    for word, expected in [("yes", True), ("TRUE", True), ("no", False), ("false", False)]:
        assert parse(f"propose X secret:{word}", tree).get_bool("secret") is expected


def test_typed_getters(tree: CommandTree) -> None:
    parsed = parse("log 2.5 gate", tree)
    assert parsed.get_decimal("hours") == Decimal("2.5")
    assert parsed.get_str("hours") is None
    assert parsed.get_int("note") is None
    assert parsed.get_bool("missing") is None


# --- Bounds -----------------------------------------------------------------------------------


def test_a_title_of_200_characters_is_fine_but_201_is_refused(tree: CommandTree) -> None:
    assert parse("propose " + "x" * 200, tree).get_str("title") == "x" * 200
    error = refused(tree, "propose " + "x" * 201)
    assert error.message == "The title is 201 characters long; the limit is 200"
    assert error.hint is not None and "!propose <title>" in error.hint


def test_body_note_and_reason_bounds(tree: CommandTree) -> None:
    assert parse(f'propose X body:"{"b" * 4000}"', tree).values["body"] == "b" * 4000
    assert "4001 characters" in refused(tree, f'propose X body:"{"b" * 4001}"').message
    assert "`reason:` is 501" in refused(tree, "vote 1 no reason:" + "r" * 501).message
    assert "note is 501" in refused(tree, "log 1 " + "n" * 501).message
    assert "limit is 500" in refused(tree, "kudos @bob " + "n" * 501).message


def test_every_other_text_is_bounded_too(tree: CommandTree) -> None:
    assert "limit is 200" in refused(tree, "coop bind " + "c" * 201).message


def test_numbers_are_positive_and_bounded(tree: CommandTree) -> None:
    for text in ["vote 0 yes", "vote -1 yes", "vote 1234567890 yes", "vote ## yes", "vote #x yes"]:
        assert "is not a decision number" in refused(tree, text).message
    assert "is not a task number" in refused(tree, "task claim four").message
    assert "whole number" in refused(tree, "task add X points:2.5").message
    assert "whole number" in refused(tree, "task add X points:99999999").message
    for hours in ["NaN", "inf", "1e9", "1,200", "12345678901234"]:
        assert "must be a number like 2.5" in refused(tree, f"log {hours} x").message


# --- Errors -----------------------------------------------------------------------------------


def test_a_missing_argument_names_what_is_needed_and_shows_usage(tree: CommandTree) -> None:
    error = refused(tree, "vote")
    assert error.message == "`vote` needs a decision number and a choice"
    assert error.hint == "usage: `!vote <id> <choice> [reason:]` — for example `!vote 7 yes`"
    assert refused(tree, "vote 7").message == error.message
    assert refused(tree, "task claim").message == "`task claim` needs a task number"
    assert refused(tree, "propose method:consent").message == "`propose` needs a title"
    assert refused(tree, "extend 7").message == "`extend` needs a decision number and a duration"


def test_the_hint_uses_the_prefix_the_caller_gives(tree: CommandTree) -> None:
    error = refused(tree, "vote", prefix="?")
    assert error.hint == "usage: `?vote <id> <choice> [reason:]` — for example `?vote 7 yes`"


def test_a_poll_without_options(tree: CommandTree) -> None:
    assert refused(tree, "poll Lunch?").message == "`poll` needs `options:`"


def test_an_unknown_command_suggests_the_closest(tree: CommandTree) -> None:
    error = refused(tree, "frobnicate 7")
    assert error.message == "Unknown command `frobnicate`"
    assert error.hint == "type `!help` for the list of commands"
    error = refused(tree, "vot 7 yes")
    assert error.message == "Unknown command `vot`"
    assert error.hint == "did you mean `!vote`? — type `!help` for the list of commands"
    error = refused(tree, "task clam 4")
    assert error.message == "Unknown command `task clam`"
    assert error.hint is not None and "`!task claim`" in error.hint


def test_a_group_alone_lists_its_subcommands(tree: CommandTree) -> None:
    error = refused(tree, "task")
    assert error.message == (
        "`task` needs one of: add, claim, unclaim, done, assign, cancel or list"
    )
    assert error.hint is not None and "`!help task`" in error.hint


def test_empty_input(tree: CommandTree) -> None:
    for text in ["", "   ", "\n\t"]:
        error = refused(tree, text)
        assert error.message == "Empty command"


def test_duplicate_options(tree: CommandTree) -> None:
    assert refused(tree, "propose X method:consent Method:majority").message == (
        "`method:` is given twice"
    )


def test_an_unknown_option_after_the_options_began(tree: CommandTree) -> None:
    error = refused(tree, "propose Printer method:consent colour:red")
    assert error.message == "`propose` has no option `colour:`"
    error = refused(tree, "propose Printer method:consent clses:3d")
    assert error.message == "`propose` has no option `clses:` (did you mean `closes:`?)"
    assert refused(tree, "show 7 colour:red").message == "`show` has no option `colour:`"


def test_extra_text_is_refused(tree: CommandTree) -> None:
    error = refused(tree, "extend 7 2 days")
    assert error.message == ("Unexpected `days`: `extend` takes a decision number and a duration")
    assert refused(tree, "summary now").message == (
        "Unexpected `now`: `summary` takes nothing more"
    )
    assert "then options" in refused(tree, "propose X method:consent and more").message
    assert refused(tree, "coop settings now please").message.endswith("takes only options")


def test_bad_choices_list_the_good_ones(tree: CommandTree) -> None:
    assert refused(tree, "propose X method:unanimous").message == (
        "`method:` must be majority, supermajority or consent, not `unanimous`"
    )
    assert refused(tree, "list pending").message == (
        "The state must be open, closed or all, not `pending`"
    )
    assert refused(tree, "export everything").message == (
        "What to export must be decisions, votes, tasks, contributions or audit, not `everything`"
    )
    assert "yes or no" in refused(tree, "propose X secret:maybe").message


def test_an_empty_option_value(tree: CommandTree) -> None:
    assert refused(tree, "vote 7 no reason:").message == "`reason:` needs a value"
    assert refused(tree, 'vote 7 no reason:""').message == "`reason:` needs a value"
    assert refused(tree, "propose X method:").message == "`method:` needs a value"


def test_unbalanced_quotes(tree: CommandTree) -> None:
    error = refused(tree, 'propose Printer body:"We print parts')
    assert error.message == "The quote after `body:` is never closed"
    assert error.hint is not None and error.hint.startswith("usage: `!propose")
    assert refused(tree, 'propose "Printer').message.startswith("A quote is never closed")


def test_an_error_repeats_at_most_a_short_line_of_input(tree: CommandTree) -> None:
    error = refused(tree, "vote " + "x" * 5000 + " yes")
    assert len(error.message) < 120
    error = refused(tree, 'propose X method:"a\nb\nc"')
    assert "\n" not in error.message


# --- Poll options -----------------------------------------------------------------------------


def test_split_options() -> None:
    assert split_options("Lakehouse | Cabin | City") == ["Lakehouse", "Cabin", "City"]
    assert split_options("A|B") == ["A", "B"]
    assert len(split_options(" | ".join(f"option {n}" for n in range(20)))) == 20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Lakehouse", "A poll needs at least 2 options, separated by |"),
        ("", "A poll needs at least 2 options, separated by |"),
        ("A | | B", "Option 2 is empty: remove the extra |"),
        ("A | B |", "Option 3 is empty: remove the extra |"),
        ("Cabin | cabin", "The option `cabin` is listed twice"),
        (" | ".join(str(n) for n in range(21)), "A poll can have at most 20 options, not 21"),
        ("A | " + "b" * 201, "Option 2 is 201 characters long; the limit is 200"),
    ],
)
def test_split_options_refuses(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        split_options(text)
    assert caught.value.message == message
    assert caught.value.hint == 'for example `options:"Lakehouse | Cabin | City"`'


def test_a_poll_with_bad_options_is_refused_while_parsing(tree: CommandTree) -> None:
    assert refused(tree, "poll Lunch? options:Soup").message.startswith("A poll needs at least")


# --- bind: the slash-command path shares every check ------------------------------------------


def test_bind_converts_slash_command_values_like_text(tree: CommandTree) -> None:
    vote = tree.find("vote")
    assert vote is not None
    assert bind(vote, {"id": "#7", "choice": " yes ", "reason": ""}) == ParsedCommand(
        vote, {"id": 7, "choice": "yes"}, {}
    )
    propose = tree.find("propose")
    assert propose is not None
    bound = bind(propose, {"title": "Printer", "method": "Consent", "secret": "yes"})
    assert bound.values == {"title": "Printer", "method": "consent", "secret": True}
    assert bound == parse("propose Printer method:Consent secret:yes", tree)


def test_bind_refuses_what_parse_refuses(tree: CommandTree) -> None:
    propose = tree.find("propose")
    assert propose is not None
    with pytest.raises(UserError) as caught:
        bind(propose, {"title": "x" * 201}, prefix="/")
    assert caught.value.message == "The title is 201 characters long; the limit is 200"
    assert caught.value.hint is not None and "`/propose <title>" in caught.value.hint
    with pytest.raises(UserError, match="needs a title"):
        bind(propose, {"method": "consent"})
    with pytest.raises(UserError, match="has no option `colour:`"):
        bind(propose, {"title": "x", "colour": "red"})


def test_bind_keeps_undeclared_settings_for_free_option_commands(tree: CommandTree) -> None:
    settings = tree.find("coop settings")
    assert settings is not None
    bound = bind(settings, {"timezone": "UTC", "weights": "1"})
    assert bound.values == {"timezone": "UTC"}
    assert bound.extra_options == {"weights": "1"}


def test_an_unclosed_apostrophe_in_an_option_is_just_text(tree: CommandTree) -> None:
    parsed = parse("vote 3 no reason:'cause it's late", tree)
    assert parsed.get_str("reason") == "'cause it's late"


def test_a_flood_of_stray_quotes_is_answered_quickly(tree: CommandTree) -> None:
    import time

    started = time.perf_counter()
    for flood in ["' " * 30000, "'a " * 30000, "x:' " * 30000]:
        with pytest.raises(UserError):
            parse("propose " + flood, tree)
    # Generous for a slow machine; a quadratic scan would take minutes.
    assert time.perf_counter() - started < 10


def test_a_slash_command_becomes_text_that_reads_back_the_same(tree: CommandTree) -> None:
    propose = tree.find("propose")
    assert propose is not None
    bound = bind(
        propose,
        {
            "title": "Change method:consent rules",
            "body": 'Say "hi" there',
            "closes": "2026-12-01 18:00",
            "secret": "yes",
        },
    )
    text = to_text(bound)
    assert text == (
        'propose "Change method:consent rules" body:“Say "hi" there” '
        'closes:"2026-12-01 18:00" secret:yes'
    )
    assert parse(text, tree) == bound
    vote = tree.find("vote")
    assert vote is not None
    assert to_text(bind(vote, {"id": "#7", "choice": "C>A>B"})) == "vote 7 C>A>B"
