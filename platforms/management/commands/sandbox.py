"""`manage.py sandbox`: serve the platform sandbox over HTTP on loopback."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the TikTok/YouTube/Instagram sandbox (threaded WSGI server)."
    # The sandbox needs neither the database nor the product's settings checks.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--port", type=int, default=8100, help="0 picks a free port"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--config", default=None, help="JSON file merged over the defaults"
        )
        parser.add_argument(
            "--start", default=None, help="ISO-8601 instant the clock starts at"
        )
        parser.add_argument(
            "--frozen-at", default=None, help="ISO-8601 instant the clock stands at"
        )
        parser.add_argument(
            "--speed",
            type=float,
            default=None,
            help="sandbox seconds per real second (60: an hour a minute)",
        )
        parser.add_argument(
            "--real-time-tokens",
            action="store_true",
            help="access tokens live their lifetime in real seconds, not sandbox"
            " ones (with --speed, so they do not expire before their expires_in)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from platforms.sandbox import Sandbox
        from platforms.sandbox.server import make_server

        sandbox = Sandbox(seed=options["seed"], config=options["config"])
        if options["real_time_tokens"]:
            sandbox.config["tokens"]["real_time_ttl"] = True
        if options["frozen_at"]:
            sandbox.clock.freeze(options["frozen_at"])
        elif options["start"]:
            sandbox.clock.set(options["start"])
        if options["speed"]:
            sandbox.clock.set_speed(options["speed"])
        server = make_server(options["host"], options["port"], sandbox)
        host, port = server.server_address[:2]
        self.stdout.write(f"Sandbox serving on http://{host}:{port}")
        self.stdout.flush()

        def stop(signum: int, frame: Any) -> None:
            sandbox.stop()
            # shutdown() blocks until serve_forever returns: call it elsewhere.
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            server.server_close()
            self.stdout.write("Sandbox stopped")
            sys.stdout.flush()
