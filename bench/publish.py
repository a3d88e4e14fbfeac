"""Benchmark: one directive on every commune of Vietnam, then report submissions.

Builds the 2024 hierarchy from the `vietnam-provinces` package (0.6.0: 63 provinces, 696
districts, 10,051 communes) under a national unit, publishes one directive asking every
commune for monthly, quarterly, 6-monthly and yearly reports in 2024 (10,051 × 19 = 190,969
obligations) and prints, per backend, what follows. `--map 2025` runs the same on today's
map, the register dondoc ships (`directives/units/vietnam-2025.csv`: 34 provinces, no
districts, 3,321 communes, wards and special zones; 63,099 obligations), with a directive for
2026: each day below is then the same day of 2026, and the deep page of the table is at
--offset 30,000.

- publish time, and its ratio to a plain DB-API `cursor.executemany` of the same obligation
  and `created` event rows (read back from the published database before timing) into a fresh
  migrated database with the same schema and connection settings (target: at most 1.5×);
- peak memory of the publish: the peak RSS (Linux VmHWM) of a spawned process that only
  publishes (target: under 300 MB), and how much of it the publish itself added;
- the chase run as of 15/04/2024 (about a fifth of the obligations overdue), in a spawned
  process: its time and peak RSS (target: under 300 MB), events appended and messages
  written; the time of its planning read against one hand-written SQL query that selects the
  same candidate rows, read in turns in the same process, each the fastest of five (target:
  at most 3×); and its set-based append (`chase.append_events`, through `ledger.append_many`)
  against a plain DB-API executemany of the same event rows and projection updates into a
  copy of the database (target: at most 2×);
- the listing at national scale, as of 15/04/2024: `dondoc obligations --json` (every row)
  and the table form (its first page, target: under 0.5 s, and the page at --offset 100,000),
  each run as a command in a process of its own, with its time and peak RSS (target: under
  300 MB); and the JSON listing's time against one
  hand-written SQL query of the same rows, fetched whole through the DB-API driver, plus
  json-writing them to a file in the same format, in the same run (target: at most 2×; the
  two files must be the same bytes; each the fastest of 3 runs taken in turns);
- submission throughput in events/s: 20,000 `ledger.submit` commands in one process, one
  report each, by the staff actor of the obliged commune, against the `eventsourcing`
  library's load-and-append of as many one-event commands on the same backend (an aggregate
  per obligation, opened before the timing; each command loads it, appends one event and
  commits), in 4 alternating rounds, with the same durability settings, which are checked
  (target: dondoc at least as fast); then 20,000 more submissions shared among 4 worker
  processes (`--workers 0` skips those).

Every figure also goes to `--json PATH` as a list of {"backend", "map", "measurement",
"value", "unit"} objects. It takes about 7 minutes on a 2-core machine; `--sections chase` measures
the publish and the chase alone (about a minute).

Usage (PostgreSQL is skipped without a URL; on it, the databases dondoc_bench_publish,
dondoc_bench_plain and dondoc_bench_peer are created and dropped again)::

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/publish.py --backends sqlite,postgresql \\
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres --json bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from sqlalchemy.engine import make_url
from vietnam_provinces import NESTED_DIVISIONS_JSON_PATH
from vietnam_provinces.base import VietNamDivisionType

from models.collector import paused_gc
from models.files.directive import DirectiveSpec, parse_directive
from models.files.registry import ActorRow, UnitRow, read_units
from models.rules.ladder import DEFAULT_LADDER
from models.rules.status import Day
from models.rules.workdays import WorkCalendar, calendar_years
from models.storage import chase, ledger, publishing, reference
from models.storage.db import make_engine, transaction, upgrade
from models.storage.tables import OBLIGATION
from notifications.render import renderer

NATIONAL = "VN"
ADMIN = "bench-admin"
CADENCES = ("monthly", "quarterly", "6-monthly", "yearly")
TARGET_RATIO = 2.0
TARGET_PUBLISH_RATIO = 1.5
TARGET_CHASE_RATIO = 3.0
TARGET_PEAK_MB = 300.0
DUE_SOON_WORKING_DAYS = 3
TABLE_PAGE = 1_000
TARGET_PAGE_SECONDS = 0.5  # the table's first page, once the command line is imported
LISTING_RUNS = 3
DATABASES = {
    "publish": "dondoc_bench_publish",
    "plain": "dondoc_bench_plain",
    "peer": "dondoc_bench_peer",
}
# Submissions and the peer's commands alternate in this many short turns: a stall of the
# machine (a slow sync, a neighbour's burst) falls on both alike rather than on one long turn.
SUBMIT_ROUNDS = 30
# The chase's plan and the query it is held against are each read this many times, in turns
# in one process, the fastest counting: one reading of either spread twofold from run to run,
# and a neighbour's burst on one side alone swung the ratio.
PLAN_RUNS = 5
MEASURE_UNITS = {
    "obligations": "rows",
    "submits": "commands",
    "parallel_workers": "processes",
    "chase_overdue": "rows",
    "chase_events": "events",
    "chase_messages": "messages",
    "listing_rows": "rows",
}
T = VietNamDivisionType
# The package's data marks every level-3 unit as "xã" (and every level 2 as "huyện"), so the
# division type is read from the name, using the package's own types.
LEVEL_KINDS: tuple[dict[str, VietNamDivisionType], ...] = (
    {"Tỉnh": T.TINH, "Thành phố": T.THANH_PHO_TRUNG_UONG},
    {"Huyện": T.HUYEN, "Quận": T.QUAN, "Thị xã": T.THI_XA, "Thành phố": T.THANH_PHO},
    {"Xã": T.XA, "Phường": T.PHUONG, "Thị trấn": T.THI_TRAN},
)
REGISTER_2025 = Path(__file__).resolve().parent.parent / "directives/units/vietnam-2025.csv"


def _kind(name: str, level: int) -> str:
    """The unit kind (a package division type, lower-cased) that a unit's name starts with."""
    for prefix, division in LEVEL_KINDS[level].items():
        if name.lower().startswith(prefix.lower() + " "):
            return division.name.lower()
    raise ValueError(f"no division type of level {level + 1} fits {name!r}")


