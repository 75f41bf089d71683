"""Logging helpers: a filter that keeps secrets out of every log record.

Tokens reach log calls in URLs (`?access_token=...`), headers
(`Authorization: Bearer ...`), form bodies (`client_secret=...`) and
exception texts. The filter rewrites the rendered message and drops the
arguments, so nothing downstream can format the raw values back in.
"""

from __future__ import annotations

import logging
import re
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

REDACTED = "[REDACTED]"

_SECRET_NAMES = (
    r"access_token|refresh_token|client_secret|fb_exchange_token|"
    r"id_token|code_verifier|api_key|key|token|password|secret|code|"
    r"appsecret_proof|input_token"
)
# name=value in query strings and form bodies.
_QUERY = re.compile(rf"(?i)\b({_SECRET_NAMES})=([^&\s\"',;]+)")
# "name": "value" in JSON and Python reprs.
_JSON = re.compile(rf"(?i)([\"']({_SECRET_NAMES})[\"']\s*:\s*)([\"'])(.*?)(\3)")
# Authorization / Access-Token headers.
_BEARER = re.compile(r"(?i)\b(bearer|access-token:?)\s+([A-Za-z0-9._~+/=-]{8,})")
# Shapes of real platform tokens, wherever they appear.
_TOKEN_SHAPES = re.compile(
    r"\b(act\.[A-Za-z0-9._-]{8,}|rft\.[A-Za-z0-9._-]{8,}|ya29\.[A-Za-z0-9._-]{8,}"
    r"|1//[A-Za-z0-9._-]{8,}|EAA[A-Za-z0-9]{16,}|gAAAAA[A-Za-z0-9_=-]{20,})"
)

SENSITIVE_KEYS = frozenset(
    {
        "access_token",
        "refresh_token",
        "client_secret",
        "fb_exchange_token",
        "id_token",
        "code",
        "code_verifier",
        "key",
        "api_key",
        "token",
        "password",
        "secret",
        "authorization",
        "access-token",
        "appsecret_proof",
        "input_token",
    }
)


def redact(text: str) -> str:
    """Return `text` with every secret-looking value replaced."""
    text = _QUERY.sub(lambda m: f"{m.group(1)}={REDACTED}", text)
    text = _JSON.sub(lambda m: f"{m.group(1)}{m.group(3)}{REDACTED}{m.group(5)}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _TOKEN_SHAPES.sub(REDACTED, text)


def redact_data(value: Any) -> Any:
    """Redact a JSON-like structure: sensitive keys lose their values."""
    if isinstance(value, dict):
        return {
            key: REDACTED
            if str(key).lower() in SENSITIVE_KEYS and val not in (None, "")
            else redact_data(val)
            for key, val in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value


class RedactSecretsFilter(logging.Filter):
    """Rewrite every record so no token, secret or code reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the record
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            import traceback

            rendered = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = redact(rendered.rstrip("\n"))
            record.exc_info = None
        return True


class LazyRotatingFileHandler(RotatingFileHandler):
    """RotatingFileHandler that creates its directory and opens on first use.

    Management commands such as `check` must not fail because the log folder
    does not exist yet on a fresh clone.
    """

    def __init__(self, filename: str, *args: Any, **kwargs: Any) -> None:
        Path(filename).parent.mkdir(parents=True, exist_ok=True)
        kwargs["delay"] = True
        super().__init__(filename, *args, **kwargs)
