"""How ages read in the table: in the largest unit that still reads well."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fnplane.client.output import age

NOW = datetime(2026, 1, 10, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("elapsed", "shown"),
    [
        (timedelta(seconds=0), "0s"),
        (timedelta(seconds=119), "119s"),
        (timedelta(minutes=2), "2m"),
        (timedelta(minutes=119), "119m"),
        (timedelta(hours=2), "2h"),
        (timedelta(hours=47), "47h"),
        (timedelta(days=2), "2d"),
        (timedelta(days=400), "400d"),
        (timedelta(seconds=-5), "0s"),
    ],
)
def test_age_reads_in_one_unit(elapsed: timedelta, shown: str) -> None:
    assert age(NOW - elapsed, NOW) == shown