def _address(code: str) -> str:
    """A unit's own address, so that chasing has someone to tell."""
    return f"{code.lower()}@bench.example"


def _unit(code: str, name: str, kind: str, parent: str | None) -> UnitRow:
    return UnitRow(code, name, kind, parent, (), _address(code), None, None, None)


def hierarchy_2024() -> list[UnitRow]:
    """The nation, its provinces, districts and communes of 2024, with GSO codes (2, 3, 5
    digits), from the `vietnam-provinces` package the benchmark pins."""
    units = [_unit(NATIONAL, "Việt Nam", "quoc_gia", None)]
    for province in json.loads(NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8")):
        p_code = f"{province['code']:02d}"
        units.append(_unit(p_code, province["name"], _kind(province["name"], 0), NATIONAL))
        for district in province["districts"]:
            d_code = f"{district['code']:03d}"
            units.append(_unit(d_code, district["name"], _kind(district["name"], 1), p_code))
            units += [
                _unit(f"{ward['code']:05d}", ward["name"], _kind(ward["name"], 2), d_code)
                for ward in district["wards"]
            ]
    return units


def hierarchy_2025() -> list[UnitRow]:
    """The nation, its provinces and their communes of today, as dondoc ships them
    (`directives/units/vietnam-2025.csv`, read as `dondoc units import` reads it, in force
    from 01/07/2025), with the provinces under the nation and an address for every unit."""
    units = [_unit(NATIONAL, "Việt Nam", "quoc_gia", None)]
    return units + [
        replace(unit, parent_code=unit.parent_code or NATIONAL, email=_address(unit.code))
        for unit in read_units(REGISTER_2025)
    ]


@dataclass(frozen=True, slots=True)
class Map:
    """A map of Vietnam's units the benchmark runs on, and the year its directive covers (the
    map is in force all that year): every day the benchmark uses is a day of that year."""

    name: str
    year: int
    hierarchy: Callable[[], list[UnitRow]]
    commune_kinds: tuple[str, ...]
    obligations: int  # what the directive opens: every commune owes 12 + 4 + 2 + 1 periods
    table_deep: int  # a page of the table deep in the listing (the offset skips requirements)

    @property
    def code(self) -> str:
        return f"bench-cchc-{self.year}"

    @property
    def as_of(self) -> date:
        return date(self.year, 12, 31)

    @property
    def published_at(self) -> datetime:
        return datetime(self.year, 1, 2, 1, 0, tzinfo=UTC)

    @property
    def submitted_at(self) -> datetime:
        return datetime(self.year + 1, 1, 3, 2, 0, tzinfo=UTC)

    @property
    def chase_day(self) -> date:
        """The chase's day, and the listing's: about a fifth of the obligations are overdue."""
        return date(self.year, 4, 15)

    @property
    def chased_at(self) -> datetime:
        return datetime(self.year, 4, 15, 1, 0, tzinfo=UTC)


MAPS = {
    # 63 provinces, 696 districts, 10,051 communes
    "2024": Map(
        "2024",
        2024,
        hierarchy_2024,
        tuple(t.name.lower() for t in LEVEL_KINDS[2].values()),
        190_969,
        100_000,
    ),
    # 34 provinces, 3,321 communes, wards and special zones, no districts
    "2025": Map("2025", 2026, hierarchy_2025, ("xa", "phuong", "dac_khu"), 63_099, 30_000),
}


def staff(commune: str) -> str:
    return f"staff-{commune}"


def actors(units: Sequence[UnitRow], shape: Map) -> list[ActorRow]:
    """One national admin, and one staff member per commune."""
    return [ActorRow(ADMIN, "Quản trị viên", NATIONAL, "admin", None)] + [
        ActorRow(staff(u.code), f"Cán bộ {u.name}", u.code, "staff", None)
        for u in units
        if u.kind in shape.commune_kinds
    ]


def directive(shape: Map) -> DirectiveSpec:
    """Every commune reports two figures monthly, quarterly, 6-monthly and yearly in the
    map's year."""
    figures = [
        {"key": "received", "label": "Số hồ sơ tiếp nhận", "type": "integer", "min": 0},
        {"key": "resolved", "label": "Số hồ sơ đã giải quyết", "type": "integer", "min": 0},
    ]
    year = shape.year
    return parse_directive(
        {
            "code": shape.code,
            "document": {
                "issuer": NATIONAL,
                "number": "1",
                "symbol": "BENCH",
                "date": f"{year}-01-02",
                "subject": f"Báo cáo kết quả giải quyết thủ tục hành chính năm {year}",
            },
            "lead": NATIONAL,
            "effective": {"from": f"{year}-01-01", "until": f"{year}-12-31"},
            "requirements": [
                {
                    "code": cadence,
                    "title": f"Báo cáo {cadence}",
                    "who": {"kinds": list(shape.commune_kinds)},
                    "what": {"figures": figures},
                    "to": NATIONAL,
                    "schedule": [
                        {
                            "cadence": cadence,
                            "convention": "calendar",
                            "due": {"rule": "working-days-after-end", "days": 5},
                        }
                    ],
                }
                for cadence in CADENCES
            ],
        },
        "bench",
    )


def _memory_mb(field: str) -> float:
    """A memory figure of this process from Linux's /proc/self/status, in MB.

    VmHWM, not `getrusage().ru_maxrss`: a spawned child's ru_maxrss starts at its parent's
    RSS at the time of the fork, so it would report the parent's memory, not the publish's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) / 1024  # kB
    raise LookupError(f"/proc/self/status has no {field}")


@dataclass(frozen=True, slots=True)
class PublishRun:
    """One publish, as the process that ran it saw it: the process's peak RSS, and how far
    above the RSS it had just before publishing that peak was."""

    seconds: float
    obligations: int
    peak_mb: float
    growth_mb: float


def loaded_calendar() -> WorkCalendar:
    """The working-day calendar, with the holidays package's country module imported: that
    happens on first use (0.1 s), and like every other import it stays out of the timings."""
    calendar_years()
    return WorkCalendar()


def timed_publish(url: str, spec: DirectiveSpec, shape: Map) -> PublishRun:
    """Publish in this (fresh) process, timing it and reading its RSS high-water mark."""
    engine = make_engine(url)
    calendar = loaded_calendar()
    before = _memory_mb("VmRSS")
    start = time.perf_counter()
    report = publishing.publish(
        engine,
        spec,
        source="bench",
        actor=ADMIN,
        as_of=shape.as_of,
        now=shape.published_at,
        calendar=calendar,
    )
    seconds = time.perf_counter() - start
    engine.dispose()
    peak = _memory_mb("VmHWM")
    return PublishRun(seconds, report.opened.total, peak, peak - before)


Rows = tuple[list[str], list[tuple[Any, ...]]]


def _dump(cursor: Any, table: str) -> Rows:
    cursor.execute(f"SELECT * FROM {table} ORDER BY id")
    rows = cursor.fetchall()
    return [d[0] for d in cursor.description], rows


def _insert(cursor: Any, table: str, rows: Rows, mark: str) -> None:
    columns, values = rows
    cursor.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})",
        values,
    )


def _count(engine: sa.Engine, table: str, where: str = "") -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table} {where}").scalar_one())


def plain_insert(source: sa.Engine, target: sa.Engine) -> float:
    """Seconds to executemany the source's obligation and event rows into the target, in one
    transaction on a raw DB-API connection (directive and requirement rows go first, untimed)."""
    sqlite = target.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    read = source.raw_connection()
    try:
        cursor = read.cursor()
        parents = [(t, _dump(cursor, t)) for t in ("directive", "requirement")]
        obligations, events = _dump(cursor, "obligation"), _dump(cursor, "event")
    finally:
        read.close()
    raw = target.raw_connection()
    try:
        cursor = raw.cursor()
        for table, rows in parents:
            _insert(cursor, table, rows, mark)
        raw.commit()
        start = time.perf_counter()
        if sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        _insert(cursor, "obligation", obligations, mark)
        _insert(cursor, "event", events, mark)
        raw.commit()
        return time.perf_counter() - start
    finally:
        raw.close()


def submission_targets(engine: sa.Engine, count: int, skip: int) -> list[tuple[int, str]]:
    """`count` obligations (id, unit) in id order, after the first `skip`."""
    with engine.connect() as conn:
        targets = [
            (r.id, r.unit_code)
            for r in conn.execute(
                sa.select(OBLIGATION.c.id, OBLIGATION.c.unit_code)
                .order_by(OBLIGATION.c.id)
                .offset(skip)
                .limit(count)
            )
        ]
    if len(targets) < count:
        raise SystemExit(f"only {len(targets)} obligations left to submit, {count} asked")
    return targets


def submit_all(engine: sa.Engine, targets: Sequence[tuple[int, str]], at: datetime) -> None:
    """One `ledger.submit` per obligation, by the staff of its commune, `at` that moment."""
    for obligation_id, unit in targets:
        ledger.submit(
            engine,
            obligation_id,
            ledger.Issued(staff(unit), f"bench:submit:{obligation_id}", "bench", at),
            figures={"received": obligation_id % 97, "resolved": obligation_id % 89},
            narrative=None,
            evidence=None,
        )


def _submit_worker(url: str, targets: Sequence[tuple[int, str]], at: datetime, ready: Any) -> None:
    engine = make_engine(url)
    with engine.connect():
        pass
    ready.wait()
    submit_all(engine, targets, at)
    engine.dispose()


def submit_parallel(
    url: str, targets: Sequence[tuple[int, str]], at: datetime, workers: int
) -> float:
    """Seconds for `workers` spawned processes to submit their share of `targets` (`at` that
    moment), timed from the moment all of them are connected and ready."""
    context = get_context("spawn")
    ready = context.Barrier(workers + 1)
    processes = [
        context.Process(target=_submit_worker, args=(url, targets[i::workers], at, ready))
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    ready.wait()
    start = time.perf_counter()
    for process in processes:
        process.join()
    seconds = time.perf_counter() - start
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise SystemExit(f"{len(failed)} submit worker(s) failed, exit codes {failed}")
    return seconds


@contextmanager
def databases(backend: str, workdir: Path, postgres_url: str | None) -> Iterator[dict[str, str]]:
    """Fresh empty databases "publish" and "plain" for a backend, as URLs."""
    if backend == "sqlite":
        urls = {}
        for role, name in DATABASES.items():
            for suffix in ("", "-wal", "-shm"):
                (workdir / f"{name}.db{suffix}").unlink(missing_ok=True)
            urls[role] = f"sqlite:///{workdir / name}.db"
        yield urls
        return
    assert postgres_url is not None
    server = make_url(postgres_url).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")

    def drop() -> None:
        with admin.connect() as conn:
            for name in DATABASES.values():
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    drop()
    with admin.connect() as conn:
        for name in DATABASES.values():
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield {
            role: server.set(database=name).render_as_string(hide_password=False)
            for role, name in DATABASES.items()
        }
    finally:
        drop()
        admin.dispose()


def prepare(url: str, units: Sequence[UnitRow], people: Sequence[ActorRow]) -> sa.Engine:
    """Migrate a fresh database and load the unit and actor registers."""
    engine = make_engine(url)
    upgrade(engine)
    reference.import_units(engine, units)
    reference.import_actors(engine, people)
    return engine


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def measure_publish(
    backend: str, urls: dict[str, str], engines: dict[str, sa.Engine], shape: Map
) -> dict[str, float]:
    """Publish in a spawned process, check the counts, then time the plain insert."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        run = pool.submit(timed_publish, urls["publish"], directive(shape), shape).result()
    stored = _count(engines["publish"], "obligation"), _count(engines["publish"], "event")
    if (run.obligations, *stored) != (shape.obligations,) * 3:
        raise SystemExit(
            f"{backend}: publish reported {run.obligations:,} obligations and "
            f"stored {stored} (obligations, events); "
            f"expected {shape.obligations:,} of each"
        )
    print(
        f"  publish           {stored[0]:,} obligations + {stored[1]:,} events: "
        f"{run.seconds:.2f} s ({stored[0] / run.seconds:,.0f} obligations/s)"
    )
    plain = plain_insert(engines["publish"], engines["plain"])
    copied = _count(engines["plain"], "obligation"), _count(engines["plain"], "event")
    if copied != stored:
        raise SystemExit(f"{backend}: the plain insert stored {copied}, not {stored}")
    ratio = run.seconds / plain
    print(
        f"  plain executemany same rows: {plain:.2f} s; publish ratio {ratio:.2f}x "
        f"(target <= {TARGET_PUBLISH_RATIO:g}x: {_met(ratio <= TARGET_PUBLISH_RATIO)})"
    )
    print(
        f"  publish peak RSS  {run.peak_mb:.0f} MB, of which the publish added "
        f"{run.growth_mb:.0f} MB (target < {TARGET_PEAK_MB:g} MB: "
        f"{_met(run.peak_mb < TARGET_PEAK_MB)})"
    )
    return {
        "obligations": stored[0],
        "publish_seconds": run.seconds,
        "plain_insert_seconds": plain,
        "publish_ratio": ratio,
        "publish_peak_mb": run.peak_mb,
        "publish_rss_growth_mb": run.growth_mb,
    }


@dataclass(frozen=True, slots=True)
class ChaseRun:
    """One chase run, as the spawned process that ran it saw it."""

    seconds: float
    plan_seconds: float
    hand_seconds: float
    hand_rows: int
    append_seconds: float
    events: int
    messages: int
    peak_mb: float


def timed_chase(url: str, day: date, at: datetime) -> ChaseRun:
    """The chase's plan on its own and the hand-written query it is held against, read in
    turns PLAN_RUNS times (the fastest of each counting); then plan, append and write the
    messages of the chase on `day` (`at` that moment), as services.mail.chase does (one
    transaction), timing its
    parts and reading the process's RSS high-water mark."""
    engine = make_engine(url)
    calendar = loaded_calendar()
    render = renderer(calendar)
    plans, hands = [], []
    for _ in range(PLAN_RUNS):
        hands.append(hand_query(engine, day))
        began = time.perf_counter()
        with transaction(engine, writes=False) as conn:
            chase.plan(conn, day=day, calendar=calendar, default_ladder=DEFAULT_LADDER)
        plans.append(time.perf_counter() - began)
    start = time.perf_counter()
    with transaction(engine) as conn:
        found = chase.plan(conn, day=day, calendar=calendar, default_ladder=DEFAULT_LADDER)
        planned = time.perf_counter()
        events = chase.append_events(conn, found, now=at)
        appended = time.perf_counter()
        chase.store_messages(
            conn,
            found.run,
            [
                (letter.key(found.run), letter.recipient, render(letter, day))
                for letter in found.letters
            ],
            at,
        )
    seconds = time.perf_counter() - start
    engine.dispose()
    return ChaseRun(
        seconds,
        min(plans),
        *min(hands),
        appended - planned,
        events,
        len(found.letters),
        _memory_mb("VmHWM"),
    )


def hand_query(engine: sa.Engine, day: date) -> tuple[float, int]:
    """One hand-written SQL query selecting the rows the chase's plan reads: every obligation
    still owed whose due date is within the ladder's reach (`chase.reach`), or returned, of a
    published directive (the plan reads the directives and the registers once, apart).
    Seconds and rows, of one reading."""
    sql = (
        "SELECT o.* FROM obligation o JOIN requirement r ON r.id = o.requirement_id "
        "JOIN directive d ON d.id = r.directive_id "
        "WHERE d.status = 'published' AND o.status IN ('open', 'returned') "
        "AND o.effective_due IS NOT NULL "
        "AND (o.effective_due <= :limit OR o.status = 'returned') ORDER BY o.id"
    )
    limit = chase.reach({0: DEFAULT_LADDER}, day, WorkCalendar())
    start = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql), {"limit": limit}).all()
    return time.perf_counter() - start, len(rows)


