"""`inbox up | web | worker`: the three ways to run the product."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from inbox.config import Settings

log = logging.getLogger("inbox")


def _logging() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def cmd_web(args: argparse.Namespace) -> None:
    from aiohttp import web

    from web.app import create_app

    _logging()
    if not os.environ.get("JWT_SECRET"):
        log.warning(
            "JWT_SECRET is not set: using a random secret, so tokens die with this process "
            "and other web processes will not accept them"
        )
    settings = Settings.from_env()
    web.run_app(
        create_app(settings),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        shutdown_timeout=5.0,
    )


def cmd_worker(args: argparse.Namespace) -> None:
    from faust import Worker

    from streams.worker import create_app

    settings = Settings.from_env()
    app, _ = create_app(settings)
    level = os.environ.get("LOG_LEVEL", "INFO").lower()
    Worker(app, loglevel=level, quiet=True).execute_from_commandline()


def _jwt_secret(data_dir: Path) -> str:
    """One secret shared by every process of this install, kept across restarts."""
    path = data_dir / "jwt-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _wait_healthy(url: str, procs: list[subprocess.Popen[bytes]], timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.5)
    return False


async def _first_admin(settings: Settings) -> tuple[str, str] | None:
    """On a fresh install, an admin to log in with: (email, password), else None."""
    from inbox import db
    from inbox.accounts import auth as auth_service
    from inbox.accounts.documents import User

    client = await db.connect(settings)
    try:
        if await User.find_all().limit(1).count():
            return None
        email, password = "admin@example.com", secrets.token_urlsafe(12)
        await auth_service.signup(
            settings, org_name="My Company", name="Admin", email=email, password=password
        )
        return email, password
    finally:
        await client.close()


def cmd_up(args: argparse.Namespace) -> None:
    from app.embedded import EmbeddedServers

    _logging()
    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    servers = EmbeddedServers(
        data_dir,
        mongodb_uri=os.environ.get("MONGODB_URI") or None,
        kafka_bootstrap=os.environ.get("KAFKA_BOOTSTRAP") or None,
        redis_url=os.environ.get("REDIS_URL") or None,
    )
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)

    print("Starting embedded servers…", flush=True)
    urls = servers.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
        env = {
            **os.environ,
            "MONGODB_URI": urls.mongodb_uri,
            "KAFKA_BOOTSTRAP": urls.kafka_bootstrap,
            "REDIS_URL": urls.redis_url,
            "JWT_SECRET": os.environ.get("JWT_SECRET") or _jwt_secret(data_dir),
            "PUBLIC_URL": os.environ.get("PUBLIC_URL") or url,
            "MEDIA_DIR": os.environ.get("MEDIA_DIR") or str(data_dir / "media"),
        }
        logs = data_dir / "logs"
        logs.mkdir(exist_ok=True)
        for role, extra in (
            ("worker", []),
            ("web", ["--host", args.host, "--port", str(args.port)]),
        ):
            out = open(logs / f"{role}.log", "ab")  # noqa: SIM115 - owned by the child
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app.cli", role, *extra],
                    env=env,
                    stdout=out,
                    stderr=out,
                )
            )
        if not _wait_healthy(url, procs) and not stopping:
            print(
                f"The inbox did not become healthy; see {logs}/web.log and worker.log",
                file=sys.stderr,
            )
            stopping = True
        if not stopping:
            creds = asyncio.run(
                _first_admin(
                    Settings.from_env(mongodb_uri=urls.mongodb_uri, jwt_secret=env["JWT_SECRET"])
                )
            )
            print(f"\n  Inbox is up: {url}", flush=True)
            print(f"  API health:  {url}/health", flush=True)
            if creds:
                print(
                    f"  First-run admin: {creds[0]} / {creds[1]}  (shown once; change it)",
                    flush=True,
                )
            print(f"  Data: {data_dir}   Logs: {logs}\n  Press Ctrl-C to stop.\n", flush=True)
        while not stopping:
            if any(p.poll() is not None for p in procs):
                print("A process exited; stopping. See the logs.", file=sys.stderr)
                break
            time.sleep(0.3)
    finally:
        print("Stopping…", flush=True)
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=8)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        servers.stop()
        print("Stopped.", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="inbox", description="Omnichannel inbox")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="everything on this machine, with embedded servers")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8080)
    up.add_argument("--data-dir", default=".inbox")
    up.set_defaults(func=cmd_up)
    w = sub.add_parser("web", help="the HTTP/websocket server only")
    w.add_argument("--host", default="0.0.0.0")
    w.add_argument("--port", type=int, default=8080)
    w.set_defaults(func=cmd_web)
    wk = sub.add_parser("worker", help="the stream worker only")
    wk.set_defaults(func=cmd_worker)
    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
