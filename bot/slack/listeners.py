"""The Bolt app: what each Slack event, button and command does. Built, never global.

Listeners translate Slack payloads into one service call each; what the services queue
(posts, updates, replies) leaves through the outbox. Only an ephemeral refusal, which
belongs to the moment, is sent directly through `client`, after the ack (a slow Web API
must not hold up Slack's answer).
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from slack_bolt import App as BoltApp
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.composition import App
from bot.logs import bolt_logger
from bot.slack.blocks import (
    ACK_ACTION,
    ANSWER_ACTION,
    COMMAND_ACTION,
    HOME_ACK_ACTION,
    NOTES_ACTION,
    NOTES_VIEW,
    RESOLVE_ACTION,
    SUMMARY_ACTION,
    conversation_of,
    digest_message,
    home_view,
    notes_fields,
    notes_modal,
    question_of,
    summary_modal,
)
from bot.slack.escape import mrkdwn, plain
from bot.slack.slack_sender import CHANNEL, explain
from conversations.action_items import MAX_ITEMS
from conversations.engine import WORD_COMMANDS, as_command
from conversations.messages import Inbound
from conversations.translations import translator
from services import (
    coach_commands,
    coach_home,
    coach_relay,
    escalations,
    session_notes,
    staff_directory,
)

log = logging.getLogger("coachbot.slack")

_ACK_WORDS = {"ack", "on it", "mine"}
_RESOLVED = re.compile(r"^\s*resolved\s*[:\-]\s*(?P<note>.+)$", re.IGNORECASE | re.DOTALL)
NOT_LISTED = ("Only listed coaches and team members can acknowledge or resolve escalations. "
              "Ask an admin to run `coachbot staff add` for you.")


def is_ack(text: str) -> bool:
    """'ack', 'On it!', 'mine.': case and punctuation do not matter."""
    words = re.sub(r"[^\w\s]", " ", text.lower()).split()
    return " ".join(words) in _ACK_WORDS


def resolution_note(text: str) -> str | None:
    """The note of 'resolved: note', if the text is one."""
    found = _RESOLVED.match(text)
    return found.group("note").strip() if found else None


class SlackListeners:
    """Our side of every Slack listener, holding the composition root's pieces."""

    def __init__(self, app: App, client: WebClient) -> None:
        self.app = app
        self.client = client
        # Refusals are sent from here, so the listener returns (and Slack gets its ack)
        # without waiting for the Web API.
        self._later = ThreadPoolExecutor(max_workers=2, thread_name_prefix="slack-refusal")

    # --- escalations ----------------------------------------------------------------------

    def change(self, *, event_id: str, user: str, channel: str, ts: str | None,
               escalation_id: int | None, note: str | None, via: str) -> str:
        """Acknowledge (note None) or resolve an escalation once; returns what happened."""
        done = escalations.change(self.app.rt, event_id=event_id, user=user, channel=channel,
                                  ts=ts, escalation_id=escalation_id, note=note, via=via)
        if done == "refused":
            self._later.submit(self._ephemeral, channel, user, NOT_LISTED, ts)
        return done

    def _ephemeral(self, channel: str, user: str, text: str, thread_ts: str | None) -> None:
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text,
                                           thread_ts=thread_ts)
        except SlackApiError as exc:
            log.error("could not tell a user why they were ignored: %s", explain(exc, channel))
        except Exception as exc:  # on a worker thread: nobody else would see it
            log.error("could not tell a user why they were ignored: %s", type(exc).__name__)

    # --- listeners --------------------------------------------------------------------------

    def on_message(self, body: dict, event: dict) -> None:
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return  # edits, joins, bot posts (our own included) are not people talking
        text = event.get("text") or ""
        thread = event.get("thread_ts")
        direct = event.get("channel_type") == "im"
        if thread and thread != event.get("ts") and self._relayed(body, event, thread):
            return
        if thread and thread != event.get("ts") and not direct:
            note = resolution_note(text)
            if note is None and not is_ack(text):
                return  # ordinary conversation in the thread
            self.change(event_id=body["event_id"], user=event["user"],
                        channel=event["channel"], ts=thread, escalation_id=None, note=note,
                        via="reply")
            return
        if not direct:
            return
        if staff_directory.is_staff(self.app.rt, event["user"]):
            return  # staff DMs are for commands, not for a client conversation
        # A reply in a thread of the DM is an answer like any other message there.
        self.app.inbound.handle(Inbound(channel=CHANNEL, sender=event["user"],
                                        event_id=body["event_id"],
                                        text=as_command(text) or text))

    def _relayed(self, body: dict, event: dict, thread: str) -> bool:
        """A reply in a check-in card's thread: for the client if their coach wrote it."""
        relayed = coach_relay.from_coach(
            self.app.rt, event_id=body["event_id"], user=event["user"],
            channel=event["channel"], ts=thread, text=plain(event.get("text") or ""))
        refusal = coach_relay.REFUSALS.get(relayed)
        if refusal is not None:
            language = staff_directory.language_of(self.app.rt, event["user"])
            self._ephemeral(event["channel"], event["user"],
                            translator(language).gettext(refusal), thread_ts=thread)
        return relayed != "not_a_card"

    def on_home_opened(self, event: dict) -> None:
        if event.get("tab") != "home":
            return
        home = coach_home.home_of(self.app.rt, event.get("user", ""))
        if home is None:
            return  # the tab is for coaches; anyone else keeps Slack's empty one
        try:
            self.client.views_publish(user_id=event["user"], view=home_view(home, home.language))
        except SlackApiError as exc:
            log.error("could not publish a Home tab: %s", explain(exc, None))

    def on_reaction(self, body: dict, event: dict) -> None:
        item = event.get("item") or {}
        if event.get("reaction") != "eyes" or item.get("type") != "message":
            return
        self.change(event_id=body["event_id"], user=event["user"], channel=item["channel"],
                    ts=item["ts"], escalation_id=None, note=None, via="reaction")

    def on_button(self, body: dict, action: dict) -> None:
        note = "resolved from Slack" if action["action_id"] == RESOLVE_ACTION else None
        container = body.get("container") or {}
        self.change(event_id=f"action:{body['user']['id']}:{action['action_ts']}",
                    user=body["user"]["id"], channel=container.get("channel_id", ""),
                    ts=container.get("message_ts"), escalation_id=_int(action.get("value")),
                    note=note, via="button")

    # --- the Home tab and session notes --------------------------------------------------

    def on_notes_button(self, body: dict, action: dict) -> None:
        """"Notes" (after a session, or on the Home tab): the notes form, for the client's
        own coach."""
        form = session_notes.form_for(self.app.rt, body["user"]["id"],
                                      _int(action.get("value")) or 0)
        if form is None:
            return  # not their client: nothing opens
        self._open(body.get("trigger_id", ""), notes_modal(form, MAX_ITEMS))

    def on_summary_button(self, body: dict, action: dict) -> None:
        """"Summary" on the Home tab: what `/coachbot client` shows, in a modal."""
        summary = coach_commands.client_summary(self.app.rt, body["user"]["id"],
                                                _int(action.get("value")) or 0)
        if summary is not None:
            self._open(body.get("trigger_id", ""), summary_modal(summary.text, summary.language))

    def _open(self, trigger_id: str, view: dict) -> None:
        try:
            self.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            log.error("could not open a modal: %s", explain(exc, None))

    def on_notes_submitted(self, body: dict, view: dict) -> dict[str, str]:
        """The notes form sent: the errors to show by block id (none: it was sent)."""
        fields = notes_fields((view.get("state") or {}).get("values") or {})
        errors: dict[str, str] = {}

        def day(block_id: str) -> date | None:
            try:
                return date.fromisoformat(fields[block_id]) if block_id in fields else None
            except ValueError:
                errors[block_id] = translator(staff_directory.language_of(
                    self.app.rt, body["user"]["id"])).gettext("Pick a date.")
                return None
        draft = session_notes.Draft(
            notes=fields.get("notes", ""),
            items=tuple((fields.get(f"item_{n}", ""), day(f"due_{n}"))
                        for n in range(1, MAX_ITEMS + 1)),
            next_checkpoint=day("next_checkpoint"))
        if errors:
            return errors
        saved = session_notes.save(self.app.rt, slack_id=body["user"]["id"],
                                   enrolment_id=_int(view.get("private_metadata")) or 0,
                                   draft=draft, submission=str(view.get("id", "")))
        return saved.errors

    def on_home_ack(self, body: dict, action: dict) -> None:
        """Acknowledge on the Home tab: as the post's button does, for listed staff only."""
        # A stranger is refused by the service and told nothing here: a Home tab press has
        # no channel to answer in.
        escalations.change(self.app.rt,
                           event_id=f"action:{body['user']['id']}:{action['action_ts']}",
                           user=body["user"]["id"], channel="", ts=None,
                           escalation_id=_int(action.get("value")), note=None, via="home")

    def on_command(self, command: dict, respond) -> None:
        """Run a slash command after its ack and answer through its response_url."""
        try:
            answer = coach_commands.run(self.app.rt, command.get("user_id", ""),
                                        command.get("text", ""),
                                        trigger_id=command.get("trigger_id", ""))
            if answer is None:
                return  # a replay of a command already run: it did its work once
            if answer.digest is not None:
                text, blocks = digest_message(answer.digest.text, answer.digest.view())
            else:
                text = mrkdwn(answer.text)
                blocks = [{"type": "section", "text": {"type": "mrkdwn",
                                                       "text": text[:2900]}}]
            respond(text=text, blocks=blocks, response_type="ephemeral")
        except Exception as exc:
            # Logged by type only: the message may quote the command's words. Bolt would
            # log the message of anything raised from here.
            log.error("slack command failed: %s", type(exc).__name__)

    def on_command_button(self, body: dict, action: dict) -> None:
        """A command offered as a button (Skip, Check in now): the same as typing it."""
        name = str(action.get("value") or "")
        if name not in WORD_COMMANDS:
            return
        self.app.inbound.handle(Inbound(
            channel=CHANNEL, sender=body["user"]["id"],
            event_id=f"action:{body['user']['id']}:{action['action_ts']}", text=f"/{name}"))

    def on_answer(self, body: dict, action: dict) -> None:
        block_id = action.get("block_id", "")
        self.app.inbound.handle(Inbound(
            channel=CHANNEL, sender=body["user"]["id"],
            event_id=f"action:{body['user']['id']}:{action['action_ts']}",
            button=action.get("value"), button_question=question_of(block_id),
            button_conversation=conversation_of(block_id)))


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def build_bolt_app(app: App, client: WebClient) -> BoltApp:
    """A Bolt app wired to `app`, the same for HTTP mode, Socket Mode and the tests."""
    listeners = SlackListeners(app, client)
    # Events, reactions and buttons run before Bolt answers, so Slack's ack means the
    # commit happened (a failure is a 500, and Slack sends it again). The slash command is
    # acked at once and works after (a lazy listener), answering at its response_url, so
    # a slow database or Web API never makes Slack show "operation_timeout".
    bolt = BoltApp(client=client, process_before_response=True,
                   # The HTTP route checks the signature on the raw bytes, before parsing
                   # (slack_http.py); Socket Mode has no signatures.
                   request_verification_enabled=False,
                   # Its child loggers copy this level: at INFO and DEBUG they print request
                   # bodies (a client's words, or any junk a stranger posts).
                   logger=bolt_logger())
    _listen_to_events(bolt, listeners)
    _listen_to_buttons(bolt, listeners)
    _listen_to_forms_and_command(bolt, listeners)

    @bolt.error
    def _error(error: Exception) -> None:
        # Logged by type only: a payload may carry a client's words.
        log.error("slack listener failed: %s", type(error).__name__)

    return bolt