def plain_chase_append(source: sa.Engine, target: sa.Engine) -> float:
    """Seconds to write the chase's event rows and its projection updates (version, last
    hash) with a plain DB-API executemany into the target, a copy of the source before the
    chase (the rows are read back from the source first, untimed)."""
    sqlite = target.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    read = source.raw_connection()
    try:
        cursor = read.cursor()
        cursor.execute("SELECT * FROM event WHERE kind IN ('reminded', 'escalated') ORDER BY id")
        events = ([d[0] for d in cursor.description], cursor.fetchall())
        cursor.execute(
            "SELECT version, last_hash, id FROM obligation WHERE id IN (SELECT obligation_id "
            "FROM event WHERE kind IN ('reminded', 'escalated'))"
        )
        moves = cursor.fetchall()
    finally:
        read.close()
    raw = target.raw_connection()
    try:
        cursor = raw.cursor()
        start = time.perf_counter()
        if sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        cursor.executemany(
            f"UPDATE obligation SET version = {mark}, last_hash = {mark} WHERE id = {mark}", moves
        )
        _insert(cursor, "event", events, mark)
        raw.commit()
        return time.perf_counter() - start
    finally:
        raw.close()


def measure_chase(
    backend: str, urls: dict[str, str], engines: dict[str, sa.Engine], shape: Map
) -> dict[str, float]:
    """The chase on the published database, in a spawned process; then the same writes with
    a plain executemany into the plain copy."""
    overdue = _count(
        engines["publish"],
        "obligation",
        f"WHERE status = 'open' AND effective_due < '{shape.chase_day.isoformat()}'",
    )
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        run = pool.submit(timed_chase, urls["publish"], shape.chase_day, shape.chased_at).result()
    plain = plain_chase_append(engines["publish"], engines["plain"])
    hand_seconds, hand_rows = run.hand_seconds, run.hand_rows
    plan_ratio = run.plan_seconds / hand_seconds
    append_ratio = run.append_seconds / plain
    print(
        f"  chase             as of {shape.chase_day:%d/%m/%Y}: {overdue:,} obligations overdue "
        f"({overdue / shape.obligations:.0%}); {run.events:,} events, {run.messages:,} "
        f"messages: {run.seconds:.1f} s, peak RSS {run.peak_mb:.0f} MB "
        f"(target < {TARGET_PEAK_MB:g} MB: {_met(run.peak_mb < TARGET_PEAK_MB)})"
    )
    print(
        f"  chase plan        {run.plan_seconds:.2f} s; one hand-written query of the same "
        f"{hand_rows:,} rows {hand_seconds:.2f} s; ratio {plan_ratio:.2f}x "
        f"(target <= {TARGET_CHASE_RATIO:g}x: {_met(plan_ratio <= TARGET_CHASE_RATIO)})"
    )
    print(
        f"  chase append      {run.append_seconds:.2f} s; plain executemany of the same rows "
        f"{plain:.2f} s; ratio {append_ratio:.2f}x "
        f"(target <= {TARGET_RATIO:g}x: {_met(append_ratio <= TARGET_RATIO)})"
    )
    return {
        "chase_overdue": overdue,
        "chase_seconds": run.seconds,
        "chase_peak_mb": run.peak_mb,
        "chase_events": run.events,
        "chase_messages": run.messages,
        "chase_plan_seconds": run.plan_seconds,
        "chase_hand_query_seconds": hand_seconds,
        "chase_plan_ratio": plan_ratio,
        "chase_append_seconds": run.append_seconds,
        "chase_plain_append_seconds": plain,
        "chase_append_ratio": append_ratio,
    }


