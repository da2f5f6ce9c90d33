"""The pace of a live card, platform-free (bot.live): a burst of votes of any size costs a
bounded number of edits, the last state always shows, and a read changes nothing."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import ManualClock
from bot.intents import CardClosed, DecisionRef, Say
from bot.live import EDITS_PER_WINDOW, WINDOW, LiveCards
from bot.outgoing import Answer
from bot.render.document import Reply, line

REF = DecisionRef(coop_id=1, number=7)
VOTE = [Answer(Reply(blocks=(line("Vote recorded"),)), None, Say(about=REF))]


class Card:
    """A posted card: how often it was edited, and the vote count it shows."""

    def __init__(self) -> None:
        self.votes = 0
        self.shown = 0
        self.edits = 0

    async def refresh(self, ref: DecisionRef) -> bool:
        assert ref == REF
        self.edits += 1
        self.shown = self.votes
        return True


async def test_a_burst_of_500_votes_costs_the_window_allowance_and_one_catch_up_edit() -> None:
    clock, card = ManualClock(), Card()
    live = LiveCards(card.refresh, clock)

    for _ in range(500):
        card.votes += 1
        await live.answered(VOTE)
    assert card.edits == EDITS_PER_WINDOW and card.shown < 500
    assert await live.flush() == 0  # the window has not passed: nothing more yet

    clock.advance(WINDOW)
    assert await live.flush() == 1
    assert (card.edits, card.shown, live.edits) == (EDITS_PER_WINDOW + 1, 500, 5)
    assert await live.flush() == 0  # nothing is stale any more


async def test_a_read_or_a_card_the_answer_carries_costs_no_edit() -> None:
    clock, card = ManualClock(), Card()
    live = LiveCards(card.refresh, clock, per_window=1)
    read = Answer(Reply(blocks=(line("#7"),)), None, Say(about=REF, read=True))
    await live.answered([read])
    assert card.edits == 0

    await live.answered(VOTE)
    await live.answered(VOTE)  # stale: over the allowance
    closed = Answer(Reply(blocks=(line("#7 PASSED"),)), None, CardClosed(ref=REF, news=True))
    await live.answered([closed])  # the close shows itself; the stale edit is dropped
    clock.advance(timedelta(minutes=1))
    assert await live.flush() == 0 and card.edits == 1
