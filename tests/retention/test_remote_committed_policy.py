"""Commands that change remotes obey the policy committed on the governed branch, never a
working-tree edit, and never decide as of a day after today; dry runs and plan may."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from retention.sample import Sample, dated, md5

OLD, NEWER, NOW = b"\0held old" * 500, b"\0held newer" * 500, b"\0held now" * 500
HOLD = "  holds:\n    - {path: models/clf.pkl, reason: legal hold LH-114, until: 2031-12-31}\n"


def held_history(sample: Sample) -> str:
    """models/clf.pkl v1 (2020), v2, v3 (current); a committed hold until 2031 keeps every
    version in the active remote although v1 is long past both windows."""
    sample.write("archivist.yaml", sample.read("archivist.yaml") + HOLD)
    sample.commit("legal hold", "archivist.yaml", env=dated("2019-06-01"))
    sample.version("models/clf.pkl", OLD, "2020-01-10")
    sample.version("models/clf.pkl", NEWER, "2021-01-10")
    sample.version("models/clf.pkl", NOW, "2022-01-10")
    sample.push_all()
    return md5(OLD)


def drop_hold(sample: Sample) -> None:
    sample.write("archivist.yaml", sample.read("archivist.yaml").replace(HOLD, ""))


def assert_refused(sample: Sample, args: tuple[str, ...], words: str, v1: str) -> None:
    storage = sample.remotes["storage"]
    before, head = storage.keys(), sample.head()
    proc = sample.archivist(*args)
    assert proc.returncode == 2, (args, proc.returncode, proc.stdout, proc.stderr)
    assert words in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert storage.keys() == before and sample.head() == head
    assert storage.intact(v1), "the held version was deleted"


@pytest.mark.parametrize("staged", [False, True])
def test_an_uncommitted_edit_dropping_a_hold_is_never_obeyed(local_sample: Sample,
                                                             staged: bool) -> None:
    v1 = held_history(local_sample)
    drop_hold(local_sample)
    if staged:
        local_sample.git("add", "archivist.yaml")
    # the edit matters: a dry run that follows it would dispose of v1 (and says so)
    dry = local_sample.archivist("dispose", "--json")
    assert dry.returncode == 0, dry.stderr
    assert f"md5:{v1}" in [i["version"] for i in json.loads(dry.stdout)["versions"]]
    warned = local_sample.archivist("dispose")
    assert "uncommitted changes" in warned.stderr and "dry run" in warned.stdout
    for args in (("dispose", "--apply"), ("archive", "--apply"),
                 ("restore", "models/clf.pkl", "--rev", "HEAD~2")):
        assert_refused(local_sample, args, "archivist.yaml has uncommitted changes", v1)


def test_the_committed_policy_is_obeyed(local_sample: Sample) -> None:
    v1 = held_history(local_sample)
    drop_hold(local_sample)
    local_sample.commit("lift the hold (reviewed)", "archivist.yaml")
    proc = local_sample.archivist("dispose", "--apply")
    assert proc.returncode == 0, proc.stderr
    assert not local_sample.remotes["storage"].has(v1)
    assert local_sample.remotes["storage"].intact(md5(NOW))


def test_apply_never_takes_a_future_as_of(local_sample: Sample) -> None:
    v1 = held_history(local_sample)
    later = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
    for args in (("dispose", "--apply", "--as-of", "2032-01-01"),
                 ("archive", "--apply", "--as-of", "2032-01-01"),
                 ("dispose", "--apply", "--as-of", later),
                 ("restore", "models/clf.pkl", "--rev", "HEAD~2", "--as-of", later)):
        assert_refused(local_sample, args, "is after today", v1)
    # previews may look ahead: the hold is over by 2032, and plan and the dry run say so
    plan = local_sample.archivist("plan", "--json", "--as-of", "2032-01-01")
    assert plan.returncode == 0, plan.stderr
    item = next(i for i in json.loads(plan.stdout)["items"] if i["version"] == f"md5:{v1}")
    assert item["action"] == "dispose"
    dry = local_sample.archivist("dispose", "--as-of", "2032-01-01")
    assert dry.returncode == 0 and "would dispose of" in dry.stdout, dry.stderr
    assert local_sample.remotes["storage"].intact(v1)
