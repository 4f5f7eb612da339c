"""Waking an outbox drain as soon as a transaction queued something, from any thread."""

from __future__ import annotations

import asyncio
import contextlib

from services.unit_of_work import Runtime


class Wakeup:
    """An event set whenever the runtime commits queued messages; waited on by a drain."""

    def __init__(self, rt: Runtime, loop: asyncio.AbstractEventLoop) -> None:
        self.rt = rt
        self.loop = loop
        self.event = asyncio.Event()

    @classmethod
    def attach(cls, rt: Runtime) -> Wakeup:
        """Listen to `rt` from the running loop."""
        wakeup = cls(rt, asyncio.get_running_loop())
        rt.listeners.append(wakeup.set)
        return wakeup

    def set(self) -> None:
        """Wake the drain (safe from worker threads)."""
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            self.loop.call_soon_threadsafe(self.event.set)

    async def wait(self, timeout: float) -> None:
        """Until woken, or `timeout` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.event.wait(), timeout)
        self.event.clear()

    def detach(self) -> None:
        """Stop listening."""
        with contextlib.suppress(ValueError):
            self.rt.listeners.remove(self.set)
