"""Settings for socialmetrics, read from the environment.

Every variable is documented in `.env.example`. A value that cannot be parsed
at all (a number like `10m`, a boolean like `ture`, an unreadable `_FILE`)
stops here with an ImproperlyConfigured naming the variable, its value and the
expected form: that message is the first thing a user sees. Values that parse
but make no sense (timeout not below retry, a bad URL, a missing key) import
cleanly and are reported by the system checks in `platforms/checks.py`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}


def bad_value(name: str, value: str, expected: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(
        f"Environment variable {name}={value!r} is not valid: expected {expected}. "
        "Fix it or unset it (see .env.example)."
    )


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name, "")
    if not value.strip():
        return default
    word = value.strip().lower()
    if word not in TRUE | FALSE:
        raise bad_value(name, value, "1 or 0 (also true/false, yes/no, on/off)")
    return word in TRUE


def envint(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    if not value.strip():
        return default
    try:
        return int(value.strip())
    except ValueError:
        raise bad_value(name, value, f"a whole number, e.g. {name}={default}") from None


def envfloat(name: str, default: float) -> float:
    value = os.environ.get(name, "")
    if not value.strip():
        return default
    try:
        number = float(value.strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise bad_value(name, value, f"a number, e.g. {name}={default:g}")
    return number


def envlist(name: str, default: str = "") -> list[str]:
    return [
        part.strip()
        for part in os.environ.get(name, default).split(",")
        if part.strip()
    ]


def envsecret(name: str, default: str = "") -> str:
    """Read NAME, or the contents of the file named by NAME_FILE (Docker secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise bad_value(
                f"{name}_FILE", path, f"a readable file ({exc.strerror or exc})"
            ) from None
    return os.environ.get(name, default)


DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "data"))

# --- Core -----------------------------------------------------------------

DEBUG = envbool("DEBUG", False)
SECRET_KEY = envsecret("SECRET_KEY")
if not SECRET_KEY and DEBUG:
    # Development only: the `platforms.E001` check refuses this with DEBUG off.
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "django_q",
    "platforms",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "socialmetrics.urls"
WSGI_APPLICATION = "socialmetrics.wsgi.application"
ASGI_APPLICATION = "socialmetrics.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# SQLite by default. WAL lets the web server read while a worker writes; the
# busy timeout makes a writer wait instead of failing at once; IMMEDIATE
# transactions take the write lock up front, which avoids the "database is
# locked" upgrade deadlock between two writers.

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    except ValueError as exc:
        # The URL may hold a password: name the variable, never echo its value.
        raise ImproperlyConfigured(
            f"Environment variable DATABASE_URL is not a database URL ({exc}): "
            "expected e.g. postgres://user:password@host:5432/socialmetrics. "
            "Unset it to use SQLite."
        ) from None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "socialmetrics.sqlite3",
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=20000;"
                    "PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth (django-allauth) ------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard:overview"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = os.environ.get("ACCOUNT_EMAIL_VERIFICATION", "none")
ACCOUNT_LOGOUT_ON_GET = False
# Sign-in messages name the user by the email they log in with, not by the
# username allauth derives from it.
ACCOUNT_USER_DISPLAY = "dashboard.users.display_name"
SOCIALACCOUNT_STORE_TOKENS = False  # tokens live encrypted in platforms.Credential
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)

# --- Static files (whitenoise) --------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "dashboard.staticfinders.PlotlyFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Internationalisation -------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- HTTPS ----------------------------------------------------------------
# Behind a TLS-terminating proxy set HTTPS=1: cookies become secure and HSTS
# is sent. Off by default so `make demo` works on plain http://127.0.0.1.

