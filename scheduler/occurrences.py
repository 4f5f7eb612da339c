"""When each touchpoint of a program falls for one client: the journey as dated occurrences.

Calendar maths is APScheduler's (CronTrigger with the client's zone), so DST is handled
by the library, not by us. Times come out in UTC; quiet hours push a nudge to the next
allowed minute in the client's own zone.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from conversations.program import WEEKDAYS, Program, QuietHours, Touchpoint, Weekly
from scheduler.wall_clock import WallClockSlot

# How far ahead a schedule with no end (alumni cron, say) is listed.
HORIZON = timedelta(days=7 * 60)


class Occurrence(NamedTuple):
    """One planned touchpoint: which, when (UTC), in which stage, and its unique occurrence key.
    (A named tuple: planning makes ten a client, and a frozen dataclass cost twice as much.)"""

    touchpoint: Touchpoint
    due: datetime
    stage: str
    occurrence: str


class StageSpan(NamedTuple):
    """When a stage starts and (if it ends) ends, in UTC. (A named tuple, as `Occurrence`:
    planning makes a few a client.)"""

    stage: str
    start: datetime
    end: datetime | None


def stage_spans(program: Program, stage: str, stage_started: datetime, *,
                wait_for_flows: bool = False) -> list[StageSpan]:
    """The client's stages from `stage` on.

    A stage that ends when a flow is done is assumed to end when that flow is first sent
    (the client answers straight away), unless `wait_for_flows`: then it has no end yet and
    nothing after it is known.
    """
    return [StageSpan(name, stage_started + start,
                      None if end is None else stage_started + end)
            for name, start, end in _span_offsets(program, stage, wait_for_flows)]


# Each stage's window from the start of the client's current stage: the same for every
# client in that stage, so worked out once (planning asks for every client it plans). The
# program is kept beside its windows, so its id is not reused while they are.
_OFFSETS: dict[tuple[int, str, bool],
               tuple[Program, list[tuple[str, timedelta, timedelta | None]]]] = {}


def _span_offsets(program: Program, stage: str, wait_for_flows: bool,
                  ) -> list[tuple[str, timedelta, timedelta | None]]:
    key = (id(program), stage, wait_for_flows)
    known = _OFFSETS.get(key)
    if known is not None and known[0] is program:
        return known[1]
    offsets: list[tuple[str, timedelta, timedelta | None]] = []
    ids = [s.id for s in program.stages]
    current: str | None = stage
    start = timedelta(0)
    seen: set[str] = set()
    while current is not None and current not in seen:
        seen.add(current)
        definition = program.stage(current)
        if definition.duration is not None:
            end: timedelta | None = start + definition.duration
        elif definition.until_flow_done is not None and not wait_for_flows:
            end = start + _first_sent_after(program, definition.until_flow_done)
        else:
            end = None
        offsets.append((current, start, end))
        if end is None:
            break
        following = definition.next
        if following is None:
            index = ids.index(current)
            following = ids[index + 1] if index + 1 < len(ids) else None
        current, start = following, end
    if len(_OFFSETS) >= 1024:
        _OFFSETS.clear()  # a bound on memory (programs reloaded many times)
    _OFFSETS[key] = (program, offsets)
    return offsets


def _first_sent_after(program: Program, flow_id: str) -> timedelta:
    """How long after enrolment a flow is first sent (its after_enrolment touchpoint)."""
    delays = [tp.when.after_enrolment for tp in program.touchpoints
              if tp.send.flow == flow_id and tp.when.after_enrolment is not None]
    return min(delays, default=timedelta(0))


def quiet_adjusted(moment: datetime, zone: ZoneInfo, quiet: QuietHours) -> datetime:
    """`moment`, or the end of the quiet hours it falls in (in the person's zone)."""
    # Clients on one slot and zone share fire times: each is adjusted once.
    return _quiet_adjusted(moment, zone, quiet.start, quiet.end)


@lru_cache(maxsize=65536)
def _quiet_adjusted(moment: datetime, zone: ZoneInfo, start: time, end: time) -> datetime:
    local = moment.astimezone(zone)
    clock = local.time().replace(second=0, microsecond=0)
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside or start == end:
        return moment
    return next_local_time(moment, end, zone)


def next_local_time(moment: datetime, at: time, zone: ZoneInfo | str) -> datetime:
    """The first time the clock in `zone` shows `at` at or after `moment`, in UTC.

    A time that does not exist that day (spring forward) comes out as APScheduler gives it:
    the instant it would have been before the change (02:30 -> 03:30 summer time).
    """
    trigger = _daily(at.hour, at.minute, zone)
    known = _SEQUENCES.get(trigger)
    if known is not None and known.start <= moment:
        # The fires computed already reach past `moment` (planning asks this for each
        # client's welcome and milestones): the first at or after it, by bisection.
        index = bisect_left(known.times, moment)
        if index < len(known.times):
            return known.times[index]
    fires = _fires(trigger, moment, moment + timedelta(days=3))
    assert fires, "a daily trigger always fires again"
    return fires[0]


@lru_cache(maxsize=4096)
def _daily(hour: int, minute: int, zone: ZoneInfo | str) -> CronTrigger:
    # A trigger is immutable; building one costs more than asking it (planning hot path).
    trigger = CronTrigger(hour=hour, minute=minute, timezone=zone)
    _remember(trigger, WallClockSlot(None, time(hour, minute),
                                     zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)))
    return trigger


