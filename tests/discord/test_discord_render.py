"""How a reply looks on Discord: within the limits, and pinging only the intended member."""

from __future__ import annotations

from adapters.discord.render import (
    CONTENT_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    MAX_MESSAGES,
    render_reply,
)
from bot.render.document import (
    Attachment,
    Bold,
    ChoiceOption,
    Choices,
    Code,
    Mention,
    Reply,
    error,
    line,
)

ALICE = Mention(member_id=1, display="alice", identities={"discord": "111", "matrix": "@a:x"})
BOB_ON_MATRIX = Mention(member_id=2, display="bob", identities={"matrix": "@bob:x"})


def _choices(question: str = "Buy a 3D printer", closed: bool = False) -> Choices:
    return Choices(
        coop_id=1,
        decision_number=7,
        decision_kind="proposal",
        method="majority",
        question=question,
        options=(ChoiceOption(key="yes", label="yes"), ChoiceOption(key="no", label="no")),
        closed=closed,
        show_command="show 7",
    )


def test_a_reminder_pings_the_discord_member_and_nobody_else() -> None:
    reply = Reply(blocks=(line("not yet voted: ", ALICE, " ", BOB_ON_MATRIX, " @everyone"),))

    [message] = render_reply(reply)

    assert message.content == "not yet voted: <@111> @bob @\u200beveryone"
    mentions = message.allowed_mentions.to_dict()
    assert mentions["parse"] == []
    assert mentions["users"] == [111]
    assert not mentions.get("roles")


def test_markup_and_raw_mention_tokens_in_a_title_are_inert() -> None:
    reply = Reply(blocks=(line(Bold(text="**Fix** <@&42> <@7>"), " ", Code(text="/vote 7 `yes`")),))

    [message] = render_reply(reply)

    assert "<@&42>" not in message.content and "<@7>" not in message.content
    assert message.content.startswith("**\\*\\*Fix\\*\\* <\u200b@&42>")
    assert message.content.endswith("`/vote 7 ˋyesˋ`")
    assert message.allowed_mentions.to_dict()["users"] == []


def test_a_long_reply_is_split_between_lines_within_the_content_limit() -> None:
    rows = tuple(line(f"task {n} " + "x" * 150) for n in range(40))

    messages = render_reply(Reply(blocks=rows))

    assert len(messages) > 1
    assert all(len(m.content) <= CONTENT_LIMIT for m in messages)
    joined = "\n".join(m.content for m in messages)
    assert joined.splitlines() == [f"task {n} " + "x" * 150 for n in range(40)]


def test_a_huge_reply_is_cut_with_a_note_after_a_few_messages() -> None:
    rows = tuple(line(f"row {n} " + "y" * 190) for n in range(200))

    messages = render_reply(Reply(blocks=rows))

    assert len(messages) == MAX_MESSAGES
    assert all(len(m.content) <= CONTENT_LIMIT for m in messages)
    assert "more lines not shown" in messages[-1].content


def test_a_live_card_is_one_message_within_limits_cut_with_a_read_more() -> None:
    rows = tuple(line(f"round {n}: " + "Lakehouse 5 · Cabin 4 · " * 8) for n in range(40))
    reply = Reply(blocks=rows, choices=_choices("Q" * 400), subject="decision:1:7")

    [card] = render_reply(reply)

    assert card.is_card and card.embed is not None
    assert len(card.embed.title or "") <= 256
    assert len(card.embed.description or "") <= EMBED_DESCRIPTION_LIMIT
    assert len(card.embed) <= EMBED_TOTAL_LIMIT
    assert (card.embed.description or "").splitlines()[-1].endswith("read more: `/show 7`")


def test_a_card_shown_to_one_member_keeps_its_embed_within_limits_and_sends_the_rest_after() -> (
    None
):
    rows = tuple(line(f"round {n}: " + "Lakehouse 5 · Cabin 4 · " * 8) for n in range(40))
    reply = Reply(blocks=rows, choices=_choices("Q" * 400), subject="decision:1:7", ephemeral=True)

    card, *rest = render_reply(reply)

    assert card.is_card and card.embed is not None
    assert len(card.embed.description or "") <= EMBED_DESCRIPTION_LIMIT
    assert len(card.embed) <= EMBED_TOTAL_LIMIT
    assert rest and all(len(m.content) <= CONTENT_LIMIT for m in rest)
    shown = (card.embed.description or "").splitlines() + [
        text for m in rest for text in m.content.splitlines()
    ]
    assert len(shown) == 40


def test_an_attachment_travels_as_a_file() -> None:
    chart = Attachment(
        filename="week-47.png", content_type="image/png", data=b"\x89PNG", alt="chart"
    )

    [message] = render_reply(Reply(blocks=(line("Week 47"),), attachments=(chart,)))

    [file] = message.discord_files()
    assert file.filename == "week-47.png"
    assert file.fp.read() == b"\x89PNG"


def test_an_error_keeps_its_command_examples_as_code() -> None:
    reply = error("#7 uses method majority: choose yes, no or abstain", "for example `/vote 7 yes`")

    [message] = render_reply(reply)

    assert message.ephemeral
    assert message.content.endswith("for example `/vote 7 yes`")