# `dondoc ARGS…` as a user runs it, in a process of its own: after it ends, the file named by
# its first argument holds the seconds the command ran once the command line was imported (and
# the modules its second argument names, comma-separated), and the process's peak RSS (VmHWM,
# see `_memory_mb`) in MB.
CLI_PROBE = """
import sys, time
from importlib import import_module
from pathlib import Path
report = Path(sys.argv.pop(1))
for module in filter(None, sys.argv.pop(1).split(",")):
    import_module(module)
from cli.main import app
start = time.perf_counter()
try:
    app(prog_name="dondoc")
finally:
    seconds = time.perf_counter() - start
    status = Path("/proc/self/status").read_text().splitlines()
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    report.write_text(f"{seconds} {peak / 1024}")
"""


@dataclass(frozen=True, slots=True)
class CommandRun:
    """One `dondoc` command in a process of its own."""

    seconds: float  # once the command line was imported
    wall_seconds: float  # the whole process, interpreter start and imports included
    peak_mb: float
    stderr: str


def run_command(
    url: str, args: Sequence[str], output: Path, *, imported: Sequence[str] = ()
) -> CommandRun:
    """Run `dondoc ARGS…` on the database at `url`, its stdout to `output`; the modules
    `imported` are imported before the command's time starts, as the command line is."""
    report = output.with_suffix(".probe")
    env = os.environ | {
        "DONDOC_DATABASE_URL": url,
        "DONDOC_DUE_SOON_WORKING_DAYS": str(DUE_SOON_WORKING_DAYS),
    }
    with output.open("wb") as out:
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", CLI_PROBE, str(report), ",".join(imported), *args],
            stdout=out,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"dondoc {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    seconds, peak = map(float, report.read_text().split())
    report.unlink()
    return CommandRun(seconds, wall, peak, done.stderr)


