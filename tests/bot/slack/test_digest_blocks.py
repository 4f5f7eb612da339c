"""A coach with more clients than Slack has blocks for still sees every one of them."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.slack.blocks import digest_message
from conversations.messages import DigestView
from tests.fakes.slack_api import FakeSlackAPI


def _digest(clients: int) -> DigestView:
    return DigestView(
        title="Your digest for Mon 16 Mar",
        clients=tuple((f"Client {n:02d}", 2 if n < 3 else 1, ("missed the check-in",))
                      for n in range(clients)),
        footer=f"Check-ins this week: 0/{clients} clients.")


def _shown(blocks: list[dict]) -> str:
    return "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")


def test_a_coach_with_sixty_clients_gets_every_one_within_slacks_fifty_blocks():
    text, blocks = digest_message("Your digest", _digest(60))
    assert len(blocks) <= 50
    shown = _shown(blocks)
    assert all(f"Client {n:02d}" in shown for n in range(60))
    assert "16 more:" in shown  # the least urgent share the last section
    with FakeSlackAPI(channels=("CDIGEST",)) as api:  # Slack's own checks of the blocks
        client = WebClient(token=api.token, base_url=api.base_url)
        assert client.chat_postMessage(channel="CDIGEST", text=text, blocks=blocks)["ok"]


def test_a_coach_with_exactly_forty_five_clients_gets_a_section_each():
    _, blocks = digest_message("Your digest", _digest(45))
    sections = [b for b in blocks if b["type"] == "section"]
    assert len(sections) == 45 and "more:" not in _shown(blocks)
