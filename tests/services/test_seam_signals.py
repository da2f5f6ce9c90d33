"""What the core tells an adapter in types instead of text: that a command changed its
room's binding, who alone may read a private reply, and one way to build an Invocation."""

from __future__ import annotations

from bot.app import Core
from bot.invocation import IdentityRef, RoomRef, build_invocation
from bot.render.document import line as text_line
from bot.render.document import private
from tests.support import CONSOLE_ROOM, invocation, setup_coop

OTHER_ROOM = RoomRef("console", "other")


async def _binding_changed(core: Core, user: str, text: str, room: RoomRef = CONSOLE_ROOM) -> bool:
    answers = await core.answer(invocation(user, text, room))
    assert answers
    return any(a.binding_changed for a in answers)


async def test_binding_commands_say_so_when_they_succeed(core: Core) -> None:
    assert await _binding_changed(core, "alice", "!coop setup Riverside")
    assert await _binding_changed(core, "alice", "!coop sync off")
    assert not await _binding_changed(core, "alice", "!member add @bob")
    assert not await _binding_changed(core, "alice", "!propose Buy a printer")
    # A refused bind (a made-up code) changed nothing.
    assert not await _binding_changed(core, "erin", "!coop bind AAAA-BBBB-CCCC-DDDD", OTHER_ROOM)


async def test_a_refused_binding_command_says_nothing_changed(core: Core) -> None:
    await setup_coop(core)
    assert not await _binding_changed(core, "bob", "!coop sync members")  # not a steward


def test_an_identity_is_read_from_its_spelling_once() -> None:
    bob = IdentityRef.parse("matrix:@bob:example.org")
    assert bob == IdentityRef("matrix", "@bob:example.org") and bob.key == "matrix:@bob:example.org"
    assert IdentityRef.parse("discord:123") == IdentityRef("discord", "123")
    for broken in (None, "", "discord", "discord:", ":123"):
        assert IdentityRef.parse(broken) is None


def test_a_private_reply_names_its_reader_typed() -> None:
    reply = private("matrix:@bob:example.org", text_line("only for you"))
    assert reply.recipient == IdentityRef("matrix", "@bob:example.org")
    assert reply.model_copy(update={"private_to": None}).recipient is None


def test_one_invocation_builder_puts_the_actor_on_the_rooms_platform() -> None:
    built = build_invocation(
        RoomRef("matrix", "!r:hs"), "@bob:hs", "  vote 1 yes \n", "$e", mentioned={"a": "b"}
    )
    assert built.actor.platform == "matrix" and built.actor.identity == "matrix:@bob:hs"
    assert built.actor.display_name == "@bob:hs" and not built.actor.is_room_admin
    assert built.text == "vote 1 yes" and dict(built.mentioned) == {"a": "b"}