# The listing `dondoc obligations` prints, written by hand: status as of the day as
# `models.rules.status.RULES` states it, in the listing's order.
HAND_LISTING = (
    "SELECT o.id, d.code AS directive, r.code AS requirement, o.unit_code AS unit, "
    "o.period_key AS period, o.effective_due AS due, "
    "CASE WHEN o.status IN ('open', 'returned') AND o.effective_due < {mark} THEN 'overdue' "
    "WHEN o.status = 'open' AND o.effective_due <= {mark} THEN 'due_soon' "
    "ELSE o.status END AS status, o.version "
    "FROM obligation o JOIN requirement r ON r.id = o.requirement_id "
    "JOIN directive d ON d.id = r.directive_id "
    "ORDER BY d.code, r.code, o.period_end NULLS FIRST, o.period_key, o.unit_code"
)


def hand_listing(engine: sa.Engine, day: date, output: Path) -> tuple[float, float, int]:
    """The listing by hand: one query through the DB-API driver, every row fetched at once
    (seconds), then written to `output` as the same indented JSON array (seconds); and rows.
    The cycle collector is paused, as it would only slow the hand listing down: the floor the
    command is held to is as low as it gets."""
    on = Day.of(day, WorkCalendar(), DUE_SOON_WORKING_DAYS)
    days: tuple[Any, ...] = (on.day, on.soon_until)
    mark = "%s"
    if engine.dialect.name == "sqlite":  # its dates are ISO 8601 text
        days, mark = tuple(d.isoformat() for d in days), "?"
    raw = engine.raw_connection()
    try:
        with paused_gc():
            cursor = raw.cursor()
            start = time.perf_counter()
            cursor.execute(HAND_LISTING.format(mark=mark), days)
            rows = cursor.fetchall()
            fetched = time.perf_counter()
            names = [d[0] for d in cursor.description]
            with output.open("w", encoding="utf-8") as out:
                out.write(
                    json.dumps(
                        [dict(zip(names, row, strict=True)) for row in rows],
                        ensure_ascii=False,
                        indent=2,
                        default=str,
                    )
                    + "\n"
                )
            written = time.perf_counter()
    finally:
        raw.close()
    return fetched - start, written - fetched, len(rows)


