"""The command tree of SPEC §3 as data: every command, its parameters and who may run it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from bot.commands.args import (
    AboutArgs,
    CloseArgs,
    CoopBindArgs,
    CoopCodeArgs,
    CoopOutboxArgs,
    CoopSettingsArgs,
    CoopSetupArgs,
    CoopSyncArgs,
    CoopUndoArgs,
    ExportArgs,
    ExtendArgs,
    HelpArgs,
    KudosArgs,
    ListArgs,
    LogArgs,
    MemberAddArgs,
    MemberLinkArgs,
    MemberListArgs,
    MemberRemoveArgs,
    MemberRoleArgs,
    PatronageArgs,
    PollArgs,
    ProposeArgs,
    ShowArgs,
    SummaryArgs,
    TallyArgs,
    TaskAddArgs,
    TaskAssignArgs,
    TaskCancelArgs,
    TaskClaimArgs,
    TaskDoneArgs,
    TaskListArgs,
    TaskUnclaimArgs,
    VoteArgs,
    WithdrawArgs,
    check_args,
)
from bot.commands.spec import Command, Kind, Param, Permission
from bot.domain.limits import BODY_MAX, NOTE_MAX, OPTION_MAX, OPTIONS_MAX, REASON_MAX, TITLE_MAX
from bot.domain.polls import PollMethod
from bot.domain.proposals import ProposalMethod
from bot.domain.vocabulary import Role

# A vote's choice names options by letter or full text: a ranked ballot of 20 options
# written out in full can be long, but it stays bounded.
CHOICE_MAX = 1000
# "A | B | …": every option at its longest, plus the separators.
POLL_OPTIONS_MAX = OPTIONS_MAX * OPTION_MAX + (OPTIONS_MAX - 1) * 3
NAME_MAX = 100


@dataclass(frozen=True)
class Group:
    """A command word that only groups subcommands (`task` in `task claim`)."""

    name: str
    summary: str
    commands: tuple[Command, ...]


class CommandTree:
    """All commands, looked up by their words; groups for platforms that nest commands."""

    def __init__(self, commands: Sequence[Command], group_summaries: Mapping[str, str]) -> None:
        self._commands = tuple(commands)
        by_path: dict[tuple[str, ...], Command] = {}
        by_args: dict[type, Command] = {}
        for command in self._commands:
            if command.path in by_path:
                raise ValueError(f"command {command.name!r} is defined twice")
            if command.args in by_args:
                raise ValueError(
                    f"{command.name!r} and {by_args[command.args].name!r} share "
                    f"{command.args.__name__}: each command has its own arguments class"
                )
            check_args(command)
            by_path[command.path] = command
            by_args[command.args] = command
        self._by_path = MappingProxyType(by_path)
        groups: dict[str, list[Command]] = {}
        for command in self._commands:
            if len(command.path) > 1:
                groups.setdefault(command.path[0], []).append(command)
        for name in groups:
            if (name,) in by_path:
                raise ValueError(f"{name!r} is both a command and a group")
        self._groups = tuple(
            Group(name=name, summary=group_summaries.get(name, ""), commands=tuple(members))
            for name, members in groups.items()
        )
        self._max_depth = max((len(c.path) for c in self._commands), default=0)

    def __iter__(self) -> Iterator[Command]:
        return iter(self._commands)

    def __len__(self) -> int:
        return len(self._commands)

    @property
    def groups(self) -> tuple[Group, ...]:
        return self._groups

    @property
    def top_level(self) -> tuple[Command, ...]:
        """Commands that stand alone (`propose`, `vote`), not inside a group."""
        return tuple(c for c in self._commands if len(c.path) == 1)

    def group(self, name: str) -> Group | None:
        wanted = name.strip().lower()
        return next((g for g in self._groups if g.name == wanted), None)

    def find(self, path: str | Sequence[str]) -> Command | None:
        """The command with exactly these words (`"task claim"` or `("task", "claim")`)."""
        words = path.split() if isinstance(path, str) else path
        return self._by_path.get(tuple(w.lower() for w in words))

    def match(self, words: Sequence[str]) -> tuple[Command, int] | None:
        """The command named by the longest run of leading `words`, and how many it used."""
        for size in range(min(self._max_depth, len(words)), 0, -1):
            command = self.find(words[:size])
            if command is not None:
                return command, size
        return None

    def names(self) -> tuple[str, ...]:
        """Every command's name plus every group's name, for suggestions."""
        return tuple(c.name for c in self._commands) + tuple(g.name for g in self._groups)


def usage(command: Command) -> str:
    """The command's syntax without a prefix: `vote <id> <choice> [reason:]`."""
    parts = list(command.path)
    for param in command.positionals:
        if param.kind is Kind.MENTION:
            shown = "@" + param.name
        elif param.choices:
            shown = "|".join(param.choices)
        else:
            shown = param.name
        if param.required:
            parts.append(shown if param.kind is Kind.MENTION else f"<{shown}>")
        else:
            parts.append(f"[{shown}]")
    # A command that takes any setting lists them in its help, not in its syntax line.
    for param in () if command.free_options else command.options:
        if not param.required:
            parts.append(f"[{param.name}:]")
        elif param.kind is Kind.REST:
            parts.append(f'{param.name}:"…"')
        else:
            parts.append(f"{param.name}:<{param.name}>")
    if command.free_options:
        parts.append("[key:value …]")
    return " ".join(parts)