class _Fires:
    """The fire times of one trigger from some moment on, computed once and extended as
    asked: clients who share a zone and a slot share the calendar maths (planning many
    enrolments is otherwise mostly CronTrigger arithmetic)."""

    def __init__(self, trigger: CronTrigger, start: datetime) -> None:
        self.trigger = trigger
        self.start = start
        # Where to ask for the next fire after one: a second later, or (a weekly trigger)
        # six days later, so APScheduler does not step through the days in between.
        self.gap = _GAPS.get(trigger, SECOND)
        self.slot = _SLOTS.get(trigger)
        self.times: list[datetime] = []
        self.cursor = start
        self.done = False

    def between(self, start: datetime, end: datetime,
                until: datetime | None = None) -> list[datetime]:
        # With `until`, only up to the first fire at or after it: a planner that stores a
        # week ahead must not pay for a whole journey of calendar maths per trigger.
        # (At least up to `start`: asked about a window that opens after `until`, the
        # answer is its first fire.)
        stop = end if until is None else min(end, max(until, start))
        while not self.done and (not self.times or self.times[-1] < stop):
            # previous_fire_time=None on purpose: given the previous fire, APScheduler 3 can
            # return the same repeated (fall-back) time again and this loop would never end.
            fire = self._next()
            if fire is None:
                self.done = True
                break
            if self.times and fire <= self.times[-1]:
                self.cursor = self.times[-1] + timedelta(minutes=1)
                continue
            self.times.append(fire)
            self.cursor = fire + self.gap
        found = self.times[bisect_left(self.times, start):bisect_left(self.times, end)]
        if until is not None:
            found = found[:bisect_left(found, until) + 1]
        return found

    def _next(self) -> datetime | None:
        # A daily or weekly slot's fires come off the wall clock (scheduler/wall_clock.py):
        # the trigger is asked only where a clock change blurs them (and cost 100 us a fire).
        if self.slot is not None:
            fire = (self.slot.step(self.times[-1], 1) if self.times
                    else self.slot.first(self.cursor))
            if fire is not None:
                return fire
        fire = self.trigger.get_next_fire_time(None, self.cursor)
        return None if fire is None else fire.astimezone(UTC)

    def extend_back(self, start: datetime) -> None:
        """Also know the fires from `start` on (it lies before those known): a slot's a
        period at a time back from the first known, the trigger's otherwise."""
        earlier: list[datetime] = []
        first = self.times[0] if self.times else None
        while self.slot is not None and first is not None:
            fire = self.slot.step(first, -1)
            if fire is None:
                break
            if fire < start:
                # The fire before `start` is plain: none lies between it and `first`.
                self.times[:0] = earlier[::-1]
                self.start = start
                return
            earlier.append(fire)
            first = fire
        known = earlier[::-1] + self.times
        self.times = _Fires(self.trigger, start).between(
            start, known[0] if known else self.start) + known
        self.start = start


