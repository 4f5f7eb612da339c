"""Peer comparison: a naive python-telegram-bot build beside coachbot's Telegram update path.

    python benchmarks/peer_ptb.py [--clients 300] [--database sqlite|postgresql] [--profile]

Both are fed the same synthetic Telegram updates (wire JSON): N clients each doing one
weekly check-in of the sample program (/checkin and five answers), interleaved across
clients, after one warm-up client's check-in (not timed). Each update is timed from its
JSON until its handling is done, `telegram.Update.de_json` included:

- the naive build (benchmarks/naive_bot.py): `await application.process_update(update)`;
  its handler commits the answer and sends the reply over HTTP to the fake Bot API server
  (tests/fakes/telegram_api.py) before it returns. Run twice: on a SQLite file with
  SQLModel's defaults, and with coachbot's SQLite settings (WAL, synchronous=NORMAL).
- coachbot (`coachbot_path`): the update's answer, state and replies are committed in one
  transaction, the replies queued in the outbox. After the timed part the outbox is drained
  to the same fake server by coachbot's Telegram sender, and every chat is checked to have
  received each of its replies once.

Then both once more through polling, as each runs by default: the same check-ins wait at
the fake and are fetched with getUpdates (batches of 100). The naive bot runs PTB's Updater
and handles one update at a time (PTB's default); coachbot runs its own Poller, which handles
a batch's chats at once (8 in hand) and confirms only what is stored. Timed from the start
of polling until the last update is handled; the delivery check and the updates left
unconfirmed at the fake are printed beside.

In the first part neither side polls: both measure handling. Each side runs in a fresh
spawned process, so its peak RSS is its own; the fake server runs in this (parent) process.
coachbot runs on SQLite or PostgreSQL (--database; the URL from COACHBOT_BENCH_DATABASE_URL,
a database of its own created and dropped); the naive build always on SQLite. Setting
coachbot's clients up (enrolment, joining and intake through the same update path) is not
timed. --profile runs coachbot's side once more under cProfile and prints where its time
goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import inspect
import io
import multiprocessing
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine, peak_rss_mb

TOKEN = "7000000001:AAbenchmark-token"
FIRST_CHAT = 6_000_000_001
# The polled runs' first update ids: a side's own, since a long poll the other left parked at
# the fake drops the updates below its offset when new ones arrive (as Telegram would).
POLLED_FIRST_UPDATE = {"naive": 40_000_000, "coachbot": 50_000_000}
PROBE_CHAT = 5_999_999_999  # the sendMessage round-trip probe writes here, no client does
CHECKIN = ["/checkin", "8", "2500", "yes", "sales", "all good"]
INTAKE = ["yes", "Grow the business", "12000", "6", "10", "/skip"]
# What the naive bot sends for that check-in: the intro and the first question, then
# one message per answer (the next question, then the thanks).
NAIVE_REPLIES = 7
THANKS = "Thanks, Client"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday 08:00 UTC, as benchmarks/inbound.py
PG = os.environ.get("COACHBOT_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")

Handle = Callable[[dict], Awaitable[None] | None]


# --- the updates ------------------------------------------------------------------------------

def message_update(update_id: int, chat: int, message_id: int, text: str) -> dict:
    """A private text message as Telegram delivers it (commands carry their entity)."""
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": {"id": chat, "is_bot": False, "first_name": "Client",
                 "last_name": str(chat - FIRST_CHAT), "language_code": "en"},
        "chat": {"id": chat, "first_name": "Client", "last_name": str(chat - FIRST_CHAT),
                 "type": "private"},
        "date": int(START.timestamp()),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"offset": 0, "length": len(text.split()[0]),
                                "type": "bot_command"}]
    return {"update_id": update_id, "message": message}


def checkin_updates(chats: list[int], first_update_id: int) -> list[dict]:
    """Each chat's check-in, interleaved: everyone's /checkin, then everyone's first answer..."""
    updates = []
    for n, text in enumerate(CHECKIN):
        for chat in chats:
            updates.append(message_update(first_update_id + len(updates), chat, 100 + n, text))
    return updates


async def feed(handle: Handle, updates: list[dict]) -> tuple[list[float], float]:
    """Each update in turn; (latency of each, seconds for all)."""
    latencies = []
    started = time.perf_counter()
    for data in updates:
        t0 = time.perf_counter()
        done = handle(data)
        if inspect.isawaitable(done):
            await done
        latencies.append(time.perf_counter() - t0)
    return latencies, time.perf_counter() - started


