"""The date range and granularity every chart page accepts (GET)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django import forms

PRESETS = {"2d": 2, "7d": 7, "28d": 28, "90d": 90, "365d": 365}
#: Hourly buckets only for short ranges: a week is 168 points per account.
HOURLY_MAX_DAYS = 7
#: Every reading, unbucketed: the last two days at most.
READINGS_MAX_DAYS = 2
MAX_DAYS = 3 * 365


@dataclass(frozen=True, slots=True)
class DateRange:
    start: dt.date
    end: dt.date
    granularity: str
    #: The creator's time zone: where days (and hours) are cut.
    tz: ZoneInfo | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> DateRange:
        """The period of the same length just before this one."""
        end = self.start - dt.timedelta(days=1)
        start = end - dt.timedelta(days=self.days - 1)
        return DateRange(start, end, self.granularity, self.tz)


class RangeForm(forms.Form):
    range = forms.ChoiceField(
        choices=[(key, f"Last {days} days") for key, days in PRESETS.items()]
        + [("custom", "Custom")],
        required=False,
        initial="28d",
    )
    start = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    granularity = forms.ChoiceField(
        choices=[
            ("reading", "Every reading"),
            ("hour", "Hour"),
            ("day", "Day"),
            ("week", "Week"),
            ("month", "Month"),
        ],
        required=False,
        initial="day",
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("range") == "custom":
            start, end = data.get("start"), data.get("end")
            if not start or not end:
                raise forms.ValidationError(
                    "A custom range needs a start and an end date."
                )
            if start > end:
                raise forms.ValidationError(
                    "The start date must be on or before the end date."
                )
            if (end - start).days >= MAX_DAYS:
                raise forms.ValidationError("Pick a range of at most three years.")
        granularity = data.get("granularity")
        if granularity in ("hour", "reading"):
            if data.get("range") == "custom" and data.get("start") and data.get("end"):
                days = (data["end"] - data["start"]).days + 1
            else:
                days = PRESETS.get(data.get("range") or "28d", 28)
            longest = HOURLY_MAX_DAYS if granularity == "hour" else READINGS_MAX_DAYS
            if days > longest:
                what = "Hourly charts" if granularity == "hour" else "Every reading"
                raise forms.ValidationError(f"{what}: at most {longest} days.")
        return data

    def date_range(self, today: dt.date, tz: ZoneInfo | None = None) -> DateRange:
        """The chosen range; the default (28 days by day) when the form is invalid."""
        data = self.cleaned_data if self.is_valid() else {}
        granularity = data.get("granularity") or "day"
        if data.get("range") == "custom":
            return DateRange(data["start"], data["end"], granularity, tz)
        days = PRESETS.get(data.get("range") or "28d", 28)
        return DateRange(today - dt.timedelta(days=days - 1), today, granularity, tz)
