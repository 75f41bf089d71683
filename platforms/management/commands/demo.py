"""`manage.py demo`: run the whole product locally from a fresh clone.

It needs nothing set. The first run writes a secret key, a token encryption
key and the demo password to `DATA_DIR/demo.env`; later runs reuse them, so
the data of earlier runs stays readable. Variables already set in the
environment win over that file (DATABASE_URL and REDIS_URL included).

Then it migrates, creates the demo login, collects static files and starts,
each in its own process group: the platform sandbox (its clock running
an hour a minute), the web server and a django-q2 cluster. This process is the
only one that reacts to Ctrl-C: it stops every child, and if one child dies
it stops the others and exits non-zero.

The sandbox keeps everything in memory, so a re-run carries two things over
for it: its clock goes on from where the last run stopped it (never back, so
counters never shrink), and every connected account gets a live sandbox
token again before the cluster starts (the tokens stored by the last run mean
nothing to a new sandbox; without this each account would need reconnecting).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

DEMO_EMAIL = "demo@example.com"
STOP_TIMEOUT_SECONDS = 10.0
READY_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.2
LOOPBACK_FOR_ANY = {"0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1"}
SANDBOX_CLOCK_FILE = "demo-sandbox-clock.json"


#: Hourly platform limits expressed per sandbox hour (one real minute at the
#: demo's 60x clock); daily budgets per sandbox day (24 real minutes).
DEMO_RATE_LIMITS = ",".join(
    (
        "instagram.user_profile=200/m",
        "instagram.media_metrics=500/m",
        "instagram.story_metrics=200/m",
        "instagram.business_discovery=30/m",
        "tiktok.analytics=100/m",
        "tiktok.video_metrics=1000/24m",
        "tiktok.user_metrics=500/24m",
    )
)


# --- The persistent demo environment ---------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines; blank lines and # comments are skipped."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def load_or_create_demo_secrets(path: Path) -> dict[str, str]:
    """Return the demo secrets, generating and saving any that are missing."""
    values = read_env_file(path)
    generators: dict[str, Callable[[], str]] = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "TOKEN_ENCRYPTION_KEYS": lambda: Fernet.generate_key().decode(),
        "DEMO_PASSWORD": lambda: f"demo-{secrets.token_hex(4)}",
    }
    missing = {name: make() for name, make in generators.items() if name not in values}
    if missing:
        values.update(missing)
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [
            "# Written by `manage.py demo` on its first run. Keep it: the keys",
            "# decrypt the tokens stored by earlier runs. Never use in production.",
            *(f"{name}={value}" for name, value in values.items()),
        ]
        # Created private: the file holds the demo's only copy of the keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return values


def demo_environment(
    *,
    base: Mapping[str, str],
    demo_secrets: Mapping[str, str],
    data_dir: Path,
    site_url: str,
    host: str,
    sandbox_url: str,
) -> dict[str, str]:
    """The environment every child runs with."""
    env = dict(base)
    for name in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEYS"):
        env.setdefault(name, demo_secrets[name])
    allowed = "*" if host in LOOPBACK_FOR_ANY else f"localhost,127.0.0.1,[::1],{host}"
    env.setdefault("ALLOWED_HOSTS", allowed)
    # A day of collection intervals in two minutes, so new points show soon.
    env.setdefault("COLLECTION_INTERVAL_SCALE", "0.0014")
    # The sandbox clock runs 60x: its hourly limits pass in a real minute, so
    # the product's own limits are scaled the same way to stay just below.
    env.setdefault("PLATFORM_RATE_LIMITS", DEMO_RATE_LIMITS)
    env.update(
        DJANGO_SETTINGS_MODULE="socialmetrics.settings",
        DEBUG="1",
        SANDBOX="1",
        SANDBOX_URL=sandbox_url,
        SITE_URL=site_url,
        DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
    )
    return env


def demo_sandbox_config(data_dir: Path) -> Path:
    """The demo world: small enough that a backfill fits Graph's 200 calls
    per user per hour, so every platform shows data within a minute.

    Written once; edit it to try a bigger world (see the Sandbox section of
    the README for every knob).
    """
    path = data_dir / "demo-sandbox.json"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "world": {
                        "items_per_account": 60,
                        "history_days": 120,
                        "huge_counts": False,
                    }
                },
                indent=2,
            )
        )
    return path


def saved_sandbox_clock(data_dir: Path) -> str | None:
    """Where the sandbox clock should start: where the last run left it.

    Never behind real time, so a demo stopped for a week starts today.
    """
    path = data_dir / SANDBOX_CLOCK_FILE
    try:
        saved = dt.datetime.fromisoformat(json.loads(path.read_text())["now"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return max(saved, dt.datetime.now(dt.UTC)).isoformat()


def save_sandbox_clock(data_dir: Path, sandbox_url: str) -> None:
    """Remember the running sandbox's clock for the next run (best effort)."""
    url = f"{sandbox_url}/_sandbox/state"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            now = json.loads(response.read())["clock"]["now"]
    except (urllib.error.URLError, OSError, ValueError, KeyError):
        return
    (data_dir / SANDBOX_CLOCK_FILE).write_text(json.dumps({"now": now}) + "\n")