def measure_listing(
    backend: str, urls: dict[str, str], workdir: Path, shape: Map
) -> dict[str, float]:
    """`dondoc obligations --json` and the same listing by hand, in turns, LISTING_RUNS times
    (the fastest of each counts, the highest peak RSS; the files must be the same bytes); then
    the table form, its first page and one deep in the listing, each the fastest of
    LISTING_RUNS. Each command runs in a process of its own."""
    url = urls["publish"]
    day = ["--as-of", shape.chase_day.isoformat()]
    listed, by_hand = workdir / "listing.json", workdir / "listing-by-hand.json"
    engine = make_engine(url)
    runs, hands = [], []
    try:
        for _ in range(LISTING_RUNS):
            runs.append(run_command(url, ["obligations", "--json", *day], listed))
            hands.append(hand_listing(engine, shape.chase_day, by_hand))
    finally:
        engine.dispose()
    as_json = replace(
        min(runs, key=lambda run: run.seconds), peak_mb=max(run.peak_mb for run in runs)
    )
    fetch, write, rows = min(hands, key=lambda hand: hand[0] + hand[1])
    if listed.read_bytes() != by_hand.read_bytes():
        raise SystemExit(f"{backend}: dondoc obligations --json differs from the hand listing")
    table, deep = (table_page(url, day, skip, rows, workdir) for skip in (0, shape.table_deep))
    # the page's own work: the same command with the service layer imported before the timing
    own = table_page(url, day, 0, rows, workdir, imported=["services.checks", "services.listing"])
    ratio = as_json.seconds / (fetch + write)

    def ran(run: CommandRun) -> str:
        return (
            f"{run.seconds:.2f} s ({run.wall_seconds:.2f} s with interpreter start and imports), "
            f"peak RSS {run.peak_mb:.0f} MB "
            f"(target < {TARGET_PEAK_MB:g} MB: {_met(run.peak_mb < TARGET_PEAK_MB)})"
        )

    print(f"  listing --json    {rows:,} rows as of {shape.chase_day:%d/%m/%Y}: {ran(as_json)}")
    print(
        f"  listing by hand   one query fetched whole {fetch:.2f} s + written as JSON "
        f"{write:.2f} s; --json ratio {ratio:.2f}x "
        f"(target <= {TARGET_RATIO:g}x: {_met(ratio <= TARGET_RATIO)})"
    )
    print(
        f"  listing table     the first {TABLE_PAGE:,} rows: {ran(table)}; "
        f"target < {TARGET_PAGE_SECONDS:g} s: {_met(table.seconds < TARGET_PAGE_SECONDS)}"
    )
    print(
        f"  listing table     the same, the service layer imported before the timing: "
        f"{own.seconds:.2f} s"
    )
    print(
        f"  listing table     {TABLE_PAGE:,} rows from --offset {shape.table_deep:,}: {ran(deep)}"
    )
    return {
        "listing_rows": rows,
        "listing_json_seconds": as_json.seconds,
        "listing_json_wall_seconds": as_json.wall_seconds,
        "listing_json_peak_mb": as_json.peak_mb,
        "listing_hand_fetch_seconds": fetch,
        "listing_hand_write_seconds": write,
        "listing_json_ratio": ratio,
        "listing_table_seconds": table.seconds,
        "listing_table_wall_seconds": table.wall_seconds,
        "listing_table_peak_mb": table.peak_mb,
        "listing_table_own_seconds": own.seconds,
        "listing_deep_page_seconds": deep.seconds,
        "listing_deep_page_wall_seconds": deep.wall_seconds,
    }


