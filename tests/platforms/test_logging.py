"""The redaction filter keeps tokens and secrets out of every log output."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from logging.handlers import RotatingFileHandler

import pytest
from django.conf import settings

from platforms.logging import REDACTED, RedactSecretsFilter, redact, redact_data

SECRET = "S3cr3tV4lu3-do-not-log"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose only handler writes, through the filter, to a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecretsFilter())
    handler.setFormatter(logging.Formatter(settings.LOG_FORMAT))
    logger = logging.getLogger("platforms.tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield logger, stream
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


@pytest.mark.parametrize(
    "message",
    [
        f"GET https://graph.facebook.com/v25.0/me?fields=id&access_token={SECRET}",
        f"Authorization: Bearer {SECRET}",
        f"headers={{'Authorization': 'Bearer {SECRET}'}}",
        f"POST body client_key=abc&client_secret={SECRET}&grant_type=refresh_token",
        f'reply {{"access_token": "{SECRET}", "refresh_token": "{SECRET}x"}}',
        f"callback /accounts/tiktok/login/callback/?code={SECRET}&state=abc",
        f"Access-Token: {SECRET}",
    ],
)
def test_it_redacts_secrets_in_messages(captured, message):
    logger, stream = captured
    logger.warning(message)
    output = stream.getvalue()
    assert SECRET not in output
    assert REDACTED in output


def test_it_redacts_secrets_passed_as_percent_arguments(captured):
    logger, stream = captured
    logger.warning("token reply %s", {"refresh_token": SECRET, "expires_in": 86400})
    logger.warning("refreshed with %s", f"rft.{SECRET}")
    logger.warning("calling %s", f"https://x.test/v2/?access_token={SECRET}")
    output = stream.getvalue()
    assert SECRET not in output
    assert "'expires_in': 86400" in output  # non-secrets survive


def test_it_redacts_secrets_in_exception_text(captured):
    logger, stream = captured
    try:
        raise RuntimeError(f"token ya29.{SECRET} was rejected")
    except RuntimeError:
        logger.exception("refresh failed for %s", f"access_token={SECRET}")
    output = stream.getvalue()
    assert SECRET not in output
    assert "RuntimeError: token [REDACTED] was rejected" in output
    assert "Traceback" in output


def test_it_survives_a_broken_format_string(captured):
    logger, stream = captured
    logger.warning("%d broken %s", f"access_token={SECRET}")
    assert SECRET not in stream.getvalue()


def test_it_redacts_nested_data():
    data = {"url": f"https://x.test/?access_token={SECRET}", "body": [{"code": "abc"}]}
    assert SECRET not in json.dumps(redact_data(data))
    assert redact_data(data)["body"] == [{"code": REDACTED}]


def test_it_leaves_ordinary_text_alone():
    text = "GET /youtube/v3/videos?part=statistics&id=abc 200 in 120 ms"
    assert redact(text) == text


def test_it_filters_every_configured_handler():
    for name, handler in settings.LOGGING["handlers"].items():
        assert "redact" in handler.get("filters", []), name


def _platforms_file_handler() -> RotatingFileHandler:
    handlers = logging.getLogger("platforms").handlers
    return next(h for h in handlers if isinstance(h, RotatingFileHandler))


def test_it_writes_platform_logs_to_a_rotating_file_in_the_required_format(tmp_path):
    handler = _platforms_file_handler()
    assert handler.maxBytes > 0 and handler.backupCount > 0
    original = handler.baseFilename
    handler.close()
    handler.baseFilename = str(tmp_path / "platforms.log")
    try:
        logging.getLogger("platforms.clients.example").warning(
            "quota low: %s units left, url ?access_token=%s", 120, SECRET
        )
        handler.flush()
        lines = (tmp_path / "platforms.log").read_text().splitlines()
    finally:
        handler.close()
        handler.baseFilename = original
    assert len(lines) == 1
    pattern = (
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - platforms\.clients\.example - "
        r"WARNING - quota low: 120 units left, url \?access_token=\[REDACTED\]"
    )
    assert re.fullmatch(pattern, lines[0]), lines[0]


def test_it_routes_django_request_logs_through_the_filter():
    # Request lines carry OAuth callback codes; Django's default handlers
    # have no filter, so these loggers must use only the configured ones.
    loggers = settings.LOGGING["loggers"]
    for name in ("django", "django.server"):
        assert loggers[name]["handlers"] == ["console"], name
        assert loggers[name]["propagate"] is False
