"""`dondoc`: the command line for administrators, operators and scripts.

Every listing has a `--json` form; people get tables. Errors a user can cause print one line
naming the file or command, the field and the value, and exit non-zero with nothing written.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, suppress
from dataclasses import asdict
from datetime import date, timedelta
from functools import wraps
from importlib.util import LazyLoader, find_spec, module_from_spec
from itertools import islice
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

# Typer vendors click (since 0.26) and hands a command its context only through a parameter
# declared for it: the check of every command's arguments in `friendly` reads it here.
from typer._click.core import Context, ParameterSource
from typer._click.globals import get_current_context

import services  # the package alone, a docstring: its modules are imported on first use
from models.collector import paused_gc
from models.errors import (
    ConcurrencyConflict,
    DatabaseNotReady,
    DeliveryFailed,
    DirectiveFailure,
    DirectivesFailed,
    DondocError,
    InputError,
    LogCorrupt,
    NotFound,
    OutsideCalendar,
    Refused,
    Unauthorized,
)
from models.rules.access import CODE_LIFETIME
from models.rules.status import STATUSES

# The service layer's modules the commands call, each imported on its first use: a listing
# does not wait for the storage of publishing, the chase or the reports.
TOPICS = (
    "access",
    "checks",
    "database",
    "directives",
    "feeds",
    "listing",
    "inbox",
    "mail",
    "records",
    "registers",
    "reports",
)


def _lazy(name: str) -> ModuleType:
    """The module `name`, run when one of its names is first used (importlib's recipe, the
    module also set on its package): the storage, the documents and the templates behind the
    commands take a second to import, which `dondoc --help` and a mistyped option need not
    wait for."""
    if name in sys.modules:  # imported already, by a flow or a test: one module, not two
        return sys.modules[name]
    spec = find_spec(name)
    assert spec is not None and spec.loader is not None, name
    spec.loader = LazyLoader(spec.loader)
    module = module_from_spec(spec)
    sys.modules[name] = module
    package, _, child = name.rpartition(".")
    setattr(sys.modules[package], child, module)
    spec.loader.exec_module(module)
    return module


if TYPE_CHECKING:
    import services.access
    import services.checks
    import services.database
    import services.directives
    import services.feeds
    import services.inbox
    import services.listing
    import services.mail
    import services.records
    import services.registers
    import services.reports
else:
    for topic in TOPICS:
        _lazy(f"services.{topic}")

app = typer.Typer(
    help="dondoc: directives become obligations, completions become events.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # usage errors as click writes them, one "Error: …" line, not drawn in a box
    rich_markup_mode=None,
)
db_app = typer.Typer(help="dondoc's own database.", no_args_is_help=True)
units_app = typer.Typer(help="The unit register.", no_args_is_help=True)
actors_app = typer.Typer(
    help="The actor register (people, their unit and role).", no_args_is_help=True
)
directive_app = typer.Typer(help="Directives.", no_args_is_help=True)
log_app = typer.Typer(help="The event log.", no_args_is_help=True)
outbox_app = typer.Typer(
    help="Messages automated runs wrote, and their delivery.", no_args_is_help=True
)
mail_app = typer.Typer(
    help="Replies to the reminders: units hand in by answering them.", no_args_is_help=True
)
report_app = typer.Typer(
    help="Consolidation: reporting rates, the compliance matrix, the consolidated report.",
    no_args_is_help=True,
)
for name, sub in (
    ("db", db_app),
    ("units", units_app),
    ("actors", actors_app),
    ("directive", directive_app),
    ("log", log_app),
    ("outbox", outbox_app),
    ("mail", mail_app),
    ("report", report_app),
):
    app.add_typer(sub, name=name)

# Scripts and logs read wide tables better than ones folded to 80 columns; a message on stderr
# stays one line. Neither console reads markup or emoji codes: names, subjects, paths and error
# values are users' text, printed as it is; dondoc's own styling goes through Text.
out = Console(width=None if sys.stdout.isatty() else 160, markup=False, emoji=False)
err = Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)
EXIT_CODES: dict[type[DondocError], int] = {
    InputError: 2,
    NotFound: 2,
    OutsideCalendar: 2,
    Refused: 3,
    Unauthorized: 4,
    ConcurrencyConflict: 5,
    LogCorrupt: 6,
    DeliveryFailed: 7,
    DatabaseNotReady: 8,
    DirectivesFailed: 9,
}

ActorOpt = Annotated[
    str,
    typer.Option(
        "--actor", envvar="DONDOC_ACTOR", help="Username of the person acting (or DONDOC_ACTOR)."
    ),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Day (YYYY-MM-DD) in Asia/Ho_Chi_Minh; default today.")
]
KeyOpt = Annotated[
    str | None,
    typer.Option(
        "--key", help="Idempotency key: repeating a command with the same key appends nothing more."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show what would be sent; write and send nothing.")
]

F = TypeVar("F", bound=Callable[..., Any])


def _check_utf8(context: Context) -> None:
    """Refuse an argument or option that is not UTF-8 text: Python keeps the bytes of a file
    name or a user name in another encoding as lone surrogates, which no database, document
    or terminal takes. The error names the option (or the variable it came from) and shows
    the bytes."""
    for param in context.command.params:
        given = context.params.get(param.name or "")
        for value in given if isinstance(given, list | tuple) else [given]:
            if not isinstance(value, str | Path):
                continue
            try:
                str(value).encode("utf-8")
            except UnicodeEncodeError:
                # an option by its name (an argument's is its own), or the variable it came from
                source, field = "command line", param.opts[0]
                if context.get_parameter_source(param.name or "") is ParameterSource.ENVIRONMENT:
                    source, field = "environment", str(param.envvar)
                raise InputError(source, field, os.fsencode(value), "is not UTF-8 text") from None


def friendly(func: F) -> F:
    """Turn dondoc's own errors into one line on stderr and a distinct exit code."""

    @wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            _check_utf8(get_current_context())
            return func(*args, **kwargs)
        except DondocError as exc:
            err.print(Text.assemble(("error:", "bold red"), " ", str(exc)))
            raise typer.Exit(EXIT_CODES.get(type(exc), 1)) from None

    return run  # type: ignore[return-value]


