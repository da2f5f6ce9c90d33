"""Handlers for the co-op and member registry commands (`coop …`, `member …`)."""

from __future__ import annotations

from typing import Any

from bot.commands.args import (
    CoopBindArgs,
    CoopCodeArgs,
    CoopSettingsArgs,
    CoopSetupArgs,
    CoopSyncArgs,
    CoopUndoArgs,
    MemberAddArgs,
    MemberLinkArgs,
    MemberListArgs,
    MemberRemoveArgs,
    MemberRoleArgs,
)
from bot.commands.handlers import Route, route
from bot.domain.cron import explain, next_fires
from bot.domain.ratios import format_ratio
from bot.domain.timeparse import duration_text, format_local
from bot.domain.vocabulary import Role
from bot.errors import UserError
from bot.invocation import CAP_ROLE_SYNC, Invocation
from bot.render.document import Bold, Code, Line, Reply, command, error, line, private
from bot.render.people import mention
from bot.services import codes, coops, members, sync_control
from bot.services.codes import CodeRefused
from bot.services.context import Context
from bot.services.coop_config import show_setting
from bot.services.sync_control import ChangeView


def _inv(ctx: Context) -> Invocation:
    if ctx.invocation is None:
        raise UserError("this command needs a chat room")
    return ctx.invocation


async def setup(ctx: Context, args: CoopSetupArgs) -> list[Reply]:
    inv = _inv(ctx)
    coop, steward = await coops.setup(ctx, args.name, inv.room, inv.actor)
    return [
        Reply(
            blocks=(
                line(
                    Bold(text=f"Co-op {coop.name} set up"),
                    " in this room; ",
                    mention(steward),
                    " is its first steward",
                ),
                line(
                    "next: add members with ",
                    command("member add @name"),
                    ", then ",
                    command("propose <title>"),
                    indent=1,
                ),
                *_sync_hint(inv),
            )
        )
    ]


def _sync_hint(inv: Invocation) -> tuple[Line, ...]:
    if CAP_ROLE_SYNC not in inv.capabilities:
        return ()
    return (
        line(
            "to let this server's roles admit members, a steward types ",
            command("coop sync members"),
            " (or ",
            command("coop sync stewards"),
            " to let its steward role make stewards too)",
            indent=1,
        ),
    )


async def code(ctx: Context, args: CoopCodeArgs) -> list[Reply]:
    inv = _inv(ctx)
    issued = await codes.issue(ctx, "bind")
    return [
        private(
            inv.actor.identity,
            line(
                f"Bind code for {ctx.require_coop().name}: ",
                Code(text=issued.text),
                f" (works once, for {issued.minutes} minutes)",
            ),
            line(
                "in the other room, a room admin types ",
                command(f"coop bind {issued.text}"),
                indent=1,
            ),
        )
    ]


async def bind(ctx: Context, args: CoopBindArgs) -> list[Reply]:
    inv = _inv(ctx)
    coop = await coops.bind(ctx, args.code, inv.room, inv.actor)
    if isinstance(coop, CodeRefused):
        return [error(coop.message, coop.hint)]
    return [
        Reply(
            blocks=(
                line(
                    Bold(text=f"This room is now bound to {coop.name}"),
                    " — members here can link their identity with ",
                    command("member link"),
                ),
            )
        )
    ]


