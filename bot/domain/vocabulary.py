"""The co-op's words as types: what a decision is, where it stands, who a member is."""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class DecisionKind(StrEnum):
    """A decision is a proposal (yes/no/abstain/block) or a poll (options)."""

    PROPOSAL = "proposal"
    POLL = "poll"


class DecisionStatus(StrEnum):
    """Where a decision is in its life: scheduled → open → closed, or withdrawn."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


# Decisions still to be decided, and decisions that are over.
LIVE: Final = (DecisionStatus.OPEN, DecisionStatus.SCHEDULED)
FINISHED: Final = (DecisionStatus.CLOSED, DecisionStatus.WITHDRAWN)


class TaskStatus(StrEnum):
    """Where a task is: on the board, held by a member, done or taken off."""

    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"


# Tasks still on the board.
ACTIVE_TASK: Final = (TaskStatus.OPEN, TaskStatus.CLAIMED)


class Role(StrEnum):
    """A member's role in the co-op's registry."""

    MEMBER = "member"
    STEWARD = "steward"