HTTPS = envbool("HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and envbool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS and envbool("SECURE_HSTS_PRELOAD", False)
if envbool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Token encryption -----------------------------------------------------
# One or more Fernet keys, comma-separated, newest first. New tokens are
# encrypted with the first; older keys still decrypt until
# `manage.py rotate_token_keys` has re-encrypted every row.

TOKEN_ENCRYPTION_KEYS = envlist("TOKEN_ENCRYPTION_KEYS")

# --- Background jobs (django-q2) ------------------------------------------

REDIS_URL = os.environ.get("REDIS_URL", "")
Q_CLUSTER = {
    "name": os.environ.get("Q_CLUSTER_NAME", "socialmetrics"),
    "workers": envint("Q_WORKERS", 2),
    # timeout must stay below retry, or a slow task is handed to a second
    # worker while the first still runs it (check platforms.E010).
    "timeout": envint("Q_TIMEOUT", 600),
    "retry": envint("Q_RETRY", 720),
    "max_attempts": envint("Q_MAX_ATTEMPTS", 3),
    "catch_up": False,
    "save_limit": envint("Q_SAVE_LIMIT", 1000),
    "ack_failures": True,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
if envbool("Q_SYNC", False):
    Q_CLUSTER["sync"] = True

# --- Platforms ------------------------------------------------------------
# SANDBOX=1 points every base URL at the local imitation of the platforms
# (`manage.py sandbox`), so the product runs offline with no real app.

SANDBOX = envbool("SANDBOX", False)
SANDBOX_URL = os.environ.get("SANDBOX_URL", "http://127.0.0.1:8100").rstrip("/")


def _base_url(name: str, real: str, sandbox_prefix: str) -> str:
    if os.environ.get(name):
        return os.environ[name].rstrip("/")
    return f"{SANDBOX_URL}/{sandbox_prefix}" if SANDBOX else real


# TikTok: Login Kit v2, Display API v2, API for Business (accounts).
TIKTOK_ENABLED = envbool("TIKTOK_ENABLED", True)
TIKTOK_CLIENT_KEY = envsecret("TIKTOK_CLIENT_KEY")
TIKTOK_CLIENT_SECRET = envsecret("TIKTOK_CLIENT_SECRET")
TIKTOK_AUTH_URL = _base_url("TIKTOK_AUTH_URL", "https://www.tiktok.com", "tiktok-www")
TIKTOK_API_URL = _base_url(
    "TIKTOK_API_URL", "https://open.tiktokapis.com", "tiktok-open"
)
TIKTOK_BUSINESS_API_URL = _base_url(
    "TIKTOK_BUSINESS_API_URL",
    "https://business-api.tiktok.com",
    "tiktok-business",
)

# Google / YouTube: OAuth 2.0, Data API v3, Analytics API v2.
YOUTUBE_ENABLED = envbool("YOUTUBE_ENABLED", True)
GOOGLE_CLIENT_ID = envsecret("GOOGLE_CLIENT_ID")
GOOGLE_CLIENT_SECRET = envsecret("GOOGLE_CLIENT_SECRET")
YOUTUBE_API_KEY = envsecret("YOUTUBE_API_KEY")
YOUTUBE_DAILY_QUOTA = envint("YOUTUBE_DAILY_QUOTA", 10000)
GOOGLE_AUTH_URL = _base_url(
    "GOOGLE_AUTH_URL", "https://accounts.google.com", "google-accounts"
)
GOOGLE_TOKEN_URL = _base_url(
    "GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com", "google-oauth2"
)
GOOGLE_USERINFO_URL = _base_url(
    "GOOGLE_USERINFO_URL", "https://openidconnect.googleapis.com", "google-openid"
)
YOUTUBE_API_URL = _base_url(
    "YOUTUBE_API_URL", "https://www.googleapis.com", "google-apis"
)
YOUTUBE_ANALYTICS_URL = _base_url(
    "YOUTUBE_ANALYTICS_URL",
    "https://youtubeanalytics.googleapis.com",
    "youtube-analytics",
)

# Facebook Login / Instagram Graph API.
INSTAGRAM_ENABLED = envbool("INSTAGRAM_ENABLED", True)
FACEBOOK_APP_ID = envsecret("FACEBOOK_APP_ID")
FACEBOOK_APP_SECRET = envsecret("FACEBOOK_APP_SECRET")
FACEBOOK_GRAPH_VERSION = os.environ.get("FACEBOOK_GRAPH_VERSION", "v25.0")
FACEBOOK_WWW_URL = _base_url(
    "FACEBOOK_WWW_URL", "https://www.facebook.com", "facebook-www"
)
FACEBOOK_GRAPH_URL = _base_url(
    "FACEBOOK_GRAPH_URL", "https://graph.facebook.com", "facebook-graph"
)

# The sandbox knows fixed demo apps; use them when no real credentials are set.
if SANDBOX:
    TIKTOK_CLIENT_KEY = TIKTOK_CLIENT_KEY or "sandbox-tiktok-client-key"
    TIKTOK_CLIENT_SECRET = TIKTOK_CLIENT_SECRET or "sandbox-tiktok-client-secret"
    GOOGLE_CLIENT_ID = GOOGLE_CLIENT_ID or "sandbox-google-client-id"
    GOOGLE_CLIENT_SECRET = GOOGLE_CLIENT_SECRET or "sandbox-google-client-secret"
    YOUTUBE_API_KEY = YOUTUBE_API_KEY or "sandbox-youtube-api-key"
    FACEBOOK_APP_ID = FACEBOOK_APP_ID or "sandbox-facebook-app-id"
    FACEBOOK_APP_SECRET = FACEBOOK_APP_SECRET or "sandbox-facebook-app-secret"

# --- Connecting accounts (allauth social providers) -----------------------
# Creators connect platform accounts through allauth's "connect" process.
# platforms.oauth extends allauth's tiktok/google/facebook providers (same
# ids) so their URLs come from the base URLs above; allauth's provider apps are
# installed only so its registry knows the ids, and `provider_class` swaps in
# the subclasses. Apps come from these settings: no SocialApp rows. A platform
# that is disabled or has no credentials gets no provider (its connect URLs
# 404) and the platforms.W001 check says why.

SOCIALACCOUNT_ADAPTER = "platforms.oauth.adapter.SocialAccountAdapter"
# Redirect URIs (/accounts/<provider>/login/callback/) must be https for
# TikTok and Facebook: behind a TLS proxy, build them with https.
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if HTTPS else "http"
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = envint("SOCIALACCOUNT_REQUESTS_TIMEOUT", 20)
# Revenue metrics need Google's monetary scope (channel owners only).
YOUTUBE_MONETARY_SCOPE = envbool("YOUTUBE_MONETARY_SCOPE", False)


def _social_app(client_id: str, secret: str) -> list[dict[str, str]]:
    return [{"client_id": client_id, "secret": secret}] if client_id and secret else []


SOCIALACCOUNT_PROVIDERS = {
    "tiktok": {
        "provider_class": "platforms.oauth.tiktok.provider.TikTokProvider",
        "SCOPE": [
            "user.info.basic",
            "user.info.profile",
            "user.info.stats",
            "video.list",
        ],
        "APPS": _social_app(TIKTOK_CLIENT_KEY, TIKTOK_CLIENT_SECRET),
    },
    "google": {
        "provider_class": "platforms.oauth.google.provider.GoogleProvider",
        "SCOPE": [
            "openid",
            "email",
            "profile",
            "https://www.googleapis.com/auth/youtube.readonly",
            "https://www.googleapis.com/auth/yt-analytics.readonly",
        ]
        + (
            ["https://www.googleapis.com/auth/yt-analytics-monetary.readonly"]
            if YOUTUBE_MONETARY_SCOPE
            else []
        ),
        # offline: a refresh token; consent: one on every grant, not just the
        # first (without it a reconnect returns none).
        "AUTH_PARAMS": {"access_type": "offline", "prompt": "consent"},
        "OAUTH_PKCE_ENABLED": True,
        "APPS": _social_app(GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET),
    },
    "facebook": {
        "provider_class": "platforms.oauth.facebook.provider.FacebookProvider",
        "METHOD": "oauth2",
        "VERSION": FACEBOOK_GRAPH_VERSION,
        "SCOPE": [
            "instagram_basic",
            "instagram_manage_insights",
            "pages_read_engagement",
            "pages_show_list",
        ],
        "FIELDS": ["id", "name"],
        # Ask again for permissions declined on an earlier connect.
        "AUTH_PARAMS": {"auth_type": "rerequest"},
        "APPS": _social_app(FACEBOOK_APP_ID, FACEBOOK_APP_SECRET),
    },
}
INSTALLED_APPS += [
    f"allauth.socialaccount.providers.{provider}"
    for provider, enabled in (
        ("tiktok", TIKTOK_ENABLED),
        ("google", YOUTUBE_ENABLED),
        ("facebook", INSTAGRAM_ENABLED),
    )
    if enabled and SOCIALACCOUNT_PROVIDERS[provider]["APPS"]
]

# Rate limits and the API call log.
API_CALL_LOG_RETENTION_DAYS = envint("API_CALL_LOG_RETENTION_DAYS", 30)
# Overrides of the shared limiter's seed defaults (platforms/ratelimit.py), as
# "platform.endpoint_class=rate" pairs, e.g.
# PLATFORM_RATE_LIMITS="tiktok.video_query=600/m,instagram.media_metrics=500/h".
PLATFORM_RATE_LIMITS: dict[str, dict[str, str]] = {}
for _pair in envlist("PLATFORM_RATE_LIMITS"):
    _name, _, _rate = _pair.partition("=")
    _platform, _, _endpoint_class = _name.strip().partition(".")
    PLATFORM_RATE_LIMITS.setdefault(_platform, {})[_endpoint_class] = _rate.strip()

# Collection runs: a run whose worker stops beating for this long is failed
# and tried again, at most this many attempts in all.
COLLECTION_STALE_AFTER_SECONDS = envint("COLLECTION_STALE_AFTER_SECONDS", 300)
COLLECTION_MAX_ATTEMPTS = envint("COLLECTION_MAX_ATTEMPTS", 3)
# A queued run still not started this long after it was due lost its task
# (a Redis-broker cluster died holding it): the reaper sends it again.
COLLECTION_QUEUED_GRACE_SECONDS = envint("COLLECTION_QUEUED_GRACE_SECONDS", 600)
# Minutes between two runs of the reaper schedule (setup_schedules).
COLLECTION_REAP_EVERY_MINUTES = envint("COLLECTION_REAP_EVERY_MINUTES", 5)
# Throttled re-queues of one run before it ends with what it has.
COLLECTION_MAX_THROTTLES = envint("COLLECTION_MAX_THROTTLES", 50)
# Multiplies every planned interval (the demo uses 1/720: a day becomes two
# minutes); intervals never drop below COLLECTION_MIN_INTERVAL_SECONDS.
COLLECTION_INTERVAL_SCALE = envfloat("COLLECTION_INTERVAL_SCALE", 1.0)
COLLECTION_MIN_INTERVAL_SECONDS = envint("COLLECTION_MIN_INTERVAL_SECONDS", 60)
HTTP_TIMEOUT_SECONDS = envfloat("HTTP_TIMEOUT_SECONDS", 20.0)

# --- Logging --------------------------------------------------------------
# Every handler carries the redaction filter, so a token that slips into a
# message or an exception never reaches a console or a file.

LOG_LEVEL = os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO"
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    # dictConfig would otherwise fail inside django.setup() with a traceback.
    raise bad_value(
        "LOG_LEVEL",
        os.environ["LOG_LEVEL"],
        "one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    )
LOG_DIR = Path(os.environ.get("LOG_DIR", DATA_DIR / "logs"))
LOG_FILE = os.environ.get("LOG_FILE", str(LOG_DIR / "platforms.log"))
LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "platforms.logging.RedactSecretsFilter"}},
    "formatters": {"standard": {"format": LOG_FORMAT}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "standard",
            "filters": ["redact"],
        },
        "platforms_file": {
            "class": "platforms.logging.LazyRotatingFileHandler",
            "filename": LOG_FILE,
            "maxBytes": envint("LOG_FILE_MAX_BYTES", 10 * 1024 * 1024),
            "backupCount": envint("LOG_FILE_BACKUPS", 5),
            "encoding": "utf-8",
            "formatter": "standard",
            "filters": ["redact"],
        },
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "platforms": {
            "handlers": ["console", "platforms_file"],
            "level": LOG_LEVEL,
            "propagate": False,
        },
        # django-q2 logs as "django-q" (hyphen); without this its INFO lines
        # are dropped by the root logger's WARNING level.
        "django-q": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # Django's own handlers carry no redaction filter, and request lines
        # hold OAuth callback codes: route Django through the filtered console.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.server": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
        },
    },
}
