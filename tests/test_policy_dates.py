"""Dates and durations: impossible or overflowing ones are one exit-2 line, never a crash."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archivist import dates
from archivist.errors import ConfigError, UsageError
from archivist.policy import parse_policy
from realrepo import Repo

BASE = """\
version: 1
tags:
  - match: {paths: ["models/**"]}
    require: {owner: {}}
retention:
  default: standard
  classes:
    standard: {active: ACTIVE, archive: ARCHIVE}
  holds:
    - {path: models/a.bin, reason: LH-1, until: UNTIL}
"""


def policy(active: str = "30d", archive: str = "1y", until: str = "2027-12-31") -> str:
    return BASE.replace("ACTIVE", active).replace("ARCHIVE", archive).replace("UNTIL", until)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (policy(until="2027-02-30"),
         "archivist.yaml:10: '2027-02-30' is not a valid date: day is out of range for month"),
        (policy(until="'2027-02-30'"),
         "archivist.yaml:10: hold until '2027-02-30' is not a date: day is out of range"),
        (policy(until="'2027-2-3'"), "archivist.yaml:10: hold until '2027-2-3' is not a date"),
        (policy(until="9999-12-31"),
         "archivist.yaml:10: hold until '9999-12-31' is later than 7999-12-31"),
        (policy(active="10000y"),
         "archivist.yaml:8: standard.active '10000y' is longer than the longest duration"),
        (policy(archive="99999999999999999999d"),
         "archivist.yaml:8: standard.archive '99999999999999999999d' is not a duration"),
        (policy(active="400000"), "archivist.yaml:8: standard.active 400000 is longer"),
        (policy(active="'3\u0663d'"), "archivist.yaml:8: standard.active '3\u0663d' is not a "
                                      "duration"),
    ],
)
def test_bad_dates_and_durations_name_file_and_line(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy(text)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_the_longest_duration_is_accepted() -> None:
    retention = parse_policy(policy(active="1000y", archive="forever")).retention
    assert retention is not None
    assert retention.classes["standard"].active_days == 365_000


@settings(max_examples=200, deadline=None)
@given(st.dates(max_value=dates.LATEST),
       st.integers(min_value=0, max_value=400_000), st.sampled_from("dwmy"),
       st.integers(min_value=0, max_value=400_000), st.sampled_from("dwmy"))
def test_accepted_dates_and_durations_never_overflow(day: dt.date, n1: int, u1: str,
                                                     n2: int, u2: str) -> None:
    try:
        active = dates.duration_days(f"{n1}{u1}")
        archive = dates.duration_days(f"{n2}{u2}", forever_ok=True)
    except dates.DateError:
        return  # refused: fine, as long as what is accepted computes
    assert active is not None and archive is not None
    start = dates.to_date(day.isoformat())
    assert start + dt.timedelta(days=active) + dt.timedelta(days=archive) <= dt.date.max


@pytest.mark.parametrize(("text", "expected"), [
    ("9999-12-30", "--as-of '9999-12-30' is later than 7999-12-31"),
    ("2027-02-30", "--as-of '2027-02-30' is not a date: day is out of range for month"),
    ("tomorrow", "--as-of 'tomorrow' is not a date"),
])
def test_command_line_dates(text: str, expected: str) -> None:
    with pytest.raises(UsageError) as info:
        dates.cli_date(text, "--as-of")
    assert str(info.value).startswith(expected)


@pytest.mark.parametrize("args", [("active", "10000y"), ("until", "2027-02-30")])
def test_check_says_so_in_one_line(git_repo: Repo, args: tuple[str, str]) -> None:
    key, value = args
    git_repo.write("archivist.yaml", policy(**{key: value}))
    git_repo.commit("policy")
    proc = git_repo.archivist("check", "--all")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert f"archivist.yaml:{8 if key == 'active' else 10}: " in line
    assert "Traceback" not in proc.stderr
