"""The console channel: the same bot in a terminal, as a sample client. No account needed."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.text import Text
from sqlalchemy.exc import OperationalError

from bot.app import App
from bot.delivery import drain
from bot.enrol import enrol_client
from bot.inbound import Inbound
from conversations.messages import Reply
from storage import enrolments, people
from storage.db import is_locked, session

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
            text += "\n  (yes / no)"
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
            path.write_bytes(reply.attachment.data)
            self.out.print(Text(f"[file saved: {path}]"))
        self.out.print()
        return None

    def flush(self) -> None:
        """Send whatever the outbox holds for the console."""
        while drain(self.app.db, self.app.clock, CHANNEL, self.send):
            pass

    def say(self, text: str) -> None:
        """Feed one line from the client into the bot."""
        try:
            self.app.handler.handle(Inbound(channel=CHANNEL, sender=ADDRESS,
                                            event_id=f"console-{uuid.uuid4()}", text=text))
        except OperationalError as exc:
            if not is_locked(exc):
                raise
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
        with session(self.app.db) as s:
            identity = people.identity_at(s, channel=CHANNEL, address=ADDRESS)
        if identity is not None:
            self.say("/start")
            return
        enrolled = enrol_client(self.app, program_id=self.app.program_ids()[0],
                                name=self.app.settings.console_name,
                                zone=self.app.settings.console_timezone, coach="Casey Coach")
        with session(self.app.db) as s, s.begin():
            enrolments.redeem_invite(s, enrolled.code, now=self.app.clock.now())
            people.bind_identity(s, person_id=enrolled.person_id, channel=CHANNEL,
                                 address=ADDRESS)
        program = self.app.programs[self.app.program_ids()[0]].program
        self.app.handler.start_flow(enrolled.enrolment_id, program.intake_flow.id,
                                    key=f"join:{enrolled.enrolment_id}")
        self.flush()
