"""The product-side steps of the cluster tests, run in their own processes.

The clusters and these steps share one database that pytest-django's
(in-memory, per-process) test database cannot be, so every write goes
through the product's own code in a child process:

    python -m tests.multiprocess.scenario <step> '<json params>'

prints one JSON line with the result.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import django


def connect(params: dict[str, Any]) -> dict[str, Any]:
    """Connect every sandbox account to one creator and queue its backfill.

    Tokens come from the sandbox's control endpoint: the same replies the
    OAuth flow stores, without driving 50 consent pages.
    """
    import httpx
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from platforms.models import CollectionRun, ConnectedAccount
    from platforms.services import collection
    from platforms.tokens import save_token_reply

    owner = get_user_model().objects.create_user(
        username="clusters", email="clusters@example.com", password="pw-clusters-1"
    )
    with httpx.Client(base_url=params["sandbox_url"], timeout=10) as sandbox:
        world = sandbox.get("/_sandbox/state").raise_for_status().json()["accounts"]
        accounts = []
        for platform, members in world.items():
            for member in members:
                reply = sandbox.post(
                    "/_sandbox/tokens",
                    json={"platform": platform, "account": member["id"]},
                ).raise_for_status()
                account = ConnectedAccount.objects.create(
                    owner=owner,
                    platform=platform,
                    platform_user_id=member["external_id"],
                    handle=member["handle"],
                )
                save_token_reply(account, reply.json())
                accounts.append(account)
    runs = []
    for account in accounts:
        # As the connect flow does: the task is sent once the run is committed.
        with transaction.atomic():
            run = collection.run_enqueue(
                account=account, kind=CollectionRun.Kind.BACKFILL
            )
        runs.append(run.pk if run else None)
    return {"accounts": len(accounts), "runs": runs}


def plan(params: dict[str, Any]) -> dict[str, Any]:
    """Queue scheduled runs for the accounts due at `now` (ISO; default: now)."""
    from platforms.services import collection

    now = dt.datetime.fromisoformat(params["now"]) if params.get("now") else None
    return {"queued": collection.runs_plan_due(now=now)}


def schedules(params: dict[str, Any]) -> dict[str, Any]:
    """Create the product's schedules (planner, reaper) as a deployment does."""
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("setup_schedules", stdout=out)
    return {"schedules": out.getvalue().splitlines()}


STEPS = {"connect": connect, "plan": plan, "schedules": schedules}


def main() -> None:
    step, raw = sys.argv[1], sys.argv[2]
    django.setup()
    print(json.dumps(STEPS[step](json.loads(raw))), flush=True)


if __name__ == "__main__":
    main()
