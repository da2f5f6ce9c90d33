"""Voting controls on a decision card: persistent buttons, a select and modals.

Every control's custom id carries the co-op and the decision number
(`coopbot:vote:<coop>:<n>:<choice>`), and the control classes are registered as dynamic
items when the client starts, so buttons on a card posted before a restart still work."""

from __future__ import annotations

import re
from typing import Any, Protocol

import discord
from discord import ui

from bot.domain.polls import PollMethod
from bot.domain.vocabulary import DecisionKind
from bot.render.document import Choices

PROPOSAL_STYLES = {
    "yes": discord.ButtonStyle.success,
    "no": discord.ButtonStyle.danger,
    "abstain": discord.ButtonStyle.secondary,
    "block": discord.ButtonStyle.danger,
}
BUTTON_LABEL_LIMIT = 80
SELECT_LABEL_LIMIT = 100
MAX_BUTTONS = 25  # 5 rows of 5


class ComponentSink(Protocol):
    """What a control needs from the adapter: cast the clicking member's vote (the
    interaction id becomes the message id) and answer the interaction."""

    async def cast_vote(
        self, interaction: discord.Interaction[Any], number: int, choice: str, reason: str = ""
    ) -> None: ...


def _sink(interaction: discord.Interaction[Any]) -> ComponentSink:
    sink = getattr(interaction.client, "coopbot", None)
    if sink is None:
        raise RuntimeError("the Discord client has no coopbot adapter attached")
    return sink  # type: ignore[no-any-return]


def vote_id(coop_id: int, number: int, choice: str) -> str:
    return f"coopbot:vote:{coop_id}:{number}:{choice}"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class VoteButton(
    ui.DynamicItem[ui.Button[Any]],
    template=r"coopbot:vote:(?P<coop>\d+):(?P<n>\d+):(?P<choice>[A-Za-z]{1,16})",
):
    """One button casting one choice (yes/no/abstain, or a poll option's letter).
    `block` asks for the reason first, because a block needs one."""

    def __init__(
        self,
        coop_id: int,
        number: int,
        choice: str,
        label: str,
        style: discord.ButtonStyle = discord.ButtonStyle.primary,
    ) -> None:
        super().__init__(
            ui.Button(
                label=_short(label, BUTTON_LABEL_LIMIT),
                style=style,
                custom_id=vote_id(coop_id, number, choice),
            )
        )
        self.coop_id = coop_id
        self.number = number
        self.choice = choice

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: ui.Item[Any], match: re.Match[str], /
    ) -> VoteButton:
        label = getattr(item, "label", None) or match["choice"]
        return cls(int(match["coop"]), int(match["n"]), match["choice"], label)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        if self.choice == "block":
            await interaction.response.send_modal(ReasonModal(self.number))
            return
        await _sink(interaction).cast_vote(interaction, self.number, self.choice)


class ApprovalSelect(
    ui.DynamicItem[ui.Select[Any]], template=r"coopbot:approve:(?P<coop>\d+):(?P<n>\d+)"
):
    """An approval poll: pick every option you approve of."""

    def __init__(self, coop_id: int, number: int, options: list[discord.SelectOption]) -> None:
        super().__init__(
            ui.Select(
                custom_id=f"coopbot:approve:{coop_id}:{number}",
                placeholder="Choose every option you approve of",
                min_values=1,
                max_values=max(len(options), 1),
                options=options,
            )
        )
        self.number = number

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: ui.Item[Any], match: re.Match[str], /
    ) -> ApprovalSelect:
        options = list(getattr(item, "options", []))
        return cls(int(match["coop"]), int(match["n"]), options)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        chosen = ",".join(self.item.values)
        await _sink(interaction).cast_vote(interaction, self.number, chosen)


class BallotButton(
    ui.DynamicItem[ui.Button[Any]],
    template=r"coopbot:(?P<method>rank|score):(?P<coop>\d+):(?P<n>\d+)",
):
    """Ranked and score polls: a button that opens a one-field ballot form."""

    def __init__(self, coop_id: int, number: int, method: str) -> None:
        label = "Rank the options…" if method == "rank" else "Score the options…"
        super().__init__(
            ui.Button(
                label=label,
                style=discord.ButtonStyle.primary,
                custom_id=f"coopbot:{method}:{coop_id}:{number}",
            )
        )
        self.number = number
        self.method = method

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: ui.Item[Any], match: re.Match[str], /
    ) -> BallotButton:
        return cls(int(match["coop"]), int(match["n"]), match["method"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await interaction.response.send_modal(BallotModal(self.number, self.method))


class ReasonModal(ui.Modal, title="Block this proposal"):
    """A block must say why; the reason goes to the vote as `reason:`."""

    reason: ui.TextInput[ReasonModal] = ui.TextInput(
        label="Why do you block it?",
        custom_id="reason",
        style=discord.TextStyle.paragraph,
        # No max_length (here or on the ballot): Discord would refuse a long text with its
        # own words; the `vote` command checks the bound and answers in ours (SPEC §7).
    )

    def __init__(self, number: int) -> None:
        super().__init__(custom_id=f"coopbot:reason:{number}")
        self.number = number

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        reason = self.reason.value.strip()
        await _sink(interaction).cast_vote(interaction, self.number, "block", reason)


class BallotModal(ui.Modal, title="Your ballot"):
    """The ranked or score ballot as one line, in the text syntax of `vote`."""

    def __init__(self, number: int, method: str) -> None:
        super().__init__(custom_id=f"coopbot:ballot:{number}")
        self.number = number
        ranked = method == "rank"
        self.ballot: ui.TextInput[BallotModal] = ui.TextInput(
            label="Your ranking, best first" if ranked else "Your scores, 0 to 5",
            placeholder="for example C>A>B (letters or full option names)"
            if ranked
            else "for example A=5,B=3,C=0",
            custom_id="ballot",
        )
        self.add_item(self.ballot)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        ballot = "".join(self.ballot.value.split())
        await _sink(interaction).cast_vote(interaction, self.number, ballot)


DYNAMIC_ITEMS: tuple[type[ui.DynamicItem[Any]], ...] = (VoteButton, ApprovalSelect, BallotButton)


def build_view(choices: Choices) -> ui.View | None:
    """The controls for an open decision; None once it is closed (the card loses them)."""
    if choices.closed:
        return None
    view = ui.View(timeout=None)
    coop, number = choices.coop_id, choices.decision_number
    if choices.decision_kind == DecisionKind.PROPOSAL or choices.method == PollMethod.SINGLE:
        for option in choices.options[:MAX_BUTTONS]:
            if choices.decision_kind == DecisionKind.PROPOSAL:
                label, style = (
                    option.label,
                    PROPOSAL_STYLES.get(option.key, discord.ButtonStyle.primary),
                )
            else:
                label, style = f"{option.key} · {option.label}", discord.ButtonStyle.primary
            view.add_item(VoteButton(coop, number, option.key, label, style))
    elif choices.method == PollMethod.APPROVAL:
        options = [
            discord.SelectOption(
                label=_short(f"{o.key} · {o.label}", SELECT_LABEL_LIMIT), value=o.key
            )
            for o in choices.options[:25]
        ]
        view.add_item(ApprovalSelect(coop, number, options))
    elif choices.method in (PollMethod.RANKED, PollMethod.SCORE):
        kind = "rank" if choices.method == PollMethod.RANKED else "score"
        view.add_item(BallotButton(coop, number, kind))
    else:
        return None
    return view