def _id(name: str = "id", what: str = "decision") -> Param:
    kind = Kind.DECISION_ID if what == "decision" else Kind.TASK_ID
    example = "7 or #7" if what == "decision" else "4 or #4"
    return Param(name, kind, f"the {what} number, like {example}")


def _member(help_text: str = "the member: a mention or @name") -> Param:
    return Param("member", Kind.MENTION, help_text)


def _opt(
    name: str,
    kind: Kind,
    help_text: str,
    *,
    choices: tuple[str, ...] = (),
    max_length: int | None = None,
    permission: Permission | None = None,
    required: bool = False,
    multiline: bool = False,
) -> Param:
    return Param(
        name,
        kind,
        help_text,
        required=required,
        positional=False,
        choices=choices,
        max_length=max_length,
        permission=permission,
        multiline=multiline,
    )


_PERIOD = _opt(
    "period", Kind.PERIOD, "week, month, quarter, year, all, or 2026-W47, 2026-11, 2026-Q4, 2026"
)
_PAGE = _opt("page", Kind.INT, "which page of a long list: 1 (default), 2, …")
_SECRET = _opt("secret", Kind.BOOL, "yes: show only turnout until close, never who chose what")
_QUORUM = _opt("quorum", Kind.RATIO, "share of eligible members that must vote, like 50% (0: none)")
_REASON_BELOW = _opt(
    "reason",
    Kind.REST,
    "stewards: why this vote goes below the co-op's quorum or shortest voting time",
    max_length=REASON_MAX,
)
_OPENS = _opt(
    "opens",
    Kind.WHEN,
    "when voting opens: a duration (2d) or a date (2026-12-01 18:00)",
    permission=Permission.STEWARD,
)
_CLOSES = _opt(
    "closes", Kind.WHEN, "when voting closes: a duration (3d) or a date (2026-12-01 18:00)"
)

PROPOSAL_METHODS = tuple(ProposalMethod)
POLL_METHODS = tuple(PollMethod)
EXPORT_KINDS = ("decisions", "votes", "tasks", "contributions", "audit")
ROLES = tuple(Role)
SYNC_MODES = ("off", "members", "stewards")


