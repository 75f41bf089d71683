"""The date range and granularity every chart page accepts (GET)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django import forms

PRESETS = {"7d": 7, "28d": 28, "90d": 90, "365d": 365}
MAX_DAYS = 3 * 365


@dataclass(frozen=True, slots=True)
class DateRange:
    start: dt.date
    end: dt.date
    granularity: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> DateRange:
        """The period of the same length just before this one."""
        end = self.start - dt.timedelta(days=1)
        return DateRange(end - dt.timedelta(days=self.days - 1), end, self.granularity)


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
        choices=[("day", "Day"), ("week", "Week"), ("month", "Month")],
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
        return data

    def date_range(self, today: dt.date) -> DateRange:
        """The chosen range; the default (28 days by day) when the form is invalid."""
        data = self.cleaned_data if self.is_valid() else {}
        granularity = data.get("granularity") or "day"
        if data.get("range") == "custom":
            return DateRange(data["start"], data["end"], granularity)
        days = PRESETS.get(data.get("range") or "28d", 28)
        return DateRange(today - dt.timedelta(days=days - 1), today, granularity)