def _day(value: str | None, option: str) -> date:
    """The day an option names (today if it names none), in a year whose working days are
    known: every command works out working days from it."""
    if value is None:
        return services.checks.local_date(_now())
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InputError("command line", option, value, "is not a date YYYY-MM-DD") from None
    return services.checks.known_day(day, "command line", option)


def _obligation(value: int) -> int:
    """An obligation id from the command line, within the range either database holds."""
    return services.checks.obligation_number(value, "command line", "obligation")


def _now() -> Any:
    import pendulum  # a fifth of the time `dondoc --help` takes; the commands load it anyway

    return pendulum.now("UTC")


def _channel() -> str:
    """The channel of what the command line writes: the operators' tool on the server names
    the operating-system user it ran as, beside the dondoc actor it was given."""
    return f"cli:{getpass.getuser()}"


def _issued(actor: str, key: str | None) -> services.records.Issued:
    """A command from the command line, now; without --key each call is a new command."""
    typed = None if key is None else services.records.typed_key(key, "--key")
    return services.records.Issued(actor, typed or f"cli:{uuid.uuid4()}", _channel(), _now())


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Create or migrate dondoc's database to the newest schema."""
    settings = services.checks.load_settings()
    services.database.upgrade_database(settings)
    out.print(f"database is up to date: {settings.database_url}")


@units_app.command("import")
@friendly
def units_import(file: Path) -> None:
    """Import (or update) units from a CSV file: code,name,kind,parent,tags,email,valid_from,
    valid_until,successor."""
    settings = services.checks.load_settings()
    n, continued, handed = services.registers.import_units(settings, file, now=_now())
    out.print(f"{n} units imported from {file}")
    for before, after in continued:
        out.print(
            f"{after.code} continues under its code from {after.valid_from:%d/%m/%Y}: "
            f"{before.name} → {after.name}"
        )
    if handed.transferred or handed.cancelled:
        out.print(
            f"work of closed units: {handed.transferred} obligation(s) passed to successors "
            f"({handed.created} created for them), {handed.cancelled} closed with no successor"
        )


@units_app.command("calendar")
@friendly
def units_calendar(
    unit: str,
    as_of: AsOfOpt = None,
    file: Annotated[
        Path | None, typer.Option("--out", help="Write the feed to this file, not stdout.")
    ] = None,
    address: Annotated[
        bool,
        typer.Option(
            "--address",
            help="Print the address the unit's calendar application subscribes to instead.",
        ),
    ] = False,
) -> None:
    """A unit's calendar feed (.ics): what it still owes, on its due dates, with the days
    the escalation ladder chases each; or the address the daily status run serves it at."""
    settings = services.checks.load_settings()
    if address:
        out.print(services.feeds.unit_address(settings, unit))
        return
    day = _day(as_of, "--as-of")
    if file is None:
        # the feed as it is served: UTF-8 whatever the terminal's encoding
        sys.stdout.buffer.write(services.feeds.unit_feed(settings, unit=unit, day=day))
        return
    events = services.feeds.write_unit_feed(settings, unit=unit, day=day, out=file)
    out.print(f"{events} events: {file}")


@actors_app.command("import")
@friendly
def actors_import(file: Path) -> None:
    """Import (or update) actors from a CSV file: username,full_name,unit,role,email."""
    n, moved = services.registers.import_actors(services.checks.load_settings(), file)
    out.print(f"{n} actors imported from {file}")
    for username, was, unit in moved:
        out.print(f"moved: {username} from unit {was} to {unit}")


@actors_app.command("add")
@friendly
def actors_add(
    username: str,
    full_name: Annotated[str, typer.Option("--name", help="Full name.")],
    unit: Annotated[str, typer.Option("--unit", help="Code of the unit they act for.")],
    role: Annotated[str, typer.Option("--role", help="staff or admin.")] = "staff",
    email: Annotated[str | None, typer.Option("--email")] = None,
    move: Annotated[
        bool, typer.Option("--move", help="Allow moving an existing actor to another unit.")
    ] = False,
) -> None:
    """Create (or update) one actor."""
    actor, moved = services.registers.add_actor(
        services.checks.load_settings(),
        username=username,
        full_name=full_name,
        unit=unit,
        role=role,
        email=email,
        move=move,
    )
    out.print(f"actor {actor.username} ({actor.role}, unit {actor.unit_code}) saved")
    if moved is not None:
        out.print(f"moved from unit {moved} to {actor.unit_code}")


@actors_app.command("code")
@friendly
def actors_code(username: str) -> None:
    """Print a one-time sign-in code for a person, to hand them yourself: the first
    administrator's way in, or anyone's while mail is down. Logged as yours."""
    settings = services.checks.load_settings()
    now = _now()
    code = services.access.operator_code(settings, username, now=now, os_user=getpass.getuser())
    if code is None:
        raise NotFound(
            f"{username} cannot sign in: no such person in the actor register, or disabled "
            "(see the sign-in log)"
        )
    out.print(f"one-time sign-in code for {username}: {code}")
    minutes = CODE_LIFETIME // timedelta(minutes=1)
    out.print(f"good once, for {minutes} minutes, at {settings.sign_in_url}")