def _coop_commands() -> list[Command]:
    return [
        Command(
            ("coop", "setup"),
            "create a co-op bound to this room; you become its first steward",
            (Param("name", Kind.REST, "the co-op's name", max_length=NAME_MAX),),
            Permission.ROOM_ADMIN,
            "coop setup Riverside Co-op",
            args=CoopSetupArgs,
            unbound_ok=True,
            binds_room=True,
            changes_binding=True,
        ),
        Command(
            ("coop", "bind"),
            "bind this room to a co-op with a one-time code from `coop code`",
            (Param("code", Kind.REST, "the one-time code a steward got from `coop code`"),),
            # The new room belongs to no co-op yet, so nobody in it is a steward there: the
            # code (made by a steward) is the authority, and the room's admin redeems it.
            Permission.ROOM_ADMIN,
            "coop bind 7K3Q-M2XD-9TPA-W4RE",
            args=CoopBindArgs,
            unbound_ok=True,
            binds_room=True,
            changes_binding=True,
        ),
        Command(
            ("coop", "code"),
            "get a one-time code to bind another room (or platform) to this co-op",
            (),
            Permission.STEWARD,
            "coop code",
            args=CoopCodeArgs,
        ),
        Command(
            ("coop", "settings"),
            "show the co-op's settings, or change them with key:value",
            (
                _opt("timezone", Kind.WORD, "an IANA timezone, like Europe/Berlin"),
                _opt("quorum", Kind.RATIO, "the default quorum, like 50%"),
                _opt("summary_cron", Kind.REST, 'when the weekly summary is posted: "0 9 * * mon"'),
                _opt("max_claims", Kind.INT, "how many tasks one member may hold at once"),
                _opt("claim_days", Kind.INT, "days before an unfinished claim is released"),
                _opt("kudos_per_week", Kind.INT, "kudos points a member may give per week"),
                _opt(
                    "reminder_hours", Kind.INT, "hours before a close when non-voters are reminded"
                ),
                _opt("reserve_share", Kind.RATIO, "share of a surplus kept in reserve, like 10%"),
                _opt(
                    "min_voting_time",
                    Kind.DURATION,
                    "the shortest time a member's vote stays open, like 1h or 2d",
                ),
                _opt(
                    "threads",
                    Kind.WORD,
                    "a thread per decision for its reminders and result",
                    choices=("on", "off"),
                ),
            ),
            Permission.STEWARD,
            "coop settings timezone:Europe/Berlin quorum:60%",
            free_options=True,
            args=CoopSettingsArgs,
        ),
        Command(
            ("coop", "sync"),
            "show role sync and its changes, or set what this room's roles may do",
            (
                Param(
                    "mode",
                    Kind.WORD,
                    "off, members (role holders join and leave) or stewards (and make stewards)",
                    required=False,
                    choices=SYNC_MODES,
                ),
            ),
            Permission.STEWARD,
            "coop sync members",
            args=CoopSyncArgs,
            changes_binding=True,
        ),
        Command(
            ("coop", "undo"),
            "undo a membership change role sync made (numbers in `coop sync`)",
            (Param("change", Kind.INT, "the change's number, like 12"),),
            Permission.STEWARD,
            "coop undo 12",
            args=CoopUndoArgs,
        ),
        Command(
            ("coop", "outbox"),
            "list messages the bot could not deliver, or send them again with retry",
            (
                Param(
                    "action",
                    Kind.WORD,
                    "list (the default) or retry",
                    required=False,
                    choices=("list", "retry"),
                ),
            ),
            Permission.STEWARD,
            "coop outbox retry",
            args=CoopOutboxArgs,
        ),
    ]


def _member_commands() -> list[Command]:
    return [
        Command(
            ("member", "add"),
            "admit a member (or a steward)",
            (_member(), _opt("role", Kind.WORD, "member (default) or steward", choices=ROLES)),
            Permission.STEWARD,
            "member add @bob role:steward",
            args=MemberAddArgs,
        ),
        Command(
            ("member", "remove"),
            "remove a member from the registry",
            (_member(),),
            Permission.STEWARD,
            "member remove @bob",
            args=MemberRemoveArgs,
        ),
        Command(
            ("member", "role"),
            "make a member a steward, or a steward a member",
            (_member(), Param("role", Kind.WORD, "member or steward", choices=ROLES)),
            Permission.STEWARD,
            "member role @bob steward",
            args=MemberRoleArgs,
        ),
        Command(
            ("member", "list"),
            "the members and stewards of this co-op",
            (_PAGE,),
            Permission.ANYONE,
            "member list",
            args=MemberListArgs,
            reads=True,
        ),
        Command(
            ("member", "link"),
            "link this identity to your membership elsewhere; without a code, get one",
            (
                Param(
                    "code",
                    Kind.REST,
                    "the code `member link` gave you on your other platform",
                    required=False,
                ),
            ),
            # Getting a code needs a member; redeeming one happens where the person is not
            # known yet, so the service checks who may do which.
            Permission.ANYONE,
            "member link 4F7T-Q2MX-9TPA-W4RE",
            args=MemberLinkArgs,
        ),
    ]


