"""The Matrix adapter's pure parts: rendering, reading pills, polls, power, stored state."""

from __future__ import annotations

from pathlib import Path

from adapters.matrix.mentions import command_text, pill_target
from adapters.matrix.polls import (
    parse_response,
    poll_fallback,
    poll_start_content,
    supports_native_poll,
    vote_text,
)
from adapters.matrix.power import creators_of, is_room_admin
from adapters.matrix.render import render_reply
from adapters.matrix.state import AdapterState, Session
from adapters.matrix.sync import inviter_allowed
from bot.render.document import (
    Bold,
    Bullets,
    ChoiceOption,
    Choices,
    Code,
    Mention,
    Reply,
    Table,
    line,
)

BOB = Mention(member_id=2, display="Bob", identities={"matrix": "@bob:coop.test"})
CONSOLE_ONLY = Mention(member_id=3, display="Dan", identities={"console": "dan"})


def test_a_reply_renders_as_a_notice_with_escaped_html_and_exact_mentions() -> None:
    reply = Reply(
        blocks=(
            line(Bold(text="Task 4"), " claimed by ", BOB, " and ", CONSOLE_ONLY),
            line("title: <script>alert(1)</script> @room & co"),
            Bullets(items=(line(Code(text="!task done 4")),)),
        )
    )
    content = render_reply(reply)
    assert content["msgtype"] == "m.notice"
    assert content["body"].splitlines()[0] == "Task 4 claimed by Bob and @Dan"
    assert "<script>" not in content["formatted_body"]
    assert "&lt;script&gt;" in content["formatted_body"]
    assert "@room" not in content["body"] and "@room" not in content["formatted_body"]
    assert '<a href="https://matrix.to/#/@bob:coop.test">Bob</a>' in content["formatted_body"]
    assert "<strong>Task 4</strong>" in content["formatted_body"]
    assert "<ul><li><code>!task done 4</code></li></ul>" in content["formatted_body"]
    assert content["m.mentions"] == {"user_ids": ["@bob:coop.test"]}


def test_a_table_renders_as_html_and_as_plain_rows() -> None:
    reply = Reply(blocks=(Table(header=("member", "hours"), rows=((line(BOB), line("2.5")),)),))
    content = render_reply(reply)
    assert content["body"] == "member | hours\nBob | 2.5"
    assert "<th>member</th>" in content["formatted_body"]
    assert "<td>2.5</td>" in content["formatted_body"]


def test_a_display_name_cannot_smuggle_markup_into_a_pill() -> None:
    evil = Mention(member_id=9, display='"><img src=x>', identities={"matrix": "@e:coop.test"})
    content = render_reply(Reply(blocks=(line(evil),)))
    assert "<img" not in content["formatted_body"]


def test_pills_become_user_ids_in_the_command_text() -> None:
    parsed = command_text(
        "!member add Bob role:steward",
        '!member add <a href="https://matrix.to/#/@bob:coop.test">Bob</a> role:steward',
    )
    assert parsed.text == "!member add @bob:coop.test role:steward"
    assert parsed.mentioned == {"matrix:@bob:coop.test": "Bob"}


def test_encoded_and_matrix_uri_pills_and_typed_ids_are_read() -> None:
    assert pill_target("https://matrix.to/#/%40bob%3Acoop.test?via=coop.test") == "@bob:coop.test"
    assert pill_target("matrix:u/bob:coop.test") == "@bob:coop.test"
    assert pill_target("https://matrix.to/#/!room:coop.test") is None
    typed = command_text("!kudos @carol:coop.test thanks", None)
    assert typed.text == "!kudos @carol:coop.test thanks"
    assert typed.mentioned == {"matrix:@carol:coop.test": "carol"}


def test_a_quoted_reply_is_not_part_of_the_command() -> None:
    html = (
        '<mx-reply><blockquote><a href="https://matrix.to/#/@x:s">x</a> old</blockquote>'
        "</mx-reply>!vote 3 yes"
    )
    assert command_text("> <@x:s> old\n\n!vote 3 yes", html).text == "!vote 3 yes"
    assert command_text("> <@x:s> old\n\n!vote 3 yes", None).text == "!vote 3 yes"


