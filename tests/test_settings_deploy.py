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
