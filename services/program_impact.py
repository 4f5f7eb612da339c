"""What a new program version does to the clients enrolled now, in plain words, before it
goes live (`coachbot program diff`), and what applying it refuses."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session

from conversations.program import Program
from conversations.program_diff import DAYS, Change, compare, renamed_questions
from services.program_catalog import checksum_of
from services.unit_of_work import Runtime
from storage import metric_store
from storage import program_reach as reach
from storage import programs as stored


@dataclass(frozen=True)
class Effect:
    """One sentence for the owner; `attention` when it reaches clients, `refused` when
    applying the version would strand them."""

    text: str
    attention: bool = False
    refused: bool = False


@dataclass
class Impact:
    """Everything a version changes for the program's clients."""

    program_id: str
    old_version: int | None
    new_version: int
    effects: list[Effect] = field(default_factory=list)

    @property
    def attention(self) -> bool:
        """Whether anything reaches a client or is refused."""
        return any(e.attention or e.refused for e in self.effects)

    @property
    def refused(self) -> list[Effect]:
        """What stops the version from being applied."""
        return [e for e in self.effects if e.refused]


class DifferentPrograms(Exception):
    """The two files are not versions of one program."""


def _clients(n: int) -> str:
    return f"{n} client{'s' if n != 1 else ''}"


def _slot(slot: tuple[str, str]) -> str:
    return f"{DAYS.get(slot[0], slot[0])} {slot[1]}"


def _default_slot(program: Program) -> tuple[str, str] | None:
    weekly = program.checkin_schedule
    return (weekly.day, f"{weekly.time:%H:%M}") if weekly else None


def impact(rt: Runtime, old: Program, new: Program, *, old_text: str, new_text: str) -> Impact:
    """The effect of going from `old` to `new` on the program's clients now."""
    if old.id != new.id:
        raise DifferentPrograms(f"these are two programs ('{old.id}' and '{new.id}'), not two "
                                "versions of one")
    with rt.reading() as session:
        return effects_on(session, old, new, old_checksum=checksum_of(old_text),
                          new_checksum=checksum_of(new_text))


def effects_on(session: Session, old: Program, new: Program, *, old_checksum: str,
               new_checksum: str) -> Impact:
    """`impact` inside the caller's session (apply refuses on it in its transaction)."""
    old_row = stored.version_row(session, old.id, old_checksum)
    new_row = stored.version_row(session, new.id, new_checksum)
    numbers = [v.version for v in stored.versions_of(session, new.id)]
    new_version = new_row.version if new_row else max(numbers, default=0) + 1
    result = Impact(old.id, old_row.version if old_row else None, new_version)
    conversations = reach.open_conversations(session, old.id)
    versions = {v.id: v.version for v in stored.versions_of(session, old.id)}
    ctx = _Words(session, old, new, conversations, versions, result)
    for change in compare(old, new):
        words = _WORDS.get(change.kind)
        if words is not None:
            effect = words(ctx, change)
            if effect is not None:
                result.effects.append(effect)
    ctx.mid_flow()
    if not result.effects:
        result.effects.append(Effect("nothing in this version reaches enrolled clients"))
    return result


@dataclass
class _Words:
    session: Session
    old: Program
    new: Program
    conversations: list[reach.OpenConversation]
    versions: dict[int | None, int]
    result: Impact
    changed_flows: set[str] = field(default_factory=set)

    def finish_on(self, found: list[reach.OpenConversation]) -> str:
        numbers = sorted({self.versions.get(c.version_id) for c in found} - {None})
        if len(numbers) == 1:
            return f"version {numbers[0]}"
        if numbers:
            return "the versions they started on (" + ", ".join(map(str, numbers)) + ")"
        return "the version they started on"

    def on_question(self, flow: str, question: str) -> list[reach.OpenConversation]:
        return [c for c in self.conversations if c.flow == flow and c.asked == question]

    def mid_flow(self) -> None:
        """The clients mid-way through a changed flow, not on a removed question."""
        for flow in sorted(self.changed_flows):
            found = [c for c in self.conversations if c.flow == flow]
            if found and flow in self.new.flows_by_id():
                title = self.new.flow(flow).title
                verb = "finish" if len(found) != 1 else "finishes"
                self.result.effects.append(Effect(
                    f"{_clients(len(found))} mid {title} {verb} it on "
                    f"{self.finish_on(found)}; their next one uses version "
                    f"{self.result.new_version}"))


def _question_removed(w: _Words, c: Change) -> Effect:
    flow, question = c.subject.split(".", 1)
    w.changed_flows.add(flow)
    found = w.on_question(flow, question)
    if found:
        title = w.old.flow(flow).title
        return Effect(f"{_clients(len(found))} {'are' if len(found) != 1 else 'is'} mid "
                      f"{title} on a question this version removes ({c.subject}): they "
                      f"finish on {w.finish_on(found)}", attention=True)
    return Effect(f"question {c.subject} removed: its answers so far stay under its id")


def _question_renamed(w: _Words, c: Change) -> Effect:
    w.changed_flows.add(c.flow or "")
    return Effect(f"question {c.before} is now {c.subject}: answers given under "
                  f"{c.before} join its history (renamed_from)")


def _question_added(w: _Words, c: Change) -> Effect:
    w.changed_flows.add(c.flow or "")
    return Effect(f"question {c.subject} added: asked from the next "
                  f"{w.new.flow(c.flow or '').title} on")


def _question_changed(w: _Words, c: Change) -> Effect:
    w.changed_flows.add(c.flow or "")
    return Effect(f"question {c.subject} changes from {c.before} to {c.after}: answers "
                  f"given before stay as they were", attention=True)


