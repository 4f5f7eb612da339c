"""Block Kit for what coachbot posts in Slack, always with a plain-text fallback.

Every piece of text that came from a client or a staff member goes through `escape.mrkdwn`.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.slack.escape import mrkdwn
from conversations.engine import WORD_COMMANDS
from conversations.formatting import format_day, format_day_time, format_time
from conversations.messages import DigestView, EscalationCard, Reply
from conversations.translations import N_, translator
from services.coach_home import Home
from services.session_notes import NotesForm

ACK_ACTION = "escalation_ack"
HOME_ACK_ACTION = "home_ack"  # Acknowledge on the Home tab: the escalation id is the value
NOTES_ACTION = "session_notes"  # the "Notes" button: the enrolment id is the value
SUMMARY_ACTION = "client_summary"  # the Home tab's "Summary": the enrolment id is the value
NOTES_VIEW = "session_notes"  # the notes modal's callback_id
RESOLVE_ACTION = "escalation_resolve"
ANSWER_ACTION = "answer"  # answer_0, answer_1 ... one action id per button, as Slack requires
COMMAND_ACTION = "command"  # command_skip, command_checkin ...: a command as a button
_COMMAND_LABELS = {"checkin": N_("Check in now"), "skip": N_("Skip"), "later": N_("Later"),
                   "back": N_("Back"), "resume": N_("Resume")}
# "/skip" in a text becomes *skip*: in Slack a message starting with "/" is a slash command,
# so a client types the plain word instead.
_COMMAND_MENTION = re.compile(r"(?<![\w/])/(" + "|".join(sorted(WORD_COMMANDS)) + r")\b")
_SECTION_LIMIT = 2900


def _when(at: datetime, language: str = "en") -> str:
    return f"{format_day_time(at, language)} UTC"


def _when_for(at: datetime, zone: str | None, language: str = "en") -> str:
    """A time in someone's own zone (named), with UTC beside it for everyone else."""
    if not zone:
        return _when(at, language)
    local = format_day_time(at.astimezone(ZoneInfo(zone)), language)
    return f"{local} {zone} ({format_time(at, language)} UTC)"


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:_SECTION_LIMIT]}}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> dict:
    button = {"type": "button", "action_id": action_id, "value": value[:2000],
              "text": {"type": "plain_text", "text": label[:75], "emoji": True}}
    if style:
        button["style"] = style
    return button


def escalation_state(view: EscalationCard) -> str:
    """One line, in the team channel's language: open, acknowledged by whom and when, or
    resolved."""
    t, language = translator(view.language), view.language
    if view.resolved_at is not None:
        note = f": {mrkdwn(view.resolution_note)}" if view.resolution_note else ""
        who = mrkdwn(view.acknowledged_by or t.gettext("someone"))
        return ":white_check_mark: " + t.gettext("Resolved by {who} at {when}").format(
            who=who, when=_when(view.resolved_at, language)) + note
    if view.acknowledged_at is not None:
        who = mrkdwn(view.acknowledged_by or t.gettext("someone"))
        return ":eyes: " + t.gettext("Acknowledged by {who} at {when}").format(
            who=who, when=_when(view.acknowledged_at, language))
    # TRANSLATORS: keep *ack*, *on it*, *mine* and *resolved:* in English: they are what the
    # bot reads in the thread.
    return ":rotating_light: " + t.gettext(
        "Open: reply in this thread with *ack*, *on it* or *mine* (or react :eyes:); "
        "*resolved: note* closes it.")


