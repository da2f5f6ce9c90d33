"""One-time codes (`coop code`, `member link`): issue them, redeem them once, and slow down
whoever keeps typing wrong ones. Every kind of wrong code gets the same answer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from bot.db.models import CodeAttempts, Member, OneTimeCode
from bot.domain.codes import (
    PER_IDENTITY,
    PER_SCOPE,
    BackOff,
    code_hash,
    fingerprint,
    new_code,
    normalise,
)
from bot.services.context import Context

log = logging.getLogger(__name__)

_COMMANDS = {"bind": "coop code", "link": "member link"}
# Used and expired codes are kept this long (then deleted when the co-op makes a new code).
_KEEP = timedelta(days=1)


@dataclass(frozen=True)
class IssuedCode:
    text: str  # as shown to the person who asked: 7K3Q-M2XD-9TPA-W4RE
    minutes: int


@dataclass(frozen=True)
class CodeRefused:
    """A redemption that did not work. The command still commits (the failure is counted
    and audited), so the refusal is returned rather than raised."""

    message: str
    hint: str | None = None


async def issue(ctx: Context, kind: str) -> IssuedCode:
    """A new code of `kind` ("bind" or "link") for the co-op; a link code is for the actor."""
    coop = ctx.require_coop()
    now = ctx.clock.now()
    minutes = ctx.settings.code_minutes
    await ctx.session.execute(
        delete(OneTimeCode).where(
            OneTimeCode.coop_id == coop.id, OneTimeCode.expires_at < now - _KEEP
        )
    )
    text = new_code()
    symbols = normalise(text)
    assert symbols is not None
    ctx.session.add(
        OneTimeCode(
            code_hash=code_hash(symbols),
            coop_id=coop.id,
            kind=kind,
            member_id=ctx.actor.id if (kind == "link" and ctx.actor) else None,
            created_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
    )
    ctx.audit(f"code.{kind}", "", minutes=minutes)
    return IssuedCode(text, minutes)


async def redeem(
    ctx: Context, typed: str, kind: str, *, scope: str, coop_id: int | None = None
) -> OneTimeCode | CodeRefused:
    """The code `typed` names, marked used; or the one refusal for every wrong code.

    `scope` is who shares the per-scope limit ("coop:<id>" where a co-op's room redeems a
    link code, "room:<key>" for a bind code in an unbound room); `coop_id`, when given, is
    the only co-op whose code works here."""
    inv = ctx.invocation
    assert inv is not None
    now = ctx.clock.now()
    scopes = ((f"identity:{inv.actor.identity}", PER_IDENTITY), (scope, PER_SCOPE))
    counters = [(await _counter(ctx, name), policy) for name, policy in scopes]
    waits = [
        c.blocked_until for c, _ in counters if c and c.blocked_until and c.blocked_until > now
    ]
    if waits:
        minutes = max(1, -(-int((max(waits) - now).total_seconds()) // 60))
        return CodeRefused(
            "Too many wrong codes were tried here; nothing was checked",
            f"try again in {minutes} minute{'s' if minutes != 1 else ''}",
        )
    symbols = normalise(typed)
    row = await ctx.session.get(OneTimeCode, code_hash(symbols)) if symbols else None
    if row is not None and await _works(ctx, row, kind, coop_id, now):
        row.used_at = now
        if counters[0][0] is not None:
            await ctx.session.delete(counters[0][0])  # this person typed a right one
        return row
    failures = [
        _count_failure(ctx, counter, name, policy, now)
        for (counter, policy), (name, _) in zip(counters, scopes, strict=True)
    ]
    log.info(
        "wrong %s code from %s in %s (%s; failure %s from that identity)",
        kind,
        inv.actor.identity,
        inv.room.key,
        _why(row, kind, coop_id, now),
        failures[0],
    )
    if ctx.coop is not None:
        ctx.audit(
            "code.failed",
            "",
            kind=kind,
            room=inv.room.key,
            attempt=fingerprint(typed),
            failures=failures[0],
        )
    return CodeRefused(
        "That code does not work: codes work once, for a short time, in the co-op that made them",
        f"ask for a new one with `{ctx.prefix}{_COMMANDS[kind]}`",
    )


async def _works(
    ctx: Context, row: OneTimeCode, kind: str, coop_id: int | None, now: datetime
) -> bool:
    if row.kind != kind or row.used_at is not None or row.expires_at <= now:
        return False
    if coop_id is not None and row.coop_id != coop_id:
        return False
    if row.member_id is not None:
        issuer = await ctx.session.get(Member, row.member_id)
        return issuer is not None and issuer.active
    return kind != "link"


def _why(row: OneTimeCode | None, kind: str, coop_id: int | None, now: datetime) -> str:
    """For the operator's log only: members all get the same answer."""
    if row is None:
        return "unknown"
    if row.kind != kind:
        return "another kind"
    if row.used_at is not None:
        return "used"
    if row.expires_at <= now:
        return "expired"
    if coop_id is not None and row.coop_id != coop_id:
        return "another co-op"
    return "issuer gone"


async def _counter(ctx: Context, scope: str) -> CodeAttempts | None:
    return await ctx.session.get(CodeAttempts, scope, with_for_update=True)


def _count_failure(
    ctx: Context, counter: CodeAttempts | None, scope: str, policy: BackOff, now: datetime
) -> int:
    """Count one more wrong code for `scope`; returns how many now count."""
    if counter is None:
        counter = CodeAttempts(scope=scope, failures=0)
        ctx.session.add(counter)
    counter.failures = policy.failures_now(counter.failures, counter.last_failure_at, now) + 1
    counter.last_failure_at = now
    counter.blocked_until = policy.blocked_until(counter.failures, now)
    return counter.failures