def renew_sandbox_grants(sandbox_url: str) -> int:
    """Give every connected sandbox account a token the running sandbox knows.

    Real platforms keep a creator's grant; the sandbox forgets it when it
    stops. So the demo asks the new sandbox for the token reply of each
    account (its control endpoint, as after a completed consent) and stores
    it as the connect flow would. Returns how many accounts were renewed.
    """
    import httpx

    from platforms.models import ConnectedAccount
    from platforms.tokens import save_token_reply

    with httpx.Client(base_url=sandbox_url, timeout=10) as sandbox:
        world = sandbox.get("/_sandbox/state").raise_for_status().json()["accounts"]
        members = {
            (platform, f"@{member['handle']}"): member["id"]
            for platform, listed in world.items()
            for member in listed
        }
        renewed = 0
        accounts = ConnectedAccount.objects.exclude(
            status=ConnectedAccount.Status.DISCONNECTED
        )
        for account in accounts:
            member = members.get((account.platform, account.handle))
            if member is None:
                continue  # not in this sandbox world (its config was edited)
            reply = sandbox.post(
                "/_sandbox/tokens",
                json={"platform": account.platform, "account": member},
            ).raise_for_status()
            save_token_reply(account, reply.json())
            renewed += 1
    return renewed


# --- Supervising the children ----------------------------------------------


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the demo process itself is killed."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG, Linux only
    except (OSError, AttributeError):
        pass


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    process: subprocess.Popen | None = field(default=None, repr=False)
    #: Called once this child is started, before the next one starts.
    after_start: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None


class Stop(Exception):
    """Raised from the signal handler to leave the supervision loop."""


