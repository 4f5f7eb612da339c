"""The `coachbot` command line."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from typer.core import TyperGroup

from bot.composition import App, DatabaseTooNew, NotMigrated, build_app
from bot.private_files import write_private
from bot.program_files import LoadedProgram, across, load_file, program_files
from bot.settings import Settings
from conversations.loader import ProgramInvalid
from conversations.program import Program, Touchpoint
from conversations.translations import catalog_complete
from scheduler.occurrences import Occurrence, plan
from services.enrolment import EnrolError, check_zone, enrol_client


class _OneLineErrors(TyperGroup):
    """Whatever command fails on the database or a file ends in one line and exit 2."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except (DatabaseTooNew, NotMigrated) as exc:
            raise _fail(str(exc)) from None
        except SQLAlchemyError as exc:
            raise _fail(f"cannot use the database: {_db_reason(exc)}") from None
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            raise _fail(f"cannot use{where}: {exc.strerror or exc}") from None


app = typer.Typer(no_args_is_help=True, add_completion=False, cls=_OneLineErrors,
                  help="coachbot: run a coaching program as a system, in chat.")
db_app = typer.Typer(no_args_is_help=True, help="Database maintenance.")
app.add_typer(db_app, name="db")

# markup=False: names, answers and paths are printed as they are; a client called
# "[/bold]" must neither break a table nor style one. Styles are given as Text objects.
out = Console(highlight=False, markup=False)
err = Console(stderr=True, highlight=False, markup=False)
# Below this width the preview lists occurrences and describes touchpoints apart.
WIDE_PREVIEW = 120


def _fail(message: str) -> typer.Exit:
    err.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)
    return typer.Exit(2)


def _app(settings: Settings | None = None) -> App:
    settings = settings or Settings()
    try:
        return build_app(settings)
    except ProgramInvalid as exc:
        for error in exc.errors:
            err.print(str(error), markup=False, soft_wrap=True)
        raise _fail("the program is invalid; the bot will not start on it") from None
    except (DatabaseTooNew, NotMigrated) as exc:
        raise _fail(str(exc)) from None
    except (OperationalError, SQLAlchemyError) as exc:
        raise _fail(f"cannot use the database: {_db_reason(exc)}") from None


def _db_reason(exc: Exception) -> str:
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return reason[:200]


def _logging(level: str, settings: Settings | None = None) -> None:
    from bot.logs import guard, quiet_payload_loggers

    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    quiet_payload_loggers()
    secrets = [] if settings is None else [
        settings.telegram_token, settings.telegram_webhook_secret, settings.slack_bot_token,
        settings.slack_app_token, settings.slack_signing_secret,
        settings.stripe_webhook_secret, settings.stripe_api_key,
        settings.calcom_webhook_secret, settings.calendly_signing_key]
    for handler in logging.getLogger().handlers:
        guard(handler, level=logging.getLogger().level, secrets=secrets)


def _write_out(text: str, out_path: Path | None, what: str) -> None:
    """Print `text`, or write it to `out_path` (private to its owner) and say so."""
    if out_path is None:
        sys.stdout.write(text)
        return
    try:
        write_private(out_path, text)
    except OSError as exc:
        raise _fail(f"cannot write {out_path}: {exc.strerror}") from None
    out.print(f"{what} written to {out_path}", markup=False, soft_wrap=True)


