"""How long to wait before trying again after a failure, for every retry in the bot."""

from __future__ import annotations

from datetime import timedelta

FIRST = timedelta(seconds=5)
LONGEST = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """Exponential backoff after `attempts` tries: 5 s, 10 s, 20 s ... at most 10 minutes."""
    return min(LONGEST, FIRST * 2 ** max(0, attempts - 1))
