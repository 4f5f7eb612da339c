"""The message that completes a weekly check-in: a client with 1 week of history against 52.

    python benchmarks/completing_message.py [--clients 200] [--database sqlite|postgresql]

Seeds one database by bulk insert (as benchmarks/digest.py does) with two groups of
clients on the sample program: each client with their intake and 1 or 52 completed weekly
check-ins (five answers each), the check-in touchpoint rows the scheduler leaves behind
(status "done") and the metric values earlier evaluations stored; then each client is
evaluated once as the daily sweep does (which stores their running aggregate), so that
today's evaluation finds the steady state it would find in production. The seeded answers fire
no rule (confidence 6-7 from a baseline of 6, revenue rising), and nor does today's.

Every client then starts today's check-in through coachbot's Telegram update path and
answers up to the last question (not timed); the last answer, which completes the check-in
and so recomputes the client's metrics and evaluates the rules in the same transaction, is
timed, alternating between the two groups so both see the same machine. The first client
of each group warms up and is not counted. Prints the median and p99 of each group, their
ratio, the SQL statements and the metric values stored per completing message.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa

from benchmarks.machine import machine, peak_rss_mb
from benchmarks.peer_ptb import (
    FIRST_CHAT,
    START,
    TOKEN,
    coachbot_app,
    coachbot_path,
    count_sql,
    freeze,
    fresh_database,
    load,
    message_update,
)

CHECKIN = ["/checkin", "8", "2500", "yes", "sales"]
COMPLETING = "all good"  # the optional note, the check-in's last question
ZONE = "Europe/Berlin"
COACH_ID = 1
HISTORIES = (1, 52)


def due(weeks_ago: int) -> datetime:
    """The check-in slot (Monday 09:00 in the client's zone) `weeks_ago` weeks before START."""
    day = (START - timedelta(weeks=weeks_ago)).astimezone(ZoneInfo(ZONE)).date()
    return datetime.combine(day, clock_time(9), tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


def seed(engine: sa.Engine, groups: dict[int, list[int]]) -> None:
    """Each chat's client with `weeks` weeks of completed check-ins, as the bot stores them."""
    from sqlmodel import Session

    from storage.models import (
        Answer,
        Consent,
        Conversation,
        Enrolment,
        Identity,
        MetricValue,
        Person,
        PlannedTouchpoint,
    )

    people = [{"id": COACH_ID, "name": "Casey Coach", "role": "coach", "timezone": ZONE,
               "created_at": START}]
    identities, enrolments, consents, conversations, answers = [], [], [], [], []
    touchpoints, metrics = [], []

    def conversation(eid: int, flow: str, at: datetime) -> int:
        conversations.append({"id": len(conversations) + 1, "enrolment_id": eid,
                              "flow_id": flow, "state": {}, "started_at": at,
                              "updated_at": at + timedelta(minutes=6),
                              "closed_at": at + timedelta(minutes=6), "outcome": "completed"})
        return len(conversations)

    def answer(eid: int, cid: int, question: str, value, raw: str,
               at: datetime) -> None:
        number = float(value) if isinstance(value, int | float) else None
        answers.append({"enrolment_id": eid, "conversation_id": cid,
                        "question_id": question, "value": {"v": value}, "number": number,
                        "raw_text": raw, "answered_at": at})

    def metric(eid: int, metric_id: str, value: float, at: datetime) -> None:
        metrics.append({"enrolment_id": eid, "metric_id": metric_id, "value": value, "at": at})

    for weeks, chats in groups.items():
        for chat in chats:
            pid = eid = chat - FIRST_CHAT + 2
            joined = due(weeks) - timedelta(days=2)
            people.append({"id": pid, "name": f"Client {chat - FIRST_CHAT}", "role": "client",
                           "timezone": ZONE, "created_at": joined})
            identities.append({"person_id": pid, "channel": "telegram", "address": str(chat)})
            enrolments.append({"id": eid, "person_id": pid, "program_id": "business_12w",
                               "coach_id": COACH_ID, "stage": "active", "status": "active",
                               "checkin_day": "mon", "checkin_time": "09:00",
                               "enrolled_at": joined, "stage_started_at": joined,
                               "joined_at": joined})
            consents.append({"enrolment_id": eid, "given": True, "statement_checksum": "0" * 64,
                             "at": joined})
            cid = conversation(eid, "intake", joined)
            for n, (question, value, raw) in enumerate((
                    ("consent", True, "yes"), ("goal", "Grow the business", "Grow the business"),
                    ("revenue_baseline", 12000, "12000"), ("confidence_baseline", 6, "6"),
                    ("hours_per_week", 10, "10"))):
                answer(eid, cid, question, value, raw, joined + timedelta(minutes=n))
            metric(eid, "confidence.baseline", 6.0, joined + timedelta(minutes=3))
            for w in range(weeks):
                at = due(weeks - w)
                year, iso_week, _ = at.astimezone(ZoneInfo(ZONE)).isocalendar()
                touchpoints.append({"enrolment_id": eid, "touchpoint_id": "weekly_checkin",
                                    "occurrence": f"{year}-W{iso_week:02d}", "due_at": at,
                                    "status": "done", "done_at": at, "attempts": 1,
                                    "kind": "send"})
                cid = conversation(eid, "weekly_checkin", at)
                confidence, revenue = 6 + w % 2, 1000 + 20 * w
                for n, (question, value, raw) in enumerate((
                        ("confidence", confidence, str(confidence)),
                        ("revenue", revenue, str(revenue)), ("did_outreach", True, "yes"),
                        ("focus", "sales", "sales"), ("note", "ok", "ok"))):
                    answer(eid, cid, question, value, raw,
                           at + timedelta(minutes=1 + n))
                metric(eid, "confidence", float(confidence), at + timedelta(minutes=1))
                metric(eid, "revenue", float(revenue), at + timedelta(minutes=2))
                metric(eid, "outreach_done", 1.0, at + timedelta(minutes=3))
            last = due(1) + timedelta(minutes=6)
            for metric_id, value in (("response_rate", 1.0), ("streak", float(weeks)),
                                     ("days_since_reply", 0.0)):
                metric(eid, metric_id, value, last)
            # Today's check-in, sent by the scheduler at 09:00 and not answered yet.
            year, iso_week, _ = START.astimezone(ZoneInfo(ZONE)).isocalendar()
            touchpoints.append({"enrolment_id": eid, "touchpoint_id": "weekly_checkin",
                                "occurrence": f"{year}-W{iso_week:02d}", "due_at": due(0),
                                "status": "done", "done_at": due(0), "attempts": 1,
                                "kind": "send"})
    with Session(engine) as s, s.begin():
        for model, rows in ((Person, people), (Identity, identities), (Enrolment, enrolments),
                            (Consent, consents), (Conversation, conversations),
                            (Answer, answers), (PlannedTouchpoint, touchpoints),
                            (MetricValue, metrics)):
            for chunk in range(0, len(rows), 5000):
                s.execute(sa.insert(model), rows[chunk:chunk + 5000])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            for table in ("person", "enrolment", "conversation"):  # ids were given above
                c.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
            c.execute(sa.text("ANALYZE"))


def settle(app, groups: dict[int, list[int]]) -> None:
    """The daily sweep's evaluation of every client (it keeps their running aggregates)."""
    from services.decisions import reevaluate

    for chats in groups.values():
        for chat in chats:
            reevaluate(app.rt, chat - FIRST_CHAT + 2)


def stored_rows(engine: sa.Engine, chats: list[int]) -> tuple[int, int]:
    """Metric values and rule firings stored for these chats' enrolments."""
    from storage.models import MetricValue, RuleFiring

    ids = [chat - FIRST_CHAT + 2 for chat in chats]
    with engine.connect() as c:
        return tuple(c.execute(sa.select(sa.func.count()).select_from(model).where(
            model.enrolment_id.in_(ids))).scalar_one() for model in (MetricValue, RuleFiring))


async def measure(db_url: str, clients: int) -> dict:
    from telegram import Bot

    groups = {weeks: [FIRST_CHAT + g * 100_000 + i for i in range(clients + 1)]
              for g, weeks in enumerate(HISTORIES)}
    app = coachbot_app("http://127.0.0.1:9", db_url)  # nothing is sent: no server needed
    seed(app.db, groups)
    settle(app, groups)
    bot = Bot(TOKEN, base_url="http://127.0.0.1:9/bot")  # de_json only: never called
    handle = coachbot_path(app, bot)
    every = [chat for pair in zip(*groups.values(), strict=True) for chat in pair]
    update_id = 1
    for n, text in enumerate(CHECKIN):  # today's check-in up to its last question
        for chat in every:
            await handle(message_update(update_id, chat, 100 + n, text))
            update_id += 1
    freeze()
    before = {weeks: stored_rows(app.db, chats[1:]) for weeks, chats in groups.items()}
    counts = count_sql(app.db)
    times: dict[int, list[float]] = {weeks: [] for weeks in groups}
    sql: dict[int, list[int]] = {weeks: [0, 0, 0] for weeks in groups}
    for k, chat in enumerate(every):
        weeks = HISTORIES[k % len(HISTORIES)]
        first = counts()
        t0 = time.perf_counter()
        await handle(message_update(update_id, chat, 200, COMPLETING))
        elapsed = time.perf_counter() - t0
        update_id += 1
        if k >= len(HISTORIES):  # the first of each group warms up
            times[weeks].append(elapsed * 1000)
            for i, (a, b) in enumerate(zip(first, counts(), strict=True)):
                sql[weeks][i] += b - a
    after = {weeks: stored_rows(app.db, chats[1:]) for weeks, chats in groups.items()}
    app.db.dispose()
    result = {}
    for weeks, samples in times.items():
        q = statistics.quantiles(samples, n=100)
        result[weeks] = {"median": statistics.median(samples), "p99": q[98],
                         "n": len(samples), "sql": [n / len(samples) for n in sql[weeks]],
                         "metrics": (after[weeks][0] - before[weeks][0]) / len(samples),
                         "firings": after[weeks][1] - before[weeks][1]}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="clients per history length")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    os.environ.setdefault("COACHBOT_LOG_LEVEL", "WARNING")
    print(f"machine: {machine()}")
    print(f"{args.clients} clients with 1 week and {args.clients} with 52 weeks of check-ins, "
          f"{args.database}; the completing message timed through the Telegram update path; "
          f"{load()}")
    url, drop = fresh_database(args.database)
    try:
        r = asyncio.run(measure(url, args.clients))
    finally:
        drop()
    for weeks, g in r.items():
        print(f"{weeks:>3} week{'s' if weeks > 1 else ' '} of history: median {g['median']:.2f} "
              f"ms, p99 {g['p99']:.2f} ms over {g['n']} completing messages; "
              f"{g['sql'][0]:.1f} SQL statements in {g['sql'][2]:.0f} sessions, "
              f"{g['sql'][1]:.0f} commits; {g['metrics']:.1f} metric values stored, "
              f"{g['firings']} rule firings")
    short, long = (r[w] for w in HISTORIES)
    print(f"ratio 52 weeks / 1 week: median {long['median'] / short['median']:.2f}, "
          f"p99 {long['p99'] / short['p99']:.2f}")
    print(f"peak memory (max RSS of the process): {peak_rss_mb():.0f} MB; {load()}")


if __name__ == "__main__":
    main()