@actors_app.command("log")
@friendly
def actors_log(
    username: Annotated[str | None, typer.Argument(help="One person's lines only.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="The last N lines.")] = 200,
) -> None:
    """The sign-in log: codes sent, sign-ins, failures, slowed tries, sign-outs, people
    disabled and enabled, with the moment (UTC) and the address."""
    for entry in services.access.sign_in_log(
        services.checks.load_settings(), username, limit=limit
    ):
        detail = f"  {entry.detail}" if entry.detail else ""
        out.print(
            f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.username}  {entry.kind}  {entry.address}{detail}"
        )


@actors_app.command("disable")
@friendly
def actors_disable(username: str) -> None:
    """Stop a person signing in, at once: their sessions end and no code works for them."""
    services.access.set_disabled(
        services.checks.load_settings(), username, True, by=getpass.getuser(), now=_now()
    )
    out.print(f"{username} disabled")


@actors_app.command("enable")
@friendly
def actors_enable(username: str) -> None:
    """Let a disabled person sign in again."""
    services.access.set_disabled(
        services.checks.load_settings(), username, False, by=getpass.getuser(), now=_now()
    )
    out.print(f"{username} may sign in again")


@directive_app.command("publish")
@friendly
def directive_publish(
    file: Path,
    actor: ActorOpt,
    as_of: AsOfOpt = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Show the obligations publishing would create, per requirement and unit "
            "kind with the first and last due dates (or its refusal); write nothing.",
        ),
    ] = False,
) -> None:
    """Publish a directive file and open the periods that have started by --as-of."""
    settings = services.checks.load_settings()
    spec = services.directives.load_directive(file)
    day = _day(as_of, "--as-of")
    if dry_run:
        preview = services.directives.preview(
            settings, spec, source=str(file), actor=actor, as_of=day, now=_now()
        )
        _print_preview(preview, day)
        return
    with out.status(f"publishing {spec.code} as of {day.isoformat()}…"):
        report = services.directives.publish(
            settings,
            spec,
            source=str(file),
            actor=actor,
            as_of=day,
            now=_now(),
            channel=_channel(),
        )
    state = "published" if report.new else "already published; opened what was missing"
    out.print(f"{spec.code}: {state}")
    _print_opened(report.opened)


def _print_preview(preview: services.directives.Preview, day: date) -> None:
    state = "new" if preview.new else "already published; would open what is missing"
    out.print(f"{preview.directive}: dry run as of {day.isoformat()}, nothing written ({state})")
    table = Table("requirement", "unit kind", "obligations", "first due", "last due")
    for row in preview.rows:
        first, last = (d.isoformat() if d else "-" for d in (row.first_due, row.last_due))
        table.add_row(row.requirement, row.kind, str(row.obligations), first, last)
    table.add_row("", Text("total", style="bold"), Text(str(preview.total), style="bold"))
    out.print(table)


def _print_opened(report: services.directives.OpenReport) -> None:
    table = Table("directive", "requirement", "obligations created")
    for (directive, requirement), n in sorted(report.created.items()):
        table.add_row(directive, requirement, str(n))
    table.add_row("", Text("total", style="bold"), Text(str(report.total), style="bold"))
    out.print(table)


DispatchOpt = Annotated[
    str,
    typer.Option("--dispatch", help='The revising dispatch\'s number and symbol, "125/UBND-VHTT".'),
]
DatedOpt = Annotated[str, typer.Option("--dated", help="The dispatch's date, YYYY-MM-DD.")]
FromOpt = Annotated[
    str,
    typer.Option(
        "--from", help="The day it applies from, YYYY-MM-DD: to what is due on or after it."
    ),
]
RevisionDryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run", help="Show what would change for each unit and obligation; write nothing."
    ),
]


def _dispatch(number: str, dated: str, from_: str) -> services.directives.Dispatch:
    return services.directives.dispatch_of(
        number, _day(dated, "--dated"), _day(from_, "--from"), source="command line"
    )


@directive_app.command("amend")
@friendly
def directive_amend(
    file: Path,
    actor: ActorOpt,
    dispatch: DispatchOpt,
    dated: DatedOpt,
    from_: FromOpt,
    as_of: AsOfOpt = None,
    dry_run: RevisionDryRunOpt = False,
) -> None:
    """Amend a published directive: FILE is its whole new text, under the same code. What is
    still owed and due from --from follows it; each unit affected is told once."""
    settings = services.checks.load_settings()
    spec = services.directives.load_directive(file)
    revised = services.directives.amend(
        settings,
        spec,
        _dispatch(dispatch, dated, from_),
        source=str(file),
        actor=actor,
        as_of=_day(as_of, "--as-of"),
        now=_now(),
        channel=_channel(),
        dry_run=dry_run,
    )
    _print_revision(revised)


@directive_app.command("withdraw")
@friendly
def directive_withdraw(
    code: str,
    actor: ActorOpt,
    dispatch: DispatchOpt,
    dated: DatedOpt,
    from_: FromOpt,
    as_of: AsOfOpt = None,
    dry_run: RevisionDryRunOpt = False,
) -> None:
    """Withdraw a published directive: what is still owed and due from --from is closed,
    naming the dispatch; no later run opens or chases it."""
    revised = services.directives.withdraw(
        services.checks.load_settings(),
        code,
        _dispatch(dispatch, dated, from_),
        source="command line",
        actor=actor,
        as_of=_day(as_of, "--as-of"),
        now=_now(),
        channel=_channel(),
        dry_run=dry_run,
    )
    _print_revision(revised)


def _changes_text(changes: list[dict[str, str | None]]) -> str:
    return ", ".join(
        f"{c['requirement']}: {c['change']}" if c["requirement"] else str(c["change"])
        for c in changes
    )


