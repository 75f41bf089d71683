"""A database several OS processes can share, for the cross-process tests.

pytest-django's in-memory SQLite database lives inside the test process, so
on SQLite the workers get a migrated temporary file database of their own
(with the production SQLite options: WAL, IMMEDIATE transactions, busy
timeout). On PostgreSQL they connect to the test database itself; tests
that use this are `django_db(transaction=True)`, so rows are committed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)


def shared_database_env(tmp_dir: Path) -> dict[str, str]:
    """Environment for worker processes that share one database."""
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    env["PYTHONPATH"] = str(ROOT)
    if connection.vendor == "sqlite":
        env.pop("DATABASE_URL", None)
        tmp_dir.mkdir(parents=True, exist_ok=True)
        env["DATA_DIR"] = str(tmp_dir)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            env=env,
            cwd=ROOT,
            check=True,
        )
    else:
        conf = connection.settings_dict
        password = f":{conf['PASSWORD']}" if conf.get("PASSWORD") else ""
        env["DATABASE_URL"] = (
            f"postgres://{conf['USER']}{password}@{conf['HOST'] or '127.0.0.1'}:"
            f"{conf['PORT'] or 5432}/{conf['NAME']}"
        )
    return env


def run_workers(
    task: str, params: list[dict[str, Any]], env: dict[str, str], timeout: float = 120
) -> list[Any]:
    """Start one `tests.platforms.workers` process per params; return their JSON."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.platforms.workers", task, json.dumps(p)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in params
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        if proc.returncode != 0:
            raise AssertionError(f"worker failed ({proc.returncode}):\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results
