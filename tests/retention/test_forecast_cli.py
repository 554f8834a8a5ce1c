"""`archivist plan --forecast [--json]` on a real repository with dated history: every date
checked against the policy's arithmetic, worked by hand; holds, releases, GTO stages.

The stage is assigned with the real ``gto`` CLI, and ``gto show`` says what it holds.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from realrepo import run
from retention.sample import dated, md5

if TYPE_CHECKING:  # the fixtures come from conftest; nothing is imported from it
    from retention.sample import Sample

BIN = Path(sys.executable).parent
V1, V2, V3, V4 = (f"\0clf {n}".encode() * 300 for n in "1234")
R1, R2 = b"\0report one" * 200, b"\0report two" * 200
AS_OF = "2023-01-01"


def _forecast(sample: Sample, *args: str) -> dict[str, dict[str, Any]]:
    proc = sample.archivist("plan", "--forecast", "--json", "--as-of", AS_OF, *args)
    assert proc.returncode == 0, proc.stderr
    return {i["version"].removeprefix("md5:"): i for i in json.loads(proc.stdout)["items"]}


def _days(start: str, *windows: int) -> str:
    return (dt.date.fromisoformat(start) + dt.timedelta(days=sum(windows))).isoformat()


def test_forecast_dates_follow_the_policy(local_sample: Sample) -> None:
    s = local_sample
    s.write("dvc.yaml", "artifacts:\n  clf:\n    path: models/clf.pkl\n    type: model\n")
    s.commit("register clf", "dvc.yaml", env=dated("2019-06-01"))
    s.version("models/clf.pkl", V1, "2020-01-10")
    s.git("tag", "-a", "clf@v1.0.0", "-m", "release")            # pins V1: class regulated
    s.version("models/clf.pkl", V2, "2021-01-10")
    s.version("models/clf.pkl", V3, "2022-03-01")
    run([BIN / "gto", "assign", "clf", "--stage", "prod"], s.root)  # V3 goes to prod
    s.version("models/clf.pkl", V4, "2022-06-01")
    s.version("reports/r.txt", R1, "2020-05-01")
    s.version("reports/r.txt", R2, "2022-10-01")
    s.write("archivist.yaml", s.read("archivist.yaml") + (
        "  holds:\n    - {path: reports/r.txt, reason: audit LH-9, until: 2026-12-31}\n"))
    s.commit("hold the reports", "archivist.yaml", env=dated("2022-11-01"))
    s.push_all()
    proc = s.archivist("archive", "--apply", "--as-of", "2022-02-01")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(run([BIN / "gto", "show", "clf", "--json"], s.root).stdout)
    assert any(v["stages"] for v in shown)  # gto agrees a stage is held

    rows = _forecast(s)
    # V1: released, so class regulated (active 1y, archive forever); replaced 2021-01-10,
    # 365 d -> 2022-01-10, archived by the run as of 2022-02-01: never disposed
    v1 = rows[md5(V1)]
    assert (v1["class"], v1["release"], v1["state"]) == ("regulated", "clf@v1.0.0", "archived")
    assert (v1["archive_due"], v1["dispose_due"]) == (None, None)
    assert "forever" in v1["note"] and v1["archived"] is not None
    # V2: standard, replaced 2022-03-01: 180 d -> 2022-08-28 (overdue on AS_OF), then
    # 3 y (1095 d) -> 2025-08-27
    v2 = rows[md5(V2)]
    assert v2["superseded"] == "2022-03-01"
    assert (v2["archive_due"], v2["dispose_due"]) == (_days("2022-03-01", 180),
                                                      _days("2022-03-01", 180, 1095))
    assert (v2["archive_due"], v2["dispose_due"]) == ("2022-08-28", "2025-08-27")
    assert v2["action"] == "archive"  # overdue: the plan says archive now
    # V3: in prod (a GTO stage): no date at all
    v3 = rows[md5(V3)]
    assert v3["state"] == "in-use" and "prod" in v3["stage"]
    assert (v3["archive_due"], v3["dispose_due"]) == (None, None)
    # V4: current
    assert rows[md5(V4)]["current"] and rows[md5(V4)]["archive_due"] is None
    # R1: held until 2026-12-31. Its windows (2022-10-01 + 180 d = 2023-03-30, + 1095 d =
    # 2026-03-29) both run out under the hold: both fall due the day after it ends
    r1 = rows[md5(R1)]
    assert (r1["state"], r1["hold"], r1["hold_until"]) == ("held", "audit LH-9", "2026-12-31")
    assert _days("2022-10-01", 180, 1095) == "2026-03-29"
    assert (r1["archive_due"], r1["dispose_due"]) == ("2027-01-01", "2027-01-01")
    # every version's phases: history up to AS_OF, then the forecast
    assert [p["state"] for p in v2["phases"]] == ["current", "active", "archived",
                                                  "disposed"]
    assert [p["future"] for p in v2["phases"]] == [False, False, True, True]

    # the dates come true: the plan on each date calls for the action
    plan = json.loads(s.archivist("plan", "--json", "--as-of", v2["dispose_due"]).stdout)
    assert {i["version"]: i["action"] for i in plan["items"]}[f"md5:{md5(V2)}"] == "dispose"
    day_before = _days(v2["dispose_due"], -1)
    plan = json.loads(s.archivist("plan", "--json", "--as-of", day_before).stdout)
    assert {i["version"]: i["action"] for i in plan["items"]}[f"md5:{md5(V2)}"] != "dispose"

    # the table a person reads, and one artifact only
    table = s.archivist("plan", "--forecast", "--as-of", AS_OF, "reports/r.txt").stdout
    assert "ARCHIVE DUE" in table and "2027-01-01" in table and "held: audit LH-9" in table
    assert "models/clf.pkl" not in table
