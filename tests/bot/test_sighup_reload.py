"""SIGHUP to a running `coachbot run` (the console, fed by a pipe): the edited program file
runs from the next message on, a client mid check-in finishes on the version they began,
and an invalid file is refused with FILE:LINE errors while the running version stays."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from tests.conftest import SAMPLE
from tests.conversations.chat import revised_sample_text

COACHBOT = Path(sys.executable).parent / "coachbot"
INTAKE = ["yes", "Double my revenue", "12,000", "6", "10", "/skip"]
# A reply that never comes fails the test after this long instead of hanging it.
PATIENCE = 60


class Running:
    """`coachbot run` as a process: lines in, stdout and stderr lines out, as they come."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([str(COACHBOT), "run"], cwd=cwd, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _pump(stream: IO[str] | None, lines: queue.Queue[str]) -> None:
        assert stream is not None
        for line in stream:
            lines.put(line.rstrip("\n"))

    def wait_for(self, lines: queue.Queue[str], needle: str) -> list[str]:
        """Every line up to and including the first that contains `needle`."""
        seen = []
        while True:
            line = lines.get(timeout=PATIENCE)
            seen.append(line)
            if needle in line:
                return seen

    def says(self, text: str, expect: str) -> list[str]:
        """Type one line; the output lines up to the one containing `expect`."""
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self.wait_for(self.out, expect)

    def hangup(self, expect: str) -> list[str]:
        """SIGHUP; the stderr lines up to the one containing `expect`."""
        self.process.send_signal(signal.SIGHUP)
        return self.wait_for(self.err, expect)

    def close(self) -> int:
        assert self.process.stdin is not None
        self.process.stdin.close()
        return self.process.wait(timeout=PATIENCE)


def test_sighup_reloads_the_program_while_a_client_is_mid_checkin(db_url, tmp_path):
    program = tmp_path / "program.yaml"
    program.write_text(SAMPLE.read_text("utf-8"), "utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACHBOT_")}
    env.update(COACHBOT_DATABASE_URL=db_url, COACHBOT_PROGRAM=str(program))
    bot = Running(tmp_path, env)
    try:
        bot.wait_for(bot.out, "Are you happy to go ahead")
        for typed in INTAKE:
            bot.says(typed, "")
        bot.wait_for(bot.out, "first weekly check-in is ready")
        bot.says("/checkin", "How confident do you feel")
        bot.says("3", "What got in the way")

        program.write_text(revised_sample_text(), "utf-8")
        assert bot.hangup("reloaded") == ["reloaded: business_12w version 2"]
        bot.says("clients went quiet", "What revenue did you bring in")
        bot.says("2500", "Did you do the outreach")
        bot.says("yes", "Where will you put")
        bot.says("1", "Anything you'd like your coach to know")
        bot.says("/skip", "Thanks, Sam!")

        program.write_text(revised_sample_text().replace("sla: 72h", "sla: soon"), "utf-8")
        refused = bot.hangup("reload refused")
        assert refused[-1] == ("reload refused: the program is invalid; the running version "
                               "stays")
        assert any(line.startswith(f"{program}:") and "sla" in line for line in refused)
        bot.says("/checkin", "How confident do you feel")
        # Version 2 runs still: no blocker question after a low score.
        bot.says("3", "What revenue did you bring in")
    finally:
        code = bot.close()
    assert code == 0
