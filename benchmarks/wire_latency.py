"""Latency on the wire: the real `coachbot run` against the local fake Bot API and Web API.

    python benchmarks/wire_latency.py [--clients 50] [--think 1.0-3.0] [--seed 1]
                                      [--database sqlite|postgresql]

N clients (enrolled, joined and through their intake first, not timed) do their weekly
check-in at once, each typing the next answer a random think time (seeded) after the bot's
last reply, the way people answer. Each message is timed from the moment the fake Bot API
holds it for the bot (as Telegram would) until the bot's reply to that chat arrives at the
fake: getUpdates, handling, the commit, the outbox and sendMessage, all over real HTTP.
The replies are paced by the bot's own limiter at Telegram's limits (30 a second, 1 a
second per chat), which the fake enforces (a 429 would show in the figures).

The last client scores 3 and writes a blocker that a rule escalates ("I want a refund"); it
is timed until the escalation is posted to the team channel at the fake Slack Web API
(the bot runs Slack in HTTP mode for it).

Prints p50/p95/p99/max of the reply latency, the escalation's latency, the bot's peak RSS
and the machine with its load; beside them, the floor Telegram's limits set on the same
messages (`at_the_limits`): what a sender taking no time of its own would reach.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from benchmarks.machine import machine
from bot.composition import build_app
from bot.settings import Settings
from scheduler.clock import SystemClock
from services.enrolment import enrol_client
from tests.bot.telegram.bot_process import BotProcess, free_port, until
from tests.conftest import INTAKE, SAMPLE
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.telegram_api import FakeTelegramAPI

CHECKIN = ["/checkin", "7", "2500", "yes", "sales"]
ESCALATING = "I want a refund"  # the sample's keyword rule on the blocker question
TEAM = "C0TEAM"
FIRST_USER = 770_000


class Inbox:
    """The bot's replies as the fake received them, read incrementally: chat -> arrival times."""

    def __init__(self, api: FakeTelegramAPI) -> None:
        self.api = api
        self.read = 0
        self.arrivals: dict[str, list[float]] = {}

    def refresh(self) -> None:
        # Only the calls since the last look (copying the whole record each time would take
        # the fake's lock and the GIL from the bot under test).
        with self.api._lock:
            calls = self.api._calls[self.read:]
        for call in calls:
            if call.method == "sendMessage" and call.ok:
                self.arrivals.setdefault(str(call.params.get("chat_id")), []).append(call.at)
        self.read += len(calls)


class Client:
    """One Telegram user who answers a script, each message a think time after the bot's
    replies to the previous one arrived (`expect`: how many replies each message gets;
    None: as many as arrive before a second of quiet); timed to the first reply."""

    def __init__(self, api: FakeTelegramAPI, inbox: Inbox, user_id: int, script: list[str],
                 expect: list[int] | None, rng: random.Random, think: tuple[float, float]) -> None:
        self.api, self.inbox, self.user_id = api, inbox, user_id
        self.script, self.expect = script, expect
        self.rng, self.think = rng, think
        self.typed = 0
        self.waiting_since: float | None = None  # when the last message was handed over
        self.seen = len(inbox.arrivals.get(str(user_id), ()))
        self.next_at = time.monotonic() + rng.uniform(*think)
        self.latencies: list[float] = []
        self.handed: list[float] = []  # when each message was handed over

    def step(self, now: float) -> None:
        """Notice the replies, or type the next message when its time has come."""
        if self.waiting_since is not None:
            replies = self.inbox.arrivals.get(str(self.user_id), [])
            fresh = [at for at in replies[self.seen:] if at >= self.waiting_since]
            # Unknown counts: the replies have stopped for 1.5 s (a chat's replies are paced
            # a second apart).
            wanted = self.expect[self.typed - 1] if self.expect else len(replies) - self.seen
            settled = bool(self.expect) or now - replies[-1] > 1.5 if replies else False
            if fresh and len(replies) >= self.seen + wanted and settled:
                # Timed to the first reply; the next message waits for the last one.
                self.latencies.append(fresh[0] - self.waiting_since)
                self.handed.append(self.waiting_since)
                self.seen = len(replies) if not self.expect else self.seen + wanted
                self.waiting_since = None
                self.next_at = now + self.rng.uniform(*self.think)
            return
        if self.typed < len(self.script) and now >= self.next_at:
            self.waiting_since = time.monotonic()
            self.api.inject_message(self.user_id, self.script[self.typed],
                                    first_name="Client")
            self.typed += 1

    @property
    def done(self) -> bool:
        return self.typed == len(self.script) and self.waiting_since is None

    def replies_each(self, until: float) -> list[tuple[float, int, int]]:
        """(handed over, chat, replies) per message: the replies to the chat that arrived
        before its next message was handed over (or `until`)."""
        # Counted here, not when the client moved on: a reply paced 1.5 s after the one
        # before looks like the next message's to the client.
        arrivals = self.inbox.arrivals.get(str(self.user_id), [])
        ends = [*self.handed[1:], until]
        return [(at, self.user_id, sum(at <= reply < end for reply in arrivals))
                for at, end in zip(self.handed, ends, strict=True)]