def count_sql(engine) -> Callable[[], tuple[int, int, int]]:
    """From now on, on `engine`: (SQL statements, commits, connections taken from the pool).

    Each connection taken from the pool is one session; on PostgreSQL it is pinged first.
    """
    import sqlalchemy as sa

    seen = [0, 0, 0]

    def counter(index: int) -> Callable[..., None]:
        def count(*_args) -> None:
            seen[index] += 1
        return count

    sa.event.listen(engine, "before_cursor_execute", counter(0))
    sa.event.listen(engine, "commit", counter(1))
    sa.event.listen(engine.pool, "checkout", counter(2))
    return lambda: (seen[0], seen[1], seen[2])


def per_message(counts: tuple[int, int, int], messages: int) -> dict[str, float]:
    return {f"{name}_per_message": n / messages
            for name, n in zip(("sql", "commits", "sessions"), counts, strict=True)}


def summary(latencies: list[float], elapsed: float) -> dict[str, float]:
    q = statistics.quantiles(latencies, n=100)
    return {"messages": len(latencies), "per_second": len(latencies) / elapsed,
            "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000, "seconds": elapsed}


# --- the naive build ----------------------------------------------------------------------------

def naive_side(api_url: str, settings: str, warmup: list[dict], timed: list[dict]) -> dict:
    """Run the naive bot on one SQLite setting ("default" or "coachbot"); its figures."""
    return asyncio.run(_naive(api_url, settings, warmup, timed))


async def _naive(api_url: str, settings: str, warmup: list[dict], timed: list[dict]) -> dict:
    from sqlmodel import Session, func, select
    from telegram import Update

    from benchmarks import naive_bot

    tmp = tempfile.mkdtemp(prefix="naive-ptb-")
    application, engine = naive_application(api_url, settings, tmp)
    await application.initialize()
    await application.start()  # as run_polling does: the persistence updater runs

    async def handle(data: dict) -> None:
        await application.process_update(Update.de_json(data, application.bot))

    # One sendMessage round trip to the fake, to read the figures by (not timed below).
    trips = []
    for _ in range(50):
        t0 = time.perf_counter()
        await application.bot.send_message(PROBE_CHAT, "ping")
        trips.append(time.perf_counter() - t0)
    await feed(handle, warmup)
    rss_before = peak_rss_mb()
    sql = count_sql(engine)
    latencies, elapsed = await feed(handle, timed)
    counts = sql()
    t0 = time.perf_counter()
    await application.stop()
    await application.shutdown()  # PicklePersistence writes its file here (and every 60 s)
    shutdown = time.perf_counter() - t0
    with Session(engine) as s:
        rows = s.exec(select(func.count()).select_from(naive_bot.CheckinAnswer)).one()
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    return {**summary(latencies, elapsed), "rss_before": rss_before, "rss": peak_rss_mb(),
            **per_message(counts, len(timed)), "answers_stored": rows,
            "round_trip_ms": statistics.median(trips) * 1000, "shutdown_ms": shutdown * 1000}


def naive_application(api_url: str, settings: str, tmp: str):
    """The naive bot on a SQLite file in `tmp` with SQLModel's defaults ("default") or
    coachbot's settings ("coachbot"); (its PTB Application, its engine)."""
    from benchmarks import naive_bot

    path = f"{tmp}/naive.db"
    if settings == "default":
        engine = naive_bot.default_engine(path)
    else:
        from storage.db import make_engine

        engine = make_engine(f"sqlite:///{path}")  # WAL, synchronous=NORMAL
    application = naive_bot.build_application(
        TOKEN, base_url=f"{api_url}/bot", persistence_file=f"{tmp}/naive.pickle",
        db_engine=engine)
    return application, engine


def naive_polled_side(api_url: str, warmup: list[dict], total: int) -> dict:
    """The naive bot (SQLModel's defaults) as `run_polling` runs it: PTB's Updater fetches
    the `total` updates waiting at the fake, its Application handles them one at a time."""
    return asyncio.run(_naive_polled(api_url, warmup, total))


async def _naive_polled(api_url: str, warmup: list[dict], total: int) -> dict:
    from telegram import Update
    from telegram.ext import TypeHandler

    tmp = tempfile.mkdtemp(prefix="naive-ptb-")
    application, engine = naive_application(api_url, "default", tmp)
    handled, done = [0], asyncio.Event()

    async def count(_update: Update, _context) -> None:
        # A later group than the conversation's: runs once the update's answer is stored
        # and its reply sent.
        handled[0] += 1
        if handled[0] == total:
            done.set()

    application.add_handler(TypeHandler(Update, count), group=1)
    await application.initialize()
    await application.start()
    await feed(lambda data: application.process_update(Update.de_json(data, application.bot)),
               warmup)
    handled[0] = 0
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    await application.updater.start_polling(poll_interval=0.0, timeout=10)
    await done.wait()
    elapsed = time.perf_counter() - started
    await application.updater.stop()  # confirms the last batch to the fake
    await application.stop()
    await application.shutdown()
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)
    return {"messages": total, "per_second": total / elapsed, "seconds": elapsed,
            "rss_before": rss_before, "rss": peak_rss_mb()}