def escalation_message(view: EscalationCard) -> tuple[str, list[dict]]:
    """The team-channel post, in the team channel's language: (fallback text, blocks)."""
    t, language = translator(view.language), view.language
    head = "*" + t.gettext("Escalation #{id}: {client}").format(
        id=view.id, client=mrkdwn(view.client)) + "*\n" + t.gettext(
        "{program}, week {week}").format(program=mrkdwn(view.program), week=view.week) + \
        "\n" + t.gettext("*Reason:* {reason}").format(reason=mrkdwn(view.reason))
    evidence = "\n".join(f"• {mrkdwn(what)}: {mrkdwn(value)}"
                         for what, value in view.evidence) or t.gettext("(none)")
    coach = ("    " + t.gettext("*Coach:* {coach}").format(coach=mrkdwn(view.coach))
             if view.coach else "")
    owner = (t.gettext("*Owner:* {owner}").format(owner=mrkdwn(view.owner)) + coach + "    "
             + t.gettext("*SLA:* {due}").format(
                 due=_when_for(view.sla_due_at, view.owner_zone, language)))
    blocks = [_section(head),
              _section("*" + t.gettext("What fired it") + f"*\n{evidence}"), _section(owner),
              {"type": "context", "elements": [
                  {"type": "mrkdwn", "text": escalation_state(view)}]}]
    if view.resolved_at is None:
        buttons = [_button(t.gettext("Resolve"), RESOLVE_ACTION, str(view.id))]
        if view.acknowledged_at is None:
            buttons.insert(0, _button(t.gettext("Acknowledge"), ACK_ACTION, str(view.id),
                                      "primary"))
        blocks.append({"type": "actions", "block_id": f"escalation:{view.id}",
                       "elements": buttons})
    text = t.gettext("Escalation #{id}: {client}, {reason}. Owner {owner}, SLA {due}.").format(
        id=view.id, client=mrkdwn(view.client), reason=mrkdwn(view.reason),
        owner=mrkdwn(view.owner), due=_when(view.sla_due_at, language))
    return text, blocks


def reply_message(reply: Reply) -> tuple[str, list[dict]]:
    """A conversation reply to a client: its text, and buttons for scales and choices.

    The question id and its conversation ride in the actions block's id, so a press on an
    old question is stale and one on a closed conversation changes nothing.
    """
    text = as_words(mrkdwn(reply.text))
    blocks = [_section(part) for part in _paragraphs(text)] or [_section(" ")]
    if reply.buttons:
        for start in range(0, len(reply.buttons), 25):  # Slack allows 25 per actions block
            elements = [_button(b.label, f"{ANSWER_ACTION}_{start + i}", b.value)
                        for i, b in enumerate(reply.buttons[start:start + 25])]
            block_id = f"q:{reply.question or ''}:{start}"
            if reply.conversation is not None:
                block_id += f":{reply.conversation}"
            blocks.append({"type": "actions", "block_id": block_id, "elements": elements})
    if reply.commands:
        t = translator(reply.language)
        blocks.append({"type": "actions", "block_id": "commands", "elements": [
            _button(t.gettext(_COMMAND_LABELS[name]) if name in _COMMAND_LABELS
                    else name.capitalize(), f"{COMMAND_ACTION}_{name}", name)
            for name in reply.commands]})
    return text, blocks


def as_words(text: str) -> str:
    """Commands named the way a Slack client sends them: "/skip" as *skip*."""
    return _COMMAND_MENTION.sub(r"*\1*", text)


def _paragraphs(text: str) -> list[str]:
    """Split into sections under Slack's 3000-character limit, at blank lines when possible."""
    parts: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        candidate = f"{current}\n\n{paragraph}" if current else paragraph
        if len(candidate) <= _SECTION_LIMIT:
            current = candidate
            continue
        if current:
            parts.append(current)
        while len(paragraph) > _SECTION_LIMIT:
            parts.append(paragraph[:_SECTION_LIMIT])
            paragraph = paragraph[_SECTION_LIMIT:]
        current = paragraph
    if current:
        parts.append(current)
    return parts[:45]


def question_of(block_id: str) -> str | None:
    """The question id an answer button's block belongs to."""
    if not block_id.startswith("q:"):
        return None
    return block_id[2:].split(":", 1)[0] or None


def conversation_of(block_id: str) -> int | None:
    """The conversation an answer button's block was sent in ('q:question:start:id')."""
    parts = block_id.split(":")
    if not block_id.startswith("q:") or len(parts) != 4 or not parts[3].isdigit():
        return None
    return int(parts[3])


