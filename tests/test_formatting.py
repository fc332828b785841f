"""Dates and times written by concerns.domain.formatting: in words for people, ISO 8601 basic for machines."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from concerns.domain.clock import as_utc
from concerns.domain.formatting import iso_basic, london_datetime, slashed_date


def test_london_datetime_is_the_authoritys_wall_clock():
    # 20:15 UTC in December is 20:15 in London; in June, British Summer Time puts London an hour ahead.
    assert london_datetime(datetime(2026, 12, 6, 20, 15, tzinfo=UTC)) == "6 December 2026 at 20:15"
    assert london_datetime(datetime(2026, 6, 6, 23, 5, tzinfo=UTC)) == "7 June 2026 at 00:05"
    assert london_datetime(datetime(2026, 6, 6, 9, 5, tzinfo=ZoneInfo("Europe/London"))) == "6 June 2026 at 09:05"


def test_london_datetime_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="timezone-aware datetime, got datetime.datetime.2026, 12, 6, 20, 15"):
        london_datetime(datetime(2026, 12, 6, 20, 15))


def test_iso_basic_for_dates_and_datetimes():
    assert iso_basic(date(2026, 1, 5)) == "20260105"
    assert iso_basic(datetime(2026, 1, 5, 7, 8, 9, 123456)) == "20260105T070809"
    assert iso_basic(date(987, 3, 4)) == "09870304"


def test_slashed_date_as_the_csv_files_write_it():
    assert slashed_date(date(2013, 11, 9)) == "09/11/2013"


def test_as_utc_reads_a_naive_moment_as_utc_as_the_store_does():
    london = datetime(2026, 6, 6, 9, 5, tzinfo=ZoneInfo("Europe/London"))
    assert as_utc(london) == london and as_utc(london).tzinfo is UTC
    assert as_utc(datetime(2026, 6, 6, 8, 5)) == london
