"""The forecast's dates: a hand-computed case, and properties against ``decide`` itself.

A forecast date must be exactly the first day on which ``decide`` calls for that action,
so the property runs ``decide`` on the day before and on the day itself.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archivist.dvcfiles import Version
from archivist.policy import parse_policy
from archivist.retention.decide import LedgerFact, VersionRecord, decide
from archivist.retention.forecast import forecast
from retention import sample

# the sample policy, its standard class with a basis (which moves no date)
POLICY = sample.POLICY.replace("standard: {active: 180d, archive: 3y}",
                               'standard: {active: 180d, archive: 3y, basis: "HGB 257: 3 years"}')
assert POLICY != sample.POLICY
DAY = dt.timedelta(days=1)


def record(path: str, digest: str, superseded: dt.date | None, retention: str | None = None,
           began: int = 0) -> VersionRecord:
    return VersionRecord(path=path, version=Version("md5", digest, size=10),
                         artifact=sample.artifact(path, retention=retention),
                         current=superseded is None, superseded=superseded,
                         ended_by="replaced" if superseded else None, began=began)


def test_hand_computed_dates() -> None:
    policy = parse_policy(POLICY + "  holds:\n"
                          "    - {path: m/held, reason: LH-7, until: 2031-12-31}\n"
                          "    - {path: m/frozen, reason: LH-9}\n")
    a, b, c, d, e, f, g = (f"{n:x}" * 32 for n in range(7))
    records = [
        record("m/a", a, dt.date(2021, 1, 10)),                    # standard, active
        record("m/a", b, dt.date(2020, 3, 1)),                     # standard, archived
        record("m/a", c, None),                                    # current
        record("m/exp", d, dt.date(2022, 5, 1), "experiment"),     # restored until 2022-09-01
        record("m/held", e, dt.date(2020, 1, 1)),                  # held until 2031-12-31
        record("m/frozen", f, dt.date(2020, 1, 1)),                # held, no end
        record("m/rel", g, dt.date(2020, 6, 1)),                   # released: regulated
    ]
    facts = [LedgerFact("archive", "m/a", f"md5:{b}", dt.date(2020, 9, 1), "1" * 40,
                        position=5),
             LedgerFact("archive", "m/exp", f"md5:{d}", dt.date(2022, 6, 15), "2" * 40,
                        position=6),
             LedgerFact("restore", "m/exp", f"md5:{d}", dt.date(2022, 7, 1), "3" * 40,
                        until=dt.date(2022, 9, 1), position=7)]
    as_of = dt.date(2021, 3, 1)
    items = decide(records, policy, facts, as_of, releases={("m/rel", g): "rel@v1.0.0"})
    rows = {r.version: r for r in forecast(items, policy, as_of, records=records, facts=facts)}
    # 2021-01-10 + 180 d = 2021-07-09; + 3 * 365 d = 2024-07-08
    fa = rows[f"md5:{a}"]
    assert (fa.archive_due, fa.dispose_due) == (dt.date(2021, 7, 9), dt.date(2024, 7, 8))
    assert fa.state == "active" and fa.retention_class == "standard"
    # archived 2020-09-01: no archive date ahead; 2020-03-01 + 180 d = 2020-08-28, + 1095 d
    fb = rows[f"md5:{b}"]
    assert (fb.archive_due, fb.dispose_due, fb.archived) == (
        None, dt.date(2023, 8, 28), dt.date(2020, 9, 1))
    assert rows[f"md5:{c}"].archive_due is None and rows[f"md5:{c}"].dispose_due is None
    # experiment: 2022-05-01 + 30 = 2022-05-31, + 365 = 2023-05-31; restored until 09-01
    fd = rows[f"md5:{d}"]
    assert (fd.archive_due, fd.dispose_due) == (dt.date(2022, 9, 1), dt.date(2023, 5, 31))
    # held until 2031-12-31: its windows ran out long before; nothing before 2032-01-01
    fe = rows[f"md5:{e}"]
    assert fe.state == "held" and fe.hold == "LH-7" and fe.hold_until == dt.date(2031, 12, 31)
    assert fe.archive_due == fe.dispose_due == dt.date(2032, 1, 1)
    ff = rows[f"md5:{f}"]
    assert ff.state == "held" and ff.archive_due is None and ff.dispose_due is None
    # released: regulated, a year active, then the archive forever
    fg = rows[f"md5:{g}"]
    assert fg.release == "rel@v1.0.0" and fg.retention_class == "regulated"
    assert (fg.archive_due, fg.dispose_due) == (dt.date(2021, 6, 1), None)
    assert "forever" in fg.note
    # phases: the history up to as_of, then the forecast
    assert [(p.state, p.start, p.end, p.future) for p in fa.phases] == [
        ("active", dt.date(2021, 1, 10), as_of, False),
        ("active", as_of, dt.date(2021, 7, 9), True),
        ("archived", dt.date(2021, 7, 9), dt.date(2024, 7, 8), True),
        ("disposed", dt.date(2024, 7, 8), dt.date(2024, 7, 8), True)]


# ---------------------------------------------------------------- properties

PATHS = ["m/a", "m/b", "d"]
DIGESTS = [f"{n:x}" * 32 for n in range(8)]


@st.composite
def scenario(draw: st.DrawFn) -> dict[str, object]:
    records, facts = [], []
    used: set[tuple[str, str]] = set()
    for n in range(draw(st.integers(1, 8))):
        path = draw(st.sampled_from(PATHS))
        digest = draw(st.sampled_from(DIGESTS))
        if (path, digest) in used:
            continue
        used.add((path, digest))
        current = draw(st.integers(0, 4)) == 0
        since = None if current else draw(st.dates(dt.date(2015, 1, 1), dt.date(2025, 1, 1)))
        began = draw(st.integers(0, 3))
        records.append(record(path, digest, since,
                              draw(st.sampled_from([None, "experiment", "regulated",
                                                    "nosuch"])), began=began))
        for _ in range(draw(st.integers(0, 2))):
            kind = draw(st.sampled_from(["archive", "restore", "dispose"]))
            on = draw(st.dates(dt.date(2015, 1, 1), dt.date(2026, 1, 1)))
            until = on + dt.timedelta(days=draw(st.integers(1, 400))) \
                if kind == "restore" else None
            facts.append(LedgerFact(kind, path, f"md5:{digest}", on, f"{n:040x}",
                                    until=until, position=draw(st.integers(0, 6))))
    holds = []
    for _ in range(draw(st.integers(0, 2))):
        line = f"    - {{path: {draw(st.sampled_from(PATHS))}, reason: h"
        if draw(st.booleans()):
            line += f", until: {draw(st.dates(dt.date(2016, 1, 1), dt.date(2032, 1, 1)))}"
        holds.append(line + "}")
    keys = sorted({(r.path, r.version.digest) for r in records})
    pinned = st.lists(st.sampled_from(keys), max_size=2, unique=True)
    return {"records": records, "facts": facts,
            "policy": POLICY + ("  holds:\n" + "\n".join(holds) + "\n" if holds else ""),
            "releases": {k: "r@v1.0.0" for k in draw(pinned)},
            "stages": {k: "stage prod via r#prod#1" for k in draw(pinned)},
            "as_of": draw(st.dates(dt.date(2015, 6, 1), dt.date(2030, 1, 1)))}


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_forecast_dates_are_when_decide_acts(case: dict[str, object]) -> None:
    records: list[VersionRecord] = case["records"]  # type: ignore[assignment]
    facts: list[LedgerFact] = case["facts"]  # type: ignore[assignment]
    as_of: dt.date = case["as_of"]  # type: ignore[assignment]
    policy = parse_policy(str(case["policy"]))
    assert policy.retention is not None
    releases, stages = case["releases"], case["stages"]

    def plan_on(day: dt.date) -> dict[tuple[str, str], str]:
        return {(i.path, i.version): i.action for i in decide(
            records, policy, facts, day, releases, stages)}  # type: ignore[arg-type]

    items = decide(records, policy, facts, as_of, releases, stages)  # type: ignore[arg-type]
    rows = forecast(items, policy, as_of, records=records, facts=facts)
    assert [(r.path, r.version) for r in rows] == [(i.path, i.version) for i in items]
    for item, row in zip(items, rows, strict=True):
        key = (item.path, item.version)
        cls = policy.retention.classes.get(item.retention_class or "")
        if item.current or item.stage is not None or item.state == "disposed":
            assert row.archive_due is None and row.dispose_due is None
        if row.hold is not None and row.hold_until is None:
            assert row.archive_due is None and row.dispose_due is None  # held, no end
        dues = [d for d in (row.archive_due, row.dispose_due) if d is not None]
        if dues:
            assert cls is not None and item.since is not None
            active_end = item.since + dt.timedelta(days=cls.active_days)
            # never earlier than the clock start plus the active window (a restore ends on
            # its own date: only the archive date follows it) ...
            if row.archive_due is not None and row.restored_until is None:
                assert row.archive_due >= active_end
            if row.dispose_due is not None:
                assert cls.archive_days is not None
                assert row.dispose_due >= active_end + dt.timedelta(days=cls.archive_days)
            # ... and never while a hold covers it
            if row.hold_until is not None:
                assert min(dues) > row.hold_until
        if row.dispose_due is not None and row.archive_due is not None:
            assert row.archive_due <= row.dispose_due
        if cls is not None and cls.archive_days is None:
            assert row.dispose_due is None  # kept forever
        # exactly when decide acts: not the day before, and on the day itself
        if row.dispose_due is not None and row.dispose_due > as_of:
            assert plan_on(row.dispose_due - DAY)[key] != "dispose"
            assert plan_on(row.dispose_due)[key] == "dispose"
        if row.archive_due is not None and row.archive_due > as_of:
            assert plan_on(row.archive_due - DAY)[key] == "keep"
            assert plan_on(row.archive_due)[key] in ("archive", "dispose")
        if row.archive_due is None and row.dispose_due is None and not row.current \
                and item.state not in ("disposed",) and (cls is None or row.hold is not None
                                                         or item.stage is not None):
            # nothing ever falls due: the far future still keeps it
            assert plan_on(dt.date(2090, 1, 1))[key] == "keep"
        # the phases run forward in time, and the last one of history ends on as_of
        starts = [p.start for p in row.phases]
        assert starts == sorted(starts)
        past = [p for p in row.phases if not p.future]
        if past and past[-1].state != "disposed":
            assert past[-1].end == as_of