# Keyed by the trigger itself (identity): triggers come from the caches below, so every
# client on one slot and zone asks the same object; str(trigger) cost more than the lookup.
_SEQUENCES: dict[CronTrigger, _Fires] = {}
_MAX_SEQUENCES = 20_000
SECOND = timedelta(seconds=1)
# A weekly trigger fires once a week: its next fire is at least six days after the last
# (a zone's clock change moves it by an hour or so). Any fire sooner is the same local time
# repeated in a fall-back hour, which shares its week's occurrence key with the first.
WEEKLY_GAP = timedelta(days=6)
_GAPS: dict[CronTrigger, timedelta] = {}
_SLOTS: dict[CronTrigger, WallClockSlot] = {}


def _fires(trigger: CronTrigger, start: datetime, end: datetime,
           until: datetime | None = None) -> list[datetime]:
    """The trigger's fire times in [start, end), in UTC, each instant once; with `until`,
    only up to the first one at or after it."""
    key = trigger
    sequence = _SEQUENCES.get(key)
    if sequence is None:
        if len(_SEQUENCES) >= _MAX_SEQUENCES:
            _SEQUENCES.clear()  # a bound on memory; they are rebuilt when asked again
        sequence = _SEQUENCES[key] = _Fires(trigger, start)
    elif start < sequence.start:
        # Asked about earlier times: compute only the part before what is known.
        sequence.extend_back(start)
    return sequence.between(start, end, until)


# Each fire's occurrence key and due time (quiet hours applied), per trigger, zone and quiet
# hours: every client on one slot and zone shares them instead of formatting its own.
_KEYED: dict[tuple[CronTrigger, ZoneInfo, bool, QuietHours | None],
             dict[datetime, tuple[str, datetime]]] = {}


def _keyed(trigger: CronTrigger, tz: ZoneInfo, weekly: bool,
           quiet: QuietHours | None) -> dict[datetime, tuple[str, datetime]]:
    key = (trigger, tz, weekly, quiet)
    found = _KEYED.get(key)
    if found is None:
        if len(_KEYED) >= _MAX_SEQUENCES:
            _KEYED.clear()  # a bound on memory, as for the fire times
        found = _KEYED[key] = {}
    return found


def _key_and_due(fire: datetime, tz: ZoneInfo, weekly: bool,
                 quiet: QuietHours | None) -> tuple[str, datetime]:
    """A recurring fire's occurrence key (the local ISO week, or the local minute) and its
    due time (moved out of quiet hours unless `quiet` is None)."""
    local = fire.astimezone(tz)
    if weekly:
        year, week, _ = local.isocalendar()
        key = f"{year}-W{week:02d}"
    else:
        key = f"{local:%Y-%m-%dT%H:%M}"
    return key, fire if quiet is None else quiet_adjusted(fire, tz, quiet)


def weekly_trigger(weekly: Weekly, zone: str) -> CronTrigger:
    """A CronTrigger for a weekly day and hour in a zone (built once, then shared)."""
    return _weekly(weekly.day, weekly.time.hour, weekly.time.minute, zone)


@lru_cache(maxsize=16384)
def _weekly(day: str, hour: int, minute: int, zone: str) -> CronTrigger:
    trigger = CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=zone)
    _remember(trigger, WallClockSlot(WEEKDAYS.index(day), time(hour, minute), ZoneInfo(zone)),
              gap=WEEKLY_GAP)
    return trigger


def _remember(trigger: CronTrigger, slot: WallClockSlot, gap: timedelta | None = None) -> None:
    """Keep a trigger's slot (and where to ask it for the next fire after one)."""
    if len(_SLOTS) >= _MAX_SEQUENCES:
        # A bound on memory: a trigger not found is asked itself, a second at a time.
        _SLOTS.clear()
        _GAPS.clear()
    _SLOTS[trigger] = slot
    if gap is not None:
        _GAPS[trigger] = gap


@lru_cache(maxsize=1024)
def _crontab(expression: str, zone: str) -> CronTrigger:
    return CronTrigger.from_crontab(expression, timezone=zone)