def _listen_to_events(bolt: BoltApp, listeners: SlackListeners) -> None:
    """Messages, the App Home being opened, and reactions."""

    @bolt.event("message")
    def _message(ack, body, event) -> None:
        ack()
        listeners.on_message(body, event)

    @bolt.event("app_home_opened")
    def _home(ack, event) -> None:
        ack()
        listeners.on_home_opened(event)

    @bolt.event("reaction_added")
    def _reaction(ack, body, event) -> None:
        ack()
        listeners.on_reaction(body, event)

    @bolt.event("reaction_removed")
    def _unreaction(ack) -> None:
        ack()  # taking back the eyes does not un-acknowledge: the audit says who took it


def _listen_to_buttons(bolt: BoltApp, listeners: SlackListeners) -> None:
    """Escalation, answer, command, notes, summary and App Home buttons."""

    @bolt.action(re.compile(f"^({ACK_ACTION}|{RESOLVE_ACTION})$"))
    def _escalation_button(ack, body, action) -> None:
        ack()
        listeners.on_button(body, action)

    @bolt.action(re.compile(f"^{ANSWER_ACTION}_\\d+$"))
    def _answer_button(ack, body, action) -> None:
        ack()
        listeners.on_answer(body, action)

    @bolt.action(re.compile(f"^{COMMAND_ACTION}_\\w+$"))
    def _command_button(ack, body, action) -> None:
        ack()
        listeners.on_command_button(body, action)

    @bolt.action(NOTES_ACTION)
    def _notes_button(ack, body, action) -> None:
        ack()
        listeners.on_notes_button(body, action)

    @bolt.action(SUMMARY_ACTION)
    def _summary_button(ack, body, action) -> None:
        ack()
        listeners.on_summary_button(body, action)

    @bolt.action(HOME_ACK_ACTION)
    def _home_ack(ack, body, action) -> None:
        ack()
        listeners.on_home_ack(body, action)


def _listen_to_forms_and_command(bolt: BoltApp, listeners: SlackListeners) -> None:
    """The notes form and the /coachbot slash command (acked at once, run lazily)."""

    @bolt.view(NOTES_VIEW)
    def _notes_submitted(ack, body, view) -> None:
        # Slack shows the errors beside their fields; a bare ack closes the form.
        errors = listeners.on_notes_submitted(body, view)
        if errors:
            ack(response_action="errors", errors=errors)
        else:
            ack()

    def _ack_command(ack) -> None:
        ack()

    def _run_command(command, respond) -> None:
        listeners.on_command(command, respond)

    bolt.command("/coachbot")(ack=_ack_command, lazy=[_run_command])
