"""The member registry: who belongs to a co-op, in which role, under which identities."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select, true, update
from sqlalchemy.orm import InstrumentedAttribute, aliased, joinedload, noload, raiseload
from sqlalchemy.orm.util import AliasedClass

from bot.db.models import Coop, Decision, Identity, Member, Membership, RoomBinding
from bot.domain.vocabulary import Role
from bot.errors import UserError
from bot.invocation import Actor, RoomRef
from bot.services import codes
from bot.services.codes import CodeRefused
from bot.services.context import Context

_DISCORD_MENTION = re.compile(r"^<@!?(\d{5,25})>$")
_MATRIX_ID = re.compile(r"^@[^:\s]+:\S+$")
_NAME = re.compile(r"^@?([\w.\-]{1,64})$")


def identity_of_token(token: str, platform: str) -> str | None:
    """The identity key a mention token names: `<@123>` → discord:123,
    `@alice:example.org` → matrix:@alice:example.org, `@bob` → `<platform>:bob`."""
    token = token.strip()
    if match := _DISCORD_MENTION.match(token):
        return f"discord:{match.group(1)}"
    if _MATRIX_ID.match(token):
        return f"matrix:{token}"
    if (match := _NAME.match(token)) and token.startswith("@"):
        return f"{platform}:{match.group(1)}"
    return None


def display_name_for(ctx: Context, identity: str) -> str:
    inv = ctx.invocation
    if inv is not None and identity in inv.mentioned:
        return inv.mentioned[identity][:100]
    user = identity.split(":", 1)[1]
    if identity.startswith("matrix:"):
        return user[1:].split(":", 1)[0]
    return user[:100]


async def membership_tick(ctx: Context, coop_id: int) -> int:
    """The next value of the co-op's membership clock. The UPDATE holds the co-op's row until
    the transaction ends (PostgreSQL; SQLite transactions are serialised), so joins, leaves
    and openings take their numbers in the order they commit."""
    seq = await ctx.session.scalar(
        update(Coop)
        .where(Coop.id == coop_id)
        .values(membership_seq=Coop.membership_seq + 1)
        .returning(Coop.membership_seq)
        .execution_options(synchronize_session=False)
    )
    assert seq is not None
    return int(seq)


async def start_membership(ctx: Context, member: Member) -> None:
    """`member` becomes (again) a member: a new stretch from the next tick."""
    seq = await membership_tick(ctx, member.coop_id)
    ctx.session.add(Membership(coop_id=member.coop_id, member_id=member.id, joined_seq=seq))


async def end_membership(ctx: Context, member: Member) -> None:
    """`member` leaves: their open stretch ends at the next tick."""
    seq = await membership_tick(ctx, member.coop_id)
    await ctx.session.execute(
        update(Membership)
        .where(Membership.member_id == member.id, Membership.left_seq.is_(None))
        .values(left_seq=seq)
        .execution_options(synchronize_session=False)
    )


def covers(
    seq: int | ColumnElement[int | None] | InstrumentedAttribute[int | None] | None,
    stretch: type[Membership] | AliasedClass[Membership] = Membership,
) -> ColumnElement[bool]:
    """A Membership row (or an alias of the table: `stretch`) covering the membership
    clock's `seq`, a member at that moment: a number or a column (Decision.opened_seq).
    Nothing covers None (a decision not opened)."""
    if seq is None:
        return stretch.id.is_(None)
    return and_(stretch.joined_seq < seq, or_(stretch.left_seq.is_(None), stretch.left_seq > seq))


# Built once (an alias builds its columns anew each time): the statement every command
# starts with, its values bound at each run.
_ACTOR = aliased(Member)
_Row = TypeVarTuple("_Row")


def to_actor(
    statement: Select[*_Row], actor: type[Member], *, identities: bool = True
) -> Select[*_Row]:
    """`statement`, which reads the co-op (Coop), joined on to the active member `actor`
    whom :identity is in it, with their identities (joined) unless `identities` is False:
    a vote never reads them (reading them then raises)."""
    return (
        statement.outerjoin(
            Identity,
            (Identity.coop_id == Coop.id) & (Identity.identity == bindparam("identity")),
        )
        .outerjoin(actor, (actor.id == Identity.member_id) & actor.active)
        .options(joinedload(actor.identities) if identities else raiseload(actor.identities))
    )


def _from_room_to_actor(statement: Select[*_Row], *, identities: bool = True) -> Select[*_Row]:
    """`statement` read from the binding of :platform/:room_id to its co-op and on to the
    active member (`_ACTOR`) whom :identity is in it (`to_actor`)."""
    bound = statement.select_from(RoomBinding).join(Coop, Coop.id == RoomBinding.coop_id)
    return to_actor(bound, _ACTOR, identities=identities).where(
        RoomBinding.platform == bindparam("platform"),
        RoomBinding.room_id == bindparam("room_id"),
    )


_COOP_AND_ACTOR = _from_room_to_actor(select(Coop, _ACTOR))


async def coop_and_actor(
    ctx: Context, room: RoomRef, identity: str
) -> tuple[Coop | None, Member | None]:
    """The co-op bound to `room` and the active member `identity` is in it (with their
    identities), in one statement."""
    params = {"identity": identity, "platform": room.platform, "room_id": room.room_id}
    row = (await ctx.session.execute(_COOP_AND_ACTOR, params)).unique().first()
    if row is None:
        return None, None
    return row[0], row[1]


# SQLite, for a vote (`coop_actor_and_decision`): the same read with the decision voted on
# and the voter's membership stretch covering its opening (eligibility), built once. The
# write lock is taken at BEGIN there (BEGIN IMMEDIATE), so no row lock is needed.
_VOTER_DECISION = (
    _from_room_to_actor(select(Coop, _ACTOR, Decision, Membership.id), identities=False)
    .outerjoin(Decision, (Decision.coop_id == Coop.id) & (Decision.number == bindparam("number")))
    .outerjoin(Membership, (Membership.member_id == _ACTOR.id) & covers(Decision.opened_seq))
    # A proposal has no options: a poll's are read when it is voted on.
    .options(noload(Decision.options))
)


async def coop_actor_and_decision(
    ctx: Context, room: RoomRef, identity: str, number: int
) -> tuple[Coop | None, Member | None]:
    """`coop_and_actor`, and in the same statement decision #`number` of that co-op with
    whether the actor's membership covers its opening: kept as `ctx.vote_read` for
    decisions.cast_vote (a vote on SQLite: one statement fewer)."""
    params = {
        "identity": identity,
        "platform": room.platform,
        "room_id": room.room_id,
        "number": number,
    }
    # One row at most (no joined collection): nothing to make unique.
    row = (await ctx.session.execute(_VOTER_DECISION, params)).first()
    if row is None:
        return None, None
    coop, actor, decision, stretch = row
    if actor is not None:
        ctx.vote_read = (number, decision, stretch is not None)
    return coop, actor


async def member_by_identity(ctx: Context, coop_id: int, identity: str) -> Member | None:
    found = await ctx.session.execute(
        select(Member)
        .join(Identity, Identity.member_id == Member.id)
        .where(Identity.coop_id == coop_id, Identity.identity == identity, Member.active)
        .options(joinedload(Member.identities))
    )
    return found.unique().scalar_one_or_none()


async def find_member(ctx: Context, token: str) -> Member:
    """The active member a mention names, by identity or else by display name."""
    coop = ctx.require_coop()
    platform = ctx.invocation.room.platform if ctx.invocation else "console"
    identity = identity_of_token(token, platform)
    member = await member_by_identity(ctx, coop.id, identity) if identity else None
    if member is None:
        name = token.strip().removeprefix("@")
        member = await ctx.session.scalar(
            select(Member).where(
                Member.coop_id == coop.id, Member.active, func.lower(Member.name) == name.lower()
            )
        )
    if member is None:
        raise UserError(
            f"{token} is not a member of {coop.name}",
            f"see who is with `{ctx.prefix}member list`",
        )
    return member


MEMBER_PAGE_SIZE = 200  # names per `member list` reply


@dataclass(frozen=True)
class MemberPage:
    """One page of the registry: (name, role) of stewards first, then members, by name."""

    people: Sequence[tuple[str, Role]]
    total: int
    page: int
    pages: int


async def member_page(ctx: Context, coop_id: int, page: int | None = None) -> MemberPage:
    """`member list [page:]`: counted and paged in SQL, names and roles only."""
    active = (Member.coop_id == coop_id, Member.active == true())
    total = int(await ctx.session.scalar(select(func.count()).where(*active)) or 0)
    pages = max(1, -(-total // MEMBER_PAGE_SIZE))
    wanted = 1 if page is None else page
    if not 1 <= wanted <= pages:
        raise UserError(
            f"There {'is' if pages == 1 else 'are'} {pages} page{'s' if pages != 1 else ''} "
            "of members",
            f"for example `{ctx.prefix}member list page:1`",
        )
    found = await ctx.session.execute(
        select(Member.name, Member.role)
        .where(*active)
        .order_by((Member.role != Role.STEWARD), Member.name, Member.id)
        .limit(MEMBER_PAGE_SIZE)
        .offset((wanted - 1) * MEMBER_PAGE_SIZE)
    )
    return MemberPage([(name, role) for name, role in found.all()], total, wanted, pages)


async def unique_name(ctx: Context, coop_id: int, wanted: str) -> str:
    taken = {
        n.lower()
        for n in (
            await ctx.session.scalars(
                select(Member.name).where(Member.coop_id == coop_id, Member.active)
            )
        ).all()
    }
    name, n = wanted, 2
    while name.lower() in taken:
        name, n = f"{wanted}{n}", n + 1
    return name


async def free_identity(ctx: Context, coop_id: int, identity: str) -> None:
    """Detach `identity` from a removed member, so that it can be admitted or linked again.
    Every path that gives an identity to a member comes through here first; an identity of
    an active member is left alone (callers check that themselves)."""
    old = await ctx.session.scalar(
        select(Identity)
        .join(Member, Member.id == Identity.member_id)
        .where(Identity.coop_id == coop_id, Identity.identity == identity, ~Member.active)
    )
    if old is not None:
        await ctx.session.delete(old)
        await ctx.session.flush()


async def create_member(
    ctx: Context,
    coop_id: int,
    identity: str,
    name: str,
    role: Role,
    *,
    source_binding_id: int | None = None,
) -> Member:
    """A new active member with one identity; `source_binding_id` names the binding whose
    role sync admitted them (None: a person did)."""
    await free_identity(ctx, coop_id, identity)
    member = Member(
        coop_id=coop_id,
        name=await unique_name(ctx, coop_id, name),
        role=role,
        active=True,
        joined_at=ctx.clock.now(),
    )
    ctx.session.add(member)
    await ctx.session.flush()
    await start_membership(ctx, member)
    ctx.session.add(
        Identity(
            coop_id=coop_id,
            member_id=member.id,
            identity=identity,
            source_binding_id=source_binding_id,
        )
    )
    await ctx.session.flush()
    await ctx.session.refresh(member, ["identities"])
    return member


async def add_member(ctx: Context, token: str, role: Role) -> tuple[Member, bool]:
    """Admit the person `token` names; returns (member, created). Re-adding a removed
    identity creates a fresh member; adding an existing member just reports them."""
    coop = ctx.require_coop()
    platform = ctx.invocation.room.platform if ctx.invocation else "console"
    identity = identity_of_token(token, platform)
    if identity is None:
        raise UserError(
            f"`{token}` is not a mention",
            f"mention the person, for example `{ctx.prefix}member add @bob`",
        )
    existing = await member_by_identity(ctx, coop.id, identity)
    if existing is not None:
        return existing, False
    member = await create_member(ctx, coop.id, identity, display_name_for(ctx, identity), role)
    ctx.audit("member.add", f"member:{member.id}", identity=identity, role=role)
    return member, True


async def steward_count(ctx: Context, coop_id: int) -> int:
    return int(
        await ctx.session.scalar(
            select(func.count()).where(
                Member.coop_id == coop_id, Member.active, Member.role == Role.STEWARD
            )
        )
        or 0
    )


async def remove_member(ctx: Context, token: str) -> Member:
    coop = ctx.require_coop()
    member = await find_member(ctx, token)
    if member.role == Role.STEWARD and await steward_count(ctx, coop.id) <= 1:
        raise UserError(
            f"@{member.name} is the last steward of {coop.name}",
            f"make someone else a steward first: `{ctx.prefix}member role @name steward`",
        )
    member.active = False
    member.removed_at = ctx.clock.now()
    await end_membership(ctx, member)
    ctx.audit("member.remove", f"member:{member.id}")
    return member


async def set_role(ctx: Context, token: str, role: Role) -> Member:
    coop = ctx.require_coop()
    member = await find_member(ctx, token)
    last = member.role == Role.STEWARD and role == Role.MEMBER
    if last and await steward_count(ctx, coop.id) <= 1:
        raise UserError(f"@{member.name} is the last steward of {coop.name}; appoint another first")
    member.role = role
    ctx.audit("member.role", f"member:{member.id}", role=role)
    return member


async def link_identity(ctx: Context, code: str, actor: Actor) -> Member | CodeRefused:
    """Attach `actor`'s platform identity to the member who issued the link code, so one
    person counts once whichever platform they act from."""
    coop = ctx.require_coop()
    row = await codes.redeem(ctx, code, "link", scope=f"coop:{coop.id}", coop_id=coop.id)
    if isinstance(row, CodeRefused):
        return row
    member = await ctx.session.get(Member, row.member_id)
    assert member is not None and member.active  # a code of a member who left does not work
    current = await member_by_identity(ctx, coop.id, actor.identity)
    if current is not None and current.id != member.id:
        raise UserError(
            f"this {actor.platform} identity already belongs to @{current.name}",
            "a steward can remove that member first",
        )
    if current is None:
        await free_identity(ctx, coop.id, actor.identity)
        ctx.session.add(Identity(coop_id=coop.id, member_id=member.id, identity=actor.identity))
        await ctx.session.flush()
        await ctx.session.refresh(member, ["identities"])
    ctx.actor = member
    ctx.audit("member.link", f"member:{member.id}", identity=actor.identity)
    return member
