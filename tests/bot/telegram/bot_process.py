"""`coachbot run` as a real process against the fake Bot API, for the stories where the bot
is killed, stopped or starved of its database; and Telegram users who wait for replies.

The process is the real CLI with only environment variables set (the way it is deployed);
the test reads its log lines and the fake's records, and polls conditions with a deadline.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import col, func, select

from bot.composition import App
from storage.db import session
from storage.models import InboundEvent, OutboxMessage
from tests.bot.telegram.conftest import TOKEN, event_of
from tests.conftest import SAMPLE
from tests.fakes.telegram_api import FakeTelegramAPI

# How long a condition may take before the test gives up: only a failure detector.
WAIT = 90.0
READY = "telegram channel running"


def free_port() -> int:
    """A port nothing listens on now (the bot's webhook binds it, again after each restart)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll `condition` until it is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = condition()
        if outcome:
            return outcome
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)  # polling a condition, not passing time


@dataclass
class BotProcess:
    """One `coachbot run` process; start it again after a kill with `restart()`."""

    db_url: str
    api: FakeTelegramAPI
    workdir: Path
    webhook_port: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    lines: list[str] = field(default_factory=list)
    starts: int = 0

    def env(self) -> dict[str, str]:
        """The deployment's configuration: environment variables only."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("COACHBOT_")}
        env.update(COACHBOT_DATABASE_URL=self.db_url, COACHBOT_PROGRAM=str(SAMPLE),
                   COACHBOT_TELEGRAM_TOKEN=TOKEN, COACHBOT_TELEGRAM_API_URL=self.api.url,
                   COACHBOT_LOG_LEVEL="INFO", PYTHONUNBUFFERED="1",
                   # After a SIGKILL the dead process's sends wait out its leases; the
                   # shortest lease keeps the crash loops affordable.
                   COACHBOT_OUTBOX_LEASE_SECONDS="10")
        if self.webhook_port is not None:
            env.update(COACHBOT_TELEGRAM_WEBHOOK_URL=(
                f"http://127.0.0.1:{self.webhook_port}/telegram/hook"),
                COACHBOT_TELEGRAM_WEBHOOK_PORT=str(self.webhook_port))
        env.update(self.extra_env)
        return env

    def start(self, *, wait_ready: bool = True) -> BotProcess:
        """Start `coachbot run` and wait until its channel serves."""
        assert self.process is None or self.process.poll() is not None
        self.starts += 1
        mark = len(self.lines)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], cwd=self.workdir, env=self.env(),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace")
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()
        if wait_ready:
            until(lambda: any(READY in line for line in self.lines[mark:])
                  or self.process.poll() is not None, "the bot started")
            assert self.process.poll() is None, "\n".join(self.lines[-30:])
        return self

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.append(line.rstrip("\n"))

    def kill(self) -> None:
        """SIGKILL: no cleanup, no finally, whatever was in memory is gone."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(WAIT)

    def terminate(self, timeout: float = 30.0) -> tuple[int, float]:
        """SIGTERM, as `docker stop` sends; the exit code and the seconds it took."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout)
        return code, time.monotonic() - began

    def stop(self) -> None:
        """End the process whatever its state (the test's clean-up)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(WAIT)

    def log(self) -> str:
        return "\n".join(self.lines)


def stored_events(app: App) -> set[str]:
    """The Telegram events the bot has stored (handled)."""
    with session(app.db) as s:
        return set(s.exec(select(InboundEvent.event_id)
                          .where(InboundEvent.channel == "telegram")))


def handled(app: App, updates: list[dict[str, Any]]) -> int:
    """How many of `updates` the bot has stored."""
    events = stored_events(app)
    return sum(event_of(update) in events for update in updates)


def outbox_settled(app: App) -> bool:
    """Nothing left to send to Telegram."""
    with session(app.db) as s:
        return s.exec(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.channel == "telegram",
            col(OutboxMessage.status) == "queued")).one() == 0