async def settings(ctx: Context, args: CoopSettingsArgs) -> list[Reply]:
    requested = dict(args.changes)
    if requested:
        changed = await coops.change_settings(ctx, requested)
        text = ", ".join(f"{k} = {show_setting(k, v)}" for k, v in changed.items())
        blocks = [line(Bold(text=f"Settings of {ctx.require_coop().name} changed"), f": {text}")]
        if {"summary_cron", "timezone"} & changed.keys():
            blocks.append(_summary_schedule(ctx))
        return [Reply(blocks=tuple(blocks))]
    config = ctx.config
    rows = [
        ("timezone", config.timezone.key),
        ("quorum", format_ratio(config.quorum)),
        ("summary_cron", config.summary_cron),
        ("max_claims", str(config.max_claims)),
        ("claim_days", str(config.claim_days)),
        ("kudos_per_week", str(config.kudos_per_week)),
        ("reminder_hours", str(config.reminder_hours)),
        ("reserve_share", format_ratio(config.reserve_share)),
        ("min_voting_time", duration_text(config.min_voting_time)),
        ("threads", "on" if config.threads else "off"),
    ]
    blocks = [line(Bold(text=f"Settings of {ctx.require_coop().name}"))]
    blocks += [line(f"{key}: {value}", indent=1) for key, value in rows]
    blocks.append(
        line(
            "change one with ",
            command("coop settings timezone:Europe/Berlin"),
            indent=1,
        )
    )
    return [Reply(blocks=tuple(blocks))]


_MODE_MEANS = {
    "off": "this room's roles change nobody's membership",
    "members": "whoever holds the member or steward role here joins as a member, and leaves "
    "on losing it; stewards are appointed in chat",
    "stewards": "whoever holds the member role here joins, the steward role makes stewards, "
    "and people leave on losing both",
}
_DID = {"add": "admitted", "remove": "removed", "role": "changed the role of"}


async def sync(ctx: Context, args: CoopSyncArgs) -> list[Reply]:
    inv = _inv(ctx)
    coop = ctx.require_coop()
    mode = args.mode
    if mode is not None:
        now = await sync_control.set_mode(
            ctx, inv.room, mode, platform_syncs=CAP_ROLE_SYNC in inv.capabilities
        )
        return [
            Reply(
                blocks=(
                    line(Bold(text=f"Role sync for this room: {now}"), f" — {_MODE_MEANS[now]}"),
                    line(
                        "only people this room's sync admitted are ever changed or removed by "
                        "it; undo a change with ",
                        command("coop undo <number>"),
                        indent=1,
                    ),
                )
            )
        ]
    seen = await sync_control.overview(ctx, inv.room)
    blocks: list[Line] = [line(Bold(text=f"Role sync of {coop.name}"))]
    for room in seen.bindings:
        where = " (this room)" if room.here else ""
        blocks.append(
            line(f"{room.room.platform} room {room.room.room_id}{where}: {room.mode}", indent=1)
        )
    if seen.changes:
        blocks.append(line("latest changes:", indent=1))
        for change in seen.changes:
            blocks.append(_change_line(change, indent=2))
        blocks.append(line("undo one with ", command("coop undo <number>"), indent=1))
    else:
        blocks.append(line("no sync has changed the registry yet", indent=1))
    blocks.append(
        line(
            "in a bound room, set what its roles may do with ",
            command("coop sync off|members|stewards"),
            indent=1,
        )
    )
    return [Reply(blocks=tuple(blocks))]


def _change_line(change: ChangeView, indent: int) -> Line:
    what = f" ({change.role_before} → {change.role_after})" if change.action == "role" else ""
    undone = " — undone" if change.undone else ""
    # A name, not a mention: listing changes must not ping ten people each time.
    return line(
        f"{change.number}: {_DID[change.action]} @{change.member.name}{what} from "
        f"{change.room.platform} room {change.room.room_id}{undone}",
        indent=indent,
    )


async def undo(ctx: Context, args: CoopUndoArgs) -> list[Reply]:
    change = await sync_control.undo(ctx, args.change)
    undone = {
        "add": "is no longer a member",
        "remove": "is a member again",
        "role": f"is a {change.role_before} again",
    }[change.action]
    return [
        Reply(
            blocks=(
                line(
                    Bold(text=f"Undid change {change.number}"),
                    ": ",
                    mention(change.member),
                    f" {undone}",
                ),
                line(
                    "role sync leaves this person alone until their roles on that server "
                    "change again",
                    indent=1,
                ),
            )
        )
    ]


