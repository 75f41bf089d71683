"""`manage.py demo` starts everything from nothing and stops everything on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from platforms.management.commands.demo import (
    Child,
    Supervisor,
    load_or_create_demo_secrets,
)

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


@pytest.mark.multiprocess
def test_it_runs_the_demo_from_nothing_and_stops_every_process_on_ctrl_c(tmp_path):
    # Nothing from the test settings or CI's DATABASE_URL: a fresh clone.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "STATIC_ROOT": str(tmp_path / "static"),
    }
    port, sandbox_port = _free_port(), _free_port()
    output = tmp_path / "demo.out"
    with output.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "demo", "--port", str(port)]
            + ["--sandbox-port", str(sandbox_port)],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(lambda: _answers(f"{base}/healthz"), "/healthz", proc, output)
        _wait_for(lambda: "Ctrl-C" in output.read_text(), "the banner", proc, output)
        password = re.search(r"with password (\S+)", output.read_text()).group(1)
        if (ROOT / "platforms/management/commands/sandbox.py").exists():
            sandbox = f"http://127.0.0.1:{sandbox_port}/_sandbox/state"
            assert _answers(sandbox), output.read_text()
        _log_in(base, "demo@example.com", password)

        processes = _descendants(proc.pid)
        assert len(processes) >= 3  # web server, qcluster and its workers, sandbox
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=DEADLINE_SECONDS) == 0, output.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not [pid for pid in processes if _running(pid)], output.read_text()
    assert "Stopped." in output.read_text()


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
