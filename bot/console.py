"""The console channel: the same bot in a terminal, as a sample client. No account needed."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.text import Text

from bot.composition import App
from bot.private_files import write_private
from conversations.messages import Inbound, Reply
from services.delivery import drain
from services.enrolment import enrol_client, is_bound, join_directly
from services.unit_of_work import DatabaseBusy

CHANNEL = "console"
BUSY_TEXT = ("The database is busy: another coachbot process is writing to it. Nothing was "
             "lost; please send that again in a moment.")
ADDRESS = "local"


def render(reply: Reply) -> str:
    """A reply as terminal text: choices numbered so they can be typed."""
    text = reply.text
    labels = [b.label for b in reply.buttons]
    if labels and not all(label.isdigit() for label in labels):
        if [b.value for b in reply.buttons] == ["yes", "no"]:
            # The labels are the words of the client's language ("ja / nein").
            text += f"\n  ({labels[0].lower()} / {labels[1].lower()})"
        else:
            text += "\n" + "\n".join(f"  {i}. {label}" for i, label in enumerate(labels, 1))
    return text


class ConsoleChannel:
    """Reads one message per line, prints the bot's replies."""

    def __init__(self, app: App, *, stdin: TextIO, stdout: TextIO, interactive: bool) -> None:
        self.app = app
        self.stdin = stdin
        self.interactive = interactive
        self.out = Console(file=stdout, highlight=False, soft_wrap=True,
                           force_terminal=interactive or None, no_color=not interactive)

    def send(self, _address: str, reply: Reply) -> str | None:
        """Print one reply (the console's 'platform send'); a file goes to the working folder."""
        self.out.print(Text(render(reply), style="cyan" if self.interactive else ""))
        if reply.attachment is not None:
            path = Path.cwd() / reply.attachment.filename
            write_private(path, reply.attachment.data)
            self.out.print(Text(f"[file saved: {path}]"))
        self.out.print()
        return None

    def flush(self) -> None:
        """Send whatever the outbox holds for the console."""
        while drain(self.app.rt, CHANNEL, self.send):
            pass

    def say(self, text: str) -> None:
        """Feed one line from the client into the bot."""
        try:
            self.app.inbound.handle(Inbound(channel=CHANNEL, sender=ADDRESS,
                                            event_id=f"console-{uuid.uuid4()}", text=text))
        except DatabaseBusy:
            # Nothing was kept (the transaction rolled back), so typing it again is safe.
            self.out.print(Text(BUSY_TEXT))
            self.out.print()
            return
        self.flush()

    def run(self) -> int:
        """The read-reply loop; returns the exit code (0 at end of input)."""
        self._join_as_sample_client()
        while True:
            if self.interactive:
                try:
                    line = self.out.input("[bold]you> [/bold]")
                except (EOFError, KeyboardInterrupt):
                    self.out.print()
                    return 0
            else:
                line = self.stdin.readline()
                if not line:
                    return 0
            line = line.rstrip("\r\n")
            if line.strip():
                self.say(line)

    def _join_as_sample_client(self) -> None:
        """First run: enrol a sample client and start intake; later runs: resume."""
        if is_bound(self.app.rt, channel=CHANNEL, address=ADDRESS):
            self.say("/start")
            return
        enrolled = enrol_client(self.app.rt, program_id=self.app.program_ids()[0],
                                name=self.app.settings.console_name,
                                zone=self.app.settings.console_timezone, coach="Casey Coach")
        join_directly(self.app.rt, enrolled, channel=CHANNEL, address=ADDRESS)
        self.flush()