class Supervisor:
    """Start children together; stop all of them when one stops or on a signal."""

    def __init__(
        self,
        children: Sequence[Child],
        *,
        env: Mapping[str, str],
        cwd: Path,
        stop_timeout: float = STOP_TIMEOUT_SECONDS,
        log: Callable[[str], None] = print,
    ) -> None:
        self.children = list(children)
        self.env = dict(env)
        self.cwd = cwd
        self.stop_timeout = stop_timeout
        self.log = log

    def start(self) -> None:
        for child in self.children:
            child.process = subprocess.Popen(
                child.argv,
                env=self.env,
                cwd=self.cwd,
                # Own process group: a terminal Ctrl-C reaches only this
                # process, which then stops the children in order.
                process_group=0,
                preexec_fn=_die_with_parent,
            )
            if child.after_start is not None:
                child.after_start()

    def first_exited(self) -> Child | None:
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                return child
        return None

    def run(
        self,
        *,
        on_started: Callable[[Supervisor], None] | None = None,
        on_stopping: Callable[[], None] | None = None,
    ) -> int:
        """Supervise until a signal (returns 0) or a child exits (returns 1).

        `on_stopping` runs while every child still runs, just before they
        are stopped (the demo saves the sandbox clock there).
        """
        previous = {
            sig: signal.signal(sig, self._raise_stop)
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self.start()
            if on_started is not None:
                on_started(self)
            while True:
                dead = self.first_exited()
                if dead is not None:
                    code = dead.process.returncode  # type: ignore[union-attr]
                    self.log(f"{dead.name} exited with code {code}; stopping the rest.")
                    return 1
                time.sleep(POLL_SECONDS)
        except Stop:
            self.log("Stopping…")
            return 0
        finally:
            # A second Ctrl-C while stopping must not leave orphans behind.
            for sig in previous:
                signal.signal(sig, signal.SIG_IGN)
            if on_stopping is not None:
                with contextlib.suppress(Exception):
                    on_stopping()
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def stop_all(self) -> None:
        """SIGTERM every child, wait, then SIGKILL whatever is left."""
        running = [c for c in self.children if c.process is not None]
        for child in running:
            if child.process.poll() is None:  # type: ignore[union-attr]
                child.process.terminate()  # type: ignore[union-attr]
        deadline = time.monotonic() + self.stop_timeout
        for child in running:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))  # type: ignore[union-attr]
            except subprocess.TimeoutExpired:
                self.log(f"{child.name} did not stop in time; killing it.")
        for child in running:
            # Also reaches grandchildren (qcluster's workers) left in the group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
            child.process.wait()  # type: ignore[union-attr]

    @staticmethod
    def _raise_stop(signum: int, frame: Any) -> None:
        raise Stop


# --- The command -----------------------------------------------------------