def digest_message(text: str, digest: DigestView) -> tuple[str, list[dict]]:
    """A coach's digest: (fallback text, blocks), the most urgent clients first."""
    # `text` is the plain digest: escaped here once, like every part of the blocks.
    fallback = mrkdwn(text)
    if not digest.clients:
        return fallback, [_section(fallback)]
    # A header is plain text: Slack shows it as written, so it is not escaped.
    blocks: list[dict] = [{"type": "header",
                           "text": {"type": "plain_text", "text": digest.title[:150]}}]
    # Slack allows 50 blocks a message: past 45 clients, the least urgent share one section
    # (names and what happened, cut at Slack's 3,000 characters) rather than go missing.
    shown = digest.clients if len(digest.clients) <= 45 else digest.clients[:44]
    for name, urgency, parts in shown:
        marker = ":red_circle:" if urgency >= 2 else ":large_yellow_circle:" \
            if urgency else ":white_circle:"
        blocks.append(_section(f"{marker} *{mrkdwn(name)}*\n"
                               + "\n".join(mrkdwn(p) for p in parts)))
    rest = digest.clients[len(shown):]
    if rest:
        lines = [f"*{mrkdwn(name)}*: " + "; ".join(mrkdwn(p) for p in parts)
                 for name, _, parts in rest]
        summary = f"{len(rest)} more:\n" + "\n".join(lines)
        blocks.append(_section(summary if len(summary) <= 2900 else summary[:2899] + "…"))
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": mrkdwn(digest.footer)}]})
    return fallback, blocks


def checkin_card_message(reply: Reply) -> tuple[str, list[dict]]:
    """A completed check-in for the coach: a title, one line per answer, how to answer."""
    title, _, answers = mrkdwn(reply.text).partition("\n")
    blocks = [_section(f"*{title}*\n{answers}"),
              {"type": "context", "elements": [{"type": "mrkdwn", "text": translator(
                  reply.language).gettext(
                  "Reply in this thread to answer: your words reach the client as \"From your "
                  "coach: ...\", and their answer comes back here.")}]}]
    return f"{title}\n{answers}", blocks


def team_message(reply: Reply) -> tuple[str, list[dict]]:
    """A thread reply about an escalation, mentioning whoever should take it."""
    who = "<!here>" if reply.mention == "here" else f"<@{reply.mention}>" \
        if reply.mention else ""
    text = f"{who} {mrkdwn(reply.text)}".strip()
    return text, [_section(text)]


