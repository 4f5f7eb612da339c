"""Socket Mode: envelopes as Slack sends them over the WebSocket, through the real
SocketModeHandler into the same Bolt app; every envelope is acknowledged with its id.

Only the wire is swapped: the socket client below records what it would send instead of
writing to a WebSocket (slack_sdk's client needs a live wss:// endpoint, which the fake
Web API does not offer). Parsing of the envelope, the handler and the Bolt app are real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.socket_mode.builtin import SocketModeClient

from bot.slack.listeners import build_bolt_app
from services.enrolment import enrol_client
from tests.bot.slack.conftest import ANA, COACH, Slack
from tests.fakes.slack_api import event_callback, message_event


class RecordingSocket(SocketModeClient):
    """A Socket Mode client whose outgoing frames are kept, not written to a socket."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.frames: list[dict] = []

    def send_message(self, message: str) -> None:
        self.frames.append(json.loads(message))


@pytest.fixture
def socket(slack: Slack) -> Iterator[RecordingSocket]:
    bolt = build_bolt_app(slack.app, slack.client)
    handler = SocketModeHandler(bolt, "xapp-test", web_client=slack.client)
    handler.client.close()  # the real one would dial Slack; ours takes its place
    client = RecordingSocket(app_token="xapp-test", web_client=slack.client,
                             auto_reconnect_enabled=False)
    client.socket_mode_request_listeners.append(handler.handle)
    yield client
    client.close()


def _send(socket: RecordingSocket, envelope: dict) -> None:
    """Deliver one frame the way the client's receive loop does."""
    socket.run_message_listeners(envelope, json.dumps(envelope))


def _event(envelope_id: str, body: dict, retry: int = 0) -> dict:
    return {"envelope_id": envelope_id, "type": "events_api", "payload": body,
            "accepts_response_payload": False, "retry_attempt": retry,
            "retry_reason": "timeout" if retry else ""}


def test_a_dm_over_socket_mode_is_handled_once_and_acknowledged(slack: Slack, socket):
    slack.api.add_user(ANA)
    enrolled = enrol_client(slack.app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    texts = [f"/start {enrolled.code}", "yes", "Double my revenue", "12000", "6"]
    bodies = [event_callback(message_event(ANA, text, f"D{ANA}", channel_type="im"),
                             event_id=f"EvSOCK{n}") for n, text in enumerate(texts)]
    for n, body in enumerate(bodies):
        _send(socket, _event(f"env-{n}", body))
    slack.deliver()
    taken, replies = slack.answers(enrolled.enrolment_id), len(slack.api.posted_messages(ANA))
    # Slack retries the last one: "6" would answer the next question too, if taken again.
    _send(socket, _event("env-retry", bodies[-1], retry=1))
    assert [f["envelope_id"] for f in socket.frames] == [f"env-{n}" for n in range(5)] + [
        "env-retry"]
    slack.deliver()
    assert slack.answers(enrolled.enrolment_id) == taken
    assert len(slack.api.posted_messages(ANA)) == replies



def test_a_slash_command_over_socket_mode_is_acked_then_answered_at_its_response_url(
        slack: Slack, socket):
    payload = {"command": "/coachbot", "text": "digest", "user_id": COACH,
               "channel_id": f"D{COACH}", "team_id": "T1", "api_app_id": "A1",
               "response_url": slack.api.response_url("socket"), "trigger_id": "1.1.fake"}
    _send(socket, {"envelope_id": "env-3", "type": "slash_commands", "payload": payload,
                   "accepts_response_payload": True})
    [frame] = socket.frames
    assert frame == {"envelope_id": "env-3"}  # acked at once, with nothing to show
    [answer] = slack.api.wait_for_call("response_url")
    assert answer["response_type"] == "ephemeral" and "a quiet day" in answer["text"]