def _summary_schedule(ctx: Context) -> Line:
    """When the weekly summary comes next, so a steward sees at once what a line means."""
    config = ctx.config
    fires = next_fires(config.summary_cron, config.timezone, ctx.clock.now(), 3)
    when = ", ".join(format_local(fire, config.timezone, with_year=True) for fire in fires)
    return line(
        f"summary: {explain(config.summary_cron)}; next {when} ({config.timezone.key})", indent=1
    )


async def member_add(ctx: Context, args: MemberAddArgs) -> list[Reply]:
    role = args.role or Role.MEMBER
    member, created = await members.add_member(ctx, args.member, role)
    if not created:
        raise UserError(
            f"@{member.name} is already a {member.role} of {ctx.require_coop().name}",
            f"change a role with `{ctx.prefix}member role @{member.name} steward`",
        )
    return [Reply(blocks=(line(mention(member), f" joined {ctx.require_coop().name} as {role}"),))]


async def member_remove(ctx: Context, args: MemberRemoveArgs) -> list[Reply]:
    member = await members.remove_member(ctx, args.member)
    return [
        Reply(blocks=(line(f"@{member.name} is no longer a member of {ctx.require_coop().name}"),))
    ]


async def member_role(ctx: Context, args: MemberRoleArgs) -> list[Reply]:
    member = await members.set_role(ctx, args.member, args.role)
    return [Reply(blocks=(line(mention(member), f" is now a {member.role}"),))]


async def member_list(ctx: Context, args: MemberListArgs) -> list[Reply]:
    coop = ctx.require_coop()
    found = await members.member_page(ctx, coop.id, args.page)
    stewards = [name for name, role in found.people if role == Role.STEWARD]
    others = [name for name, role in found.people if role != Role.STEWARD]
    total = found.total
    blocks = [line(Bold(text=f"{coop.name}: {total} member{'s' if total != 1 else ''}"))]
    for title, group in (("stewards", stewards), ("members", others)):
        if group:
            parts: list[str | Bold] = [f"{title}:"]
            for name in group:
                parts += [" ", Bold(text=name)]
            blocks.append(line(*parts, indent=1))
    if found.pages > 1:
        first = (found.page - 1) * members.MEMBER_PAGE_SIZE + 1
        last = first + len(found.people) - 1
        paging: list[str | Code] = [
            f"Page {found.page} of {found.pages:,}: {first:,}–{last:,} of {total:,}"
        ]
        if found.page < found.pages:
            paging += [" — next page: ", command(f"member list page:{found.page + 1}")]
        blocks.append(line(*paging, indent=1))
    return [Reply(blocks=tuple(blocks))]


async def member_link(ctx: Context, args: MemberLinkArgs) -> list[Reply]:
    inv = _inv(ctx)
    given = args.code
    if given is None:
        ctx.require_actor()
        issued = await codes.issue(ctx, "link")
        return [
            private(
                inv.actor.identity,
                line(
                    "Link code: ",
                    Code(text=issued.text),
                    f" (works once, for {issued.minutes} minutes)",
                ),
                line(
                    "on your other platform, in a room of this co-op, type ",
                    command(f"member link {issued.text}"),
                    indent=1,
                ),
            )
        ]
    member = await members.link_identity(ctx, given, inv.actor)
    if isinstance(member, CodeRefused):
        return [error(member.message, member.hint)]
    return [
        Reply(
            blocks=(
                line(
                    mention(member), f" linked {inv.actor.platform} identity — one person, one vote"
                ),
            )
        )
    ]


def routes() -> list[Route[Any]]:
    return [
        route(CoopSetupArgs, setup),
        route(CoopCodeArgs, code),
        route(CoopBindArgs, bind),
        route(CoopSettingsArgs, settings),
        route(CoopSyncArgs, sync),
        route(CoopUndoArgs, undo),
        route(MemberAddArgs, member_add),
        route(MemberRemoveArgs, member_remove),
        route(MemberRoleArgs, member_role),
        route(MemberListArgs, member_list),
        route(MemberLinkArgs, member_link),
    ]
