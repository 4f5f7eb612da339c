"""The running aggregate gives the same metric inputs as the whole history, every time.

A client's year is generated at random: weekly check-ins answered on time, late, early,
twice, or missed (found missed some days later), some left open, some never sent (held) or
skipped (downtime), /checkin between weeks, numeric and text answers, and answers about
action items (Done / Partly / Not yet, an hour apart at the start of a check-in). The bot
evaluates at random moments (between two answers of one check-in too); each evaluation folds
what came after the stored aggregate (read as the storage reads it: rows due from the
checkpoint, completions from a day before it, answers from its answer mark) and must agree
with `conversations.metrics` computed from the whole history as it stood then; the points
it would store leave the stored completions equal to the whole history's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.action_items import SCORES, completions, item_of, question_id
from conversations.journey import ANSWERED_EARLY
from conversations.metrics import AnswerPoint, History, behaviour_series, behaviour_value
from conversations.running import ENDED, Aggregate, DueRow, Given, behaviour_now, fold, records

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SLA = 48.0
REFS = {"checkin.confidence", "intake.confidence"}
KINDS = ("streak", "response_rate", "on_time_rate", "days_since_reply", "action_items")

# What became of one week's check-in: (kind, hours after due it was answered or found missed,
# the scores of the action items it asked about)
week = st.tuples(st.sampled_from(["on_time", "late", "early", "twice", "missed", "open",
                                  "held", "between", "downtime"]),
                 st.integers(min_value=1, max_value=150),
                 st.lists(st.sampled_from(sorted(SCORES.values())), max_size=3))


def _world(weeks: list[tuple[str, int, list[float]]]):
    """Due rows with the time their status changes, completions, answers (time, ref, number,
    conversation); all timed."""
    rows, done, answers = [], [], []
    answers.append((START - timedelta(days=3), "intake.confidence", 5.0, 0))
    for i, (kind, hours, items) in enumerate(weeks):
        due = START + timedelta(weeks=i)
        if kind == "held":
            rows.append((due, "planned", None, None))  # due, never sent (e.g. a pause)
            continue
        closed = None
        if kind in ("on_time", "late", "twice", "between"):
            closed = due + timedelta(hours=hours if kind != "on_time" else min(hours, 40))
        elif kind == "early":
            closed = due - timedelta(hours=hours % 23 + 1)
        if closed is not None and kind != "between" and done:
            # A client answers one check-in at a time: a late one is closed before the next
            # (answered early) opens, so no two check-ins' answers share a moment.
            closed = max(closed, done[-1][1] + timedelta(hours=len(items) + 1))
        missed_at = due + timedelta(hours=hours) if kind in ("missed", "between") else None
        status = "skipped" if kind in ("early", "downtime") else "done"
        rows.append((due, status, missed_at, closed))
        if closed is not None and kind != "between":
            checkin = len(done) + 1
            # Its action items first, an hour apart: an evaluation may fall between them.
            asked = [(closed - timedelta(hours=len(items) - n), f"checkin.{question_id(n + 1)}",
                      score, checkin) for n, score in enumerate(items)]
            opened = (asked[0][0] if asked else closed) - timedelta(minutes=20)
            done.append((opened, closed))
            answers.extend(asked)
            answers.append((closed - timedelta(minutes=5), "checkin.confidence",
                            float(hours % 10), checkin))
            answers.append((closed, "checkin.note", None, checkin))
        if kind == "twice":
            again = closed + timedelta(hours=30)
            done.append((again - timedelta(minutes=10), again))
            answers.append((again, "checkin.confidence", float(hours % 7), len(done)))
        if kind == "between":  # /checkin in the middle of a week of its own
            extra = due + timedelta(days=3, hours=hours % 24)
            done.append((extra - timedelta(minutes=15), extra))
            answers.append((extra, "checkin.confidence", 3.0, len(done)))
    return rows, done, answers


def _as_of(world, now: datetime):
    """The database at `now`: rows due, completions closed, answers given by then."""
    rows, done, answers = world
    due_rows = []
    for due, status, missed_at, _closed in rows:
        if due > now:
            continue
        due_rows.append(DueRow(due, "missed" if missed_at and missed_at <= now else status))
    closed = sorted((s, c) for s, c in done if c <= now)
    closed.sort(key=lambda sc: sc[1])
    given_ = sorted((at, i, ref, number, conversation)
                    for i, (at, ref, number, conversation) in enumerate(answers) if at <= now)
    return due_rows, closed, [Given(ref, at, n, at, conversation)
                              for at, _i, ref, n, conversation in given_]


def _whole(rows, done, answers, now: datetime) -> History:
    points: dict[str, list[AnswerPoint]] = {}
    for a in answers:
        if a.number is not None and a.ref in REFS:
            points.setdefault(a.ref, []).append(AnswerPoint(a.at, a.number))
    items = completions((a.conversation_id, a.at, a.number) for a in answers
                        if a.number is not None and item_of(a.ref.partition(".")[2]) is not None)
    return History(checkins=records([r for r in rows if r.status in ENDED], done, SLA),
                   answers=points, last_reply_at=max((a.at for a in answers), default=None),
                   enrolled_at=START - timedelta(days=7), action_items=items)


@settings(max_examples=60, deadline=None)
@given(weeks=st.lists(week, min_size=1, max_size=30),
       moments=st.lists(st.integers(min_value=0, max_value=31 * 7 * 24), min_size=1,
                        max_size=12),
       depth=st.integers(min_value=1, max_value=5))
def test_the_aggregate_agrees_with_the_whole_history(weeks, moments, depth):
    world = _world(weeks)
    aggregate = Aggregate(key="v1")
    stored: dict[datetime, float] = {}  # the completions stored, by time (as store_points)
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
            if kind not in ("days_since_reply", "action_items"):
                assert current.behaviour[kind] == behaviour_series(kind, whole, now)[-depth:]
        assert current.action_items == list(whole.action_items)[-depth:]
        # One point per check-in, as stored: a later answer about an item updates its row.
        assert len({p.at for p in current.new_action_items}) == len(current.new_action_items)
        stored.update((p.at, p.value) for p in current.new_action_items)
        assert stored == {p.at: p.value for p in whole.action_items}
        for ref in REFS:
            assert current.points.get(ref, []) == list(whole.answers.get(ref, []))[-depth:]
            first = whole.answers.get(ref)
            assert current.firsts.get(ref) == (first[0] if first else None)


def test_a_year_of_weekly_check_ins_leaves_little_to_read():
    """After 52 answered weeks the next evaluation reads about one week, not the year."""
    world = _world([("on_time", 5, [1.0, 0.5])] * 52)
    now = START + timedelta(weeks=51, hours=10)
    rows, done, answers = _as_of(world, now)
    first = fold(Aggregate(key="v1"), rows, done, answers, sla=SLA, now=now, depth=3, refs=REFS)
    assert first is not None
    _current, aggregate = first
    assert aggregate.checkins_from is not None
    assert [r for r in rows if r.due_at >= aggregate.checkins_from] == rows[-1:]
    assert aggregate.count == 51 and aggregate.streak == 51
    assert aggregate.action_items == [(p.at, p.value) for p in first[0].action_items]
    assert first[0].action_items[-1].value == 0.75
