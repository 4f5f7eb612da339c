"""SIGHUP: read the program files again and run them, or keep the running version.

The reload runs in a thread of its own: a signal may arrive while a message is being
handled, and the reload's transaction must not run inside that one.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from bot.composition import App
from conversations.loader import ProgramInvalid
from services.program_versions import Refused


def reload_and_report(app: App, say: Callable[[str], None]) -> bool:
    """Reload the program files; each line of the outcome goes to `say`. False if refused."""
    try:
        numbers = app.reload_programs()
    except ProgramInvalid as exc:
        for error in exc.errors:
            say(str(error))
        say("reload refused: the program is invalid; the running version stays")
        return False
    except Refused as exc:
        for effect in exc.impact.refused:
            say(effect.text)
        say("reload refused: it would strand clients; the running version stays")
        return False
    say("reloaded: " + ", ".join(f"{pid} version {n}" for pid, n in sorted(numbers.items())))
    return True


def reload_in_thread(app: App, say: Callable[[str], None]) -> threading.Thread:
    """Start a reload beside whatever the process is doing."""
    thread = threading.Thread(target=reload_and_report, args=(app, say), name="reload",
                              daemon=True)
    thread.start()
    return thread


def on_sighup(app: App, say: Callable[[str], None]) -> None:
    """Reload on SIGHUP (`kill -HUP PID`) in a process without an event loop."""
    signal.signal(signal.SIGHUP, lambda _signum, _frame: reload_in_thread(app, say))
