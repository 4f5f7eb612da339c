"""`/progress`: the client's own trend from stored metric values, as text and a small chart."""

from __future__ import annotations

from sqlmodel import Session

from conversations.action_items import DONE_TITLE, metric_of
from conversations.messages import Attachment, Reply
from conversations.metrics import main_metric
from conversations.program import Program
from conversations.progress_text import completed_text, progress_text
from conversations.translations import translator
from services.charts import trend_png
from storage import conversation_store as convs
from storage import metric_store as metrics
from storage import rule_firings
from storage.models import Enrolment

# The weeks shown: a quarter fits a phone screen as a sparkline.
SHOWN = 12
CHART_CHANNELS = ("telegram", "slack")


def progress_reply(session: Session, program: Program, enrolment: Enrolment, *,
                   channel: str, language: str) -> Reply:
    """The progress message in `language`; on channels that show pictures, with the trend
    as a PNG."""
    enrolment_id = enrolment.id or 0
    checkins = convs.completed_count(session, enrolment_id, program.checkin_flow)
    main = main_metric(program)
    if main is None:
        return Reply(completed_text(checkins, translator(language)))
    values = [row.value for row in metrics.stored_series(session, enrolment_id, main.id)]
    latest = metrics.latest_values(session, enrolment_id)
    found = latest.get(metrics.baseline_id(main.id))
    base = found[0] if found else None
    title = main.title or main.id
    shown = values[-SHOWN:]
    text = progress_text(title=title, values=shown, baseline=base, checkins=checkins,
                         streak=_streak(program, latest, checkins),
                         milestones=_milestones(session, program, enrolment_id),
                         action_items=_action_items(program, latest, language),
                         language=language)
    if channel not in CHART_CHANNELS or len(shown) < 2:
        return Reply(text)
    chart = trend_png(title, shown, base)
    return Reply(text, attachment=Attachment("progress.png", "image/png", chart))


def _streak(program: Program, latest: metrics.Latest, checkins: int) -> int:
    """The streak metric's latest value; without one, the check-ins completed."""
    streak_metric = next((m.id for m in program.metrics if m.source.behaviour == "streak"),
                         None)
    return int(latest[streak_metric][0]) if streak_metric in latest else checkins


def _milestones(session: Session, program: Program, enrolment_id: int) -> list[str]:
    """The titles of the milestones reached, once each, in the order they were."""
    titles = {r.id: r.title or r.id for r in program.rules if r.when.milestone}
    return list(dict.fromkeys(
        titles[f.rule_id] for f in rule_firings.of_enrolment(session, enrolment_id)
        if f.rule_id in titles))


def _action_items(program: Program, latest: metrics.Latest, language: str
                  ) -> tuple[str, float] | None:
    """(the action-item metric's name, its latest value), if the program has one stored."""
    items = metric_of(program)
    done = latest.get(items.id) if items is not None else None
    if items is None or done is None:
        return None
    return items.title or translator(language).gettext(DONE_TITLE), done[0]