def table_page(
    url: str,
    day: Sequence[str],
    skip: int,
    rows: int,
    workdir: Path,
    *,
    imported: Sequence[str] = (),
) -> CommandRun:
    """`dondoc obligations --offset SKIP` (the table: one page), LISTING_RUNS times, the
    fastest counting, the highest peak RSS; it must say which of the `rows` it shows."""
    args = ["obligations", *day, "--offset", str(skip)]
    output = workdir / "listing.txt"
    runs = [run_command(url, args, output, imported=imported) for _ in range(LISTING_RUNS)]
    page = replace(min(runs, key=lambda run: run.seconds), peak_mb=max(r.peak_mb for r in runs))
    paged = f"showing {skip + 1:,}–{skip + TABLE_PAGE:,} of {rows:,} obligations"
    if not page.stderr.startswith(paged):
        raise SystemExit(f"the table did not say {paged!r}: {page.stderr!r}")
    return page


class Report(Aggregate):
    """The peer's aggregate: one obligation, opened before the timing; each command loads it
    and appends one event."""

    @event("Opened")
    def __init__(self, obligation_id: int) -> None:
        self.obligation_id = obligation_id
        self.figures: dict[str, int] | None = None

    @event("Submitted")
    def submit(self, figures: dict[str, int]) -> None:
        self.figures = figures


class Reports(Application):
    """The peer's application: `repository.get` loads an aggregate, `save` appends its new
    events in a transaction that commits."""


def peer_env(url: str) -> dict[str, str]:
    """The peer's settings for the database at `url`, with dondoc's: a 30 s lock timeout on
    SQLite (where it uses WAL of itself), a pre-ping of each connection taken on PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(parsed.database),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(parsed.database),
        "POSTGRES_HOST": parsed.host or "127.0.0.1",
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": parsed.username or "postgres",
        "POSTGRES_PASSWORD": parsed.password or "",
        "POSTGRES_PRE_PING": "y",
    }


# What makes a commit durable, asked of dondoc's and of the peer's connections alike.
DURABILITY = {
    "sqlite": ("PRAGMA journal_mode", "PRAGMA synchronous"),
    "postgresql": ("SHOW synchronous_commit", "SHOW fsync"),
}


def durability(backend: str, execute: Any) -> tuple[str, ...]:
    """The durability settings a connection runs with; `execute(sql)` returns a row."""
    return tuple(str(next(iter(dict(execute(sql)).values()))) for sql in DURABILITY[backend])


def peer_durability(backend: str, app: Reports) -> tuple[str, ...]:
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=False) as cursor:

        def execute(sql: str) -> Any:
            cursor.execute(sql)
            return cursor.fetchone()

        return durability(backend, execute)


def dondoc_durability(backend: str, engine: sa.Engine) -> tuple[str, ...]:
    with engine.connect() as conn:
        return durability(backend, lambda sql: conn.exec_driver_sql(sql).mappings().one())


def peer_commands(app: Reports, ids: Sequence[UUID], first: int) -> None:
    """The peer's load-and-append, one command (and commit) per aggregate."""
    for n, aggregate_id in enumerate(ids, start=first):
        report = app.repository.get(aggregate_id)
        report.submit({"received": n % 97, "resolved": n % 89})
        app.save(report)