def _option_removed(w: _Words, c: Change) -> Effect:
    flow, question = c.subject.split(".", 1)
    w.changed_flows.add(flow)
    found = w.on_question(flow, question)
    if found:
        return Effect(f"option {c.before} of {c.subject} removed: {_clients(len(found))} "
                      f"with its button pending finish on {w.finish_on(found)}",
                      attention=True)
    return Effect(f"option {c.before} of {c.subject} removed")


def _flow_removed(w: _Words, c: Change) -> Effect:
    found = [x for x in w.conversations if x.flow == c.subject]
    if found:
        return Effect(f"{_clients(len(found))} mid {c.before}, a flow this version removes: "
                      f"they finish it on {w.finish_on(found)}", attention=True)
    return Effect(f"flow {c.subject} removed: no client is in it")


def _stage_removed(w: _Words, c: Change) -> Effect:
    count = reach.stages(w.session, w.old.id)[c.subject]
    if count:
        verb = "are" if count != 1 else "is"
        return Effect(f"stage {c.subject} removed: {_clients(count)} {verb} in it and would "
                      "be stranded; refused (keep the stage until they have moved on)",
                      refused=True)
    return Effect(f"stage {c.subject} removed: no client is in it")


def _touchpoint_moved(w: _Words, c: Change) -> Effect:
    before, after = _default_slot(w.old), _default_slot(w.new)
    touchpoint = next(t for t in w.new.touchpoints if t.id == c.subject)
    name = (touchpoint.title or c.subject).lower()
    if touchpoint.send.flow == w.new.checkin_flow and before and after and before != after:
        slots: Counter[tuple[str, str]] = reach.slots(w.session, w.old.id)
        moving, own = slots[before], sum(slots.values()) - slots[before]
        kept = f"; {_clients(own)} who chose their own time keep it" if own else ""
        return Effect(f"the {name} moves from {_slot(before)} to "
                      f"{_slot(after)} for {_clients(moving)} from their next one{kept}",
                      attention=moving > 0)
    count = reach.planned_count(w.session, w.old.id)
    return Effect(f"the {name} moves from {c.before} to {c.after} for "
                  f"{_clients(count)} from its next occurrence", attention=count > 0)


def _touchpoint_removed(w: _Words, c: Change) -> Effect:
    count = reach.planned_count(w.session, w.old.id)
    return Effect(f"touchpoint {c.subject} removed: its planned sends are skipped for "
                  f"{_clients(count)}", attention=count > 0)


def _touchpoint_added(w: _Words, c: Change) -> Effect:
    count = reach.planned_count(w.session, w.old.id)
    return Effect(f"touchpoint {c.subject} added ({c.after}): planned for {_clients(count)}",
                  attention=count > 0)


def _metric_reads(w: _Words, c: Change) -> Effect:
    joined = renamed_questions(w.new).get(c.before or "") == c.after
    if joined:
        return Effect(f"metric {c.subject} now reads {c.after}: its history under "
                      f"{c.before} stays joined (renamed_from)")
    since = w.result.new_version
    return Effect(f"metric {c.subject} now reads {c.after}: its history before version "
                  f"{since} stays under {c.before}", attention=True)


def _metric_renamed(w: _Words, c: Change) -> Effect:
    return Effect(f"metric {c.before} is now {c.subject}: its stored values join under "
                  f"{c.subject} (renamed_from)")


def _metric_removed(w: _Words, c: Change) -> Effect:
    return Effect(f"metric {c.subject} removed: its stored values stay, no longer updated")


def _rule_removed(w: _Words, c: Change) -> Effect:
    count = reach.open_firings(w.session, w.old.id)[c.subject]
    firings = f"{count} open firing{'s are' if count != 1 else ' is'} cleared"
    return Effect(f"rule {c.subject} removed: {firings}", attention=count > 0)


def _rule_changed(w: _Words, c: Change) -> Effect:
    count = reach.open_firings(w.session, w.old.id)[c.subject]
    return Effect(f"rule {c.subject} changes: {count} open firing"
                  f"{'s are' if count != 1 else ' is'} checked again at the next evaluation",
                  attention=count > 0)


def _rule_added(w: _Words, c: Change) -> Effect:
    return Effect(f"rule {c.subject} added: evaluated from each client's next check-in")


_WORDS: dict[str, Callable[[_Words, Change], Effect | None]] = {
    "question_removed": _question_removed, "question_renamed": _question_renamed,
    "question_added": _question_added, "question_changed": _question_changed,
    "option_removed": _option_removed, "flow_removed": _flow_removed,
    "stage_removed": _stage_removed, "touchpoint_moved": _touchpoint_moved,
    "touchpoint_removed": _touchpoint_removed, "touchpoint_added": _touchpoint_added,
    "metric_reads": _metric_reads, "metric_renamed": _metric_renamed,
    "metric_removed": _metric_removed, "rule_removed": _rule_removed,
    "rule_changed": _rule_changed, "rule_added": _rule_added,
}


def carry_over(session: Session, old: Program, new: Program) -> int:
    """What a switch of version moves along with it: renamed metrics' stored values, and
    clients on the old default check-in slot (see `move_default_slot`); clients moved."""
    for change in compare(old, new):
        if change.kind == "metric_renamed" and change.before:
            metric_store.rename_metric(session, new.id, before=change.before,
                                       after=change.subject)
    return move_default_slot(session, old, new)


def move_default_slot(session: Session, old: Program, new: Program) -> int:
    """Clients on the old default check-in slot follow the new default (those who chose
    their own keep it); how many moved. The tick replans them."""
    before, after = _default_slot(old), _default_slot(new)
    if before is None or after is None or before == after:
        return 0
    return reach.move_slot(session, old.id, before=before, after=after)
