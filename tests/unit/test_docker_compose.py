"""docker-compose.yml and the Dockerfile give the production shape (Docker is not run here)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
APP_SERVICES = ("web", "worker")
BACKING_SERVICES = ("mongo", "kafka", "redis")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return command.split() if isinstance(command, str) else list(command)


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def test_the_backing_services_and_the_app_services_all_exist(services: dict[str, Any]) -> None:
    assert {*BACKING_SERVICES, *APP_SERVICES, "lb"} <= set(services)


def test_mongo_runs_as_a_replica_set_that_initiates_itself(services: dict[str, Any]) -> None:
    mongo = services["mongo"]
    assert mongo["image"].startswith("mongo:")
    command = _command(mongo)
    assert command[command.index("--replSet") + 1] == "rs0"
    assert "--bind_ip_all" in command
    assert "rs.initiate" in json.dumps(mongo["healthcheck"]["test"])


def test_kafka_runs_in_kraft_mode_without_zookeeper(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    env = _env(kafka)
    assert {"broker", "controller"} <= set(env["KAFKA_PROCESS_ROLES"].split(","))
    assert "KAFKA_CONTROLLER_QUORUM_VOTERS" in env
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "true"
    assert "zookeeper" not in services
    assert not any("ZOOKEEPER" in key for key in env)


def test_redis_keeps_an_append_only_file_on_a_volume(services: dict[str, Any]) -> None:
    redis = services["redis"]
    command = _command(redis)
    assert command[command.index("--appendonly") + 1] == "yes"
    assert any(str(volume).endswith(":/data") for volume in redis["volumes"])


@pytest.mark.parametrize(
    ("name", "command"), [("web", ["inbox", "web"]), ("worker", ["inbox", "worker"])]
)
def test_web_and_worker_run_two_replicas_of_the_inbox_command(
    services: dict[str, Any], name: str, command: list[str]
) -> None:
    service = services[name]
    assert service["deploy"]["replicas"] == 2
    assert _command(service)[:2] == command
    assert service["build"] == "."


@pytest.mark.parametrize("name", APP_SERVICES)
def test_web_and_worker_are_pointed_at_the_compose_backing_services(
    services: dict[str, Any], name: str
) -> None:
    env = _env(services[name])
    assert env["MONGODB_URI"].startswith("mongodb://mongo:27017/")
    assert "replicaSet=rs0" in env["MONGODB_URI"]
    assert env["KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env["REDIS_URL"].startswith("redis://redis:6379")


@pytest.mark.parametrize("name", APP_SERVICES)
def test_web_and_worker_wait_for_healthy_backing_services(
    services: dict[str, Any], name: str
) -> None:
    depends_on = services[name]["depends_on"]
    for backing in BACKING_SERVICES:
        assert depends_on[backing]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_the_jwt_secret_comes_from_the_environment_and_is_never_written_down(
    services: dict[str, Any], name: str
) -> None:
    # `${JWT_SECRET:?...}` makes compose refuse to start without one.
    assert re.fullmatch(r"\$\{JWT_SECRET:\?[^}]*\}", _env(services[name])["JWT_SECRET"])


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_web_replicas_publish_no_host_port_and_the_load_balancer_publishes_8080(
    services: dict[str, Any],
) -> None:
    assert "ports" not in services["web"]  # two replicas cannot share one host port
    assert any(str(port).startswith("8080:") for port in services["lb"]["ports"])
    assert services["lb"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_the_load_balancer_proxies_websockets_to_the_web_service(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    (mount,) = services["lb"]["configs"]
    config = compose["configs"][mount["source"]]["content"]
    assert "http://web:8080" in config
    assert "proxy_set_header Upgrade $$http_upgrade" in config
    assert "proxy_set_header Connection $$connection_upgrade" in config
    # Compose interpolates `$name`; every nginx variable must be escaped as `$$name`.
    assert not re.search(r"(?<!\$)\$(?!\$)", config)


def test_the_backing_services_keep_their_data_on_named_volumes(
    compose: dict[str, Any], services: dict[str, Any]
) -> None:
    for name in BACKING_SERVICES:
        (volume,) = services[name]["volumes"]
        assert volume.split(":")[0] in compose["volumes"], name


def test_the_dockerfile_installs_the_package_as_a_non_root_user_and_runs_inbox_web() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0].startswith("FROM python:3.11")
    assert any(re.fullmatch(r"RUN pip install (--no-cache-dir )?\.", line) for line in lines)
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    (cmd,) = [line for line in lines if line.startswith("CMD ")]
    assert json.loads(cmd.removeprefix("CMD "))[:2] == ["inbox", "web"]


def test_the_dockerfile_copies_every_package_the_build_installs() -> None:
    """A package left out of the image installs nothing, and `inbox` fails at import."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    copied = {
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("COPY ")
    }
    assert packages <= copied, packages - copied
