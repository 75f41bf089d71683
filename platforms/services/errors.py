"""Error-log rows for failures the platform clients did not record themselves.

The request pipeline writes an ErrorLog row for every request that fails
for good. Errors raised *after* a reply was accepted (a data error found
while reading it, a limiter refusal outside `request()`, a listing cut
short) have no row yet: `error_record` writes one, once. An error that
already has its row is marked `logged` (see `mark_logged`), so recording
it again changes nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from platforms.logging import redact, redact_data
from platforms.models import ErrorLog

if TYPE_CHECKING:
    from platforms.exceptions import PlatformError
    from platforms.models import ConnectedAccount, ContentItem

logger = logging.getLogger("platforms.collection")


def mark_logged(error: BaseException) -> None:
    """Remember that `error` has its ErrorLog row."""
    error.logged = True  # type: ignore[attr-defined]


def is_logged(error: BaseException) -> bool:
    return bool(getattr(error, "logged", False))


def error_record(
    error: PlatformError,
    *,
    account: ConnectedAccount,
    item: ContentItem | None = None,
    what: str = "",
) -> ErrorLog | None:
    """Write the ErrorLog row for `error` unless it already has one."""
    if is_logged(error):
        return None
    context = {
        k: v for k, v in (error.context or {}).items() if k not in {"token_digest"}
    }
    message = redact(error.message)
    if what:
        message = f"{what}: {message}"
    row = ErrorLog.objects.create(
        platform=account.platform,
        error_class=error.error_class,
        endpoint=(error.endpoint or "")[:128],
        status_code=error.status,
        code=str(error.code if error.code is not None else "")[:64],
        reason=str(error.reason or "")[:128],
        subcode=str(error.subcode if error.subcode is not None else "")[:64],
        message=message,
        account=account,
        item=item,
        request_id=str(error.request_id or "")[:128],
        context=redact_data(
            {
                **context,
                "retry_after": error.retry_after,
                "permanent": error.permanent,
            }
        ),
    )
    mark_logged(error)
    return row


def error_note(
    *,
    account: ConnectedAccount,
    error_class: str,
    message: str,
    endpoint: str = "",
    context: dict[str, Any] | None = None,
) -> ErrorLog:
    """An ErrorLog row for a problem that is not an exception (a cut listing)."""
    logger.warning("%s: %s", account, message)
    return ErrorLog.objects.create(
        platform=account.platform,
        error_class=error_class,
        endpoint=endpoint[:128],
        message=redact(message),
        account=account,
        context=redact_data(context or {}),
    )


def error_notes_once(
    *,
    account: ConnectedAccount,
    code: str,
    messages: dict[int, str],
    error_class: str = ErrorLog.ErrorClass.DATA,
    endpoint: str = "",
) -> int:
    """One row per item for a lasting condition (likes hidden, no insights).

    `messages` maps ContentItem pks to what to say. An item that already
    has an unresolved row with this `code` gets no second one, so the next
    run of a thousand old posts does not write a thousand rows again.
    """
    if not messages:
        return 0
    noted = set(
        ErrorLog.objects.filter(
            account=account, code=code, resolved=False, item_id__in=list(messages)
        ).values_list("item_id", flat=True)
    )
    rows = [
        ErrorLog(
            platform=account.platform,
            error_class=error_class,
            endpoint=endpoint[:128],
            code=code[:64],
            message=redact(message),
            account=account,
            item_id=pk,
        )
        for pk, message in messages.items()
        if pk not in noted
    ]
    ErrorLog.objects.bulk_create(rows, batch_size=500)
    return len(rows)
