"""How long to wait before trying again after a failure, for every retry in the bot."""

from __future__ import annotations

from datetime import timedelta

FIRST = timedelta(seconds=5)
LONGEST = timedelta(minutes=10)


def backoff(attempts: int) -> timedelta:
    """Exponential backoff after `attempts` tries: 5 s, 10 s, 20 s ... at most 10 minutes."""
    # The exponent is capped: a message retried for a day reaches 150 tries, and 5 s times
    # 2**149 overflows timedelta (the failure would then escape the retry accounting).
    return min(LONGEST, FIRST * 2 ** min(max(0, attempts - 1), 16))
