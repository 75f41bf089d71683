"""Test settings: the real settings module with test-only secrets filled in.

DATABASE_URL and REDIS_URL still come from the environment, so CI's second
pass runs the same suite on PostgreSQL + Redis.
"""

import os

# Fixed, public test keys: never used outside the test suite.
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault(
    "TOKEN_ENCRYPTION_KEYS", "tH6bX6sQhV3Dl2vJbM1Yq9xJg4oY0sV7mJ8cW5nE2rA="
)
os.environ.setdefault(
    "LOG_DIR", os.path.join(os.path.dirname(__file__), "..", "data", "test-logs")
)
os.environ.setdefault("SANDBOX", "1")

from socialmetrics.settings import *  # noqa: E402,F403

# Hashing passwords slowly only costs test time.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
