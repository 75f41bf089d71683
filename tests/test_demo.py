"""`manage.py demo` starts everything from nothing and stops everything on Ctrl-C."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from platforms.management.commands.demo import (
    Child,
    Supervisor,
    demo_environment,
    load_or_create_demo_secrets,
    read_env_file,
)
from tests.multiprocess.harness import Creator

ROOT = Path(__file__).resolve().parent.parent
# Generous: a loaded CI machine migrates slowly; a normal run takes ~12 s.
DEADLINE_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    """Every process below `pid`, read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie awaiting its reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_for(predicate, what: str, proc: subprocess.Popen, output: Path) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not predicate():
        if proc.poll() is not None:
            pytest.fail(f"demo exited before {what}:\n{output.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{output.read_text()}")
        time.sleep(0.1)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _fresh_clone_env(tmp_path: Path) -> dict[str, str]:
    """Nothing from the test settings or CI's DATABASE_URL: a fresh clone."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "STATIC_ROOT": str(tmp_path / "static"),
    }


@dataclass
class RunningDemo:
    proc: subprocess.Popen
    base: str
    sandbox: str
    output: Path

    @property
    def password(self) -> str:
        return re.search(r"with password (\S+)", self.output.read_text()).group(1)


@contextmanager
def _demo(env: dict[str, str], output: Path) -> Iterator[RunningDemo]:
    """`manage.py demo` until it prints its banner; Ctrl-C (SIGINT) afterwards."""
    port, sandbox_port = _free_port(), _free_port()
    with output.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(port)]
            + ["--sandbox-port", str(sandbox_port)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    demo = RunningDemo(
        proc, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{sandbox_port}", output
    )
    try:
        _wait_for(lambda: _answers(f"{demo.base}/healthz"), "/healthz", proc, output)
        _wait_for(lambda: "Ctrl-C" in output.read_text(), "the banner", proc, output)
        yield demo
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=DEADLINE_SECONDS) == 0, output.read_text()
        assert "Stopped." in output.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.multiprocess
def test_it_runs_the_demo_from_nothing_and_stops_every_process_on_ctrl_c(tmp_path):
    with _demo(_fresh_clone_env(tmp_path), tmp_path / "demo.out") as demo:
        sandbox = f"{demo.sandbox}/_sandbox/state"
        assert _answers(sandbox), demo.output.read_text()
        # The 60x clock counts token lifetimes in real time (see the sandbox's
        # --real-time-tokens): the product's refresh-ahead works as in
        # production instead of meeting an expired token every minute.
        state = httpx.get(sandbox, timeout=5).json()
        assert state["clock"]["speed"] == 60
        assert state["tokens"]["real_time_ttl"] is True
        _log_in(demo.base, "demo@example.com", demo.password)

        processes = _descendants(demo.proc.pid)
        assert len(processes) >= 3  # web server, qcluster and its workers, sandbox
    assert not [pid for pid in processes if _running(pid)], demo.output.read_text()


def _counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as db:
        return {
            table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
            for table in (
                "auth_user",
                "platforms_connectedaccount",
                "platforms_credential",
                "platforms_contentitem",
                "platforms_metricsnapshot",
                "platforms_collectionrun",
            )
        }


#: (button, sandbox account) of the three connects the re-run test makes.
CONNECTS = (
    ("Connect TikTok", "tiktok-0"),
    ("Connect YouTube", "youtube-0"),
    ("Connect Instagram (via Facebook)", "instagram-0"),
)


def _sandbox_now(demo: RunningDemo) -> dt.datetime:
    clock = httpx.get(f"{demo.sandbox}/_sandbox/state", timeout=5).json()["clock"]
    return dt.datetime.fromisoformat(clock["now"])


@pytest.mark.multiprocess
def test_a_second_demo_run_keeps_the_data_the_login_and_the_secrets(tmp_path):
    env = _fresh_clone_env(tmp_path)
    data = tmp_path / "data"
    with _demo(env, tmp_path / "first.out") as first:
        secrets_written = (data / "demo.env").read_text()
        password = first.password
        creator = Creator(first.base)
        creator.sign_up("keeps@example.com", "a-long-kept-passphrase-9")
        for button, account in CONNECTS:
            creator.connect(button, account=account)

        def backfilled() -> bool:
            runs = creator.http.get(f"{first.base}/connections/runs/").text
            return len(re.findall(r">(Succeeded|Partial)<", runs)) == len(CONNECTS)

        _wait_for(backfilled, "the backfills", first.proc, first.output)
        first_clock = _sandbox_now(first)
    kept = _counts(data / "socialmetrics.sqlite3")
    assert kept["platforms_credential"] == len(CONNECTS)
    assert kept["platforms_contentitem"] > 0

    with _demo(env, tmp_path / "second.out") as second:
        # The same secrets file, untouched, and the same demo login.
        assert (data / "demo.env").read_text() == secrets_written
        assert second.password == password
        _log_in(second.base, "demo@example.com", password)
        # The session signed in the first run is still valid: SECRET_KEY is
        # the same, and the creator's accounts and their history are there.
        page = creator.http.get(f"{second.base}/connections/")
        assert page.status_code == 200, page.headers.get("location")
        assert page.text.count('class="status status-active"') == len(CONNECTS)
        creator.close()
        # The new sandbox's clock goes on from the first one's, never back.
        assert _sandbox_now(second) >= first_clock
        # Its grants were renewed: collecting every account now works with
        # the tokens stored (and decrypted with the kept keys).
        assert f"{len(CONNECTS)} connected account(s) renewed" in (
            second.output.read_text()
        )
        collected = subprocess.run(
            [sys.executable, "manage.py", "collect", "--all"],
            cwd=ROOT,
            env=demo_environment(
                base=env,
                demo_secrets=read_env_file(data / "demo.env"),
                data_dir=data,
                site_url=second.base,
                host="127.0.0.1",
                sandbox_url=second.sandbox,
            ),
            capture_output=True,
            text=True,
            timeout=DEADLINE_SECONDS,
        )
        assert collected.returncode == 0, collected.stderr[-3000:]
    after = _counts(data / "socialmetrics.sqlite3")
    # Nothing lost, no second demo login, and the collection added readings.
    assert after["auth_user"] == kept["auth_user"] == 2
    assert {k: after[k] >= v for k, v in kept.items()} == dict.fromkeys(kept, True)
    assert after["platforms_metricsnapshot"] > kept["platforms_metricsnapshot"]
    with sqlite3.connect(data / "socialmetrics.sqlite3") as db:
        statuses = db.execute("SELECT status FROM platforms_connectedaccount")
        assert {status for (status,) in statuses} == {"active"}


def _log_in(base: str, email: str, password: str) -> None:
    with httpx.Client(base_url=base, timeout=5) as client:
        page = client.get("/accounts/login/")
        assert page.status_code == 200
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        response = client.post(
            "/accounts/login/",
            data={
                "login": email,
                "password": password,
                "csrfmiddlewaretoken": token.group(1),
            },
            headers={"Referer": f"{base}/accounts/login/"},
        )
        assert response.status_code == 302, response.text
        assert client.get("/admin/").status_code == 200


def test_it_keeps_the_demo_secrets_across_runs(tmp_path):
    path = tmp_path / "data" / "demo.env"
    first = load_or_create_demo_secrets(path)
    assert set(first) == {"SECRET_KEY", "TOKEN_ENCRYPTION_KEYS", "DEMO_PASSWORD"}
    assert len(first["SECRET_KEY"]) >= 50
    assert load_or_create_demo_secrets(path) == first
    assert path.stat().st_mode & 0o077 == 0  # private to its owner


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


@pytest.mark.multiprocess
def test_it_stops_the_others_when_one_child_dies(tmp_path):
    sleeper = Child("sleeper", _python("import time; time.sleep(60)"))
    crasher = Child("crasher", _python("import sys; sys.exit(3)"))
    messages: list[str] = []
    supervisor = Supervisor(
        [sleeper, crasher], env=os.environ, cwd=tmp_path, log=messages.append
    )
    assert supervisor.run() == 1
    assert sleeper.process.returncode == -signal.SIGTERM
    assert crasher.process.returncode == 3
    assert "crasher exited with code 3; stopping the rest." in messages


@pytest.mark.multiprocess
def test_it_kills_a_child_that_ignores_sigterm(tmp_path):
    ready = tmp_path / "ready"
    stubborn = Child(
        "stubborn",
        _python(
            "import pathlib, signal, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            f"pathlib.Path({str(ready)!r}).touch()\n"
            "time.sleep(60)"
        ),
    )
    # Exits once the other one ignores SIGTERM, so the stop has to kill it.
    crasher = Child(
        "crasher",
        _python(
            "import pathlib, time\n"
            f"while not pathlib.Path({str(ready)!r}).exists(): time.sleep(0.01)"
        ),
    )
    supervisor = Supervisor(
        [stubborn, crasher], env=os.environ, cwd=tmp_path, stop_timeout=1, log=print
    )
    started = time.monotonic()
    assert supervisor.run() == 1
    assert stubborn.process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 10


def test_the_demo_world_is_small_and_has_no_three_billion_view_post(tmp_path):
    from platforms.management.commands.demo import demo_sandbox_config
    from platforms.sandbox import Sandbox
    from platforms.sandbox.core import world as w

    path = demo_sandbox_config(tmp_path)
    sandbox = Sandbox(seed=0, config=str(path))
    first = sandbox.world.accounts("youtube")[0]
    assert first.item_count == 60
    assert sandbox.world.item(first, w.HUGE).views(sandbox.clock.now()) < 2**31
    # Written once: a creator's own edits survive the next run.
    path.write_text('{"world": {"items_per_account": 5}}')
    assert demo_sandbox_config(tmp_path).read_text() == (
        '{"world": {"items_per_account": 5}}'
    )
