"""The running aggregate gives the same metric inputs as the whole history, every time.

A client's year is generated at random: weekly check-ins answered on time, late, early,
twice, or missed (found missed some days later), some left open, some never sent (held) or
skipped (downtime), /checkin between weeks, numeric and text answers. The bot evaluates at
random moments; each evaluation folds what came after the stored aggregate (read as the
storage reads it: rows due from the checkpoint, completions from a day before it, answers
from its answer mark) and must agree with `conversations.metrics` computed from the whole
history as it stood then.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.journey import ANSWERED_EARLY
from conversations.metrics import AnswerPoint, History, behaviour_series, behaviour_value
from conversations.running import ENDED, Aggregate, DueRow, Given, behaviour_now, fold, records

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SLA = 48.0
REFS = {"checkin.confidence", "intake.confidence"}
KINDS = ("streak", "response_rate", "on_time_rate", "days_since_reply")

# What became of one week's check-in: (kind, hours after due it was answered or found missed)
week = st.tuples(st.sampled_from(["on_time", "late", "early", "twice", "missed", "open",
                                  "held", "between", "downtime"]),
                 st.integers(min_value=1, max_value=150))


def _world(weeks: list[tuple[str, int]]):
    """Due rows with the time their status changes, completions, answers; all timed."""
    rows, done, answers = [], [], []
    answers.append((START - timedelta(days=3), "intake.confidence", 5.0))
    for i, (kind, hours) in enumerate(weeks):
        due = START + timedelta(weeks=i)
        if kind == "held":
            rows.append((due, "planned", None, None))  # due, never sent (e.g. a pause)
            continue
        closed = None
        if kind in ("on_time", "late", "twice", "between"):
            closed = due + timedelta(hours=hours if kind != "on_time" else min(hours, 40))
        elif kind == "early":
            closed = due - timedelta(hours=hours % 23 + 1)
        missed_at = due + timedelta(hours=hours) if kind in ("missed", "between") else None
        status = "skipped" if kind in ("early", "downtime") else "done"
        rows.append((due, status, missed_at, closed))
        if closed is not None and kind != "between":
            done.append((closed - timedelta(minutes=20), closed))
            answers.append((closed - timedelta(minutes=5), "checkin.confidence", float(hours % 10)))
            answers.append((closed, "checkin.note", None))
        if kind == "twice":
            again = closed + timedelta(hours=30)
            done.append((again - timedelta(minutes=10), again))
            answers.append((again, "checkin.confidence", float(hours % 7)))
        if kind == "between":  # /checkin in the middle of a week of its own
            extra = due + timedelta(days=3, hours=hours % 24)
            done.append((extra - timedelta(minutes=15), extra))
            answers.append((extra, "checkin.confidence", 3.0))
    return rows, done, answers


def _as_of(world, now: datetime):
    """The database at `now`: rows due, completions closed, answers given by then."""
    rows, done, answers = world
    due_rows = []
    for due, status, missed_at, _closed in rows:
        if due > now:
            continue
        due_rows.append(DueRow(due, "missed" if missed_at and missed_at <= now else status))
    completions = sorted((s, c) for s, c in done if c <= now)
    completions.sort(key=lambda sc: sc[1])
    given_ = sorted((at, i, ref, number) for i, (at, ref, number) in enumerate(answers)
                    if at <= now)
    return due_rows, completions, [Given(ref, at, n, at) for at, _i, ref, n in given_]


def _whole(rows, done, answers, now: datetime) -> History:
    points: dict[str, list[AnswerPoint]] = {}
    for a in answers:
        if a.number is not None and a.ref in REFS:
            points.setdefault(a.ref, []).append(AnswerPoint(a.at, a.number))
    return History(checkins=records([r for r in rows if r.status in ENDED], done, SLA),
                   answers=points, last_reply_at=max((a.at for a in answers), default=None),
                   enrolled_at=START - timedelta(days=7))


@settings(max_examples=60, deadline=None)
@given(weeks=st.lists(week, min_size=1, max_size=30),
       moments=st.lists(st.integers(min_value=0, max_value=31 * 7 * 24), min_size=1,
                        max_size=12),
       depth=st.integers(min_value=1, max_value=5))
def test_the_aggregate_agrees_with_the_whole_history(weeks, moments, depth):
    world = _world(weeks)
    aggregate = Aggregate(key="v1")
    for hours in sorted(moments):
        now = START + timedelta(hours=hours)
        rows, done, answers = _as_of(world, now)
        whole = _whole(rows, done, answers, now)
        # What the storage reads after the aggregate's marks.
        since_rows = [r for r in rows if aggregate.checkins_from is None
                      or r.due_at >= aggregate.checkins_from]
        since_done = [d for d in done if aggregate.checkins_from is None
                      or d[1] >= aggregate.checkins_from - ANSWERED_EARLY]
        since_answers = [a for a in answers if aggregate.answers_from is None
                         or a.at >= aggregate.answers_from]
        folded = fold(aggregate, since_rows, since_done, since_answers, sla=SLA, now=now,
                      depth=depth, refs=REFS)
        if folded is None:  # cannot append: the service folds the whole history instead
            folded = fold(Aggregate(key="v1"), rows, done, answers, sla=SLA, now=now,
                          depth=depth, refs=REFS)
            assert folded is not None
        current, aggregate = folded
        for kind in KINDS:
            assert behaviour_now(kind, current, whole.enrolled_at, now) == behaviour_value(
                kind, whole, now), kind
            if kind != "days_since_reply":
                assert current.behaviour[kind] == behaviour_series(kind, whole, now)[-depth:]
        for ref in REFS:
            assert current.points.get(ref, []) == list(whole.answers.get(ref, []))[-depth:]
            first = whole.answers.get(ref)
            assert current.firsts.get(ref) == (first[0] if first else None)


def test_a_year_of_weekly_check_ins_leaves_little_to_read():
    """After 52 answered weeks the next evaluation reads about one week, not the year."""
    world = _world([("on_time", 5)] * 52)
    now = START + timedelta(weeks=51, hours=10)
    rows, done, answers = _as_of(world, now)
    first = fold(Aggregate(key="v1"), rows, done, answers, sla=SLA, now=now, depth=3, refs=REFS)
    assert first is not None
    _current, aggregate = first
    assert aggregate.checkins_from is not None
    assert [r for r in rows if r.due_at >= aggregate.checkins_from] == rows[-1:]
    assert aggregate.count == 51 and aggregate.streak == 51
