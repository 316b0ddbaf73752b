"""Consumers' local time: time zones by name and the calling window of a local day.

Public holidays and transferred working days come from the ``holidays`` package
(``country_holidays("RU")``: it follows the government's yearly decree on transferred days,
e.g. 2026: 1-9 January, 23 February, 9 March, 1 and 11 May, 12 June, 4 November and
31 December off, no working Saturdays). A day is a working day by ``is_working_day``, so a
transferred working Saturday gets weekday hours, as the law's «рабочие дни» means.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo, available_timezones

import holidays as _holidays

from campaigns.settings import CampaignSettings


# Every zone is read once at import (about 600 small files, ~0.1 s): a zone first met in a
# dial check would otherwise be read from disk inside the event loop.
_ZONES = MappingProxyType({name: ZoneInfo(name) for name in available_timezones()})


def zone_names() -> list[str]:
    return list(_ZONES)


def zone(name: str) -> ZoneInfo | None:
    """The zone called ``name``; None when there is no such zone (never a silent default)."""
    return _ZONES.get(name)


class Calendar:
    """Working days and the contact-rule windows of one deployment (immutable once built)."""

    def __init__(self, settings: CampaignSettings) -> None:
        self._settings = settings
        # Reads the package's translation files: build it outside the event loop
        # (``Rules.build``). Later years are computed in memory when first asked.
        this_year = date.today().year
        self._days = _holidays.country_holidays(
            settings.holidays_country, years=range(this_year - 1, this_year + 3))

    def is_working_day(self, day: date) -> bool:
        return self._days.is_working_day(day)

    def window(self, day: date, campaign_type: str) -> tuple[time, time]:
        """The legal calling window of a local day for a campaign type (end exclusive)."""
        s = self._settings
        if campaign_type == "outage_alert":
            return s.outage_start, s.outage_end
        if self.is_working_day(day):
            return s.workday_start, s.workday_end
        return s.dayoff_start, s.dayoff_end

    def next_opening(self, local_now: datetime, campaign_type: str) -> datetime:
        """The first moment at or after ``local_now`` (aware, local) inside a window."""
        tz = local_now.tzinfo
        day = local_now.date()
        for _ in range(400):
            start, end = self.window(day, campaign_type)
            opening = datetime.combine(day, start, tz)
            closing = datetime.combine(day, end, tz)
            if local_now < closing:
                return max(opening, local_now)
            day += timedelta(days=1)
        raise RuntimeError("no calling window within a year")  # settings forbid empty windows