# --- coachbot: the only code here that knows coachbot ---------------------------------------

def coachbot_path(app, bot) -> Callable[[dict], Awaitable[None]]:
    """coachbot's Telegram update path: update JSON in; once the returned coroutine is done,
    the update's answers, conversation state and queued replies are committed.

    The ONE call into coachbot on the timed path (benchmarks/completing_message.py uses it
    too). coachbot's internals are being reworked: adapt this function, nothing else.
    """
    from telegram import Update

    from bot.telegram.updates import TelegramAdapter

    adapter = TelegramAdapter(app)

    async def handle(data: dict) -> None:
        await adapter.handle(Update.de_json(data, bot), bot)

    return handle


def coachbot_app(api_url: str, db_url: str):
    """coachbot's app on `db_url` (migrated), its clock stopped at START."""
    from bot.composition import build_app
    from bot.settings import BUNDLED_PROGRAMS, Settings
    from scheduler.clock import ManualClock

    settings = Settings(database_url=db_url, program=BUNDLED_PROGRAMS, telegram_token=TOKEN,
                        telegram_api_url=api_url, _env_file=None)
    return build_app(settings, clock=ManualClock(START), migrate=True)


def invite(app, chat: int) -> str:
    """Enrol the client of `chat` in the sample program; their invite code."""
    from services.enrolment import enrol_client

    return enrol_client(app.rt, program_id="business_12w", name=f"Client {chat - FIRST_CHAT}",
                        zone="Europe/Berlin", coach="Casey Coach").code


async def drain_outbox(app, bot) -> tuple[int, float]:
    """Send everything queued to the fake with coachbot's Telegram sender; (sent, seconds).

    No flood limiter (the fake does not enforce Telegram's limits here, see
    benchmarks/telegram_send.py for that) and no per-chat pause: this only delivers.
    """
    from sqlmodel import select

    from bot.telegram.telegram_sender import TelegramSender
    from storage.db import session
    from storage.models import OutboxMessage

    sender = TelegramSender(bot, rt=app.rt, per_chat_rate=1000)
    sent, started = 0, time.perf_counter()
    while time.perf_counter() - started < 300:
        batch = await sender.drain()
        sent += batch
        if batch:
            continue
        with session(app.db) as s:
            if not s.exec(select(OutboxMessage.id).where(
                    OutboxMessage.channel == "telegram",
                    OutboxMessage.status == "queued")).first():
                break
        app.clock.advance(timedelta(seconds=30))  # a retry is waiting: bring it due
    return sent, time.perf_counter() - started


def outbox_per_chat(app) -> dict[int, dict[str, int]]:
    """Telegram outbox rows per chat and status."""
    import sqlalchemy as sa

    from storage.db import session
    from storage.models import OutboxMessage

    counts: dict[int, dict[str, int]] = {}
    with session(app.db) as s:
        for address, status, n in s.execute(
                sa.select(OutboxMessage.address, OutboxMessage.status, sa.func.count())
                .where(OutboxMessage.channel == "telegram")
                .group_by(OutboxMessage.address, OutboxMessage.status)):
            counts.setdefault(int(address), {})[status] = n
    return counts


def freeze() -> None:
    """What `coachbot run` does once it has started (bot/serve.py)."""
    from bot.serve import freeze_startup_objects

    freeze_startup_objects()


