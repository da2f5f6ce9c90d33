"""The pure parts of Matrix secret ballots: which rooms are direct messages and the DM hint
in a secret announcement (which votes are secret the core says: tests/services/test_intents.py)."""

from __future__ import annotations

from adapters.matrix.direct import DirectRooms, invite_is_direct, is_direct
from adapters.matrix.render import render_reply
from adapters.matrix.secret import add_line, direct_vote_hint, typed_vote_note
from bot.app import Core
from bot.invocation import RoomRef, build_invocation
from bot.render.document import Bold, ChoiceOption, Choices, Reply, command, line

BOT = "@coopbot:coop.test"
BOB = "@bob:coop.test"
ROOM = RoomRef("matrix", "!alone:coop.test")


def secret_announcement(
    title: str = "Pay rise", closed: bool = False, kind: str = "announcement"
) -> Reply:
    choices = Choices(
        coop_id=1,
        decision_number=7,
        decision_kind="proposal",
        method="majority",
        question=title,
        options=tuple(ChoiceOption(key=k, label=k) for k in ("yes", "no", "abstain")),
        secret=True,
        closed=closed,
    )
    return Reply(
        kind="announcement" if kind == "announcement" else "info",
        blocks=(
            line(Bold(text="Proposal #7 opened"), " by Alice"),
            line(title, indent=1),
            line("method: majority · secret ballot · vote: ", command("vote 7 yes|no|abstain")),
        ),
        choices=choices,
        subject="decision:1:7",
    )


def test_an_invite_flagged_is_direct_marks_a_direct_message() -> None:
    assert invite_is_direct({"membership": "invite", "is_direct": True})
    assert not invite_is_direct({"membership": "invite"})
    assert not invite_is_direct({"membership": "invite", "is_direct": "yes"})


def test_the_bots_m_direct_list_is_learned_and_extended() -> None:
    rooms = DirectRooms()
    rooms.learn({BOB: ["!a:coop.test"], "@carol:coop.test": "not a list"})
    assert rooms.flagged("!a:coop.test") and not rooms.flagged("!b:coop.test")
    assert rooms.add("!b:coop.test", BOB) == {BOB: ["!a:coop.test", "!b:coop.test"]}
    assert rooms.add("!b:coop.test", BOB) is None  # stored already: nothing to write
    assert rooms.flagged("!b:coop.test")


def test_a_room_is_private_only_while_nobody_else_can_read_it() -> None:
    alone = {BOT, BOB}
    assert is_direct(True, alone, BOT, BOB, binds_room=False)
    assert is_direct(False, alone, BOT, BOB, binds_room=False)  # just the two of them
    assert not is_direct(True, alone | {"@eve:coop.test"}, BOT, BOB, binds_room=False)
    assert not is_direct(False, alone | {"@eve:coop.test"}, BOT, BOB, binds_room=False)
    assert not is_direct(True, alone, BOT, BOT, binds_room=False)


def test_a_steward_alone_with_the_bot_can_still_set_up_a_coop_room(core: Core) -> None:
    def binds(text: str) -> bool:
        return core.binds_room(build_invocation(ROOM, BOB, text, "$e", display_name="Bob"))

    # The core says which commands bind a room, by its own command tree (any arguments).
    assert binds("coop setup Riverside") and binds("COOP  bind 1A2B") and binds("coop setup")
    assert not binds("coop code") and not binds("coopsetup x") and not binds("")
    assert not is_direct(False, {BOT, BOB}, BOT, BOB, binds_room=True)
    # A room flagged as a DM stays one: the core explains that setup belongs in a group room.
    assert is_direct(True, {BOT, BOB}, BOT, BOB, binds_room=True)


def test_the_dm_hint_is_the_same_line_in_body_and_html_and_pings_nobody() -> None:
    reply = secret_announcement(title="<b>Raise</b> @room")
    content = add_line(render_reply(reply, "!"), *direct_vote_hint(reply, BOT, "!"))
    hint = f"secret ballot: send !vote 7 yes|no|abstain to {BOT} in a direct message"
    assert content["body"].splitlines()[-1] == hint
    assert content["formatted_body"].endswith(
        "<br>secret ballot: send <code>!vote 7 yes|no|abstain</code> to "
        f'<a href="https://matrix.to/#/{BOT}">{BOT}</a> in a direct message'
    )
    assert "<b>" not in content["formatted_body"] and "@room" not in content["body"]
    assert content["m.mentions"] == {"user_ids": []}


def test_the_hint_uses_the_platform_prefix_and_escapes_it() -> None:
    plain, markup = direct_vote_hint(secret_announcement(), BOT, "<&>")
    assert "send <&>vote 7 yes|no|abstain to" in plain
    assert "<code>&lt;&amp;&gt;vote 7 yes|no|abstain</code>" in markup


def test_a_typed_secret_vote_is_answered_with_what_happened_to_the_message() -> None:
    removed, removed_html = typed_vote_note(True, BOT)
    assert removed.startswith("I removed your message so that the room can't see your choice")
    assert "can&#x27;t" in removed_html and f'href="https://matrix.to/#/{BOT}"' in removed_html
    kept, _ = typed_vote_note(False, BOT)
    assert kept.startswith("your message shows your choice to everyone in this room")
    assert kept.endswith(f"send your vote to {BOT} in a direct message")


def test_the_dm_hint_takes_the_vote_form_from_the_choices_not_the_card_text() -> None:
    ranked = secret_announcement().choices
    assert ranked is not None
    reply = Reply(
        kind="announcement",
        blocks=(line("Poll #7 opened"), line("vote: ", command("vote 7 nothing-to-read"))),
        choices=ranked.model_copy(update={"method": "ranked", "vote_command": "vote 7 C>A>B"}),
        subject="decision:1:7",
    )
    plain, _ = direct_vote_hint(reply, BOT, "!")
    assert plain == f"secret ballot: send !vote 7 C>A>B to {BOT} in a direct message"
    # A reply stored before the choices said so: the plain form of its options.
    older = reply.model_copy(update={"choices": ranked})
    plain, _ = direct_vote_hint(older, BOT, "!")
    assert plain == f"secret ballot: send !vote 7 yes|no|abstain to {BOT} in a direct message"