def session_key(moment: datetime) -> str:
    """The occurrence key of the touchpoints that belong to one coaching session."""
    return f"session-{moment.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


def plan(program: Program, *, enrolled_at: datetime, zone: str, stage: str | None = None,
         stage_started: datetime | None = None, checkin: Weekly | None = None,
         sessions: tuple[datetime, ...] = (), quiet: QuietHours | None = None,
         wait_for_flows: bool = False, checkin_chosen: bool = False,
         until: datetime | None = None, spans: list[StageSpan] | None = None,
         ) -> list[Occurrence]:
    """Every occurrence of every touchpoint for one client, in time order.

    `checkin` is the client's own check-in slot; it applies to the check-in flow only.
    `wait_for_flows` plans nothing past a stage that ends when a flow is done (the real
    journey; the preview instead assumes each such flow is done at once).
    `checkin_chosen`: the client picked the slot, so quiet hours do not move it.
    `until`: the list is whole up to `until` and holds what comes first after it, no more
    (the planner stores rows up to a horizon and needs only to know what comes next): a
    recurring touchpoint stops at its first occurrence at or after it, and a one-off
    touchpoint that cannot come before a recurring one listed past it is left out.
    Occurrence keys stay the same when the zone or the slot changes (weekly touchpoints
    are keyed by the local ISO week), so replanning moves an occurrence, never adds one.
    `spans`: the client's `stage_spans` when the caller has them already.
    """
    if spans is None:
        spans = stage_spans(program, stage or program.stages[0].id,
                            stage_started or enrolled_at, wait_for_flows=wait_for_flows)
    planner = _Planner(program, zone, enrolled_at, spans, quiet or program.quiet_hours,
                       checkin, checkin_chosen, until)
    one_off: list[Touchpoint] = []
    by_stage = planner.by_stage
    for tp, kind, stages in _kinds(program):
        windows = [by_stage[s] for s in stages if s in by_stage] if stages else []
        if stages and not windows:
            continue  # none of its stages lies ahead
        if kind == RECURRING:
            planner.recurring(tp, windows)
        elif kind == AROUND_SESSIONS:
            planner.around_sessions(tp, sessions)
        else:
            one_off.append(tp)
    # One-off touchpoints last: with `until`, those past what is listed after it already
    # are not worked out (a journey's milestones, months ahead, for every client planned).
    if until is not None:
        planner.cut = min((o.due for o in planner.found if o.due > until), default=None)
    for tp in one_off:
        planner.once(tp)
    planner.found.sort(key=lambda o: (o.due, o.touchpoint.id))
    return planner.found


RECURRING, AROUND_SESSIONS, ONE_OFF = "recurring", "around sessions", "one-off"
# Each program's touchpoints with their kind and stages: the same for every client planned.
# The program is kept beside them, so its id is not reused while they are.
_KINDS_OF: dict[int, tuple[Program, list[tuple[Touchpoint, str, tuple[str, ...]]]]] = {}


def _kinds(program: Program) -> list[tuple[Touchpoint, str, tuple[str, ...]]]:
    known = _KINDS_OF.get(id(program))
    if known is not None and known[0] is program:
        return known[1]
    kinds: list[tuple[Touchpoint, str, tuple[str, ...]]] = []
    for tp in program.touchpoints:
        when = tp.when
        kind = (RECURRING if when.weekly is not None or when.cron is not None
                else AROUND_SESSIONS if when.before_session is not None
                or when.after_session is not None else ONE_OFF)
        kinds.append((tp, kind, tuple(when.stages or ())))
    if len(_KINDS_OF) >= 1024:
        _KINDS_OF.clear()  # a bound on memory (programs reloaded many times)
    _KINDS_OF[id(program)] = (program, kinds)
    return kinds


