"""Benchmark: consolidation over the national data set of `bench/publish.py`.

Publishes the same directive on every commune of Vietnam (10,051 communes, 190,969
obligations), records a realistic mix for the first quarter and for March 2024 through the
ledger's set-based append (the deciders, fold and hash chain of every command): of every 20
communes, 11 accepted on time, 3 accepted late, 2 handed in and awaiting review, 1 returned,
1 waived, 2 with nothing. Then it measures, per backend, each in a spawned process:

- the rates of one month (2024-03, grouped by parent: the 696 districts) and the consolidation
  of one quarter (2024-Q1: totals, every unit's line, targets): time, peak RSS (target: under
  300 MB), and the ratio to one hand-written SQL aggregate over the same rows in the same
  process (target: at most 3×).

`--map 2025` does the same on today's map (3,321 communes, 63,099 obligations) for 2026: the
rates of 2026-03 are then grouped by the 34 provinces, and the quarter is 2026-Q1.

Every figure also goes to `--json PATH` as in `bench/publish.py`. Usage::

    .venv/bin/python bench/consolidate.py --backends sqlite,postgresql \\
        --postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres --json bench.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from publish import (
    ADMIN,
    MAPS,
    TARGET_PEAK_MB,
    Map,
    _memory_mb,
    _met,
    actors,
    databases,
    directive,
    prepare,
)

from models.rules.obligation import (
    Decision,
    State,
    decide_accept,
    decide_return,
    decide_submit,
    decide_waive,
)
from models.rules.status import Day
from models.rules.workdays import WorkCalendar
from models.storage import ledger, publishing, reporting
from models.storage.db import make_engine, transaction
from models.storage.tables import OBLIGATION, REQUIREMENT

TARGET_RATIO = 3.0


@dataclass(frozen=True, slots=True)
class Reads:
    """What is read of a map's data set: on which day, the quarter consolidated and the month
    whose rates are read, each a (requirement, period)."""

    code: str
    day: date  # both periods' units are past their deadline
    quarter: tuple[str, str]
    month: tuple[str, str]

    @classmethod
    def of(cls, shape: Map) -> Reads:
        year = shape.year
        return cls(
            shape.code,
            date(year, 4, 20),
            ("quarterly", f"{year}-Q1"),
            ("monthly", f"{year}-03"),
        )

    @property
    def on(self) -> Day:
        return Day(self.day, self.day + timedelta(days=5))


# what the commune in each position of 20 does
MIX = ("on time",) * 11 + ("late",) * 3 + ("submitted",) * 2 + ("returned", "waived")
MIX += ("nothing",) * (20 - len(MIX))
# the set-based rounds write each step under one actor; the reads measured never look at it
BENCH_STAFF = "bench-staff"


def _period_rows(engine: sa.Engine, requirement: str, period: str) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [
            (r.id, r.unit_code)
            for r in conn.execute(
                sa.select(OBLIGATION.c.id, OBLIGATION.c.unit_code)
                .join(REQUIREMENT, REQUIREMENT.c.id == OBLIGATION.c.requirement_id)
                .where(REQUIREMENT.c.code == requirement, OBLIGATION.c.period_key == period)
                .order_by(OBLIGATION.c.id)
            )
        ]


def _round(
    engine: sa.Engine,
    ids: Sequence[int],
    decide: Callable[[State], Decision],
    step: str,
    actor: str,
    now: datetime,
) -> int:
    """One step of the mix for many obligations, set-based through `ledger.append_many` (the
    same deciders, fold and hash chain as single commands); returns the events appended."""
    with transaction(engine) as conn:
        rows = conn.execute(sa.select(OBLIGATION).where(OBLIGATION.c.id.in_(ids))).all()
        planned = [
            ledger.Planned(r.id, state, decide(state), f"mix:{step}:{r.id}")
            for r in rows
            for state in (ledger.state_from_row(r),)
        ]
        return len(ledger.append_many(conn, planned, actor=actor, channel="bench", now=now))


def record_mix(engine: sa.Engine, shape: Map, requirement: str, period: str) -> int:
    """The mix, timed like a real history (handed in before or after the due date); returns
    the events appended."""
    rows = _period_rows(engine, requirement, period)
    what = next(r.what for r in directive(shape).requirements if r.code == requirement)
    by_fate: dict[str, list[int]] = defaultdict(list)
    for n, (oid, _) in enumerate(rows):
        by_fate[MIX[n % len(MIX)]].append(oid)
    with engine.connect() as conn:
        due = conn.execute(
            sa.select(OBLIGATION.c.due_date).where(OBLIGATION.c.id == rows[0][0])
        ).scalar_one()
    early = datetime.combine(due - timedelta(days=3), datetime.min.time(), UTC)
    late = datetime.combine(due + timedelta(days=4), datetime.min.time(), UTC)
    decided = late + timedelta(days=1)

    def handed(state: State) -> Decision:
        figures = {"received": state.version % 97, "resolved": state.version % 89}
        return decide_submit(state, what, figures, None, None)

    on_time = by_fate["on time"] + by_fate["submitted"] + by_fate["returned"]
    events = _round(engine, on_time, handed, "s", BENCH_STAFF, early)
    events += _round(engine, by_fate["late"], handed, "s", BENCH_STAFF, late)
    accepted = by_fate["on time"] + by_fate["late"]
    events += _round(engine, accepted, decide_accept, "a", ADMIN, decided)
    events += _round(
        engine,
        by_fate["returned"],
        lambda s: decide_return(s, "Thiếu số liệu"),
        "r",
        ADMIN,
        decided,
    )
    events += _round(
        engine, by_fate["waived"], lambda s: decide_waive(s, "Sáp nhập"), "w", ADMIN, decided
    )
    return events


def hand_rates(conn: sa.Connection, reads: Reads) -> int:
    """One hand-written aggregate: the month's counts per parent (the rates' rows)."""
    rows = conn.exec_driver_sql(
        "SELECT u.parent_code, count(*) FILTER (WHERE o.status NOT IN "
        "('transferred', 'closed', 'waived')), "
        "count(*) FILTER (WHERE o.status IN ('submitted', 'accepted', 'accepted_late')), "
        "count(*) FILTER (WHERE o.status = 'waived'), "
        "count(*) FILTER (WHERE o.status IN ('open', 'returned') AND o.effective_due < ?) "
        "FROM obligation o JOIN requirement r ON r.id = o.requirement_id "
        "JOIN unit u ON u.code = o.unit_code "
        "WHERE r.code = ? AND o.period_key = ? GROUP BY u.parent_code".replace(
            "?", "%s" if conn.dialect.name == "postgresql" else "?"
        ),
        (reads.day, *reads.month),
    ).all()
    return len(rows)


def hand_consolidation(conn: sa.Connection, reads: Reads) -> int:
    """One hand-written aggregate over the quarter's rows: every unit's line with its figures,
    and the totals."""
    mark = "%s" if conn.dialect.name == "postgresql" else "?"
    lines = conn.exec_driver_sql(
        "SELECT o.unit_code, u.name, o.status, o.submitted_at, o.figures, o.narrative "
        "FROM obligation o JOIN requirement r ON r.id = o.requirement_id "
        f"JOIN unit u ON u.code = o.unit_code WHERE r.code = {mark} AND o.period_key = {mark}",
        reads.quarter,
    ).all()
    totals = conn.exec_driver_sql(
        "SELECT f.key, sum(f.number), count(*) FROM figure_value f "
        "JOIN obligation o ON o.id = f.obligation_id JOIN requirement r ON r.id = o.requirement_id "
        f"WHERE r.code = {mark} AND o.period_key = {mark} "
        "AND o.status IN ('accepted', 'accepted_late') GROUP BY f.key",
        reads.quarter,
    ).all()
    return len(lines) + len(totals)


def timed_reads(url: str, reads: Reads) -> dict[str, float]:
    """In a fresh process: the rates and the consolidation, each against its hand-written
    aggregate (best of three each, hand-written first to warm the same caches)."""
    engine = make_engine(url)
    figures: dict[str, float] = {}
    with engine.connect() as conn:
        hand = min(_timed(lambda: hand_rates(conn, reads)) for _ in range(3))
    requirement, period = reads.month
    ours = min(
        _timed(
            lambda: reporting.rates(
                engine,
                directive=reads.code,
                on=reads.on,
                requirement=requirement,
                period=period,
                by="parent",
            )
        )
        for _ in range(3)
    )
    figures |= {"rates_seconds": ours, "rates_hand_seconds": hand, "rates_ratio": ours / hand}
    with engine.connect() as conn:
        hand = min(_timed(lambda: hand_consolidation(conn, reads)) for _ in range(3))
    requirement, period = reads.quarter
    ours = min(
        _timed(
            lambda: reporting.consolidation(
                engine, directive=reads.code, requirement=requirement, period=period, on=reads.on
            )
        )
        for _ in range(3)
    )
    figures |= {
        "consolidation_seconds": ours,
        "consolidation_hand_seconds": hand,
        "consolidation_ratio": ours / hand,
        "reads_peak_mb": _memory_mb("VmHWM"),
    }
    engine.dispose()
    return figures


def _timed(call: Any) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def bench_backend(urls: dict[str, str], shape: Map) -> dict[str, float]:
    units = shape.hierarchy()
    engine = prepare(urls["publish"], units, actors(units, shape))
    start = time.perf_counter()
    publishing.publish(
        engine,
        directive(shape),
        source="bench",
        actor=ADMIN,
        as_of=shape.as_of,
        now=shape.published_at,
        calendar=WorkCalendar(),
    )
    print(f"  published         {time.perf_counter() - start:.1f} s")
    start = time.perf_counter()
    reads = Reads.of(shape)
    commands = sum(record_mix(engine, shape, *which) for which in (reads.quarter, reads.month))
    print(f"  mix recorded      {commands:,} events in {time.perf_counter() - start:.1f} s")
    engine.dispose()
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        found = pool.submit(timed_reads, urls["publish"], reads).result()
    print(
        f"  rates, one month  {found['rates_seconds']:.2f} s vs hand-written "
        f"{found['rates_hand_seconds']:.2f} s = {found['rates_ratio']:.2f}× "
        f"(target ≤{TARGET_RATIO:g}×: {_met(found['rates_ratio'] <= TARGET_RATIO)})"
    )
    print(
        f"  consolidation, Q1 {found['consolidation_seconds']:.2f} s vs hand-written "
        f"{found['consolidation_hand_seconds']:.2f} s = {found['consolidation_ratio']:.2f}× "
        f"(target ≤{TARGET_RATIO:g}×: {_met(found['consolidation_ratio'] <= TARGET_RATIO)})"
    )
    print(
        f"  peak RSS          {found['reads_peak_mb']:.0f} MB "
        f"(target <{TARGET_PEAK_MB:g} MB: {_met(found['reads_peak_mb'] < TARGET_PEAK_MB)})"
    )
    return found | {"mix_events": float(commands)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get("DONDOC_BENCH_POSTGRES_URL"))
    parser.add_argument("--map", choices=sorted(MAPS), default="2024")
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")
    args = parser.parse_args(argv)
    shape = MAPS[args.map]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if "postgresql" in backends and not args.postgres_url:
        print("postgresql: skipped (give --postgres-url)", file=sys.stderr)
        backends.remove("postgresql")
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dondoc-bench-") as scratch:
        for backend in backends:
            print(f"{backend}, the {shape.name} map:")
            with databases(backend, Path(scratch), args.postgres_url) as urls:
                results = bench_backend(urls, shape)
            figures += [
                {"backend": backend, "map": shape.name, "measurement": name, "value": value}
                for name, value in results.items()
            ]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
