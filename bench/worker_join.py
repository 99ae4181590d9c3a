"""How long an `inbox worker` takes from process start to consuming, on the embedded broker.

    python bench/worker_join.py [--runs 3]

Starts the embedded servers once, then starts a worker with a fresh consumer group per run
and times until it first reports assigned partitions (its heartbeat in Redis), which is what
GET /health calls "a worker is consuming".
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis

from adapters.bootstrap import WORKERS_KEY
from app.embedded import EmbeddedServers
from inbox.config import Settings


def time_one(settings: Settings, log_path: Path) -> float:
    env = {**os.environ, **settings.to_env(), "LOG_LEVEL": "WARNING"}
    client = redis.Redis.from_url(settings.redis_url)
    client.delete(WORKERS_KEY)
    started = time.monotonic()
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"], env=env, stdout=out, stderr=out
        )
    try:
        while time.monotonic() - started < 120:
            if client.zcard(WORKERS_KEY):
                return time.monotonic() - started
            if proc.poll() is not None:
                raise SystemExit(f"worker exited; see {log_path}")
            time.sleep(0.05)
        raise SystemExit("worker did not join within 120 s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedServers(Path(tmp)) as urls:
        times = []
        for _ in range(args.runs):
            run = uuid.uuid4().hex[:8]
            settings = Settings.from_env(
                mongodb_uri=urls.mongodb_uri,
                kafka_bootstrap=urls.kafka_bootstrap,
                redis_url=urls.redis_url,
                mongodb_db=f"bench_{run}",
                topic_prefix=f"bench{run}",
                kafka_group_id=f"bench-{run}",
                worker_heartbeat_seconds=0.1,
            )
            times.append(time_one(settings, Path(tmp) / "worker.log"))
            print(f"run {len(times)}: consuming after {times[-1]:.2f} s", flush=True)
    print(
        f"worker start -> consuming: median {statistics.median(times):.2f} s, "
        f"max {max(times):.2f} s over {len(times)} runs (target: under 15 s)"
    )


if __name__ == "__main__":
    main()
