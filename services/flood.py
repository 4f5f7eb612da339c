"""How fast one chat may write: past the limit a minute, one "slow down" and then silence.

Counted in memory, per process: a refused message costs no database write (a 10,000-message
burst must not queue 10,000 replies or hold up other chats), and a stranger flooding the
bot leaves nothing behind but the anonymous daily tally.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta
from typing import Literal

from conversations.translations import N_

WINDOW = timedelta(minutes=1)
SLOW_DOWN = N_("You're sending messages faster than I can read them — please slow down; "
               "I'll answer again in a minute.")
TALLY = "refused_flood"
# Chats remembered at once; beyond it those quiet for a minute are forgotten (nothing to keep).
CHATS = 10_000

Verdict = Literal["admit", "warn", "refuse"]


class FloodGate:
    """A sliding minute of admitted messages per chat."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._admitted: dict[tuple[str, str], deque[datetime]] = {}
        self._warned: set[tuple[str, str]] = set()
        self._refused = 0
        self._lock = threading.Lock()

    def check(self, channel: str, address: str, now: datetime) -> Verdict:
        """Admit the message, or refuse it (warning the chat the first time in a row)."""
        chat = (channel, address)
        with self._lock:
            times = self._admitted.setdefault(chat, deque())
            while times and times[0] <= now - WINDOW:
                times.popleft()
            if len(times) < self.limit:
                times.append(now)
                self._warned.discard(chat)
                self._forget_quiet(now)
                return "admit"
            self._refused += 1
            if chat in self._warned:
                return "refuse"
            self._warned.add(chat)
            return "warn"

    def take_refused(self) -> int:
        """How many messages were refused since the last call (for the daily tally)."""
        with self._lock:
            refused, self._refused = self._refused, 0
            return refused

    def _forget_quiet(self, now: datetime) -> None:
        if len(self._admitted) <= CHATS:
            return
        self._admitted = {chat: times for chat, times in self._admitted.items()
                          if times and times[-1] > now - WINDOW}
        self._warned &= set(self._admitted)
