"""Dates and durations as people write them in the policy and on the command line.

Pure: text in, ``datetime.date`` or a number of days out. Both are bounded, so that the
retention arithmetic (a date plus an active window plus an archive window) can never pass
``datetime``'s year 9999 and crash: a duration is at most MAX_DURATION (1000y), a date at
most LATEST, and LATEST + 2 * MAX_DURATION is still a date. What is refused raises
``DateError`` (the policy loader adds file and line) or, from ``cli_date``, a ``UsageError``
naming the option.
"""

from __future__ import annotations

import datetime as dt
import re

from archivist.errors import UsageError

UNIT_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
MAX_DURATION_DAYS = 1000 * UNIT_DAYS["y"]
LATEST = dt.date(7999, 12, 31)
assert LATEST + dt.timedelta(days=2 * MAX_DURATION_DAYS) <= dt.date.max
FORMS = "30d, 4w, 6m, 1y"

_DURATION = re.compile(r"\s*([0-9]{1,12})\s*([dwmy])\s*")  # ASCII digits only, not \d


class DateError(ValueError):
    """A date or duration archivist does not accept; ``hint`` says what would be."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def duration_days(value: object, *, forever_ok: bool = False) -> int | None:
    """Days in ``30d``/``4w``/``6m``/``1y`` (or a bare number of days); None for forever."""
    forms = FORMS + (" or forever" if forever_ok else "")
    if forever_ok and value == "forever":
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        days = value
    else:
        match = _DURATION.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise DateError(f"{value!r} is not a duration", f"write {forms}")
        days = int(match.group(1)) * UNIT_DAYS[match.group(2)]
    if days > MAX_DURATION_DAYS:
        raise DateError(f"{value!r} is longer than the longest duration archivist keeps "
                        f"(1000y)", "write at most 1000y" + (", or forever" if forever_ok
                                                             else ""))
    return days


def to_date(value: object) -> dt.date:
    """A date from a YAML date, a datetime or ``YYYY-MM-DD`` text, no later than LATEST."""
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value.strip()):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError as exc:  # 2027-02-30
            raise DateError(f"{value!r} is not a date: {exc}", "write a real day, "
                            "YYYY-MM-DD") from None
    else:
        raise DateError(f"{value!r} is not a date", "write YYYY-MM-DD")
    if day > LATEST:
        raise DateError(f"{day.isoformat()!r} is later than {LATEST.isoformat()}",
                        "write a date before the year 8000")
    return day


def cli_date(text: str, option: str) -> dt.date:
    """The date an option such as ``--as-of`` gives, or a one-line ``UsageError``."""
    try:
        return to_date(text)
    except DateError as exc:
        raise UsageError(f"{option} {exc.message}", exc.hint) from None
