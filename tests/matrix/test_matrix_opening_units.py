"""Whether a Matrix live card never edited still tells its decision as it stands: its
opening notice shows no count, so a counted vote (or a new deadline) makes it stale."""

from __future__ import annotations

from adapters.matrix.opening import still_as_opened

OPENED = (
    "Proposal #1 opened by alice — closes Mon 23 Nov 09:00 (UTC), in 7 days\n"
    "  Paint the door\n"
    "  method: majority · quorum 50% of 2 eligible (1 vote) · vote: !vote 1 yes|no|abstain"
)


def refreshed(turnout: int, closes: str = "Mon 23 Nov 09:00", left: str = "6 days") -> str:
    return (
        f"#1 Paint the door — open, closes {closes} (UTC), in {left}\n"
        f"  yes {turnout} · no 0 · abstain 0        turnout {turnout}/2\n"
        "  not yet voted: bob"
    )


def test_a_card_as_opened_is_current_until_a_vote_is_counted() -> None:
    assert still_as_opened(OPENED, refreshed(0))  # the time left alone changes nothing
    assert not still_as_opened(OPENED, refreshed(1))


def test_a_secret_card_as_opened_is_stale_once_someone_has_voted() -> None:
    secret = "#1 Paint the door — open, closes Mon 23 Nov 09:00 (UTC), in 6 days\n"
    assert still_as_opened(OPENED, secret + "  secret ballot · turnout 0/2")
    assert not still_as_opened(OPENED, secret + "  secret ballot · turnout 1/2 — quorum 1 met")


def test_a_card_as_opened_is_stale_once_its_deadline_moved() -> None:
    assert not still_as_opened(OPENED, refreshed(0, closes="Wed 25 Nov 09:00", left="8 days"))
