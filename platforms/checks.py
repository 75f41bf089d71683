"""System checks for settings a user can get wrong (run by `manage.py check`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

URL_SETTINGS = (
    "SITE_URL",
    "SANDBOX_URL",
    "TIKTOK_AUTH_URL",
    "TIKTOK_API_URL",
    "TIKTOK_BUSINESS_API_URL",
    "GOOGLE_AUTH_URL",
    "GOOGLE_TOKEN_URL",
    "GOOGLE_USERINFO_URL",
    "YOUTUBE_API_URL",
    "YOUTUBE_ANALYTICS_URL",
    "FACEBOOK_WWW_URL",
    "FACEBOOK_GRAPH_URL",
)


def _secret_key() -> str:
    # Django raises instead of returning an empty SECRET_KEY.
    try:
        return settings.SECRET_KEY
    except ImproperlyConfigured:
        return ""


@register(Tags.security, deploy=False)
def check_secret_key(app_configs: Any, **kwargs: Any) -> list:
    if not settings.DEBUG and not _secret_key():
        return [
            Error(
                "SECRET_KEY is not set and DEBUG is off.",
                hint="Set SECRET_KEY (or SECRET_KEY_FILE) to a long random string.",
                id="platforms.E001",
            )
        ]
    return []


@register()
def check_token_keys(app_configs: Any, **kwargs: Any) -> list:
    keys = settings.TOKEN_ENCRYPTION_KEYS
    if not keys:
        return [
            Error(
                "TOKEN_ENCRYPTION_KEYS is empty: OAuth tokens cannot be stored.",
                hint='Generate one with: python -c "from cryptography.fernet import '
                'Fernet; print(Fernet.generate_key().decode())"',
                id="platforms.E002",
            )
        ]
    errors = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            errors.append(
                Error(
                    f"TOKEN_ENCRYPTION_KEYS entry {position} is not a Fernet key.",
                    hint="Each key is 32 url-safe base64-encoded bytes.",
                    id="platforms.E003",
                )
            )
    return errors


@register()
def check_q_cluster(app_configs: Any, **kwargs: Any) -> list:
    conf = settings.Q_CLUSTER
    timeout, retry = conf.get("timeout"), conf.get("retry")
    if timeout is not None and retry is not None and timeout >= retry:
        return [
            Error(
                f"Q_CLUSTER timeout ({timeout}s) must be below retry ({retry}s).",
                hint="Otherwise a running task is handed to a second worker. "
                "Set Q_TIMEOUT lower than Q_RETRY.",
                id="platforms.E010",
            )
        ]
    return []


@register()
def check_urls(app_configs: Any, **kwargs: Any) -> list:
    errors = []
    for name in URL_SETTINGS:
        value = getattr(settings, name, "")
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            errors.append(
                Error(
                    f"{name} is not an absolute http(s) URL: {value!r}.",
                    id="platforms.E020",
                )
            )
    return errors


PLATFORM_CREDENTIALS = {
    "TIKTOK": ("TikTok", ("TIKTOK_CLIENT_KEY", "TIKTOK_CLIENT_SECRET")),
    "YOUTUBE": ("YouTube", ("GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET")),
    "INSTAGRAM": ("Instagram", ("FACEBOOK_APP_ID", "FACEBOOK_APP_SECRET")),
}


@register()
def check_platform_credentials(app_configs: Any, **kwargs: Any) -> list:
    if settings.SANDBOX:
        return []  # the sandbox accepts its own well-known demo credentials
    warnings = []
    for prefix, (label, names) in PLATFORM_CREDENTIALS.items():
        if not getattr(settings, f"{prefix}_ENABLED"):
            continue
        missing = [name for name in names if not getattr(settings, name)]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            warnings.append(
                Warning(
                    f"{label} is enabled but {' and '.join(missing)} {verb} not "
                    "set: creators cannot connect it.",
                    hint=f"Set the credentials or {prefix}_ENABLED=0.",
                    id="platforms.W001",
                )
            )
    return warnings


# Numbers that parse (settings.py refuses those that don't) but must be above
# zero: (environment variable, setting, key inside the setting).
POSITIVE_NUMBERS = (
    ("Q_WORKERS", "Q_CLUSTER", "workers"),
    ("Q_TIMEOUT", "Q_CLUSTER", "timeout"),
    ("Q_MAX_ATTEMPTS", "Q_CLUSTER", "max_attempts"),
    ("YOUTUBE_DAILY_QUOTA", "YOUTUBE_DAILY_QUOTA", None),
    ("HTTP_TIMEOUT_SECONDS", "HTTP_TIMEOUT_SECONDS", None),
    ("SOCIALACCOUNT_REQUESTS_TIMEOUT", "SOCIALACCOUNT_REQUESTS_TIMEOUT", None),
    ("COLLECTION_INTERVAL_SCALE", "COLLECTION_INTERVAL_SCALE", None),
    ("COLLECTION_MAX_ATTEMPTS", "COLLECTION_MAX_ATTEMPTS", None),
    ("COLLECTION_STALE_AFTER_SECONDS", "COLLECTION_STALE_AFTER_SECONDS", None),
    ("API_CALL_LOG_RETENTION_DAYS", "API_CALL_LOG_RETENTION_DAYS", None),
)


@register()
def check_positive_numbers(app_configs: Any, **kwargs: Any) -> list:
    errors = []
    for variable, setting, key in POSITIVE_NUMBERS:
        value = getattr(settings, setting, None)
        if key is not None:
            value = (value or {}).get(key)
        if value is not None and value <= 0:
            errors.append(
                Error(
                    f"{variable} is {value}: it must be above zero.",
                    hint=f"Set {variable} to a positive number or unset it.",
                    id="platforms.E030",
                )
            )
    return errors


@register()
def check_rate_limits(app_configs: Any, **kwargs: Any) -> list:
    from platforms.ratelimit import Rate

    errors = []
    for platform, rates in getattr(settings, "PLATFORM_RATE_LIMITS", {}).items():
        for endpoint_class, text in rates.items():
            name = f"{platform}.{endpoint_class}"
            problem = ""
            if platform not in {"tiktok", "youtube", "instagram"} or not endpoint_class:
                problem = "the name is not platform.endpoint_class"
            else:
                try:
                    Rate.parse(text)
                except ValueError as exc:
                    problem = str(exc)
            if problem:
                errors.append(
                    Error(
                        f"PLATFORM_RATE_LIMITS entry {name}={text!r}: {problem}.",
                        hint="Entries look like tiktok.video_query=600/m, "
                        "comma-separated; platforms are tiktok, youtube, instagram.",
                        id="platforms.E040",
                    )
                )
    return errors
