"""`manage.py check --deploy` is clean under production-like environment values."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def _production_env(tmp_path: Path) -> dict[str, str]:
    # Start from nothing but PATH, so no test setting leaks in.
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "socialmetrics.settings",
        "DATA_DIR": str(tmp_path),
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "HTTPS": "1",
        "SECURE_HSTS_PRELOAD": "1",
        "ALLOWED_HOSTS": "metrics.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://metrics.example.com",
        "SITE_URL": "https://metrics.example.com",
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": "postgres://socialmetrics@db.internal:5432/socialmetrics",
        "REDIS_URL": "redis://cache.internal:6379/0",
        "TIKTOK_CLIENT_KEY": "aw1example",
        "TIKTOK_CLIENT_SECRET": "example-tiktok-secret",
        "GOOGLE_CLIENT_ID": "1234-example.apps.googleusercontent.com",
        "GOOGLE_CLIENT_SECRET": "GOCSPX-example",
        "YOUTUBE_API_KEY": "AIzaExample",
        "FACEBOOK_APP_ID": "1234567890",
        "FACEBOOK_APP_SECRET": "example-facebook-secret",
    }


def _check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.multiprocess
def test_it_passes_the_deploy_check_with_production_values(tmp_path):
    result = _check(_production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.multiprocess
def test_it_fails_the_deploy_check_without_a_secret_key(tmp_path):
    env = _production_env(tmp_path)
    del env["SECRET_KEY"]
    result = _check(env)
    assert result.returncode != 0
    assert "platforms.E001" in result.stderr
    assert "Traceback" not in result.stderr


def _import_settings(
    env: dict[str, str], code: str = ""
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import socialmetrics.settings as s\n{code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.multiprocess
@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("Q_TIMEOUT", "10m", "expected a whole number, e.g. Q_TIMEOUT=600"),
        ("Q_WORKERS", "two", "expected a whole number, e.g. Q_WORKERS=2"),
        (
            "HTTP_TIMEOUT_SECONDS",
            "20s",
            "expected a number, e.g. HTTP_TIMEOUT_SECONDS=20",
        ),
        ("COLLECTION_INTERVAL_SCALE", "nan", "expected a number"),
        ("DEBUG", "ture", "expected 1 or 0"),
        ("SANDBOX", "sandbox", "expected 1 or 0"),
        ("LOG_LEVEL", "LOUD", "expected one of DEBUG, INFO"),
        ("SECRET_KEY_FILE", "/nonexistent/secret", "expected a readable file"),
    ],
)
def test_an_unparsable_value_stops_the_import_with_a_named_error(
    tmp_path, name, value, expected
):
    env = {**_production_env(tmp_path), name: value}

    result = _import_settings(env)

    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert f"{name}={value!r}" in last
    assert expected in last


@pytest.mark.multiprocess
def test_a_bad_database_url_is_named_without_echoing_its_password(tmp_path):
    env = {**_production_env(tmp_path), "DATABASE_URL": "postgress://u:hunter2@db/x"}

    result = _import_settings(env)

    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: ")
    assert "DATABASE_URL" in last and "postgres://user:password@host" in last
    assert "hunter2" not in result.stderr


@pytest.mark.multiprocess
def test_well_formed_values_are_read_with_their_type(tmp_path):
    env = {
        **_production_env(tmp_path),
        "Q_TIMEOUT": " 30 ",
        "HTTP_TIMEOUT_SECONDS": "2.5",
        "DEBUG": "Yes",
        "SANDBOX": "off",
        "LOG_LEVEL": "warning",
    }

    result = _import_settings(
        env,
        "print(s.Q_CLUSTER['timeout'], s.HTTP_TIMEOUT_SECONDS, s.DEBUG, s.SANDBOX,"
        " s.LOG_LEVEL)",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["30", "2.5", "True", "False", "WARNING"]