def _print_revision(revised: services.directives.Revised) -> None:
    report = revised.report
    d = report.dispatch
    what = "amended" if report.kind == "amend" else "withdrawn"
    state = (
        f"revision {report.number}, {what}"
        if report.written
        else f"dry run of revision {report.number}, nothing written"
    )
    out.print(
        f"{report.directive}: {state} by {d.number} of {d.dated.isoformat()}, "
        f"from {d.effective_from.isoformat()}"
    )
    if report.requirements:
        out.print(f"changes: {_changes_text(report.requirements)}")
    # one line per change shared by many units (each unit's own is in its letter), so a
    # revision of the whole country's communes prints a few lines per period
    shared = Counter(
        (c.requirement, c.period, c.kind, c.old_due, c.new_due) for c in report.changes
    )
    table = Table("requirement", "period", "change", "due before", "due after", "units")
    for (requirement, period, kind, old, new), n in shared.items():
        before, after = (day.isoformat() if day else "-" for day in (old, new))
        table.add_row(requirement, period, kind, before, after, str(n))
    out.print(table)
    units = len({c.unit for c in report.changes})
    letters = "letters" if report.written else "letters it would write"
    out.print(f"{len(report.changes)} obligation(s) of {units} unit(s); {report.letters} {letters}")
    if report.unreachable:
        err.print(f"no address for unit(s) {', '.join(report.unreachable)}: not told")
    delivery = revised.delivery
    if delivery is not None:
        out.print(
            f"delivered {len(delivery.sent)}, failed {len(delivery.failed)}, "
            f"rejected {len(delivery.rejected)}, waiting {delivery.waiting}"
        )
        if delivery.failed:
            err.print(
                Text.assemble(
                    ("not delivered yet", "yellow"),
                    f" ({delivery.failed[0][1]}): kept in the outbox",
                )
            )


@directive_app.command("show")
@friendly
def directive_show(code: str, as_json: JsonOpt = False) -> None:
    """A published directive and its revisions (amendments, withdrawal), in order."""
    found = services.directives.history(
        services.checks.load_settings(), code, source="command line"
    )
    if as_json:
        _print_json(asdict(found))
        return
    until = found.effective_until.isoformat() if found.effective_until else "…"
    out.print(f"{found.code}  {found.document}  {found.subject}")
    out.print(
        f"status {found.status}; in force {found.effective_from.isoformat()} → {until}; "
        f"published by {found.published_by} at {found.published_at:%Y-%m-%d %H:%M:%S}"
    )
    table = Table("#", "kind", "dispatch", "dated", "from", "by", "at (UTC)", "changes")
    for r in found.revisions:
        table.add_row(
            str(r.number),
            r.kind,
            r.dispatch,
            r.dated.isoformat(),
            r.effective_from.isoformat(),
            r.made_by,
            f"{r.made_at:%Y-%m-%d %H:%M:%S}",
            _changes_text(r.changes),
        )
    out.print(table)


@directive_app.command("list")
@friendly
def directive_list(as_json: JsonOpt = False) -> None:
    """Published directives."""
    rows = services.directives.list_directives(services.checks.load_settings())
    if as_json:
        _print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table(
        "code", "number", "date", "subject", "lead", "in force", "requirements", "obligations"
    )
    for r in rows:
        number = f"{r.number or '…'}/{r.symbol}"
        window = f"{r.effective_from} → {r.effective_until or '…'}"
        table.add_row(
            r.code,
            number,
            r.document_date,
            r.subject,
            r.lead,
            window,
            str(r.requirements),
            str(r.obligations),
        )
    out.print(table)


@app.command("open")
@friendly
def open_(as_of: AsOfOpt = None) -> None:
    """Open every published directive's periods that have started by --as-of."""
    report = services.directives.open_periods(
        services.checks.load_settings(),
        as_of=_day(as_of, "--as-of"),
        now=_now(),
        channel=_channel(),
    )
    _print_opened(report)
    _directives_failed(report.failed)


def _directives_failed(
    failed: list[DirectiveFailure], delivery: services.mail.Delivery | None = None
) -> None:
    """Once the others' results are printed, name each directive a run over many could not
    do, with the error, and say what its delivery left; fail if a delivery failed (exit 7)
    or a directive was not done (exit 9)."""
    for f in failed:
        err.print(Text.assemble(("failed", "bold red"), f" {f.directive}: {f.detail}"))
    _delivery_failed(delivery)
    if failed:
        codes = ", ".join(f.directive for f in failed)
        raise DirectivesFailed(
            f"{len(failed)} directive(s) not done: {codes} (the others are done; see above)"
        )


# The table form shows a page of the listing, read whole to align its columns; --json streams
# every row in flat memory. The page is plain aligned columns: rich's table lays out every
# cell, about 0.35 ms a row, which made a page of 1,000 take a third of a second and the whole
# national listing (190,969 rows) over two minutes and 1.3 GB.
TABLE_ROWS = 1_000
TABLE_MAX_ROWS = 10_000
# Rows encoded into JSON at a time: json.dumps of a list is faster than of each row alone.
JSON_CHUNK = 1_000
# LIMIT and OFFSET are 64-bit integers on SQLite and PostgreSQL alike.
MOST_ROWS = 2**63 - 1