# --- coachbot's side --------------------------------------------------------------------------

def coachbot_side(api_url: str, db_url: str, chats: list[int], warmup: list[dict],
                  timed: list[dict], profile: bool = False) -> dict:
    """Set N clients up through the update path, run the check-ins, drain; its figures."""
    return asyncio.run(_coachbot(api_url, db_url, chats, warmup, timed, profile))


async def coachbot_ready(api_url: str, db_url: str, chats: list[int], warmup: list[dict]):
    """coachbot with every client enrolled, joined by deep link and through intake, and the
    warm-up client's check-in done (none of it timed); (app, bot, its update path)."""
    from telegram import Bot

    app = coachbot_app(api_url, db_url)
    bot = Bot(TOKEN, base_url=f"{api_url}/bot", base_file_url=f"{api_url}/file/bot")
    await bot.initialize()
    handle = coachbot_path(app, bot)
    setup: list[dict] = []
    for chat in chats:
        setup.append(message_update(len(setup) + 1, chat, 1, f"/start {invite(app, chat)}"))
    for n, text in enumerate(INTAKE):
        for chat in chats:
            setup.append(message_update(len(setup) + 1, chat, 2 + n, text))
    await feed(handle, setup)
    await drain_outbox(app, bot)
    await feed(handle, warmup)
    freeze()
    return app, bot, handle


def coachbot_polled_side(api_url: str, db_url: str, chats: list[int], warmup: list[dict],
                         total: int) -> dict:
    """coachbot as `coachbot run` polls: its Poller fetches the `total` updates waiting at
    the fake (batches of 100, chats at once, 8 in hand) and confirms what is stored."""
    return asyncio.run(_coachbot_polled(api_url, db_url, chats, warmup, total))


async def _coachbot_polled(api_url: str, db_url: str, chats: list[int], warmup: list[dict],
                           total: int) -> dict:
    from bot.telegram.polling import Poller
    from bot.telegram.telegram_channel import ALLOWED_UPDATES
    from bot.telegram.updates import TelegramAdapter

    app, bot, _ = await coachbot_ready(api_url, db_url, chats, warmup)
    adapter = TelegramAdapter(app)
    stop, handled, finished = asyncio.Event(), [0], [0.0]

    async def handle(update) -> None:  # as TelegramChannel.handle, counted
        await adapter.handle(update, bot)
        handled[0] += 1
        if handled[0] == total:
            finished[0] = time.perf_counter()
            stop.set()

    rss_before = peak_rss_mb()
    started = time.perf_counter()
    await Poller(bot, handle, allowed_updates=ALLOWED_UPDATES, timeout=10).run(stop)
    elapsed = finished[0] - started
    sent, _ = await drain_outbox(app, bot)
    per_chat = outbox_per_chat(app)
    await bot.shutdown()
    app.db.dispose()
    return {"messages": total, "per_second": total / elapsed, "seconds": elapsed,
            "rss_before": rss_before, "rss": peak_rss_mb(), "outbox": per_chat, "sent": sent}


async def _coachbot(api_url: str, db_url: str, chats: list[int], warmup: list[dict],
                    timed: list[dict], profile: bool) -> dict:
    app, bot, handle = await coachbot_ready(api_url, db_url, chats, warmup)
    rss_before = peak_rss_mb()
    sql = count_sql(app.db)
    profiler = worker = None
    if profile:
        # The handler runs in a worker thread (asyncio.to_thread): profile that thread too.
        profiler, worker = cProfile.Profile(), cProfile.Profile()
        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=1, initializer=worker.enable))
        profiler.enable()
    latencies, elapsed = await feed(handle, timed)
    counts = sql()
    stats = None
    if profiler is not None and worker is not None:
        profiler.disable()
        await asyncio.to_thread(worker.disable)
        stats = profile_text(profiler, worker, elapsed)
    sent, drain_seconds = await drain_outbox(app, bot)
    per_chat = outbox_per_chat(app)
    await bot.shutdown()
    app.db.dispose()
    return {**summary(latencies, elapsed), "rss_before": rss_before, "rss": peak_rss_mb(),
            **per_message(counts, len(timed)), "outbox": per_chat, "sent": sent,
            "drain_per_second": sent / drain_seconds if drain_seconds else 0.0,
            "profile": stats}


