"""Invite codes sent by chat: wrong guesses throttled, an enrolled chat asked before it moves.

The throttle counts in memory, per process: a stranger guessing codes leaves no row with
their chat id, only the anonymous daily tallies.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

from conversations.messages import Button, Reply
from conversations.translations import N_, translator

WINDOW = timedelta(hours=1)
PER_CHAT = 5
# Over every chat together: a guesser with many accounts is slowed down as well.
OVERALL = 200
# Chats remembered at once; beyond it those without a wrong code this hour are forgotten.
CHATS = 10_000

SWITCH_QUESTION = "switch_enrolment"
SWITCH_YES = N_("Yes, switch this chat to the new enrolment")
SWITCH_NO = N_("No")
SWITCH_ASK = N_("This chat already belongs to your current enrolment. Switch it to the new "
                "one? Messages about your current program would stop coming here.")
KEPT_TEXT = N_("OK, nothing changed: this chat stays with your current enrolment.")
EXPIRED_TEXT = N_("That invite code no longer works; ask your coach for a new one.")
THROTTLED_TEXT = N_("That's too many invite codes that didn't work. Please check the code "
                    "with your coach and try again in an hour.")
WRONG_TALLY = "wrong_invite_code"
THROTTLED_TALLY = "invite_throttled"


def switch_question(code: str, language: str) -> Reply:
    """The question asked before an enrolled chat is moved to the enrolment of `code`."""
    t = translator(language)
    return Reply(t.gettext(SWITCH_ASK), question=SWITCH_QUESTION,
                 buttons=(Button(t.gettext(SWITCH_YES), f"yes:{code.strip().upper()}"),
                          Button(t.gettext(SWITCH_NO), "no")))


def switch_code(value: str) -> str | None:
    """The code a press on the switch question agreed to move to; None for "No"."""
    said, _, code = value.partition(":")
    return code or None if said == "yes" else None


class InviteThrottle:
    """Wrong invite codes in the last hour, per chat and over all chats."""

    def __init__(self, per_chat: int = PER_CHAT, overall: int = OVERALL) -> None:
        self.per_chat = per_chat
        self.overall = overall
        self._chats: dict[tuple[str, str], deque[datetime]] = {}
        self._all: deque[datetime] = deque()
        self._lock = threading.Lock()

    def blocked(self, channel: str, address: str, now: datetime) -> bool:
        """Whether this chat may not try a code now."""
        with self._lock:
            _expire(self._all, now)
            times = self._chats.get((channel, address))
            if times is not None:
                _expire(times, now)
            return len(self._all) >= self.overall or (
                times is not None and len(times) >= self.per_chat)

    def wrong(self, channel: str, address: str, now: datetime) -> None:
        """A code from this chat opened nothing."""
        with self._lock:
            self._all.append(now)
            self._chats.setdefault((channel, address), deque()).append(now)
            if len(self._chats) > CHATS:
                self._chats = {chat: times for chat, times in self._chats.items()
                               if times and times[-1] > now - WINDOW}


def _expire(times: deque[datetime], now: datetime) -> None:
    while times and times[0] <= now - WINDOW:
        times.popleft()