def home_view(home: Home, language: str = "en") -> dict:
    """A coach's Home tab: clients (at risk first), open escalations, today's sessions;
    its words, days and times in the coach's `language`."""
    t = translator(language)
    zone = ZoneInfo(home.zone)
    blocks: list[dict] = [{"type": "header",
                           "text": {"type": "plain_text", "text": t.gettext("Your clients")}}]
    # Two blocks a client (the row, its buttons): 35 of them stay under Slack's 100.
    for client in sorted(home.clients, key=lambda c: (not c.at_risk, c.name))[:35]:
        last = (t.gettext("last check-in {day}").format(
            day=format_day(client.last_checkin.astimezone(zone), language))
                if client.last_checkin else t.gettext("no check-in yet"))
        parts = [f"{mrkdwn(client.stage)} ({client.status})", last]
        if client.main_metric:
            parts.append(mrkdwn(client.main_metric))
        risk = ("\n:warning: " + t.gettext("at risk: {rules}").format(
            rules=mrkdwn(", ".join(client.at_risk))) if client.at_risk else "")
        blocks.append(_section(f"*{mrkdwn(client.name)}*  " + " · ".join(parts) + risk))
        blocks.append({"type": "actions", "block_id": f"client:{client.enrolment_id}",
                       "elements": [
                           _button(t.gettext("Summary"), SUMMARY_ACTION,
                                   str(client.enrolment_id)),
                           _button(t.gettext("Notes"), NOTES_ACTION, str(client.enrolment_id))]})
    if not home.clients:
        blocks.append(_section(t.gettext("No clients yet.")))
    cases = ["• " + (t.gettext("{client}: {reason} ({hours}h old, SLA {due}, acknowledged)")
                     if c.acknowledged else
                     t.gettext("{client}: {reason} ({hours}h old, SLA {due}, NOT acknowledged)")
                     ).format(client=mrkdwn(c.client), reason=mrkdwn(c.reason),
                              hours=int(c.age.total_seconds() // 3600),
                              due=format_day_time(c.sla_due_at.astimezone(zone), language))
             for c in home.cases]
    sessions = [f"• {format_time(at.astimezone(zone), language)} {mrkdwn(name)}"
                for name, at in home.sessions]
    none = t.gettext("None.")
    blocks.append(_section("*" + t.gettext("Open escalations") + "*\n"
                           + ("\n".join(cases) or none)))
    waiting = [c for c in home.cases if not c.acknowledged][:25]  # 25 buttons a block
    if waiting:
        blocks.append({"type": "actions", "block_id": "home_cases", "elements": [
            _button(t.gettext("Acknowledge #{id} ({client})").format(id=c.id, client=c.client),
                    HOME_ACK_ACTION, str(c.id), "primary") for c in waiting]})
    blocks.append(_section("*" + t.gettext("Today's sessions") + "*\n"
                           + ("\n".join(sessions) or none)))
    return {"type": "home", "blocks": blocks[:100]}


def notes_offer_message(reply: Reply) -> tuple[str, list[dict]]:
    """The message to a coach after a session, with the "Notes" button."""
    text = mrkdwn(reply.text)
    label = translator(reply.language).gettext("Notes")
    return text, [_section(text), {"type": "actions", "block_id": "notes", "elements": [
        _button(label, NOTES_ACTION, str(reply.notes_for), "primary")]}]


def _input(block_id: str, label: str, element: dict) -> dict:
    # Plain text labels: Slack shows them as written, so they are not escaped.
    return {"type": "input", "block_id": block_id, "optional": True,
            "label": {"type": "plain_text", "text": label[:2000]},
            "element": {"action_id": "value", **element}}


def notes_modal(form: NotesForm, max_items: int) -> dict:
    """The session notes form, in the coach's language: notes, up to `max_items` action
    items each with a due date, the next checkpoint. Its block ids are the fields a refusal
    names."""
    t = translator(form.language)
    blocks = [_input("notes", t.gettext("Notes for {client}").format(client=form.client), {
        "type": "plain_text_input", "multiline": True, "max_length": 3000})]
    for n in range(1, max_items + 1):
        blocks.append(_input(f"item_{n}", t.gettext("Action item {number}").format(number=n), {
            "type": "plain_text_input", "max_length": 300}))
        blocks.append(_input(f"due_{n}", t.gettext("Due date of action item {number}").format(
            number=n), {"type": "datepicker"}))
    blocks.append(_input("next_checkpoint", t.gettext("Next checkpoint"),
                         {"type": "datepicker"}))
    return {"type": "modal", "callback_id": NOTES_VIEW,
            "private_metadata": str(form.enrolment_id),
            "title": {"type": "plain_text", "text": t.gettext("Session notes")},
            "submit": {"type": "plain_text", "text": t.gettext("Send")},
            "close": {"type": "plain_text", "text": t.gettext("Cancel")}, "blocks": blocks}


def notes_fields(values: dict) -> dict[str, str]:
    """A submitted form's fields by block id: the text typed or the date picked."""
    found = {}
    for block_id, actions in values.items():
        element = actions.get("value") or {}
        picked = element.get("selected_date") if element.get("type") == "datepicker" \
            else element.get("value")
        if picked:
            found[block_id] = str(picked)
    return found


def summary_modal(text: str, language: str = "en") -> dict:
    """A client's summary (what `/coachbot client` shows) in a modal, in the coach's
    `language`."""
    t = translator(language)
    return {"type": "modal", "title": {"type": "plain_text", "text": t.gettext("Client summary")},
            "close": {"type": "plain_text", "text": t.gettext("Close")},
            "blocks": [_section(part) for part in _paragraphs(mrkdwn(text))][:50]}
