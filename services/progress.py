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
    base = latest.get(metrics.baseline_id(main.id))
    streak_metric = next((m.id for m in program.metrics if m.source.behaviour == "streak"),
                         None)
    streak = int(latest[streak_metric][0]) if streak_metric in latest else checkins
    milestone_rules = {r.id: r.title or r.id for r in program.rules if r.when.milestone}
    reached = list(dict.fromkeys(
        milestone_rules[f.rule_id] for f in rule_firings.of_enrolment(session, enrolment_id)
        if f.rule_id in milestone_rules))
    title = main.title or main.id
    shown = values[-SHOWN:]
    items = metric_of(program)
    done = latest.get(items.id) if items is not None else None
    named = items.title or translator(language).gettext(DONE_TITLE) if items else ""
    text = progress_text(title=title, values=shown, baseline=base[0] if base else None,
                         checkins=checkins, streak=streak, milestones=reached,
                         action_items=(named, done[0]) if done is not None else None,
                         language=language)
    if channel not in CHART_CHANNELS or len(shown) < 2:
        return Reply(text)
    chart = trend_png(title, shown, base[0] if base else None)
    return Reply(text, attachment=Attachment("progress.png", "image/png", chart))
