"""Each command is declared once, and its handler receives a typed arguments object: the
tree names the class, the parser fills it, the handler is routed by it."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pytest

from bot.app import all_handlers
from bot.commands.args import MemberRoleArgs, ProposeArgs, ShowArgs, TaskAddArgs, check_args
from bot.commands.handlers import Route
from bot.commands.handlers.coop import routes as coop_routes
from bot.commands.handlers.decisions import routes as decision_routes
from bot.commands.handlers.tasks import routes as task_routes
from bot.commands.parser import bind, parse
from bot.commands.spec import Command, Kind, Param
from bot.commands.tree import CommandTree, build_command_tree
from bot.domain.proposals import ProposalMethod
from bot.domain.vocabulary import Role

TREE = build_command_tree()


@pytest.mark.parametrize("command", list(TREE), ids=lambda c: c.name)
def test_every_command_declares_a_frozen_arguments_class_its_parser_fills(
    command: Command,
) -> None:
    assert dataclasses.is_dataclass(command.args)
    check_args(command)  # one field per parameter, of the type its kind converts to
    parsed = parse(command.example, TREE)
    assert type(parsed.args) is command.args
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(parsed.args, "anything", 1)  # noqa: B010


def test_every_arguments_class_has_exactly_one_handler() -> None:
    handlers = all_handlers(TREE)
    assert set(handlers) == {c.args for c in TREE}
    assert len({c.args for c in TREE}) == len(TREE)


@pytest.mark.parametrize(
    "each",
    [*decision_routes(), *task_routes(), *coop_routes()],
    ids=lambda r: r.args.__name__,
)
def test_each_handler_is_written_for_the_arguments_it_is_routed_by(each: Route[Any]) -> None:
    hints = typing.get_type_hints(each.handler)
    assert hints["args"] is each.args


def test_values_arrive_typed() -> None:
    show = parse("show #7", TREE).args
    assert show == ShowArgs(id=7)
    propose = parse("propose Printer method:Consent class:bylaw_change secret:yes", TREE).args
    assert isinstance(propose, ProposeArgs)
    assert propose.method is ProposalMethod.CONSENT
    assert propose.class_ == "bylaw_change" and propose.secret is True
    task = parse("task add Fix it points:3 from:#7", TREE).args
    assert task == TaskAddArgs(title="Fix it", points=3, due=None, from_=7)
    role = parse("member role @bob Steward", TREE).args
    assert role == MemberRoleArgs(member="@bob", role=Role.STEWARD)
    assert parse("log 2,5 gate", TREE).args.hours == Decimal("2.5")


def test_slash_values_give_the_same_arguments_as_typed_text() -> None:
    vote = TREE.find("vote")
    assert vote is not None
    typed = parse('vote 7 B reason:"fine by me"', TREE).args
    assert bind(vote, {"id": "#7", "choice": "B", "reason": "fine by me"}).args == typed


def test_settings_arrive_as_the_changes_given() -> None:
    args = parse("coop settings quorum:60% timezone:Europe/Berlin colour:blue", TREE).args
    assert dict(args.changes) == {
        "quorum": "60%",
        "timezone": "Europe/Berlin",
        "colour": "blue",
    }


def test_a_declaration_whose_arguments_do_not_match_is_refused() -> None:
    show = TREE.find("show")
    assert show is not None

    @dataclass(frozen=True)
    class Wrong:
        id: str  # the parser gives an int

    @dataclass(frozen=True)
    class Missing:
        pass

    @dataclass
    class Mutable:
        id: int

    for args, message in ((Wrong, "int"), (Missing, "fields"), (Mutable, "frozen")):
        with pytest.raises(ValueError, match=message):
            check_args(replace(show, args=args))
    optional = replace(show, params=(Param("id", Kind.DECISION_ID, "n", required=False),))
    with pytest.raises(ValueError, match="optional"):
        check_args(optional)


def test_two_commands_cannot_share_one_arguments_class() -> None:
    show, close = TREE.find("show"), TREE.find("close")
    assert show is not None and close is not None
    with pytest.raises(ValueError, match="share ShowArgs"):
        CommandTree([show, replace(close, args=ShowArgs)], {})