@dataclass
class Typist:
    """A Telegram user who types a script of messages, each once the bot has answered the
    previous one (a message counts as answered when a new bot message arrived after it)."""

    api: FakeTelegramAPI
    user_id: int
    script: list[str]
    sent: list[dict[str, Any]] = field(default_factory=list)
    _seen: int = 0

    def step(self) -> bool:
        """Type the next message if the last one was answered; True if it typed."""
        received = len(self.api.sent_messages(self.user_id))
        if len(self.sent) >= len(self.script) or (received <= self._seen and self.sent):
            return False
        self._seen = received
        update = self.api.inject_message(self.user_id, self.script[len(self.sent)],
                                         first_name="Client")
        self.sent.append(update)
        return True

    @property
    def finished(self) -> bool:
        """Every message typed and the last one answered."""
        return len(self.sent) == len(self.script) and \
            len(self.api.sent_messages(self.user_id)) > self._seen


@dataclass
class CrashLoop:
    """What a crash loop left behind."""

    mode: str
    clients: int
    kills: int
    updates: int = 0
    lost: int = 0
    unconfirmed: int = 0
    answers_twice: int = 0
    without_reply: int = 0
    sends_twice: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        return (f"crash loop {self.mode}: {self.clients} clients, {self.kills} SIGKILLs, "
                f"{self.updates} updates: lost {self.lost}, left with Telegram "
                f"{self.unconfirmed}, answers stored twice {self.answers_twice}, clients "
                f"without a reply {self.without_reply}, messages sent twice "
                f"{self.sends_twice}; {self.seconds:.1f} s")


def crash_loop(app: App, api: FakeTelegramAPI, workdir: Path, *, mode: str, clients: int,
               kills: int, seed: int, script: list[str]) -> CrashLoop:
    """Clients answer their intake while the bot is SIGKILLed `kills` times, each time after
    a random number (seeded) of the bot's sends, and started again; then it runs to the end."""
    import random
    from collections import Counter

    from services.enrolment import enrol_client

    rng = random.Random(seed)
    began = time.monotonic()
    typists = []
    for n in range(clients):
        code = enrol_client(app.rt, program_id="business_12w", name=f"Client {n}",
                            zone="Europe/Berlin", coach="Casey Coach").code
        typists.append(Typist(api, 880_000 + n, [f"/start {code}", *script]))
    bot = BotProcess(app.settings.database_url, api, workdir,
                     webhook_port=free_port() if mode == "webhook" else None)
    outcome = CrashLoop(mode=mode, clients=clients, kills=kills)
    try:
        bot.start()
        done_kills = 0
        while True:
            sends_at_start = len(api.sent_messages())
            kill_after = rng.randint(1, 3 * clients) if done_kills < kills else None
            while True:
                for typist in typists:
                    typist.step()
                if all(t.finished for t in typists):
                    break
                if kill_after is not None and \
                        len(api.sent_messages()) - sends_at_start >= kill_after:
                    break
                before = len(api.sent_messages())
                until(lambda b=before: len(api.sent_messages()) > b
                      or bot.process.poll() is not None,  # type: ignore[union-attr]
                      "the bot sent something")
                assert bot.process.poll() is None, bot.log()[-3000:]  # type: ignore[union-attr]
            if all(t.finished for t in typists):
                break
            bot.kill()
            done_kills += 1
            bot.start()
        until(lambda: not api.pending_updates() and outbox_settled(app),
              "every update confirmed and every reply sent")
        updates = [u for t in typists for u in t.sent]
        events = stored_events(app)
        outcome.updates = len(updates)
        outcome.lost = sum(event_of(u) not in events for u in updates)
        outcome.unconfirmed = len(api.pending_updates())
        outcome.answers_twice = answers_stored_twice(app)
        outcome.without_reply = sum(not t.finished for t in typists)
        texts = Counter((m["chat_id"], m["text"]) for m in api.sent_messages())
        outcome.sends_twice = sum(c - 1 for c in texts.values() if c > 1)
    finally:
        bot.stop()
    outcome.seconds = time.monotonic() - began
    return outcome


def answers_stored_twice(app: App) -> int:
    """Answers stored more than once: a client's message handled twice answers the next
    question with the same words (every answer of the script differs from the others)."""
    from storage.models import Answer

    with session(app.db) as s:
        said = Counter((a.enrolment_id, a.text) for a in s.exec(select(Answer)))
    return sum(count - 1 for count in said.values())