def _number(value: str | None, option: str, *, least: int) -> int | None:
    """A whole number from `least` to MOST_ROWS an option gives (None if it gives none)."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise InputError("command line", option, value, "is not a whole number") from None
    if number < least:
        raise InputError("command line", option, value, f"must be at least {least}")
    if number > MOST_ROWS:
        raise InputError("command line", option, value, f"must be at most {MOST_ROWS}")
    return number


def _write_json_array(rows: Iterator[dict[str, Any]]) -> None:
    """Write `rows` as the one indented JSON array `_print_json` would print, a chunk at a
    time: the same bytes, in memory for one chunk. Nothing is written before the first chunk
    is read, so an error in the query leaves stdout empty."""
    chunk = list(islice(rows, JSON_CHUNK))
    if not chunk:
        sys.stdout.write("[]\n")
        return
    sys.stdout.write("[\n")
    while chunk:
        # the chunk's elements as they sit inside the whole array: its "[\n" and "\n]" cut
        sys.stdout.write(json.dumps(chunk, ensure_ascii=False, indent=2, default=str)[2:-2])
        chunk = list(islice(rows, JSON_CHUNK))
        sys.stdout.write(",\n" if chunk else "\n]\n")


@app.command("obligations")
@friendly
# The rows, the page's text and the modules the listing loads hold no cycles to collect; full
# collections over all of those modules took a fifth of the table's first page.
@paused_gc()
def obligations(
    directive: Annotated[str | None, typer.Option(help="Directive code.")] = None,
    requirement: Annotated[str | None, typer.Option(help="Requirement code, e.g. 1c.")] = None,
    unit: Annotated[str | None, typer.Option(help="Unit code.")] = None,
    period: Annotated[str | None, typer.Option(help="Period key, e.g. 2024-Q1.")] = None,
    status: Annotated[str | None, typer.Option(help=", ".join(STATUSES))] = None,
    as_of: AsOfOpt = None,
    limit: Annotated[
        str | None,
        typer.Option(
            metavar="N",
            help=f"Show at most N obligations (default: all with --json; {TABLE_ROWS:,} in the "
            f"table, which shows at most {TABLE_MAX_ROWS:,}).",
        ),
    ] = None,
    offset: Annotated[
        str | None, typer.Option(metavar="N", help="Skip the first N obligations (default 0).")
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print JSON for scripts: every obligation, streamed."),
    ] = False,
) -> None:
    """Obligations with their status as of a day, ordered by directive, requirement, period and
    unit. The table shows one page (see --limit) and says how many matched; --json streams
    every one."""
    if status is not None and status not in STATUSES:
        raise InputError(
            "command line", "--status", status, f"must be one of {', '.join(STATUSES)}"
        )
    rows = _number(limit, "--limit", least=1)
    if rows is not None and rows > TABLE_MAX_ROWS and not as_json:
        raise InputError(
            "command line",
            "--limit",
            limit,
            f"the table shows at most {TABLE_MAX_ROWS:,} rows: page with --offset, or use --json",
        )
    skip = _number(offset, "--offset", least=0) or 0
    day = _day(as_of, "--as-of")
    settings = services.checks.load_settings()
    where = services.listing.ObligationFilter(directive, requirement, unit, period, status)
    if as_json:
        found = services.listing.stream_obligations(
            settings, day=day, where=where, limit=rows, offset=skip
        )
        with closing(found):
            _write_json_array(r.to_json() for r in found)
        return
    page = rows or TABLE_ROWS
    shown, matched = services.listing.obligation_page(
        settings, day=day, where=where, limit=page, offset=skip
    )
    out.print(f"obligations as of {day.isoformat()}")
    _print_columns(
        ("id", "directive", "requirement", "unit", "period", "due", "status", "version"),
        [
            (
                str(r.id),
                r.directive,
                r.requirement,
                r.unit,
                r.period,
                r.due.isoformat() if r.due else "—",
                r.status,
                str(r.version),
            )
            for r in shown
        ],
    )
    if len(shown) < matched:
        _more_matched(len(shown), matched, skip, page)


def _print_columns(heads: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A header and the rows in columns, each as wide as its widest cell (in terminal cells),
    two spaces apart: printed as one text, neither wrapped nor highlighted."""
    widths = [max(cell_len(cell) for cell in column) for column in zip(heads, *rows, strict=True)]
    lines = (
        "  ".join(
            cell + " " * (width - cell_len(cell)) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in (heads, *rows)
    )
    out.print("\n".join(lines), soft_wrap=True, highlight=False)


def _more_matched(shown: int, matched: int, skip: int, page: int) -> None:
    """One line on stderr: the table shows part of what matched, and how to see the rest."""
    if not shown:
        err.print(f"--offset {skip} is past the last of the {matched:,} obligations that match")
        return
    rest = f"; next page: --offset {skip + page}" if skip + shown < matched else ""
    err.print(
        f"showing {skip + 1:,}–{skip + shown:,} of {matched:,} obligations: narrow with "
        f"--directive, --requirement, --unit, --period or --status{rest}; all of them: --json"
    )


def _outcome(outcome: services.records.Outcome) -> None:
    if outcome.replayed:
        out.print(
            f"obligation {outcome.obligation_id}: this {outcome.kind} was already recorded "
            f"(version {outcome.version}); nothing appended"
        )
    else:
        out.print(
            f"obligation {outcome.obligation_id}: {outcome.kind} (version "
            f"{outcome.version}), now {outcome.status}"
        )


def _figures(pairs: list[str], command: str = "submit") -> dict[str, str]:
    figures: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(command, "--figure", pair, "write it as KEY=VALUE")
        figures[key.strip()] = value
    return figures


@app.command("submit")
@friendly
def submit(
    obligation: int,
    actor: ActorOpt,
    figure: Annotated[
        list[str] | None, typer.Option("--figure", "-f", help="KEY=VALUE, once per figure.")
    ] = None,
    narrative: Annotated[str | None, typer.Option(help="The narrative part.")] = None,
    evidence: Annotated[str | None, typer.Option(help="Link to the evidence.")] = None,
    key: KeyOpt = None,
) -> None:
    """Hand in an obligation's figures (staff of the obliged unit)."""
    _outcome(
        services.records.submit(
            services.checks.load_settings(),
            _obligation(obligation),
            _issued(actor, key),
            figures=_figures(figure or []),
            narrative=narrative,
            evidence=evidence,
        )
    )


@app.command("receive")
@friendly
def receive(
    obligation: int,
    actor: ActorOpt,
    channel: Annotated[
        str,
        typer.Option(
            help="How it arrived: giay (paper), thu-dien-tu (official e-mail) or "
            "he-thong-van-ban (the document system)."
        ),
    ],
    arrived: Annotated[str, typer.Option(help="The day it arrived (ngày đến), YYYY-MM-DD.")],
    number: Annotated[
        str, typer.Option(help="The incoming document's number and symbol (số, ký hiệu).")
    ],
    figure: Annotated[
        list[str] | None, typer.Option("--figure", "-f", help="KEY=VALUE, once per figure.")
    ] = None,
    narrative: Annotated[str | None, typer.Option(help="The narrative part.")] = None,
    evidence: Annotated[str | None, typer.Option(help="Link to the evidence.")] = None,
    scan: Annotated[
        str | None, typer.Option(help="Link to the document's scan or its copy.")
    ] = None,
    reason: Annotated[
        str | None,
        typer.Option(help="Why it is entered only now (required once the entry is late)."),
    ] = None,
    key: KeyOpt = None,
) -> None:
    """Record a unit's report that arrived on paper, by official e-mail or through the
    document system, on time by the day it arrived (the directive's lead office)."""
    _outcome(
        services.records.receive(
            services.checks.load_settings(),
            _obligation(obligation),
            _issued(actor, key),
            figures=_figures(figure or [], "receive"),
            narrative=narrative,
            evidence=evidence,
            arrival=services.records.Arrival(
                channel=channel,
                arrived=_day(arrived, "--arrived"),
                number=number,
                scan=scan,
                reason=reason,
            ),
        )
    )


@app.command("accept")
@friendly
def accept(obligation: int, actor: ActorOpt, key: KeyOpt = None) -> None:
    """Accept a submission (the directive's lead office)."""
    _outcome(
        services.records.accept(
            services.checks.load_settings(), _obligation(obligation), _issued(actor, key)
        )
    )


@app.command("return")
@friendly
def return_(
    obligation: int,
    actor: ActorOpt,
    reason: Annotated[str, typer.Option(help="Why it goes back (required).")],
    key: KeyOpt = None,
) -> None:
    """Return a submission for correction (the directive's lead office); the unit is told at
    once, with the reason."""
    outcome, told = services.records.return_(
        services.checks.load_settings(), _obligation(obligation), _issued(actor, key), reason=reason
    )
    _outcome(outcome)
    _told(told)


@app.command("extend")
@friendly
def extend(
    obligation: int,
    actor: ActorOpt,
    due: Annotated[str, typer.Option(help="The new due date, YYYY-MM-DD.")],
    reason: Annotated[str | None, typer.Option(help="Why.")] = None,
    key: KeyOpt = None,
) -> None:
    """Move an obligation's due date later (the directive's lead office)."""
    _outcome(
        services.records.extend(
            services.checks.load_settings(),
            _obligation(obligation),
            _issued(actor, key),
            due=_day(due, "--due"),
            reason=reason,
        )
    )


@app.command("waive")
@friendly
def waive(
    obligation: int,
    actor: ActorOpt,
    reason: Annotated[str, typer.Option(help="Why the unit is released (required).")],
    key: KeyOpt = None,
) -> None:
    """Release a unit from an obligation (the directive's lead office)."""
    _outcome(
        services.records.waive(
            services.checks.load_settings(),
            _obligation(obligation),
            _issued(actor, key),
            reason=reason,
        )
    )


@log_app.command("verify")
@friendly
def log_verify(
    anchor: Annotated[
        Path | None,
        typer.Option(
            "--anchor",
            help="An anchor file the daily status run kept: also report a log rewritten or "
            "cut short since.",
        ),
    ] = None,
) -> None:
    """Check every hash chain, every column of the projection against the log, and (with
    --anchor) the log against an anchor kept outside the database."""
    settings = services.checks.load_settings()
    checked, found = services.database.verify(settings)
    problems = [str(problem) for problem in found]
    if anchor is not None:
        kept, differs = services.database.check_anchor(settings, anchor)
        problems += [f"{anchor}: {difference}" for difference in differs]
    for problem in problems:
        err.print(Text.assemble(("✗", "red"), " ", problem))
    if problems:
        raise LogCorrupt(f"{len(problems)} problem(s) in the event log ({checked} events read)")
    out.print(f"event log verified: {checked} events, every chain intact")
    if anchor is not None:
        out.print(f"and it holds the {kept.events} events anchored at {kept.taken_at} in {anchor}")


@log_app.command("rebuild")
@friendly
def log_rebuild() -> None:
    """Recompute the current state of every obligation from the event log."""
    replayed, fixed = services.database.rebuild(services.checks.load_settings())
    out.print(f"{replayed} obligations replayed; {fixed} projection rows corrected")


def _chase_json(run: services.mail.ChaseRun, dry_run: bool) -> dict[str, Any]:
    found = run.plan
    return {
        "day": found.day.isoformat(),
        "working_day": found.working_day,
        "dry_run": dry_run,
        "items": [
            {
                "obligation": i.obligation_id,
                "directive": i.directive,
                "requirement": i.requirement,
                "unit": i.unit,
                "unit_name": i.unit_name,
                "period": i.period,
                "due": i.effective_due.isoformat(),
                "step": i.step.key,
                "to": i.step.to,
                "event": i.step.kind,
            }
            for i in found.items
        ],
        "letters": [
            {
                "to": letter.recipient.email,
                "name": letter.recipient.name,
                "obligations": sorted({i.obligation_id for i in letter.items}),
            }
            for letter in found.letters
        ],
        "unreachable": [
            {"unit": unit, "name": name, "as": role} for unit, name, role in found.unreachable
        ],
        "failed": [{"directive": f.directive, "error": f.detail} for f in found.failed.listed()],
        "messages_written": run.messages_written,
        "delivery": None
        if run.delivery is None
        else {
            "sent": len(run.delivery.sent),
            "failed": [{"message": k, "error": e} for k, e in run.delivery.failed],
            "rejected": [{"message": k, "error": e} for k, e in run.delivery.rejected],
            "waiting": run.delivery.waiting,
            "left_for_next_run": run.delivery.deferred,
        },
    }


def _told(run: services.mail.ChaseRun) -> None:
    """Say who a notice went to, or why it did not go yet (the command itself stands)."""
    for unit, name, role in run.plan.unreachable:
        err.print(
            Text.assemble(("no address", "yellow"), f" for {unit} {name} (as {role}): not told")
        )
    if run.plan.letters:
        out.print(f"told: {', '.join(letter.recipient.email for letter in run.plan.letters)}")
    if run.delivery is not None and run.delivery.failed:
        err.print(
            Text.assemble(
                ("not delivered yet", "yellow"),
                f" ({run.delivery.failed[0][1]}): kept in the outbox",
            )
        )
    for f in run.plan.failed.listed():
        err.print(Text.assemble(("not told", "yellow"), f" ({f.directive}: {f.detail})"))


def _delivery_failed(delivery: services.mail.Delivery | None) -> None:
    """Say what a run left for later; fail (exit 7) if a message failed or was refused."""
    if delivery is None:
        return
    if delivery.stopped is not None:
        err.print(
            Text.assemble(
                ("delivery stopped", "yellow"),
                f": {delivery.stopped}; {delivery.deferred} message(s) left for the next run",
            )
        )
    problems = []
    if delivery.failed:
        problems.append(
            f"{len(delivery.failed)} message(s) not delivered, kept in the outbox for a later "
            f"run: {delivery.failed[0][1]}"
        )
    if delivery.rejected:
        problems.append(
            f"{len(delivery.rejected)} message(s) refused by the mail server for good, not "
            f"retried (dondoc outbox list --status rejected): {delivery.rejected[0][1]}"
        )
    if problems:
        raise DeliveryFailed("; ".join(problems))


@app.command()
@friendly
def chase(
    as_of: AsOfOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Remind and escalate what the escalation ladders say is due on the day, then deliver."""
    day = _day(as_of, "--as-of")
    run = services.mail.chase(services.checks.load_settings(), day=day, now=_now(), dry_run=dry_run)
    if as_json:
        _print_json(_chase_json(run, dry_run))
        _directives_failed(run.plan.failed.listed(), run.delivery)
        return
    if not run.plan.working_day:
        out.print(f"{day.isoformat()} is not a working day: nothing is chased")
        return
    table = Table("step", "to", "obligations", title=f"chase {day.isoformat()}")
    for (step, to), n in sorted(Counter((i.step.key, i.step.to) for i in run.plan.items).items()):
        table.add_row(step, to, str(n))
    out.print(table)
    for unit, name, role in run.plan.unreachable:
        err.print(
            Text.assemble(("no address", "yellow"), f" for {unit} {name} (as {role}): not chased")
        )
    verb = "would be written" if dry_run else "written"
    out.print(f"{len(run.plan.letters)} letter(s), {run.messages_written} new message(s) {verb}")
    if run.delivery is not None:
        out.print(
            f"delivered {len(run.delivery.sent)}, failed {len(run.delivery.failed)}, "
            f"rejected {len(run.delivery.rejected)}, waiting {run.delivery.waiting}"
        )
    _directives_failed(run.plan.failed.listed(), run.delivery)


@mail_app.command("receive")
@friendly
def mail_receive() -> None:
    """Take the unread replies of the reply mailbox (DONDOC_IMAP_*) once: record what each
    hands in and answer it."""
    taken = services.inbox.read_mailbox(services.checks.load_settings(), now=_now())
    outcomes = Counter(t.outcome for t in taken)
    out.print(", ".join(f"{name} {count}" for name, count in sorted(outcomes.items())) or "no mail")


@mail_app.command("listen")
@friendly
def mail_listen() -> None:
    """Run dondoc's own SMTP receiver on 127.0.0.1 (DONDOC_RECEIVER_PORT) for the reply
    address until interrupted: each reply is taken as it arrives."""
    settings = services.checks.load_settings()
    with services.inbox.receiver(settings) as port:
        out.print(f"receiving mail for {settings.reply_address} on 127.0.0.1:{port}")
        with suppress(KeyboardInterrupt):
            threading.Event().wait()


@outbox_app.command("list")
@friendly
def outbox_list(
    status: Annotated[
        str | None, typer.Option(help="pending, sending, sent, failed, rejected or dropped")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The messages in the outbox, newest first."""
    rows = services.mail.list_messages(services.checks.load_settings(), status=status)
    if as_json:
        _print_json(rows)
        return
    table = Table("run", "to", "status", "attempts", "subject", title="outbox")
    for r in rows:
        table.add_row(r["run"], r["recipient"], r["status"], str(r["attempts"]), r["subject"])
    out.print(table)


@outbox_app.command("retry")
@friendly
def outbox_retry(
    keys: Annotated[
        list[str] | None,
        typer.Argument(
            help="Only these messages, rejected ones too, under the names the registers now "
            "give their addresses.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Deliver every message not yet sent (or just KEYS), now, without waiting for its
    backoff."""
    settings = services.checks.load_settings()
    if keys:
        delivery = services.mail.retry_messages(settings, keys, now=_now())
    else:
        delivery = services.mail.deliver_outbox(settings, now=_now(), everything=True)
    out.print(
        f"delivered {len(delivery.sent)}, failed {len(delivery.failed)}, "
        f"rejected {len(delivery.rejected)}"
    )
    _delivery_failed(delivery)


@outbox_app.command("drop")
@friendly
def outbox_drop(key: str, actor: ActorOpt) -> None:
    """Never deliver a message (an admin's decision); it stays in the outbox for the record."""
    services.mail.drop_message(services.checks.load_settings(), key, actor=actor, now=_now())
    out.print(f"message {key} dropped")


@app.command()
@friendly
def summary(
    as_of: AsOfOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """On the month's first working day, send each directive's leadership its late units, worst
    first, with the urging dispatch (any other day: nothing)."""
    day = _day(as_of, "--as-of")
    run = services.mail.monthly_summary(
        services.checks.load_settings(), day=day, now=_now(), dry_run=dry_run
    )
    found = [
        {
            "directive": s.info.code,
            "to": [to.email for to in s.recipients],
            "late": [
                {
                    "unit": late.unit,
                    "name": late.unit_name,
                    "overdue": late.overdue,
                    "oldest_due": late.oldest_due.isoformat(),
                }
                for late in s.late
            ],
        }
        for s in run.summaries
    ]
    if as_json:
        _print_json(
            {
                "day": day.isoformat(),
                "first_working_day": run.first_working_day,
                "summaries": found,
                "failed": [{"directive": f.directive, "error": f.detail} for f in run.failed],
                "messages_written": run.messages_written,
            }
        )
    elif not run.first_working_day:
        out.print(f"{day.isoformat()} is not the month's first working day: nothing is sent")
    else:
        for found_summary in run.summaries:
            recipients = ", ".join(to.email for to in found_summary.recipients)
            table = Table(
                "unit", "overdue", "oldest due", title=f"{found_summary.info.code} → {recipients}"
            )
            for late in found_summary.late:
                table.add_row(
                    f"{late.unit} {late.unit_name}", str(late.overdue), late.oldest_due.isoformat()
                )
            out.print(table)
        out.print(f"{run.messages_written} new message(s)")
    _directives_failed(run.failed, run.delivery)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


@report_app.command("rates")
@friendly
def report_rates(
    directive: Annotated[str, typer.Option(help="Directive code.")],
    requirement: Annotated[str | None, typer.Option(help="Requirement code.")] = None,
    period: Annotated[str | None, typer.Option(help="Period key, e.g. 2024-Q1.")] = None,
    by: Annotated[str | None, typer.Option(help="Group the units by kind, tag or parent.")] = None,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reporting rates as DHIS2 defines them: expected units (waived ones apart), reported,
    on time, overdue; and how many accepted reports met each target."""
    if by is not None and by not in services.reports.GROUPINGS:
        raise InputError(
            "command line", "--by", by, f"must be one of {', '.join(services.reports.GROUPINGS)}"
        )
    day = _day(as_of, "--as-of")
    found, targets = services.reports.rates(
        services.checks.load_settings(),
        directive=directive,
        day=day,
        requirement=requirement,
        period=period,
        by=cast(services.reports.Grouping | None, by),
    )
    if as_json:
        _print_json(
            {
                "directive": directive,
                "as_of": day.isoformat(),
                "by": by,
                "rates": [
                    asdict(r) | {"reporting_rate": r.reporting_rate, "on_time_rate": r.on_time_rate}
                    for r in found
                ],
                "targets": [asdict(t) for t in targets],
            }
        )
        return
    table = Table(
        "requirement",
        "period",
        *((by,) if by else ()),
        "expected",
        "reported",
        "on time",
        "rate",
        "on-time rate",
        "waived",
        "overdue",
        title=f"{directive}: reporting rates as of {day.isoformat()}",
    )
    for r in found:
        table.add_row(
            r.requirement,
            r.period,
            *((r.group,) if by else ()),
            str(r.expected),
            str(r.reported),
            str(r.on_time),
            _percent(r.reporting_rate),
            _percent(r.on_time_rate),
            str(r.waived),
            str(r.overdue),
        )
    out.print(table)
    if targets:
        met = Table(
            "requirement", "period", *((by,) if by else ()), "figure", "target", "accepted", "met"
        )
        for t in targets:
            met.add_row(
                t.requirement,
                t.period,
                *((t.group,) if by else ()),
                t.figure,
                t.target,
                str(t.accepted),
                str(t.met),
            )
        out.print(met)


@report_app.command("consolidate")
@friendly
def report_consolidate(
    directive: Annotated[str, typer.Option(help="Directive code.")],
    requirement: Annotated[str, typer.Option(help="The requirement whose reports to sum up.")],
    period: Annotated[str, typer.Option(help="Period key, e.g. 2024-Q1.")],
    folder: Annotated[
        Path, typer.Option("--out", help="Folder to write the .xlsx and .docx into.")
    ],
    as_of: AsOfOpt = None,
) -> None:
    """The consolidated report of one requirement and period: totals over the accepted
    reports, every unit's line, who was late, who did not report, targets missed."""
    day = _day(as_of, "--as-of")
    found, files = services.reports.write_consolidation(
        services.checks.load_settings(),
        directive=directive,
        requirement=requirement,
        period=period,
        day=day,
        out=folder,
    )
    rate = found.rate
    out.print(
        f"{found.requirement} {period}: {rate.reported}/{rate.expected} reported "
        f"({_percent(rate.reporting_rate)}), {rate.on_time} on time, {len(found.missing)} missing"
    )
    for path in files:
        out.print(str(path))


@report_app.command("matrix")
@friendly
def report_matrix(
    directive: Annotated[str, typer.Option(help="Directive code.")],
    requirement: Annotated[str, typer.Option(help="Requirement code.")],
    file: Annotated[Path, typer.Option("--out", help="The HTML file to write.")],
    as_of: AsOfOpt = None,
) -> None:
    """The compliance matrix of one requirement: units × periods, each cell a status word and
    colour, as one self-contained HTML file."""
    found, path = services.reports.write_matrix(
        services.checks.load_settings(),
        directive=directive,
        requirement=requirement,
        day=_day(as_of, "--as-of"),
        out=file,
    )
    out.print(f"{len(found.rows)} units × {len(found.periods)} periods: {path}")


def main() -> None:
    """The `dondoc` command. A reader that stops early (`dondoc obligations | head`) ends it
    quietly with status 1, the status click and rich already give a command whose pipe broke
    while it wrote, so that every broken pipe ends the same: what is still buffered goes to
    /dev/null instead of failing again, with a traceback, as Python exits."""
    stdout = sys.stdout  # click hides a broken pipe behind its own wrapper of sys.stdout
    try:
        try:
            app()
        finally:
            stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        sys.exit(1)


if __name__ == "__main__":
    main()
