"""docker-compose.yml, checked without a Docker engine: schema, entry points, env vars, ports, health."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.deploy_files import (
    COMPOSE_FILE,
    OUR_SERVICES,
    ROOT,
    compose,
    default_port,
    healthcheck_command,
    is_entry_point,
    runnable_module,
)


def _check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_compose_file_validates_against_the_compose_spec_offline():
    result = _check_jsonschema(COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_spec_check_rejects_an_unknown_service_key(tmp_path):
    broken = compose()
    broken["services"]["pricing"]["restart_policy"] = "always"  # the real key is `restart`
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(broken))
    result = _check_jsonschema(tmp_path / "docker-compose.yml")
    assert result.returncode != 0
    assert "restart_policy" in result.stdout + result.stderr


def test_our_services_run_their_own_entry_points():
    services = compose()["services"]
    for name, (module, _, _) in OUR_SERVICES.items():
        assert services[name]["command"] == ["python", "-m", module]


@pytest.mark.parametrize("service", sorted(set(compose()["services"]) - {"redis"}))
def test_every_service_command_is_a_real_entry_point(service):
    module = runnable_module(compose()["services"][service]["command"])
    assert module is not None and is_entry_point(module), f"`python -m {module}` runs nothing"


@pytest.mark.parametrize("service", sorted(compose()["services"]))
def test_every_healthcheck_module_is_a_real_entry_point(service):
    spec = compose()["services"][service]
    module = runnable_module(healthcheck_command(spec)) if "healthcheck" in spec else None
    assert module is None or is_entry_point(module), f"`python -m {module}` runs nothing"


def test_fake_stripe_is_started_with_flags_its_cli_accepts():
    command = compose()["services"]["fake-stripe"]["command"]
    helptext = subprocess.run(
        [sys.executable, "-m", runnable_module(command), "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    for flag in (arg.split("=")[0] for arg in command[3:] if arg.startswith("--")):
        assert re.search(rf"{flag}\b", helptext), f"{flag} is not a flag of {command[2]}"


@pytest.mark.parametrize("service", sorted(OUR_SERVICES))
def test_every_env_var_set_on_a_service_is_a_setting_it_reads(service):
    _, settings_cls, _ = OUR_SERVICES[service]
    environment = compose()["services"][service]["environment"]
    unknown = [var for var in environment if var.lower() not in settings_cls.model_fields]
    assert not unknown, f"{service} does not read {unknown}"


def test_every_env_example_variable_reaches_a_service_that_reads_it():
    services = compose()["services"]
    example = (ROOT / ".env.example").read_text()
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE)
    assert names
    for var in names:
        readers = [
            name
            for name, (_, settings_cls, _) in OUR_SERVICES.items()
            if var.lower() in settings_cls.model_fields and var in services[name]["environment"]
        ]
        assert readers, f"{var} from .env never reaches a service that reads it"


def test_secrets_pass_through_unset_instead_of_empty():
    # A bare key stays unset when neither the shell nor .env has it; "${X:-}" would set it to "".
    services = compose()["services"]
    for name in OUR_SERVICES:
        environment = services[name]["environment"]
        for var in ("ADMIN_TOKEN", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"):
            if var in environment:
                assert environment[var] is None, f"{name} sets {var} to {environment[var]!r}"


@pytest.mark.parametrize("service", sorted(OUR_SERVICES))
def test_published_ports_match_the_settings_defaults(service):
    _, settings_cls, port_fields = OUR_SERVICES[service]
    expected = {f"{default_port(settings_cls, f)}:{default_port(settings_cls, f)}" for f in port_fields}
    assert set(compose()["services"][service]["ports"]) == expected


def _webhook_port() -> int:
    return default_port(OUR_SERVICES["payment"][1], "webhook_port")


def _service_ports() -> dict[str, int]:
    ports = {name: default_port(cls, fields[0]) for name, (_, cls, fields) in OUR_SERVICES.items()}
    return ports | {"redis": 6379}


def test_every_address_of_a_service_uses_its_default_port():
    ports = _service_ports()
    webhook = _webhook_port()
    found = 0
    for spec in compose()["services"].values():
        values = [str(v) for v in (spec.get("environment") or {}).values() if v is not None]
        for host, port in re.findall(r"\b([a-z][a-z-]*):(\d+)\b", " ".join(values)):
            if host in ports:
                found += 1
                assert int(port) in (ports[host], webhook if host == "payment" else None), (host, port)
    assert found >= 8  # the *_SERVICE_ADDR wiring, REDIS_URL and the e2e addresses


@pytest.mark.parametrize("service", sorted(OUR_SERVICES))
def test_healthcheck_asks_the_grpc_health_probe_on_the_service_port(service):
    spec = compose()["services"][service]
    assert healthcheck_command(spec) == [
        "python",
        "-m",
        "devtools.healthprobe",
        f"localhost:{_service_ports()[service]}",
    ]


def test_every_long_running_service_has_a_healthcheck_and_a_restart_policy():
    for name, spec in compose()["services"].items():
        if name in ("tests", "certs"):  # one-shots
            assert spec["restart"] == "no"
            continue
        assert spec["healthcheck"]["test"], name
        if "test" not in spec.get("profiles", []):
            assert spec["restart"] in ("always", "unless-stopped"), name


def test_services_start_only_once_redis_is_healthy():
    services = compose()["services"]
    for name in OUR_SERVICES:
        assert services[name]["depends_on"]["redis"] == {"condition": "service_healthy"}


def test_redis_keeps_an_fsynced_append_only_file_on_a_named_volume():
    spec = compose()
    redis = spec["services"]["redis"]
    assert redis["image"].startswith("redis:")
    assert " ".join(redis["command"]).endswith("--appendonly yes --appendfsync everysec")
    volume, _, target = redis["volumes"][0].partition(":")
    assert target == "/data" and volume in spec["volumes"]
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])


def test_e2e_suite_runs_under_a_profile_against_the_services_by_name():
    services = compose()["services"]
    tests = services["tests"]
    assert tests["profiles"] == ["test"]
    assert tests["command"][:4] == ["python", "-m", "pytest", "tests/e2e"]
    assert all(dep["condition"] == "service_healthy" for dep in tests["depends_on"].values())
    assert set(tests["depends_on"]) == {*OUR_SERVICES, "fake-stripe"}
    env = tests["environment"]
    assert env["E2E_FAKE_STRIPE_URL"].startswith("http://fake-stripe:")
    assert env["E2E_WEBHOOK_URL"] == f"http://payment:{_webhook_port()}/webhooks/stripe"


def test_fake_stripe_posts_signed_events_to_the_payment_webhook():
    services = compose()["services"]
    command = services["fake-stripe"]["command"]
    assert f"--webhook-url={services['tests']['environment']['E2E_WEBHOOK_URL']}" in command
    port = re.search(r"--port=(\d+)", " ".join(command)).group(1)
    assert services["tests"]["environment"]["E2E_FAKE_STRIPE_URL"] == f"http://fake-stripe:{port}"


def test_default_services_never_depend_on_test_profile_services():
    services = compose()["services"]
    profiled = {name for name, spec in services.items() if spec.get("profiles")}
    for name, spec in services.items():
        if not spec.get("profiles"):
            assert not profiled & set(spec.get("depends_on") or {}), name