class _Planner:
    """One client's occurrences as they are found: each (touchpoint, key) once."""

    def __init__(self, program: Program, zone: str, enrolled_at: datetime,
                 spans: list[StageSpan], quiet: QuietHours | None, checkin: Weekly | None,
                 checkin_chosen: bool, until: datetime | None = None) -> None:
        self.program, self.zone, self.tz = program, zone, ZoneInfo(zone)
        self.until = until
        self.enrolled_at, self.spans, self.quiet = enrolled_at, spans, quiet
        self.checkin, self.checkin_chosen = checkin, checkin_chosen
        self.by_stage = {s.stage: s for s in spans}
        journey_end = max((s.end or s.start) for s in spans)
        self.horizon = max(journey_end, enrolled_at) + HORIZON
        self.found: list[Occurrence] = []
        self.seen: set[tuple[str, str]] = set()
        # One-off touchpoints due after this are left out (see `plan`'s `until`).
        self.cut: datetime | None = None

    def add(self, tp: Touchpoint, due: datetime, key: str, *, keep_time: bool = False) -> None:
        """Add an occurrence (quiet hours applied unless `keep_time`)."""
        seen = (tp.id, key)
        if seen in self.seen:
            return  # the repeated hour of a fall-back day: only the first one
        self.seen.add(seen)
        if not keep_time:
            due = quiet_adjusted(due, self.tz, self.quiet)
        self.found.append(Occurrence(tp, due, tp.when.stage_start or _stage_at(self.spans, due),
                                     key))

    def at_time(self, moment: datetime, tp: Touchpoint) -> datetime:
        """The touchpoint's local time of day on or after `moment`, if it names one."""
        if tp.when.time is None:
            return moment
        return next_local_time(moment, tp.when.time, self.tz)

    def once(self, tp: Touchpoint) -> None:
        """A touchpoint that happens once: after enrolment, at a stage's start or week."""
        when, by_stage = tp.when, self.by_stage
        if when.after_enrolment is not None:
            moment, key = self.enrolled_at + when.after_enrolment, "enrolment"
        elif when.stage_start is not None and when.stage_start in by_stage:
            moment, key = by_stage[when.stage_start].start, when.stage_start
        elif when.stage_week is not None and when.stage in by_stage:
            span = by_stage[when.stage]
            moment = span.start + timedelta(weeks=when.stage_week - 1)
            if span.end is not None and moment >= span.end:
                return
            key = f"{when.stage}-week-{when.stage_week}"
        else:
            return
        # Its time of day and quiet hours only ever make it later.
        if self.cut is None or moment <= self.cut:
            self.add(tp, self.at_time(moment, tp), key)

    def recurring(self, tp: Touchpoint, windows: list[StageSpan]) -> None:
        """A weekly or cron touchpoint, within its stages' windows (or the whole journey)."""
        when, zone = tp.when, self.zone
        own = self.checkin is not None and tp.send.flow == self.program.checkin_flow
        if when.weekly is not None:
            trigger = weekly_trigger(self.checkin if own and self.checkin else when.weekly,
                                     zone)
        else:
            assert when.cron is not None
            trigger = _crontab(when.cron, zone)
        ranges = ([(w.start, w.end or self.horizon) for w in windows]
                  or [(self.enrolled_at, self.horizon)])
        for start, end in ranges:
            # With `until`: up to the first one at or after it (quiet hours only delay a
            # fire).
            fires = _fires(trigger, max(start, self.enrolled_at), end, self.until)
            keep_time = own and self.checkin_chosen
            keyed = _keyed(trigger, self.tz, when.weekly is not None,
                           None if keep_time else self.quiet)
            for fire in fires:
                found = keyed.get(fire)
                if found is None:
                    found = keyed[fire] = _key_and_due(fire, self.tz, when.weekly is not None,
                                                       None if keep_time else self.quiet)
                self.add(tp, found[1], found[0], keep_time=True)

    def around_sessions(self, tp: Touchpoint, sessions: tuple[datetime, ...]) -> None:
        """A touchpoint before or after each coaching session."""
        offset = (-tp.when.before_session if tp.when.before_session is not None
                  else tp.when.after_session)
        assert offset is not None
        for moment in sessions:
            self.add(tp, moment + offset, session_key(moment))


def _stage_at(spans: list[StageSpan], moment: datetime) -> str:
    # A touchpoint due exactly as a stage ends belongs to the stage it was planned in (the
    # welcome that ends intake); a stage_start touchpoint names its stage itself.
    current = spans[0].stage
    for span in spans:
        if span.start < moment:
            current = span.stage
    return current