@app.command()
def run() -> None:
    """Run the bot: the console when no platform token is set."""
    settings = Settings()
    _logging("WARNING" if settings.uses_console else settings.log_level, settings)
    application = _app(settings)
    if settings.uses_console:
        from bot.console import ConsoleChannel
        from bot.program_reload import on_sighup

        on_sighup(application, lambda line: err.print(line, markup=False, soft_wrap=True))
        interactive = sys.stdin.isatty()
        if interactive:
            out.print(Text.assemble(("coachbot", "bold"), " console, program ",
                                    (application.program_ids()[0], "green"),
                                    f", database {settings.database_url}. Ctrl-D to quit.\n"))
        code = ConsoleChannel(application, stdin=sys.stdin, stdout=sys.stdout,
                              interactive=interactive).run()
        raise typer.Exit(code)
    from bot.serve import install_stop_signals, serve

    async def until_signalled() -> None:
        stop = asyncio.Event()
        install_stop_signals(stop)
        await serve(application, stop)

    try:
        asyncio.run(until_signalled())
    except KeyboardInterrupt:
        pass
    except RuntimeError as exc:
        raise _fail(str(exc)) from None


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="program files or folders")]
             ) -> None:
    """Check program files: a summary per valid file, FILE:LINE: field: problem otherwise."""
    failed = False
    for path in [f for location in files for f in program_files(location)]:
        try:
            loaded = load_file(path)
        except ProgramInvalid as exc:
            failed = True
            for error in exc.errors:
                out.print(str(error), markup=False, soft_wrap=True)
            continue
        p = loaded.program
        out.print(f"{path}: ok: {p.id} ({p.name}), {len(p.stages)} stages, {len(p.flows)} "
                  f"flows, {len(p.touchpoints)} touchpoints, {len(p.metrics)} metrics, "
                  f"{len(p.rules)} rules", markup=False, soft_wrap=True)
        if not catalog_complete(p.language):
            out.print(f"{path}: warning: language {p.language}: the bot's own messages have "
                      "no complete catalog, so some will be in English", markup=False,
                      soft_wrap=True)
    if failed:
        raise typer.Exit(2)


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date like 2026-01-05") from None


