"""What another repository keeps, and where (pure values), and how its remotes are placed
(DVC's own configuration, checked against the place DVC opens for this repository)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from archivist.policy import parse_policy
from archivist.remotes import Location, Stores, config_places
from archivist.retention.decide import PlanItem
from archivist.retention.plan import Plan
from archivist.retention.shared import SharedVersion, kept_versions
from realrepo import init_repo

LAKE = Location("local", "", ("srv", "lake"))
COLD = Location("local", "", ("srv", "cold"))
OTHER = Location("s3", "http://127.0.0.1:9000", ("bucket",))
POLICY = parse_policy(b"version: 1\nremotes: {active: Lake, archive: cold}\n"
                      b"retention:\n  default: s\n  classes: {s: {active: 30d, archive: 1y}}\n")


def item(state: str, action: str, location: str | None, n: int, **kw: object) -> PlanItem:
    return PlanItem(path=f"p{n}", version=f"md5:{n:032x}", state=state, action=action,
                    reason="", due=None, retention_class="s", size=1, location=location,
                    **kw)  # type: ignore[arg-type]


def plan_of(items: list[PlanItem]) -> Plan:
    return Plan(items=items, head="0" * 40, branch="main", as_of=dt.date(2024, 1, 1))


def test_what_another_repository_keeps_and_where() -> None:
    items = [item("current", "keep", "active", 1, current=True),
             item("active", "keep", "active", 2),
             item("archived", "keep", "archive", 3),
             item("active", "archive", "active", 4),
             item("archived", "dispose", "archive", 5),
             item("disposed", "keep", None, 6),
             item("held", "keep", "archive", 7, hold="LH-1"),
             item("active", "keep", "active", 8, remote="side")]
    kept = {v.path: v for v in kept_versions(
        "../b", plan_of(items), POLICY, {"lake": LAKE, "cold": COLD, "side": None}, None)}
    assert set(kept) == {"p1", "p2", "p3", "p4", "p7", "p8"}  # due for dispose: its own
    assert kept["p1"].places is None and kept["p7"].places is None  # pinned: everywhere
    assert kept["p2"].places == (LAKE,) and kept["p3"].places == (COLD,)
    assert kept["p4"].places == (LAKE, COLD) and kept["p4"].heading_to == COLD
    assert kept["p8"].places is None  # its own remote cannot be placed: everywhere


@settings(max_examples=200, deadline=None)
@given(places=st.one_of(st.none(), st.lists(st.sampled_from([LAKE, COLD, OTHER]),
                                             min_size=1, max_size=3).map(tuple)),
       heading=st.one_of(st.none(), st.sampled_from([LAKE, COLD, OTHER])),
       place=st.one_of(st.none(), st.sampled_from([LAKE, COLD, OTHER])),
       kind=st.sampled_from(["archive", "dispose"]),
       archive=st.sampled_from([LAKE, COLD, OTHER]))
def test_kept_unless_its_copy_is_where_this_archive_puts_it(
        places: tuple[Location, ...] | None, heading: Location | None,
        place: Location | None, kind: str, archive: Location) -> None:
    from archivist.dvcfiles import Version

    version = SharedVersion("../b", "p", Version("md5", "0" * 32), "active", places, heading)
    keeps = version.keeps_on(place, kind, archive)  # type: ignore[arg-type]
    if kind == "archive" and heading is not None and heading == archive:
        assert not keeps  # this run's verified copy is where that repository looks
    elif places is None or place is None or place in places:
        assert keeps  # never less than where it lives, and unknown means everywhere
    else:
        assert not keeps


def test_another_spelling_of_a_remote_is_the_place_dvc_opens(tmp_path: Path) -> None:
    storage = tmp_path / "remotes" / "storage"
    storage.mkdir(parents=True)
    (tmp_path / "alias").symlink_to(tmp_path / "remotes")
    a = init_repo(tmp_path / "a")
    a.dvc("init", "-q")
    a.dvc("remote", "add", "storage", str(storage))
    a.dvc("remote", "add", "s3", "s3://bucket/pre")
    a.dvc("remote", "modify", "s3", "endpointurl", "http://127.0.0.1:9000")
    with Stores(a.root) as stores:
        truth = {n: stores.remote(n).location() for n in ("storage", "s3")}
    other = tmp_path / "b" / ".dvc"
    other.mkdir(parents=True)
    text = (b"[core]\n    remote = Lake\n['remote \"lake\"']\n    url = ../../alias/./storage\n"
            b"['remote \"bucket\"']\n    url = s3://bucket/pre/\n"
            b"    endpointurl = HTTP://127.0.0.1:9000/\n")
    places, default = config_places([text], other)
    assert default == "lake"
    assert places == {"lake": truth["storage"], "bucket": truth["s3"]}
    # not on this machine: the relative path is no place
    assert config_places([text], None)[0]["lake"] is None


def test_a_url_from_the_policy_never_runs_a_command(tmp_path: Path) -> None:
    from archivist.errors import GitError
    from archivist.policy import SharedRepository
    from archivist.retention.shared import fetch

    a = init_repo(tmp_path / "a")
    planted = tmp_path / "planted"
    repo = SharedRepository(f"ext::sh -c touch% {planted}", "main", 1)
    try:
        fetch(a.root, repo)
    except GitError as exc:
        assert "not allowed" in exc.message
    else:
        raise AssertionError("ext:: was fetched from")
    assert not planted.exists()