def _decision_commands() -> list[Command]:
    return [
        Command(
            ("propose",),
            "open a proposal for the members to vote on",
            (
                Param("title", Kind.REST, "what you propose, in one line", max_length=TITLE_MAX),
                _opt(
                    "body",
                    Kind.REST,
                    "more detail, quoted if it has spaces",
                    max_length=BODY_MAX,
                    multiline=True,
                ),
                _opt(
                    "method",
                    Kind.WORD,
                    "how it is decided (default majority)",
                    choices=PROPOSAL_METHODS,
                ),
                _opt("class", Kind.WORD, "a rule class from the co-op's bylaws, like bylaw_change"),
                _QUORUM,
                _opt(
                    "threshold", Kind.RATIO, "for supermajority: the share of yes needed, like 2/3"
                ),
                _OPENS,
                _CLOSES,
                _SECRET,
                _REASON_BELOW,
            ),
            Permission.MEMBER,
            "propose Buy a 3D printer closes:3d method:consent",
            args=ProposeArgs,
            opens_card=True,
        ),
        Command(
            ("poll",),
            "ask the members to choose between options",
            (
                Param("question", Kind.REST, "what you ask, in one line", max_length=TITLE_MAX),
                _opt(
                    "options",
                    Kind.REST,
                    'the options, separated by | : "Lakehouse | Cabin | City"',
                    max_length=POLL_OPTIONS_MAX,
                    required=True,
                ),
                _opt(
                    "method",
                    Kind.WORD,
                    "how it is decided (default single)",
                    choices=POLL_METHODS,
                ),
                _QUORUM,
                _OPENS,
                _CLOSES,
                _SECRET,
                _REASON_BELOW,
            ),
            Permission.MEMBER,
            'poll Where should the retreat be? options:"Lakehouse | Cabin | City" method:ranked',
            args=PollArgs,
            opens_card=True,
        ),
        Command(
            ("vote",),
            "cast or change your vote on an open decision",
            (
                _id(),
                Param(
                    "choice",
                    Kind.REST,
                    "yes/no/abstain (block), or B, A,C, C>A>B, A=5,B=3 for polls",
                    max_length=CHOICE_MAX,
                    decision_choice=True,
                ),
                _opt("reason", Kind.REST, "why; a block needs one", max_length=NOTE_MAX),
            ),
            Permission.MEMBER,
            "vote 7 yes",
            args=VoteArgs,
        ),
        Command(
            ("show",),
            "a decision with its state and count",
            (_id(),),
            Permission.ANYONE,
            "show 7",
            args=ShowArgs,
            reads=True,
        ),
        Command(
            ("list",),
            "the co-op's decisions (open by default)",
            (
                Param(
                    "state",
                    Kind.WORD,
                    "open (default), closed or all",
                    required=False,
                    choices=("open", "closed", "all"),
                ),
            ),
            Permission.ANYONE,
            "list closed",
            args=ListArgs,
            reads=True,
        ),
        Command(
            ("close",),
            "end a decision's vote now and count it",
            (_id(),),
            Permission.STEWARD,
            "close 7",
            args=CloseArgs,
        ),
        Command(
            ("extend",),
            "move a decision's deadline later",
            (_id(), Param("duration", Kind.DURATION, "how much longer: 30m, 36h, 3d, 2w")),
            Permission.STEWARD,
            "extend 7 2d",
            args=ExtendArgs,
        ),
        Command(
            ("withdraw",),
            "withdraw a decision (its author or a steward)",
            (_id(),),
            # The author may withdraw too: the base level is member, the service checks.
            Permission.MEMBER,
            "withdraw 7",
            args=WithdrawArgs,
        ),
    ]


def _task_commands() -> list[Command]:
    task_id = _id(what="task")
    return [
        Command(
            ("task", "add"),
            "put a task on the board",
            (
                Param("title", Kind.REST, "what needs doing, in one line", max_length=TITLE_MAX),
                _opt("points", Kind.INT, "points the task earns when done (default 1)"),
                _opt("due", Kind.WHEN, "when it is due: a duration (5d) or a date (2026-12-01)"),
                _opt("from", Kind.DECISION_ID, "the decision it comes from, like #7"),
            ),
            Permission.MEMBER,
            "task add Fix the gate points:3 due:5d",
            args=TaskAddArgs,
        ),
        Command(
            ("task", "claim"),
            "take a task on",
            (task_id,),
            Permission.MEMBER,
            "task claim 4",
            args=TaskClaimArgs,
        ),
        Command(
            ("task", "unclaim"),
            "give a task you hold back to the board",
            (task_id,),
            Permission.MEMBER,
            "task unclaim 4",
            args=TaskUnclaimArgs,
        ),
        Command(
            ("task", "done"),
            "mark a task done and credit its points to the holder",
            (task_id,),
            # The holder or a steward: the base level is member, the service checks.
            Permission.MEMBER,
            "task done 4",
            args=TaskDoneArgs,
        ),
        Command(
            ("task", "assign"),
            "give a task to a member",
            (task_id, _member()),
            Permission.STEWARD,
            "task assign 4 @bob",
            args=TaskAssignArgs,
        ),
        Command(
            ("task", "cancel"),
            "take a task off the board",
            (task_id,),
            Permission.STEWARD,
            "task cancel 4",
            args=TaskCancelArgs,
        ),
        Command(
            ("task", "list"),
            "the task board (open by default)",
            (
                Param(
                    "state",
                    Kind.WORD,
                    "open (default), mine or all",
                    required=False,
                    choices=("open", "mine", "all"),
                ),
            ),
            Permission.ANYONE,
            "task list mine",
            args=TaskListArgs,
            reads=True,
        ),
    ]