def _no_answer(tp: Touchpoint) -> str:
    policy = tp.on_no_answer
    if policy is None:
        return "-" if tp.send.flow is None else "nothing"
    hours = int(policy.remind_after.total_seconds() // 3600)
    then = policy.then.replace("_", " ")
    return f"remind after {hours}h, at most {policy.max_reminders}x; then {then}"


def _duration(value) -> str:
    if value is None:
        return "-"
    hours = int(value.total_seconds() // 3600)
    return f"{hours}h" if hours < 72 else f"{hours // 24}d"


@app.command()
def preview(
    file: Path,
    start: Annotated[str, typer.Option(help="enrolment date, e.g. 2026-01-05")],
    tz: Annotated[str, typer.Option(help="the client's IANA time zone")] = "UTC",
    at: Annotated[str, typer.Option(help="local time of enrolment")] = "09:00",
    format_: Annotated[str, typer.Option("--format", help="table | html (a timeline)")
                       ] = "table",
    out_path: Annotated[Path | None, typer.Option("--out", help="write to this file")] = None,
    variant: Annotated[str | None, typer.Option(help="preview one of the program's variants")
                       ] = None,
    clients: Annotated[int, typer.Option(
        min=1, help="clients in one zone sharing the check-in slot: how long they take")
                       ] = 1000,
) -> None:
    """The delivery operations map: every touchpoint of a client enrolled on START."""
    if format_ not in ("table", "html"):
        raise _fail(f"--format is table or html, not '{format_}'")
    if out_path is not None and not out_path.parent.is_dir():
        raise _fail(f"--out {out_path}: the folder {out_path.parent} does not exist")
    program = _program_to_preview(file, tz, variant)
    if format_ != "html" or out_path is not None:
        for line in _variant_lines(program, variant):
            out.print(line, markup=False, soft_wrap=True)
    program = program.with_variant(variant)
    day = _parse_date(start)
    enrolled = datetime.combine(day, _parse_time(at), tzinfo=ZoneInfo(tz))
    items = plan(program, enrolled_at=enrolled, zone=tz)
    if format_ == "html":
        _write_journey_map(program, items, enrolled, tz, out_path)
        return
    if out.width < WIDE_PREVIEW:
        _print_narrow_preview(program, items, enrolled, tz, f"{day} {at}")
        _print_figures(program, enrolled, clients, tz, soft_wrap=None)  # wrapped to the width
        return
    title = f"{program.name}: client enrolled {day} {at} ({tz})"
    out.print(_preview_table(program, items, ZoneInfo(tz), title))
    _print_figures(program, enrolled, clients, tz, soft_wrap=True)


def _print_figures(program: Program, enrolled: datetime, clients: int, tz: str, *,
                   soft_wrap: bool | None) -> None:
    """The retention line and how long a burst of CLIENTS check-ins takes to send."""
    out.print(_retention_line(program, enrolled), markup=False, soft_wrap=soft_wrap)
    for line in _burst_lines(program, clients, tz):
        out.print(line, markup=False, soft_wrap=soft_wrap)


def _program_to_preview(file: Path, tz: str, variant: str | None) -> Program:
    """The program in FILE, once the zone and the variant asked for are known to be valid."""
    try:
        program = load_file(file).program
    except ProgramInvalid as exc:
        for error in exc.errors:
            out.print(str(error), markup=False, soft_wrap=True)
        raise typer.Exit(2) from None
    try:
        check_zone(tz)
    except EnrolError as exc:
        raise _fail(str(exc)) from None
    if variant is not None and variant not in {v.id for v in program.variants}:
        known = ", ".join(v.id for v in program.variants) or "none"
        raise _fail(f"no variant '{variant}' in {file} (variants: {known})")
    return program


def _parse_time(at: str) -> time:
    """A local time like 09:00, or a clear error."""
    try:
        return time.fromisoformat(at)
    except ValueError:
        raise _fail(f"'{at}' is not a time like 09:00") from None


def _write_journey_map(program: Program, items: list[Occurrence], enrolled: datetime, tz: str,
                       out_path: Path | None) -> None:
    """The HTML timeline, to standard output or to the file asked for."""
    from bot import preview_views

    page = preview_views.html_page(program, items, enrolled, tz)
    if out_path is None:
        sys.stdout.write(page)
        return
    out_path.write_text(page, encoding="utf-8")
    out.print(f"Journey map written to {out_path}", markup=False, soft_wrap=True)


def _print_narrow_preview(program: Program, items: list[Occurrence], enrolled: datetime, tz: str,
                          when: str) -> None:
    """One block per touchpoint, for a terminal too narrow for the table."""
    from bot import preview_views

    for part in preview_views.narrow(program, items, enrolled, tz, when):
        out.print(part)
        out.print()


def _sends(tp: Touchpoint) -> str:
    """What a touchpoint sends, cut to fit a table cell."""
    sends = f"flow {tp.send.flow}" if tp.send.flow else f"message: {tp.send.message}"
    return sends[:60]


def _preview_table(program: Program, items: list[Occurrence], zone: ZoneInfo,
                   title: str) -> Table:
    """The planned touchpoints in order, then those that follow each session."""
    table = Table(title=title)
    for column in ("date", "local time", "stage", "touchpoint", "sends", "owner", "SLA",
                   "if not answered"):
        table.add_column(column, overflow="fold")
    for item in items:
        local = item.due.astimezone(zone)
        tp = item.touchpoint
        table.add_row(f"{local:%a %Y-%m-%d}", f"{local:%H:%M}", item.stage,
                      tp.title or tp.id, _sends(tp), tp.owner, _duration(tp.sla),
                      _no_answer(tp))
    for tp in program.touchpoints:
        if tp.when.before_session or tp.when.after_session:
            offset = tp.when.before_session or tp.when.after_session
            side = "before" if tp.when.before_session else "after"
            table.add_row("each session", f"{_duration(offset)} {side}", "any",
                          tp.title or tp.id, _sends(tp), tp.owner, _duration(tp.sla),
                          _no_answer(tp))
    return table


def _variant_lines(program, shown: str | None) -> list[str]:
    """What the program's variants change, and which one the preview shows."""
    if not program.variants:
        return []
    lines = ["Variants (a share of new enrolments each):"]
    for v in program.variants:
        parts = [f"{v.share}%"]
        if v.checkin is not None:
            parts.append(f"check-in {v.checkin.day} {v.checkin.time:%H:%M}")
        parts += [f"rule {r.id}" for r in v.rules] + [f"touchpoint {t.id}" for t in v.touchpoints]
        lines.append(f"  {v.id}: {', '.join(parts)}")
    rest = 100 - sum(v.share for v in program.variants)
    if rest:
        lines.append(f"  as written: {rest}%")
    lines.append(f"Shown: variant {shown}" if shown else
                 "Shown: the program as written (--variant ID shows a variant)")
    return lines


DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
             "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}


def _burst_lines(program, clients: int, tz: str) -> list[str]:
    """How long the weekly check-in takes to reach `clients` clients due at once."""
    from services.send_budget import checkin_burst, duration_text

    burst = checkin_burst(program, clients)
    if burst is None:
        return []
    (free, free_time), (paid, paid_time) = burst.at_limits
    return [f"{DAY_NAMES.get(burst.day, burst.day)} {burst.at} {tz}: {clients:,} check-ins due "
            f"at once -> about {duration_text(free_time)} at {free.label}; about "
            f"{duration_text(paid_time)} at {paid.label} (COACHBOT_TELEGRAM_PAID_BROADCAST=1, "
            f"paid in Stars). Several workers share one budget: more workers do not go faster."]


def _retention_line(program, enrolled: datetime) -> str:
    from services.retention import erase_due

    due = erase_due(program, enrolled)
    if due is None:
        return "Retention: the program file sets none; answers are kept until erased."
    return (f"Retention: answers erased {program.privacy.retention_days_after_end} days after "
            f"the program ends, on {due.astimezone(enrolled.tzinfo):%a %Y-%m-%d} (daily job).")


@app.command()
def enroll(
    program: Annotated[str, typer.Option(help="program id")],
    name: Annotated[str, typer.Option(help="the client's full name")],
    tz: Annotated[str, typer.Option(help="the client's IANA time zone")],
    coach: Annotated[str | None, typer.Option(help="the coach's name")] = None,
    slack_id: Annotated[str | None, typer.Option(
        "--slack-id", help="the client's Slack user id: open a DM and start intake there"
    )] = None,
) -> None:
    """Enrol a client and print their single-use invite code."""
    application = _app()
    try:
        if slack_id:
            return _enroll_on_slack(application, program, name, tz, coach, slack_id.strip())
        enrolled = enrol_client(application.rt, program_id=program, name=name, zone=tz,
                                coach=coach)
    except EnrolError as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _fail(f"cannot use the database: {_db_reason(exc)}") from None
    out.print(f"Enrolled {name} in {program}. Invite code: {enrolled.code} "
              f"(single use, valid until {enrolled.expires_at:%Y-%m-%d %H:%M} UTC). "
              f"The client sends: /start {enrolled.code}", markup=False, soft_wrap=True)
    if application.settings.telegram_token:
        from bot.telegram.links import invite_link

        link = invite_link(application.settings, enrolled.code)
        if link:
            out.print(f"Telegram invite link: {link}", markup=False, soft_wrap=True)


def _enroll_on_slack(application: App, program: str, name: str, tz: str,
                     coach: str | None, slack_id: str) -> None:
    """Enrol straight into a Slack DM: no code to pass on, the intake is queued for them."""
    from bot.slack.dm_join import join_on_slack, open_dm, refuse_staff
    from bot.slack.slack_sender import web_client

    settings = application.settings
    if not settings.slack_bot_token:
        raise EnrolError("--slack-id needs COACHBOT_SLACK_BOT_TOKEN")
    # Checks first: a staff id, a wrong id or a missing scope stop before anything is stored.
    refuse_staff(application, slack_id)
    open_dm(web_client(settings.slack_bot_token, settings.slack_api_url), slack_id)
    enrolled = enrol_client(application.rt, program_id=program, name=name, zone=tz,
                            coach=coach)
    if not join_on_slack(application, enrolled, slack_id):
        raise EnrolError(f"could not start intake for {slack_id}; the client can still "
                         f"join by sending /start {enrolled.code} to the bot")
    out.print(f"Enrolled {name} in {program} on Slack ({slack_id}): the intake is queued in "
              f"their DM and goes out with `coachbot run`.", markup=False, soft_wrap=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations."""
    from services.database import migrate

    settings = Settings()
    try:
        migrate(settings.database_url)
    except DatabaseTooNew as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _fail(f"cannot migrate the database: {_db_reason(exc)}") from None
    out.print("database is up to date")


staff_app = typer.Typer(no_args_is_help=True, help="Coaches and team members (Slack).")
app.add_typer(staff_app, name="staff")


@staff_app.command("add")
def staff_add(
    name: Annotated[str, typer.Option(help="full name")],
    slack_id: Annotated[str, typer.Option("--slack-id", help="Slack user id, e.g. U123")],
    role: Annotated[str, typer.Option(help="coach, team or program_owner")],
    tz: Annotated[str, typer.Option(help="IANA time zone (the digest comes at 08:00 here)")],
    backup: Annotated[str | None, typer.Option(help="who takes over past the SLA")] = None,
    digest_at: Annotated[str | None, typer.Option(
        "--digest-at", help="a coach's digest time, HH:MM in their zone "
        "(default COACHBOT_DIGEST_TIME, 08:00)")] = None,
    checkins_to: Annotated[str | None, typer.Option(
        "--checkins-to", help="a Slack channel id (C123) for a coach's check-in cards "
        "(default: their DM)")] = None,
    language: Annotated[str | None, typer.Option(
        help="what the bot writes them in: en, de, es, fr or pt-BR (default en)")] = None,
) -> None:
    """Add a coach, team member or program owner reachable in Slack (again to update them)."""
    from services import staff_directory

    try:
        check_zone(tz)
    except EnrolError as exc:
        raise _fail(str(exc)) from None
    application = _app()
    try:
        staff_directory.add(application.rt, name=name, slack_id=slack_id, role=role,
                            timezone=tz, backup=backup, digest_time=digest_at,
                            checkin_channel=checkins_to, language=language)
    except staff_directory.StaffError as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _fail(f"cannot use the database: {_db_reason(exc)}") from None
    out.print(f"{role} {name} added (Slack {slack_id}, {tz})"
              + (f", backup {backup}" if backup else ""), markup=False, soft_wrap=True)


session_app = typer.Typer(no_args_is_help=True, help="Coaching sessions.")
app.add_typer(session_app, name="session")


@session_app.command("add")
def session_add(
    client: Annotated[str, typer.Argument(help="the client's full name")],
    at: Annotated[str, typer.Option(help="the client's local time, e.g. '2026-03-02 15:00'")],
) -> None:
    """Book a coaching session; its prep and follow-up are planned at once."""
    from services.coaching_sessions import BookingError, book_session

    application = _app()
    try:
        booked = book_session(application.rt, client=client, local_time=at)
    except BookingError as exc:
        raise _fail(str(exc)) from None
    out.print(f"Session booked for {client}: {booked.local:%a %Y-%m-%d %H:%M %Z} "
              f"({booked.at:%Y-%m-%d %H:%M} UTC).", markup=False, soft_wrap=True)


@app.command()
def simulate(
    file: Annotated[Path, typer.Argument(help="the program file")],
    clients: Annotated[int, typer.Option(min=1, max=500)] = 20,
    weeks: Annotated[int, typer.Option(min=1, max=104)] = 12,
    answers: Annotated[str, typer.Option(help="random | low")] = "random",
    seed: Annotated[int, typer.Option(help="same seed, same run")] = 1,
) -> None:
    """Run the journey on a virtual clock and a throwaway database; print what clients saw."""
    from services.simulation import simulate as run_simulation

    if answers not in ("random", "low"):
        raise _fail("--answers is random or low")
    try:
        summary = run_simulation(load_file(file).program, clients=clients, weeks=weeks,
                                 answers=answers,  # type: ignore[arg-type]
                                 seed=seed, print_line=lambda line: out.print(
                                     line, markup=False, soft_wrap=True))
    except ProgramInvalid as exc:
        for error in exc.errors:
            err.print(str(error), markup=False, soft_wrap=True)
        raise _fail("the program is invalid") from None
    table = Table(title=f"{summary.clients} clients, {weeks} weeks: {summary.messages} "
                        f"messages seen, {summary.answers} answers given")
    for column in ("touchpoint", "kind", "status", "reason", "rows"):
        table.add_column(column)
    for (tp, kind, status, reason), count in sorted(summary.rows.items(),
                                                    key=lambda i: tuple(map(str, i[0]))):
        table.add_row(tp, kind, status, reason or "", str(count))
    out.print(table)
    flows = sorted(set(summary.completed) | set(summary.missed))
    out.print("flows completed / missed: " + ", ".join(
        f"{f} {summary.completed[f]}/{summary.missed[f]}" for f in flows), markup=False)
    out.print(f"escalations opened: {summary.escalations}; check-ins sent off the client's "
              f"local hour: {summary.checkins_off_hour}", markup=False)
    out.print("rules fired: " + (", ".join(f"{rule} {count}" for rule, count in
                                           sorted(summary.rule_firings.items())) or "none"),
              markup=False)
    if summary.variants:
        from bot.report_table import variants_table

        out.print(variants_table(summary.variants, "variants side by side"))


@app.command()
def report(
    program: Annotated[str | None, typer.Option(help="one program id (default: all)")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="first enrolment day, YYYY-MM-DD")
                     ] = None,
    to: Annotated[str | None, typer.Option(help="last enrolment day, YYYY-MM-DD")] = None,
    format_: Annotated[str, typer.Option("--format", help="table | csv | html")] = "table",
    out_path: Annotated[Path | None, typer.Option("--out", help="write to this file")] = None,
) -> None:
    """The program report per program and cohort (month of enrolment)."""
    from bot.report_table import WIDE, as_records, as_table
    from services import report as reports

    if format_ not in ("table", "csv", "html"):
        raise _fail("--format is table, csv or html")
    try:
        start, end = reports.parse_day(from_, "--from"), reports.parse_day(to, "--to")
    except reports.BadRange as exc:
        raise _fail(str(exc)) from None
    application = _app()
    try:
        programs = application.rt.programs
        if program is not None and program not in programs:
            raise _fail(f"no program '{program}'; loaded: {', '.join(sorted(programs))}")
        try:
            rows = reports.build(application.rt, program_id=program, start=start, end=end)
        except reports.BadRange as exc:
            raise _fail(str(exc)) from None
    finally:
        application.db.dispose()
    span = f"enrolled {start or 'from the start'} to {end or 'today'}"
    if not rows:
        out.print(f"No enrolments {span}: nothing to report.", markup=False)
        return
    title = f"coachbot report: {span}"
    if format_ == "table" and out_path is None:
        out.print(as_table(rows, title) if out.width >= WIDE else as_records(rows, title))
        return
    if format_ == "table":
        recorder = Console(width=220, record=True, file=io.StringIO())
        recorder.print(as_table(rows, title))
        text = recorder.export_text()
    else:
        text = reports.as_csv(rows) if format_ == "csv" else reports.as_html(rows, title)
    _write_out(text, out_path, "Report")


@app.command()
def review(
    program: Annotated[str | None, typer.Option(help="one program id (default: all)")] = None,
    quarter: Annotated[str | None, typer.Option(
        help="a quarter like 2026Q3 (default: the last quarter that has ended)")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD")] = None,
    to: Annotated[str | None, typer.Option(help="last day, YYYY-MM-DD")] = None,
    by: Annotated[str | None, typer.Option(
        help="split clients by an answer, FLOW.QUESTION (number, scale, yes/no or choice)")
    ] = None,
    bands: Annotated[str | None, typer.Option(
        help="band edges for a number --by, e.g. 5,10 (default: tertiles)")] = None,
    format_: Annotated[str, typer.Option("--format", help="table | csv | html | json")
                       ] = "table",
    out_path: Annotated[Path | None, typer.Option("--out", help="write to this file")] = None,
    to_slack: Annotated[bool, typer.Option(
        "--to-slack", help="post a summary and the HTML file to the program owner (or the "
        "team channel) in Slack")] = False,
) -> None:
    """The quarterly review: delivery, the journey, the data layer, segments, what changed."""
    from bot import review_command as command

    request = command.Request(program=program, quarter=quarter, start=from_, end=to, by=by,
                              bands=bands, format=format_, out=out_path)
    application = _app()
    try:
        period = command.check(request, application.clock.now().date())
        recipient = command.check_slack(application) if to_slack else None
        reviews = command.figures(application, request, period)
        if recipient is not None:
            out.print(command.to_slack(application, recipient, reviews), markup=False,
                      soft_wrap=True)
            if out_path is None:
                return
    except command.BadReview as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _fail(f"cannot use the database: {_db_reason(exc)}") from None
    finally:
        application.db.dispose()
    text = command.render(reviews, request, out)
    if text is None:
        return
    _write_out(text, out_path, "Review")



# --- program versions ---------------------------------------------------------------------

program_app = typer.Typer(no_args_is_help=True,
                          help="Changing a running program: diff, apply.")
app.add_typer(program_app, name="program")


def _load_or_exit(path: Path) -> LoadedProgram:
    try:
        return load_file(path)
    except ProgramInvalid as exc:
        for error in exc.errors:
            out.print(str(error), markup=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _print_effects(effects) -> None:
    for effect in effects:
        mark = "x" if effect.refused else ("!" if effect.attention else "-")
        out.print(f"  {mark} {effect.text}", markup=False, soft_wrap=True)


@program_app.command("diff")
def program_diff(old: Annotated[Path, typer.Argument(help="the program file running now")],
                 new: Annotated[Path, typer.Argument(help="the revised program file")]) -> None:
    """What NEW changes for enrolled clients; exit 1 when something needs attention."""
    from services.program_impact import DifferentPrograms, impact

    before, after = _load_or_exit(old), _load_or_exit(new)
    application = _app()
    try:
        found = impact(application.rt, before.program, after.program, old_text=before.text,
                       new_text=after.text)
    except DifferentPrograms as exc:
        raise _fail(str(exc)) from None
    except SQLAlchemyError as exc:
        raise _fail(f"cannot use the database: {_db_reason(exc)}") from None
    finally:
        application.db.dispose()
    was = f"version {found.old_version}" if found.old_version else "a version never run"
    out.print(f"{found.program_id}: {was} -> version {found.new_version}", markup=False)
    _print_effects(found.effects)
    if found.refused:
        out.print("refused: `program apply` and a reload will not run this version",
                  markup=False, soft_wrap=True)
    elif found.attention:
        out.print("needs attention: the lines marked ! reach enrolled clients", markup=False)
    else:
        out.print("nothing needs attention", markup=False)
    raise typer.Exit(1 if found.attention else 0)


@program_app.command("apply")
def program_apply(file: Annotated[Path, typer.Argument(help="the revised program file")]
                  ) -> None:
    """Validate FILE and make it the running version; running bots switch on their next tick."""
    from services.program_versions import NotRunning, Refused, apply_text

    loaded = _load_or_exit(file)
    application = _app()
    # What one file cannot know (the next step's program, a Stripe price used twice) is
    # checked against the other programs the bot runs, as at start-up.
    errors = across({**application.programs, loaded.program.id: loaded})
    if errors:
        for error in errors:
            out.print(str(error), markup=False, soft_wrap=True)
        raise typer.Exit(2)
    try:
        applied = apply_text(application.rt, loaded.text, str(file))
    except NotRunning as exc:
        raise _fail(str(exc)) from None
    except Refused as exc:
        _print_effects(exc.impact.refused)
        err.print("refused: the running version stays", markup=False)
        raise typer.Exit(1) from None
    except SQLAlchemyError as exc:
        raise _fail(f"cannot use the database: {_db_reason(exc)}") from None
    finally:
        application.db.dispose()
    if applied.impact is not None:
        _print_effects(applied.impact.effects)
    out.print(f"{applied.program_id} version {applied.version} is running: bots running now "
              f"switch to it within a minute (their next tick). Put the file in the program "
              f"folder too, so a restart reads it.", markup=False, soft_wrap=True)


# --- API tokens ---------------------------------------------------------------------------

token_app = typer.Typer(no_args_is_help=True, help="Bearer tokens of the HTTP API.")
app.add_typer(token_app, name="token")


@token_app.command("add")
def token_add(name: Annotated[str, typer.Option(help="who uses it, e.g. zapier")]) -> None:
    """Make a token and print it once: only its hash is stored."""
    from services.api_tokens import TokenError, create

    application = _app()
    try:
        token = create(application.rt, name.strip())
    except TokenError as exc:
        raise _fail(str(exc)) from None
    out.print(f"Token '{name.strip()}' (shown once, store it now): {token}", markup=False,
              soft_wrap=True)


@token_app.command("list")
def token_list() -> None:
    """Every token: name, when made, last used, revoked."""
    from services.api_tokens import tokens

    table = Table(title="coachbot API tokens")
    for column in ("name", "created (UTC)", "last used (UTC)", "revoked (UTC)"):
        table.add_column(column)
    for t in tokens(_app().rt):
        table.add_row(t.name, f"{t.created_at:%Y-%m-%d %H:%M}",
                      f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "-",
                      f"{t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "-")
    out.print(table)


@token_app.command("revoke")
def token_revoke(name: Annotated[str, typer.Argument(help="the token's name")]) -> None:
    """Stop a token from working, at once."""
    from services.api_tokens import TokenError, revoke

    try:
        revoke(_app().rt, name.strip())
    except TokenError as exc:
        raise _fail(str(exc)) from None
    out.print(f"Token '{name.strip()}' revoked.", markup=False)


# --- data rights and the audit log --------------------------------------------------------

def _client_named(application: App, name: str):
    from services.clients import client_named

    person = client_named(application.rt, name)
    if person is None:
        raise _fail(f"no client named '{name}'")
    return person


@app.command()
def export(
    client: Annotated[str, typer.Argument(help="the client's full name")],
    out_path: Annotated[Path | None, typer.Option("--out", help="file to write")] = None,
) -> None:
    """Write everything stored about a client as JSON (the read is audited)."""
    from services.data_rights import EXPORT_FILENAME, export_for_staff

    application = _app()
    person = _client_named(application, client)
    target = out_path or Path(EXPORT_FILENAME)
    try:
        blob = export_for_staff(application.rt, person.id, actor="cli")
        assert blob is not None
        write_private(target, blob)
    except SQLAlchemyError as exc:
        raise _fail(f"cannot use the database: {_db_reason(exc)}") from None
    except OSError as exc:
        raise _fail(f"cannot write {target}: {exc.strerror}") from None
    out.print(f"Data of {person.name} written to {target}", markup=False, soft_wrap=True)


@app.command()
def erase(
    client: Annotated[str, typer.Argument(help="the client's full name")],
    yes: Annotated[bool, typer.Option("--yes", help="really erase: it cannot be undone")] = False,
) -> None:
    """Erase everything about a client; an anonymous audit line stays and the coach is told."""
    application = _app()
    person = _client_named(application, client)
    if not yes:
        raise _fail(f"erasing {person.name} cannot be undone: run again with --yes")
    try:
        from services.data_rights import erase_by_staff

        erased = erase_by_staff(application.rt, person.id, actor="cli")
    except SQLAlchemyError as exc:
        raise _fail(f"cannot use the database: {_db_reason(exc)}") from None
    assert erased is not None
    out.print(f"Erased {person.name}: {erased.answers} answers and everything else about "
              f"them; the audit log keeps that it happened.", markup=False, soft_wrap=True)


@app.command("audit")
def audit_log(
    client: Annotated[str | None, typer.Option(help="only entries about this client")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 200,
) -> None:
    """Who read or changed client data, newest first."""
    from services.clients import audit_entries

    application = _app()
    try:
        person_id = _client_named(application, client).id if client is not None else None
        rows = audit_entries(application.rt, person_id=person_id, limit=limit)
    except SQLAlchemyError as exc:
        raise _fail(f"cannot use the database: {_db_reason(exc)}") from None
    table = Table(title="coachbot audit log" + (f": {client}" if client else ""))
    for column in ("when (UTC)", "who", "action", "enrolment", "detail"):
        table.add_column(column, overflow="fold")
    for row in rows:
        detail = ", ".join(f"{k}={v}" for k, v in sorted(row.detail.items()))
        table.add_row(f"{row.at:%Y-%m-%d %H:%M}", row.actor, row.action,
                      str(row.enrolment_id or "-"), detail)
    out.print(table)


if __name__ == "__main__":  # pragma: no cover
    app()