def _choices(method: str, keys: list[str], secret: bool = False) -> Choices:
    return Choices(
        coop_id=1,
        decision_number=7,
        decision_kind="proposal" if method in ("majority", "consent") else "poll",
        method=method,
        question="Buy a <b>printer</b> @room",
        options=tuple(ChoiceOption(key=k, label=k if len(k) > 1 else f"Option {k}") for k in keys),
        secret=secret,
    )


def test_a_poll_start_carries_both_forms_and_drops_block() -> None:
    choices = _choices("consent", ["yes", "no", "abstain", "block"])
    content = poll_start_content(choices, poll_fallback(choices, "!"))
    unstable = content["org.matrix.msc3381.poll.start"]
    assert [a["id"] for a in unstable["answers"]] == ["yes", "no", "abstain"]
    assert unstable["max_selections"] == 1
    assert [a["m.id"] for a in content["m.poll"]["answers"]] == ["yes", "no", "abstain"]
    assert "@room" not in unstable["question"]["body"]
    assert content["body"].endswith("!vote 7 yes|no|abstain")
    assert content["m.mentions"] == {}


def test_which_decisions_become_native_polls() -> None:
    assert supports_native_poll(_choices("approval", ["A", "B"]))
    assert not supports_native_poll(_choices("ranked", ["A", "B"]))
    assert not supports_native_poll(_choices("score", ["A", "B"]))
    assert not supports_native_poll(_choices("majority", ["yes", "no"], secret=True))
    approval = poll_start_content(_choices("approval", ["A", "B", "C"]), "")
    assert approval["m.poll"]["max_selections"] == 3


def test_poll_responses_in_both_forms_become_votes() -> None:
    stable = {"m.selections": ["no"], "m.relates_to": {"rel_type": "m.reference", "event_id": "$p"}}
    unstable = {
        "org.matrix.msc3381.poll.response": {"answers": ["A", "C"]},
        "m.relates_to": {"rel_type": "m.reference", "event_id": "$p"},
    }
    first = parse_response(stable)
    second = parse_response(unstable)
    assert first is not None and second is not None
    assert vote_text(7, first.selections) == "vote 7 no"
    assert vote_text(7, second.selections) == "vote 7 A,C"
    assert vote_text(7, ()) is None  # a retraction leaves the vote as it was
    assert vote_text(7, ("yes reason:x",)) is None  # an answer id cannot inject options
    assert parse_response({"m.selections": ["no"]}) is None


def test_room_admins_are_power_50_or_creators_in_new_room_versions() -> None:
    create = {"sender": "@a:s", "content": {"room_version": "12", "additional_creators": ["@b:s"]}}
    creators = creators_of(create)
    assert creators == {"@a:s", "@b:s"}
    assert is_room_admin("@b:s", 0, "12", creators)
    assert not is_room_admin("@a:s", 0, "10", creators)
    assert is_room_admin("@c:s", 50, "10", creators)
    assert not is_room_admin("@c:s", 49, "12", creators)


def test_invites_are_accepted_only_from_allowed_inviters() -> None:
    assert inviter_allowed("@anyone:else.org", [])
    assert inviter_allowed("@alice:coop.test", ["*:coop.test"])
    assert inviter_allowed("@ops:else.org", ["*:coop.test", "@ops:else.org"])
    assert not inviter_allowed("@mallory:evil.org", ["*:coop.test"])


def test_the_session_and_sync_token_survive_a_restart(tmp_path: Path) -> None:
    state = AdapterState(tmp_path / "store")
    state.prepare()
    assert state.load_sync_token() is None
    state.save_session(Session("@bot:s", "DEVICE", "token"))
    state.save_sync_token("s72_1")
    again = AdapterState(tmp_path / "store")
    assert again.load_session("@bot:s") == Session("@bot:s", "DEVICE", "token")
    assert again.load_session("@other:s") is None
    assert again.load_sync_token() == "s72_1"
