"""Signals other parts of the product listen to (dashboard banners, admin)."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent when a platform project's daily quota is spent, by the platform's
#: reply (`quotaExceeded`) or by the ledger refusing a call.
#: Arguments: platform, project, exhausted_until (aware datetime), reason.
notify_quota_exceeded = Signal()
