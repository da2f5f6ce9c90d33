"""The task board, a bridged second room fed by the outbox, and attachments, in Matrix."""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from struct import pack

import pytest
from nio import DownloadResponse
from nio.crypto.attachments import decrypt_attachment

from bot.app import Core
from bot.render.document import Attachment, Reply, line
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_people import body_contains, msgtype, of_type
from tests.matrix.matrix_story import (
    POLL_START,
    body,
    coop_room,
    joined,
    private_answer,
    stored_votes,
)
from tests.support import one_time_code

pytestmark = pytest.mark.synapse


async def test_a_task_is_added_claimed_done_and_shows_in_the_tally(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)

    added = await coop.run(alice, "!task add Fix the gate points:3")
    assert "Task 1 added" in body(added)
    claimed = await coop.run(bob, "!task claim 1")
    assert "Task 1 claimed by" in body(claimed)
    assert bob.user_id in claimed["content"]["m.mentions"]["user_ids"]
    again = await coop.run(alice, "!task claim 1")
    assert "claimed" in body(again).lower() and again["content"]["msgtype"] == "m.notice"
    done = await coop.run(bob, "!task done 1")
    assert "Task 1 done" in body(done) and "3 pts" in body(done)
    await coop.run(bob, "!log 2.5 painting the fence")

    tally = await coop.run(alice, "!tally period:all")
    assert re.search(r"\| 2\.5 \| 3 \|", body(tally)), body(tally)
    assert "<table>" in tally["content"]["formatted_body"]


async def test_a_bridged_room_gets_announcements_and_its_own_poll_through_the_outbox(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice = await people("alice", e2e=True)  # reads the bind code in an encrypted DM
    bob = await people("bob")
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)
    annex = await alice.create_room("Riverside annex", invite=[bob.user_id, bot.user_id])
    await bob.join(annex)
    await joined(alice, annex, bot.user_id)
    await coop.run(alice, "!coop code")
    _, code_message = await private_answer(alice, bot.user_id, "Bind code for Riverside")
    bound = await alice.say(annex, f"!coop bind {one_time_code(body(code_message))}")
    await alice.wait_for(
        annex,
        lambda e: (
            e.get("content", {}).get("m.relates_to", {}).get("m.in_reply_to", {}).get("event_id")
            == bound
        ),
    )

    await coop.run(alice, "!propose Open on Sundays")
    announced = await bob.wait_for(annex, body_contains("Proposal #1 opened", bot.user_id))
    assert "m.relates_to" not in announced["content"]  # an announcement, not a reply
    annex_poll = await bob.wait_for(annex, of_type(POLL_START, bot.user_id))
    main_poll = await coop.poll_for(bob, 1)
    assert annex_poll["event_id"] != main_poll["event_id"]

    await bob.answer_poll(annex, annex_poll["event_id"], ["yes"])
    await bob.wait_for(annex, of_type("m.reaction", bot.user_id))
    assert await stored_votes(core, 1) == {bob.user_id: "yes"}

    await coop.run(alice, "!close 1")
    ended = await bob.wait_for(annex, of_type("org.matrix.msc3381.poll.end", bot.user_id))
    assert ended["content"]["m.relates_to"]["event_id"] == annex_poll["event_id"]
    await coop.poll_end(bob, main_poll["event_id"])


def _tiny_png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain-room", "encrypted-room"])
async def test_a_chart_is_uploaded_and_sent_as_an_image(
    people: PersonFactory, matrix_bot: BotFactory, core: Core, encrypted: bool, tmp_path: Path
) -> None:
    alice, bob = [await people(n, e2e=encrypted) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id, encrypted=encrypted)
    chart = _tiny_png(4, 3)
    reply = Reply(
        kind="announcement",
        blocks=(line("Week 47 at Riverside"),),
        attachments=(
            Attachment(
                filename="week-47.png",
                content_type="image/png",
                data=chart,
                alt="contributions chart",
            ),
        ),
    )
    assert bot.adapter is not None
    await bot.adapter.send_reply(core, coop.room_id, reply, "test-chart-1")

    image = await bob.wait_for(coop.room_id, msgtype("m.image"))
    content = image["content"]
    assert content["info"] == {"mimetype": "image/png", "size": len(chart), "w": 4, "h": 3}
    if encrypted:
        assert "url" not in content
        file = content["file"]
        download = await bob.client.download(mxc=file["url"])
        assert isinstance(download, DownloadResponse), download
        data = decrypt_attachment(
            download.body, file["key"]["k"], file["hashes"]["sha256"], file["iv"]
        )
    else:
        download = await bob.client.download(mxc=content["url"])
        assert isinstance(download, DownloadResponse), download
        data = download.body
    assert data == chart