def measure_submits(
    backend: str,
    urls: dict[str, str],
    engine: sa.Engine,
    submits: int,
    workers: int,
    at: datetime,
) -> dict[str, float]:
    """Sequential submissions side by side with the peer's load-and-append of as many
    one-event commands, in SUBMIT_ROUNDS alternating rounds (so both see the same machine);
    then (if `workers`) as many more submissions from worker processes."""
    targets = submission_targets(engine, submits, 0)
    peer = Reports(env=peer_env(urls["peer"]))
    ours, theirs = dondoc_durability(backend, engine), peer_durability(backend, peer)
    if ours != theirs:
        raise SystemExit(f"{backend}: the peer commits with {theirs}, dondoc with {ours}")
    reports = [Report(oid) for oid, _ in targets]
    peer.save(*reports)
    ids = [r.id for r in reports]
    seconds = peer_seconds = 0.0
    share = -(-submits // SUBMIT_ROUNDS)
    for start in range(0, submits, share):
        began = time.perf_counter()
        submit_all(engine, targets[start : start + share], at)
        middle = time.perf_counter()
        peer_commands(peer, ids[start : start + share], start)
        seconds += middle - began
        peer_seconds += time.perf_counter() - middle
    appended = peer.recorder.max_notification_id()  # type: ignore[attr-defined]
    peer.close()
    if appended != 2 * submits:
        raise SystemExit(f"{backend}: the peer stored {appended} events, not {2 * submits:,}")
    rate, peer_rate = submits / seconds, submits / peer_seconds
    settings = ", ".join(
        f"{q.split()[-1]} {v}" for q, v in zip(DURABILITY[backend], ours, strict=True)
    )
    print(
        f"  submit            {submits:,} reports, sequential, one process: {seconds:.1f} s "
        f"({rate:,.0f} events/s)"
    )
    print(
        f"  peer              eventsourcing {version('eventsourcing')} load-and-append of "
        f"{submits:,} one-event commands, in turns with the above ({settings}, as dondoc): "
        f"{peer_seconds:.1f} s ({peer_rate:,.0f} events/s); dondoc/peer {rate / peer_rate:.2f}x "
        f"(target >= 1x: {_met(rate >= peer_rate)})"
    )
    results = {
        "submits": submits,
        "submit_seconds": seconds,
        "submit_events_per_second": rate,
        "peer_submit_seconds": peer_seconds,
        "peer_submit_events_per_second": peer_rate,
        "submit_vs_peer_ratio": rate / peer_rate,
    }
    if workers:
        seconds = submit_parallel(
            urls["publish"], submission_targets(engine, submits, submits), at, workers
        )
        print(
            f"  submit            {submits:,} more reports, {workers} worker processes: "
            f"{seconds:.1f} s ({submits / seconds:,.0f} events/s)"
        )
        results |= {
            "parallel_workers": workers,
            "parallel_submit_seconds": seconds,
            "parallel_submit_events_per_second": submits / seconds,
        }
    expected = submits * (2 if workers else 1)
    submitted = _count(engine, "event", "WHERE kind = 'submitted'")
    if submitted != expected:
        raise SystemExit(f"{backend}: {submitted:,} submitted events stored, not {expected:,}")
    return results


SECTIONS = ("chase", "listing", "submits")


def bench_backend(
    backend: str,
    urls: dict[str, str],
    units: Sequence[UnitRow],
    shape: Map,
    submits: int,
    workers: int,
    workdir: Path,
    sections: Collection[str] = SECTIONS,
) -> dict[str, float]:
    """The measurements of `sections` on one backend and map, after the publish they all
    read, printed as they go; the figures by name."""
    people = actors(units, shape)
    start = time.perf_counter()
    engines = {role: prepare(urls[role], units, people) for role in ("publish", "plain")}
    print(
        f"  setup             {len(units):,} units and {len(people):,} actors in two fresh "
        f"databases: {time.perf_counter() - start:.1f} s"
    )
    for engine in engines.values():
        engine.dispose()
    try:
        figures = measure_publish(backend, urls, engines, shape)
        if "chase" in sections:
            figures |= measure_chase(backend, urls, engines, shape)
        if "listing" in sections:
            figures |= measure_listing(backend, urls, workdir, shape)
        if "submits" in sections:
            figures |= measure_submits(
                backend, urls, engines["publish"], submits, workers, shape.submitted_at
            )
        return figures
    finally:
        for engine in engines.values():
            engine.dispose()


def _unit_of(measurement: str) -> str:
    """The unit a measurement is expressed in, from its name."""
    for suffix, unit in (
        ("_seconds", "s"),
        ("_per_second", "events/s"),
        ("_mb", "MB"),
        ("_ratio", "x"),
    ):
        if measurement.endswith(suffix):
            return unit
    return MEASURE_UNITS[measurement]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("DONDOC_BENCH_POSTGRES_URL"),
        help="a PostgreSQL server to create the bench databases on "
        "(default: $DONDOC_BENCH_POSTGRES_URL)",
    )
    parser.add_argument(
        "--submits",
        type=int,
        default=20_000,
        help="sequential submissions (and as many again with --workers)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=4,
        help="worker processes for the parallel submissions; 0 skips them",
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help="comma-separated: what to measure after the publish (default: all of "
        f"{', '.join(SECTIONS)})",
    )
    parser.add_argument(
        "--map",
        choices=sorted(MAPS),
        default="2024",
        help="the units: Vietnam's of 2024 (with districts) or of today, in force from "
        "01/07/2025 (default: 2024)",
    )
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    parser.add_argument("--workdir", type=Path, help="where the SQLite files go (default: temp)")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    if set(sections) - set(SECTIONS):
        parser.error(f"unknown section(s): {', '.join(sorted(set(sections) - set(SECTIONS)))}")
    if "postgresql" in backends and not args.postgres_url:
        print(
            "postgresql: skipped (give --postgres-url or set DONDOC_BENCH_POSTGRES_URL)",
            file=sys.stderr,
        )
        backends.remove("postgresql")
    shape = MAPS[args.map]
    units = shape.hierarchy()
    provinces = sum(u.parent_code == NATIONAL for u in units)
    communes = sum(u.kind in shape.commune_kinds for u in units)
    print(
        f"the {shape.name} map: {provinces} provinces, "
        f"{len(units) - 1 - provinces - communes} districts, {communes:,} communes; a directive "
        f"for {shape.year}, expecting {shape.obligations:,} obligations"
    )
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dondoc-bench-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        for backend in backends:
            print(f"{backend}:")
            with databases(backend, workdir, args.postgres_url) as urls:
                results = bench_backend(
                    backend, urls, units, shape, args.submits, args.workers, workdir, sections
                )
            figures += [
                {
                    "backend": backend,
                    "map": shape.name,
                    "measurement": name,
                    "value": value,
                    "unit": _unit_of(name),
                }
                for name, value in results.items()
            ]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