def run(kind: str, clients: int, think: tuple[float, float], seed: int) -> None:
    folder = Path(tempfile.mkdtemp())
    url, drop = _database(kind, folder)
    app = build_app(Settings(database_url=url, program=SAMPLE, _env_file=None),
                    clock=SystemClock(), migrate=True)
    rng = random.Random(seed)
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    try:
        with FakeTelegramAPI(max_poll_wait=1.0) as api, \
                FakeSlackAPI(channels=(TEAM,)) as slack:
            codes = [enrol_client(app.rt, program_id="business_12w", name=f"Client {n}",
                                  zone="Europe/Berlin", coach="Casey Coach").code
                     for n in range(clients)]
            port = free_port()
            bot = BotProcess(url, api, folder, extra_env={
                "COACHBOT_SLACK_BOT_TOKEN": slack.token, "COACHBOT_SLACK_API_URL":
                slack.base_url, "COACHBOT_SLACK_SIGNING_SECRET": "bench-secret",
                "COACHBOT_HTTP_PORT": str(port),
                "COACHBOT_SLACK_TEAM_CHANNEL": TEAM})
            bot.start()
            try:
                inbox = Inbox(api)
                setup = [Client(api, inbox, FIRST_USER + n, [f"/start {code}", *INTAKE],
                                None, rng, (0, 0)) for n, code in enumerate(codes)]
                _until_done(inbox, setup)
                script = [*CHECKIN]
                timed = [Client(api, inbox, FIRST_USER + n, script, None, rng, think)
                         for n in range(clients - 1)]
                # A low score opens the blocker question, which the keyword rule reads.
                last = Client(api, inbox, FIRST_USER + clients - 1, ["/checkin", "3"], None,
                              rng, think)
                _until_done(inbox, [*timed, last])
                posts_before = _team_posts(slack)
                handed = time.monotonic()
                api.inject_message(last.user_id, ESCALATING, first_name="Client")
                escalation = until(lambda: _team_posts(slack)[len(posts_before):],
                                   "the escalation in the team channel")[0].at - handed
                rss = _peak_rss_mb(bot.process.pid)  # type: ignore[union-attr]
            except AssertionError:
                print("\n".join(bot.lines[-40:]))
                raise
            finally:
                bot.stop()
            latencies = [x for c in [*timed, last] for x in c.latencies]
            messages = [message for c in [*timed, last]
                        for message in c.replies_each(until=handed)]
            print(f"{kind}: {clients} clients, {len(latencies)} messages timed, think "
                  f"{think[0]:g}-{think[1]:g} s: reply latency {_quantiles(latencies)}; 429s "
                  f"from the fake {api.flood_errors()}; escalation in the team channel after "
                  f"{escalation * 1000:.0f} ms; bot peak RSS {rss:.0f} MB", flush=True)
            print(f"at Telegram's limits, a sender taking no time of its own: "
                  f"{_quantiles(at_the_limits(messages))} sending the replies in the order they "
                  f"are due; {_quantiles(at_the_limits(messages, follow_ups=False))} with no "
                  f"second reply in the way (no sender does better)", flush=True)
    finally:
        app.db.dispose()
        drop()


def at_the_limits(messages: list[tuple[float, int, int]], *, overall: int = 30,
                  period: float = 1.0, per_chat: float = 1.0,
                  follow_ups: bool = True) -> list[float]:
    """Each message's wait for its first reply if a sender that takes no time sent the
    replies at Telegram's limits (`overall` a `period`, a chat's messages `per_chat` apart),
    each as soon as it is due and the limits allow, the earliest due first.

    `messages`: (when each was handed over, its chat, how many replies it got), as
    measured. A message's replies are due when it is handed over, each after the first also
    a pace after the one before; `follow_ups=False` sends only the first replies: the floor
    no sender can go below, whatever it sends first.
    """
    queues: dict[int, list[tuple[int, float]]] = {}  # chat -> (message, handed) per reply
    for n, (at, chat, replies) in enumerate(sorted(messages)):
        queues.setdefault(chat, []).extend([(n, at)] * (replies if follow_ups else 1))
    waits: dict[int, float] = {}
    last: dict[int, float] = {}  # chat -> its latest send
    sent: list[float] = []
    while queues:
        # The reply due first of every chat's next one; it goes once the window allows.
        due, chat = min((max(queue[0][1], last.get(chat, -per_chat) + per_chat), chat)
                        for chat, queue in queues.items())
        at = max(due, sent[-1] if sent else due,
                 sent[-overall] + period if len(sent) >= overall else due)
        n, handed_at = queues[chat].pop(0)
        waits.setdefault(n, at - handed_at)
        sent.append(at)
        last[chat] = at
        if not queues[chat]:
            del queues[chat]
    return list(waits.values())


def _quantiles(seconds: list[float]) -> str:
    ms = sorted(x * 1000 for x in seconds)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return f"p50 {q[49]:.0f} ms, p95 {q[94]:.0f} ms, p99 {q[98]:.0f} ms, max {ms[-1]:.0f} ms"


def _until_done(inbox: Inbox, clients: list[Client]) -> None:
    deadline = time.monotonic() + 600
    while not all(c.done for c in clients):
        inbox.refresh()
        now = time.monotonic()
        for c in clients:
            c.step(now)
        if now > deadline:
            raise SystemExit("the bot stopped answering")
        time.sleep(0.005)  # the fakes run in their own threads; this loop only watches


def _peak_rss_mb(pid: int) -> float:
    """The bot process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _team_posts(slack: FakeSlackAPI) -> list:
    return [c for c in slack.recorded if c.method == "chat.postMessage"
            and c.params.get("channel") == TEAM]


def _database(kind: str, folder: Path):
    if kind == "sqlite":
        return f"sqlite:///{folder}/bench.db", lambda: None
    from benchmarks.inbound import fresh_postgres

    url, admin, name = fresh_postgres()

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--think", default="1.0-3.0", help="seconds between reply and answer")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    low, high = (float(x) for x in args.think.split("-"))
    print(f"machine: {machine()}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    run(args.database, args.clients, (low, high), args.seed)


if __name__ == "__main__":
    main()