def _contribution_commands() -> list[Command]:
    return [
        Command(
            ("log",),
            "log hours you worked",
            (
                Param("hours", Kind.NUMBER, "hours worked, more than 0 and at most 24, like 2.5"),
                Param(
                    "note",
                    Kind.REST,
                    "what you did",
                    required=False,
                    max_length=NOTE_MAX,
                ),
                _opt("category", Kind.WORD, "a category, like admin or workshop"),
            ),
            Permission.MEMBER,
            "log 2.5 fixed the gate category:workshop",
            args=LogArgs,
        ),
        Command(
            ("kudos",),
            "thank a member (not yourself)",
            (
                _member("who you thank: a mention or @name"),
                Param("note", Kind.REST, "what you thank them for", max_length=NOTE_MAX),
                _opt("points", Kind.INT, "1 (default) to 5"),
            ),
            Permission.MEMBER,
            "kudos @bob points:2 thanks for the newsletter",
            args=KudosArgs,
        ),
        Command(
            ("tally",),
            "contribution totals per member for a period",
            (
                _PERIOD,
                _opt("member", Kind.MENTION, "only this member: a mention or @name"),
                _PAGE,
            ),
            Permission.ANYONE,
            "tally period:month",
            args=TallyArgs,
            reads=True,
        ),
        Command(
            ("summary",),
            "post the weekly summary now",
            (),
            Permission.STEWARD,
            "summary",
            args=SummaryArgs,
        ),
        Command(
            ("patronage",),
            "split a surplus by weighted contribution",
            (
                Param("surplus", Kind.NUMBER, "the amount to split, like 1200.50"),
                _opt("period", Kind.PERIOD, "whose contributions count (default year)"),
            ),
            Permission.STEWARD,
            "patronage 1200 period:2026",
            args=PatronageArgs,
        ),
        Command(
            ("export",),
            "download a CSV file",
            (
                Param(
                    "kind",
                    Kind.WORD,
                    "decisions, votes, tasks, contributions or audit",
                    choices=EXPORT_KINDS,
                ),
                _PERIOD,
            ),
            Permission.STEWARD,
            "export votes period:2026-Q4",
            args=ExportArgs,
        ),
    ]


GROUP_SUMMARIES: Mapping[str, str] = MappingProxyType(
    {
        "coop": "set up this co-op and bind rooms to it",
        "member": "the member registry",
        "task": "the task board",
    }
)


def build_command_tree() -> CommandTree:
    """Every command of SPEC §3, in the order `help` lists them."""
    help_command = Command(
        ("help",),
        "the command list, or one command's syntax and an example",
        (
            Param(
                "command",
                Kind.REST,
                "a command, like vote or task claim",
                required=False,
                max_length=NAME_MAX,
            ),
        ),
        Permission.ANYONE,
        "help vote",
        args=HelpArgs,
        reads=True,
        unbound_ok=True,
    )
    about_command = Command(
        ("about",),
        "this bot's version and where to get its source code (AGPL-3.0)",
        (),
        Permission.ANYONE,
        "about",
        args=AboutArgs,
        unbound_ok=True,
    )
    return CommandTree(
        [
            help_command,
            about_command,
            *_decision_commands(),
            *_task_commands(),
            *_contribution_commands(),
            *_member_commands(),
            *_coop_commands(),
        ],
        GROUP_SUMMARIES,
    )
