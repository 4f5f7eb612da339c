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
and the machine with its load.
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
            latencies = sorted(x * 1000 for c in [*timed, last] for x in c.latencies)
            q = statistics.quantiles(latencies, n=100, method="inclusive")
            print(f"{kind}: {clients} clients, {len(latencies)} messages timed, think "
                  f"{think[0]:g}-{think[1]:g} s: reply latency p50 {q[49]:.0f} ms, p95 "
                  f"{q[94]:.0f} ms, p99 {q[98]:.0f} ms, max {latencies[-1]:.0f} ms; 429s from "
                  f"the fake {api.flood_errors()}; escalation in the team channel after "
                  f"{escalation * 1000:.0f} ms; bot peak RSS {rss:.0f} MB", flush=True)
    finally:
        app.db.dispose()
        drop()


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