def profile_text(main: cProfile.Profile, worker: cProfile.Profile, elapsed: float) -> str:
    """Where the timed part's time went: the top cumulative entries of the worker thread that
    runs the handler (all, then coachbot's own code only) and of the event loop's thread."""
    ours = f"{Path(__file__).resolve().parent.parent}/(bot|storage|conversations|services)/"
    parts = [f"profile of the timed part ({elapsed:.2f} s wall under cProfile)"]
    for title, prof, restrictions in (
            ("worker thread (asyncio.to_thread: the handler), top 10 cumulative", worker, (12,)),
            ("worker thread, coachbot's own code, top 10 cumulative", worker, (ours, 10)),
            ("event loop thread (de_json, the adapter's awaits), top 10 cumulative", main,
             (r"telegram|peer_ptb|adapter|to_thread", 10))):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(*restrictions)
        body = out.getvalue()
        parts.append(f"--- {title} ---\n{body[body.index('ncalls'):].rstrip()}")
    return "\n\n".join(parts)


# --- running it ---------------------------------------------------------------------------------

def in_child(fn, *args) -> dict:
    """Run fn(*args) in a fresh spawned process; its result (with that process's peak RSS)."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        return pool.apply(fn, args)


def fresh_database(kind: str) -> tuple[str, Callable[[], None]]:
    """An empty database for coachbot and how to drop it (as tests/conftest.py postgres_url)."""
    if kind == "sqlite":
        tmp = tempfile.mkdtemp(prefix="coachbot-peer-")
        return f"sqlite:///{tmp}/coachbot.db", lambda: shutil.rmtree(tmp, ignore_errors=True)
    import sqlalchemy as sa

    from storage.db import make_engine

    admin = make_engine(PG).execution_options(isolation_level="AUTOCOMMIT")
    name = f"coachbot_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(make_engine(PG).url).set(database=name)

    def drop() -> None:
        with admin.connect() as c:
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def coachbot_in_child(api, database: str, side, chats: list[int], *args) -> dict:
    """Run one of coachbot's sides in a child on a fresh database of `database`; its figures,
    with the check of what its outbox sent against what each chat received at the fake."""
    url, drop = fresh_database(database)
    try:
        r = in_child(side, api.url, url, chats, *args)
    finally:
        drop()
    outbox = r.pop("outbox")
    r["check"] = delivered(api, chats, lambda chat: outbox.get(chat, {}).get("sent", 0))
    r["check"]["unsent"] = sum(n for counts in outbox.values()
                               for status, n in counts.items() if status != "sent")
    return r


def delivered(api, chats: list[int], expected: Callable[[int], int]) -> dict[str, int]:
    """Compare what each chat received at the fake with what it should have."""
    lost = duplicated = unfinished = 0
    for chat in chats:
        got = api.sent_messages(chat)
        lost += max(0, expected(chat) - len(got))
        duplicated += max(0, len(got) - expected(chat))
        unfinished += not (got and got[-1]["text"].startswith(THANKS))
    return {"lost": lost, "duplicated": duplicated, "unfinished": unfinished}


def line(label: str, r: dict) -> str:
    return (f"{label:<38} {r['per_second']:>7,.0f} msg/s  p50 {r['p50_ms']:6.2f} ms  "
            f"p99 {r['p99_ms']:6.2f} ms  per msg {r['sql_per_message']:4.1f} SQL, "
            f"{r['commits_per_message']:.1f} commits, {r['sessions_per_message']:.1f} sessions  "
            f"peak RSS {r['rss']:4.0f} MB ({r['rss_before']:.0f} before the timed part)")


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--profile", action="store_true",
                        help="also profile coachbot's side (a separate, untimed run)")
    args = parser.parse_args()
    os.environ.setdefault("COACHBOT_LOG_LEVEL", "WARNING")
    from tests.fakes.telegram_api import FakeTelegramAPI

    chats = [FIRST_CHAT + i for i in range(1, args.clients + 1)]
    warm = [FIRST_CHAT]  # the warm-up client
    warmup = checkin_updates(warm, 10_000_000)
    timed = checkin_updates(chats, 20_000_000)
    print(f"machine: {machine()}")
    print(f"{args.clients} clients x {len(CHECKIN)} check-in messages ({len(timed):,} updates), "
          f"interleaved, after one warm-up client; coachbot on {args.database}, "
          f"the naive build on SQLite; {load()}")
    results: dict[str, dict] = {}
    # Both sides' tokens and chats, as Telegram would know them; no flood limits: this measures
    # handling (benchmarks/telegram_send.py measures sending under them).
    with FakeTelegramAPI(token=TOKEN, flood_limits=False,
                         chats=(*warm, *chats, PROBE_CHAT)) as api:
        for settings, label in (("default", "naive PTB, SQLite defaults"),
                                ("coachbot", "naive PTB, coachbot's SQLite settings")):
            api.clear_calls()
            r = in_child(naive_side, api.url, settings, warmup, timed)
            r["check"] = delivered(api, warm + chats, lambda _chat: NAIVE_REPLIES)
            results[label] = r
        api.clear_calls()
        results[f"coachbot ({args.database})"] = coachbot_in_child(
            api, args.database, coachbot_side, warm + chats, warmup, timed)
        # Through polling: the same check-ins waiting at the fake, fetched with getUpdates.
        polled_results: dict[str, dict] = {}
        for side, label in (("naive", "naive PTB polling, SQLite defaults"),
                            ("coachbot", f"coachbot's poller ({args.database})")):
            api.clear_calls()
            polled = checkin_updates(chats, POLLED_FIRST_UPDATE[side])
            for update in polled:
                api.inject_update(update)
            if side == "naive":
                r = in_child(naive_polled_side, api.url, warmup, len(polled))
                r["check"] = delivered(api, warm + chats, lambda _chat: NAIVE_REPLIES)
            else:
                r = coachbot_in_child(api, args.database, coachbot_polled_side, warm + chats,
                                      warmup, len(polled))
            r["check"]["unconfirmed"] = len(api.pending_updates())
            polled_results[label] = r
        profile = None
        if args.profile:
            api.clear_calls()
            profile = coachbot_in_child(api, args.database, coachbot_side, warm + chats, warmup,
                                        timed, True)["profile"]

    for label, r in results.items():
        print(line(label, r))
    for label, r in results.items():
        c = r["check"]
        extra = (f"; naive: one sendMessage round trip to the fake {r['round_trip_ms']:.2f} ms "
                 f"(median), {r['answers_stored']:,} answers stored, persistence written at "
                 f"shutdown in {r['shutdown_ms']:.0f} ms" if "round_trip_ms" in r else
                 f"; outbox drained after the timed part at {r['drain_per_second']:,.0f} msg/s, "
                 f"{r['sent']:,} sent, {c['unsent']} not sent")
        print(f"  {label}: delivery check: {c['lost']} lost, {c['duplicated']} duplicated, "
              f"{c['unfinished']} chats without the closing thanks{extra}")
    ours = results[f"coachbot ({args.database})"]
    for label, r in results.items():
        if label.startswith("naive"):
            print(f"ratio coachbot/({label}): throughput "
                  f"{ours['per_second'] / r['per_second']:.2f}, "
                  f"p50 {ours['p50_ms'] / r['p50_ms']:.2f}, "
                  f"p99 {ours['p99_ms'] / r['p99_ms']:.2f}, "
                  f"peak RSS {ours['rss'] / r['rss']:.2f}")
    print("through polling (getUpdates from the fake; each as it runs by default):")
    for label, r in polled_results.items():
        c = r["check"]
        print(f"{label:<38} {r['per_second']:>7,.0f} msg/s  ({r['seconds']:.2f} s)  "
              f"peak RSS {r['rss']:4.0f} MB; {c['lost']} lost, {c['duplicated']} duplicated, "
              f"{c['unfinished']} chats without the closing thanks, "
              f"{c['unconfirmed']} updates left unconfirmed")
    naive_polled, ours_polled = polled_results.values()
    print(f"ratio coachbot's poller/naive PTB polling: throughput "
          f"{ours_polled['per_second'] / naive_polled['per_second']:.2f}")
    print(f"{load()}; parent process (fake Bot API server) peak RSS {peak_rss_mb():.0f} MB")
    if profile:
        print(profile)
    answers = (len(chats) + 1) * (len(CHECKIN) - 1)
    failed = [label for label, r in results.items()
              if any(r["check"].values()) or r.get("answers_stored", answers) != answers]
    if failed:
        sys.exit(f"FAILED: replies lost, duplicated or unfinished, or answers missing: {failed}")


if __name__ == "__main__":
    main()