def _url_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class Command(BaseCommand):
    help = "Run the dashboard, the task cluster and the platform sandbox locally."
    # The parent needs no valid configuration: it writes the demo's own.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=8100)
        parser.add_argument(
            "--sandbox-speed",
            type=float,
            default=60.0,
            help="sandbox clock seconds per real second",
        )
        # Internal: the step that renews the sandbox grants, run in the
        # demo's environment once the sandbox answers.
        parser.add_argument(
            "--renew-sandbox-grants",
            action="store_true",
            dest="renew_only",
            help=argparse.SUPPRESS,
        )

    def handle(
        self,
        *args: Any,
        host: str,
        port: int,
        sandbox_port: int,
        sandbox_speed: float,
        renew_only: bool = False,
        **options: Any,
    ) -> None:
        if renew_only:
            renewed = renew_sandbox_grants(settings.SANDBOX_URL)
            self.stdout.write(f"{renewed} connected account(s) renewed")
            return
        data_dir = Path(settings.DATA_DIR)
        demo_secrets = load_or_create_demo_secrets(data_dir / "demo.env")
        browse_host = LOOPBACK_FOR_ANY.get(host, host)
        if ":" in browse_host and not browse_host.startswith("["):
            browse_host = f"[{browse_host}]"
        site_url = f"http://{browse_host}:{port}"
        env = demo_environment(
            base=os.environ,
            demo_secrets=demo_secrets,
            data_dir=data_dir,
            site_url=site_url,
            host=host,
            sandbox_url=f"http://127.0.0.1:{sandbox_port}",
        )
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        password = demo_secrets["DEMO_PASSWORD"]

        self._step("Migrating the database", [*manage, "migrate", "-v", "0"], env)
        self._step(
            "Creating the demo login",
            [*manage, "createdemouser", "--email", DEMO_EMAIL, "--password", password],
            env,
        )
        self._step(
            "Collecting static files",
            [*manage, "collectstatic", "--noinput", "-v", "0"],
            env,
        )
        self._step(
            "Scheduling collection", [*manage, "setup_schedules", "-v", "0"], env
        )

        # The sandbox clock runs an hour a minute by default: counters visibly
        # grow between two scheduled collections.
        sandbox_argv = [*manage, "sandbox", "--host", "127.0.0.1"]
        sandbox_argv += ["--port", str(sandbox_port), "--speed", str(sandbox_speed)]
        # The product refreshes a token by its expires_in on the real clock;
        # at 60x a sandbox token would die a minute after it was issued.
        sandbox_argv += ["--real-time-tokens"]
        sandbox_argv += ["--config", str(demo_sandbox_config(data_dir))]
        start = saved_sandbox_clock(data_dir)
        if start:
            sandbox_argv += ["--start", start]
        bind = f"[{host.strip('[]')}]" if ":" in host else host
        sandbox_url = env["SANDBOX_URL"]

        def renew_grants() -> None:
            # Before the cluster starts: no run may meet a token the new
            # sandbox does not know.
            self._wait_until_answers(f"{sandbox_url}/_sandbox/state", sandbox)
            self._step(
                "Renewing the sandbox grants of connected accounts",
                [*manage, "demo", "--renew-sandbox-grants"],
                env,
            )

        sandbox = Child("sandbox", sandbox_argv, after_start=renew_grants)
        children = [
            sandbox,
            Child("web", [*manage, "runserver", "--noreload", f"{bind}:{port}"]),
            Child("qcluster", [*manage, "qcluster"]),
        ]

        ready_urls = [f"{site_url}/healthz", f"{env['SANDBOX_URL']}/_sandbox/state"]

        def announce(supervisor: Supervisor) -> None:
            for url in ready_urls:
                self._wait_until_ready(supervisor, url)
            lines = [
                "",
                f"socialmetrics is running at {site_url}/",
                f"  Log in as {DEMO_EMAIL} with password {password}",
                f"  Admin: {site_url}/admin/",
                f"  Platform sandbox: {env['SANDBOX_URL']}/_sandbox/state",
                f"  Data: {data_dir}",
                "Press Ctrl-C to stop everything.",
                "",
            ]
            self._say("\n".join(lines))

        supervisor = Supervisor(
            children, env=env, cwd=Path(settings.BASE_DIR), log=self._say
        )

        def remember_clock() -> None:
            save_sandbox_clock(data_dir, sandbox_url)

        if supervisor.run(on_started=announce, on_stopping=remember_clock) != 0:
            raise CommandError("A demo process stopped unexpectedly.", returncode=1)
        self._say("Stopped.")

    def _say(self, text: str) -> None:
        # Flushed at once: the children write to the same terminal.
        self.stdout.write(text)
        self.stdout.flush()

    def _step(self, title: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
        self._say(f"{title}…")
        result = subprocess.run(argv, env=env, cwd=settings.BASE_DIR, check=False)
        if result.returncode != 0:
            raise CommandError(f"{title} failed (exit code {result.returncode}).")

    def _wait_until_answers(self, url: str, child: Child) -> None:
        """Wait for `child` to answer at `url`; a CommandError if it never does."""
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not _url_answers(url):
            process = child.process
            if process is not None and process.poll() is not None:
                raise CommandError(
                    f"{child.name} exited with code {process.returncode}."
                )
            if time.monotonic() > deadline:
                raise CommandError(
                    f"{url} did not answer within {READY_TIMEOUT_SECONDS:.0f} s."
                )
            time.sleep(POLL_SECONDS)

    def _wait_until_ready(self, supervisor: Supervisor, url: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not _url_answers(url):
            if supervisor.first_exited() is not None:
                return  # the supervision loop reports it
            if time.monotonic() > deadline:
                self.stderr.write(
                    f"{url} did not answer within {READY_TIMEOUT_SECONDS:.0f} s."
                )
                return
            time.sleep(POLL_SECONDS)
