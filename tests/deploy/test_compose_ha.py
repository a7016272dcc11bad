"""The compose `ha` profile (primary, replica, three Sentinels) and docker-compose.ha.yml, checked offline."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.deploy.deploy_files import OUR_SERVICES, ROOT, compose
from tests.deploy.test_compose import _check_jsonschema

HA_FILE = ROOT / "docker-compose.ha.yml"
SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")


def _override() -> dict:
    return yaml.safe_load(HA_FILE.read_text())


def _ha_services() -> dict[str, dict]:
    return {n: s for n, s in compose()["services"].items() if "ha" in s.get("profiles", ())}


def test_the_ha_override_validates_against_the_compose_spec_offline():
    result = _check_jsonschema(HA_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_ha_profile_holds_a_primary_a_replica_and_three_sentinels():
    services = _ha_services()
    assert set(services) == {"redis-primary", "redis-replica", *SENTINELS}
    replica = services["redis-replica"]["command"]
    assert replica[replica.index("--replicaof") :] == ["--replicaof", "redis-primary", "6379"]
    for name in ("redis-primary", "redis-replica"):  # each node durable on its own, as the single Redis is
        command = services[name]["command"]
        assert command[command.index("--appendfsync") + 1] == "always"


@pytest.mark.parametrize("sentinel", SENTINELS)
def test_each_sentinel_monitors_the_primary_with_a_quorum_of_two(sentinel):
    script = " ".join(_ha_services()[sentinel]["command"])
    assert re.search(r"sentinel monitor mymaster redis-primary 6379 2\b", script)
    assert "--sentinel" in script


@pytest.mark.parametrize("service", sorted(OUR_SERVICES))
def test_the_override_points_each_service_at_the_three_sentinels_with_replica_acks(service):
    _, settings_cls, _ = OUR_SERVICES[service]
    spec = _override()["services"][service]
    environment = spec["environment"]
    assert all(var.lower() in settings_cls.model_fields for var in environment)
    assert environment["REDIS_SENTINELS"] == ",".join(f"{s}:26379" for s in SENTINELS)
    settings = settings_cls(**{k.lower(): v for k, v in environment.items()})
    assert settings.redis_min_replica_acks == 1  # one replica, and it must hold every acknowledged write
    assert set(spec["depends_on"]) <= set(_ha_services())
