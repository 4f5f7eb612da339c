"""The send budget's slots in PostgreSQL: taken and given back with one statement each.

Every time is the database's `clock_timestamp()`, so workers on different machines (with
clocks apart) still count one period the same way. A slot held by a worker that died frees
itself when its lease runs out. PostgreSQL only: SQLite runs one process, whose budget
lives in memory (`services/send_budget.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import Session

# The gate that counts every send of the bot; the others are named by their address.
OVERALL = "*"

_ENSURE = text("""
    INSERT INTO send_slot (bot, gate, slot, free_at)
    SELECT :bot, :gate, n, to_timestamp(0) FROM generate_series(1, :slots) AS n
    ON CONFLICT (bot, gate, slot) DO NOTHING""")

# One round trip: take the slot free longest, or learn how long until the first is free.
# The outer SELECT reads the snapshot before the UPDATE, so `wait` ignores the slot taken.
_TAKE = text("""
    WITH pick AS (
        SELECT slot FROM send_slot
        WHERE bot = :bot AND gate = :gate AND slot <= :slots AND free_at <= clock_timestamp()
        ORDER BY free_at LIMIT 1 FOR UPDATE SKIP LOCKED),
    taken AS (
        UPDATE send_slot AS s SET free_at = clock_timestamp() + make_interval(secs => :lease)
        FROM pick WHERE s.bot = :bot AND s.gate = :gate AND s.slot = pick.slot
        RETURNING s.slot)
    SELECT (SELECT slot FROM taken) AS slot,
           (SELECT EXTRACT(EPOCH FROM min(free_at) - clock_timestamp()) FROM send_slot
            WHERE bot = :bot AND gate = :gate AND slot <= :slots) AS wait""")

# An address's gate has one slot, made on its first send: insert it held, or take it if free.
_TAKE_ONE = text("""
    INSERT INTO send_slot (bot, gate, slot, free_at)
    VALUES (:bot, :gate, 1, clock_timestamp() + make_interval(secs => :lease))
    ON CONFLICT (bot, gate, slot) DO UPDATE SET free_at = EXCLUDED.free_at
    WHERE send_slot.free_at <= clock_timestamp()
    RETURNING slot""")

_WAIT_ONE = text("""
    SELECT EXTRACT(EPOCH FROM free_at - clock_timestamp()) FROM send_slot
    WHERE bot = :bot AND gate = :gate AND slot = 1""")

_GIVE_BACK = text("""
    UPDATE send_slot SET free_at = clock_timestamp() + make_interval(secs => :period)
    WHERE bot = :bot AND gate = :gate AND slot = :slot""")

# Addresses' gates idle for a while hold nothing worth keeping (one row per chat otherwise).
_FORGET_IDLE = text("""
    DELETE FROM send_slot
    WHERE bot = :bot AND gate <> :overall
      AND free_at < clock_timestamp() - make_interval(secs => :idle)""")


@dataclass(frozen=True)
class Taken:
    """The answer to a take: the slot, or None and the seconds until one may be free."""

    slot: int | None
    wait: float


def ensure_slots(session: Session, *, bot: str, gate: str, slots: int) -> None:
    """Make sure `gate` has slots 1..`slots` (a raised limit adds the missing ones)."""
    session.execute(_ENSURE, {"bot": bot, "gate": gate, "slots": slots})


def take(session: Session, *, bot: str, gate: str, slots: int, lease: float) -> Taken:
    """Hold one free slot of `gate` for at most `lease` seconds, if one is free now."""
    row = session.execute(_TAKE, {"bot": bot, "gate": gate, "slots": slots,
                                  "lease": lease}).one()
    return Taken(slot=row.slot, wait=max(0.0, float(row.wait or 0.0)))


def take_one(session: Session, *, bot: str, gate: str, lease: float) -> Taken:
    """The same for a one-slot gate (an address), made on first use."""
    slot = session.execute(_TAKE_ONE, {"bot": bot, "gate": gate, "lease": lease}).scalar()
    if slot is not None:
        return Taken(slot=slot, wait=0.0)
    wait = session.execute(_WAIT_ONE, {"bot": bot, "gate": gate}).scalar()
    return Taken(slot=None, wait=max(0.0, float(wait or 0.0)))


def give_back(session: Session, *, bot: str, gate: str, slot: int, period: float) -> None:
    """Free a held slot `period` seconds from now (the send was answered just now)."""
    session.execute(_GIVE_BACK, {"bot": bot, "gate": gate, "slot": slot, "period": period})


def forget_idle(session: Session, *, bot: str, idle: float) -> int:
    """Delete the address gates free for more than `idle` seconds; how many."""
    result = session.execute(_FORGET_IDLE, {"bot": bot, "overall": OVERALL, "idle": idle})
    return result.rowcount or 0  # type: ignore[attr-defined]
