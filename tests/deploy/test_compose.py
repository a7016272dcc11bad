"""docker-compose.yml, checked without a Docker engine: schema, entry points, env vars, ports, health."""

from __future__ import annotations

import re
import shlex
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
    dockerfile_stages,
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


@pytest.mark.parametrize("service", sorted(n for n, s in compose()["services"].items() if "build" in s))
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
    secrets = {
        "ADMIN_TOKEN",
        "E2E_ADMIN_TOKEN",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
    }
    found = 0
    for name, spec in compose()["services"].items():
        environment = spec.get("environment") or {}
        for var in secrets & set(environment):
            found += 1
            assert environment[var] is None, f"{name} sets {var} to {environment[var]!r}"
    assert found >= 7  # the services' token and Stripe keys, fake-stripe's and the suite's


def test_every_interpolation_has_a_default_podman_compose_can_parse():
    # podman-compose 1.0.3 leaves "${X:-}" (an empty default) in place, uninterpolated.
    text = COMPOSE_FILE.read_text()
    interpolations = re.findall(r"\$\{[^}]*\}", text)
    assert interpolations
    for found in interpolations:
        assert re.fullmatch(r"\$\{[A-Z][A-Z0-9_]*:-[^}]+\}", found), found


@pytest.mark.parametrize("service", sorted(compose()["services"]))
def test_cmd_healthchecks_have_no_argument_podman_compose_would_misquote(service):
    test = compose()["services"][service].get("healthcheck", {}).get("test", ["NONE"])
    if test[0] == "CMD":
        assert not [arg for arg in test[1:] if re.search(r"[\s'\"]", arg)], "use CMD-SHELL"


def test_compose_file_carries_nothing_podman_specific():
    spec = compose()
    assert "podman" not in yaml.safe_dump(spec).lower()  # comments may explain, keys may not
    for name, service in spec["services"].items():
        assert not {"ulimits", "runtime", "userns_mode"} & set(service), name


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


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR:-default}`: the variable when set and non-empty, else the default."""
    return re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m.group(1)) or m.group(2), value)


def test_redis_fsyncs_every_write_unless_everysec_is_opted_into():
    redis = compose()["services"]["redis"]
    assert redis["command"][:4] == ["redis-server", "--appendonly", "yes", "--appendfsync"]
    assert _interpolate(redis["command"][4], {}) == "always"
    assert _interpolate(redis["command"][4], {"REDIS_APPENDFSYNC": "everysec"}) == "everysec"
    readme = (ROOT / "README.md").read_text()
    assert "REDIS_APPENDFSYNC=everysec" in readme and "appendfsync always" in readme


def test_redis_keeps_an_fsynced_append_only_file_on_a_named_volume():
    spec = compose()
    redis = spec["services"]["redis"]
    assert redis["image"].startswith("redis:")
    volume, _, target = redis["volumes"][0].partition(":")
    assert target == "/data" and volume in spec["volumes"]
    assert "redis-cli ping" in " ".join(redis["healthcheck"]["test"])


def test_e2e_suite_runs_under_a_profile_against_the_services_by_name():
    services = compose()["services"]
    tests = services["tests"]
    assert tests["profiles"] == ["test"]
    assert tests["command"][:4] == ["python", "-m", "pytest", "tests/e2e/test_story.py"]
    assert tests["image"] == "priceledger-tests:local" and tests["build"]["target"] == "test"
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


STACK_SCRIPT = (ROOT / "scripts" / "compose_stack.sh").read_text()


def test_the_stack_script_builds_the_image_each_service_runs():
    built = dict(re.findall(r"\bbuild (\w+) (\S+?:\w+)\b", STACK_SCRIPT))
    services = [spec for spec in compose()["services"].values() if "build" in spec]
    assert len(services) >= 5
    for spec in services:
        assert built[spec["build"]["target"]] == spec["image"]


def test_podman_runs_the_tests_service_command_in_its_container():
    assert f'exec "$TESTS_CONTAINER" {shlex.join(compose()["services"]["tests"]["command"])} ' in STACK_SCRIPT


def test_the_host_side_run_reaches_the_published_ports():
    addrs = dict(re.findall(r"E2E_(PRICING|BALANCE|PAYMENT)_ADDR=127\.0\.0\.1:(\d+)", STACK_SCRIPT))
    services = compose()["services"]
    assert {f"{port}:{port}" for port in addrs.values()} == {
        services[name.lower()]["ports"][0] for name in addrs
    }
    assert len(addrs) == 3


def test_the_container_and_the_host_split_the_story_file_between_them():
    """The tests container runs every story test but the restart scenario (it cannot stop balance), under
    Docker and Podman alike (Podman's exec runs the same command, see above); the host runs exactly that
    one. Nothing is left to a skip."""
    (host_keyword,) = re.findall(r"pytest tests/e2e/test_story\.py -q -k (\w+)", STACK_SCRIPT)
    command = compose()["services"]["tests"]["command"]
    assert command == ["python", "-m", "pytest", "tests/e2e/test_story.py", "-q", "-k", f"not {host_keyword}"]
    story = (ROOT / "tests" / "e2e" / "test_story.py").read_text()
    names = re.findall(r"^async def (test_\w+)", story, re.M)
    on_host = [name for name in names if host_keyword in name]
    assert len(on_host) == 1 and "restart" in on_host[0] and len(names) > 1


def test_stand_ins_exist_for_every_base_image():
    script = (ROOT / "scripts" / "base_images.sh").read_text()
    stand_ins = set(re.findall(r"^ensure (\S+) \w+$", script, re.M))
    bases = {stage.base for stage in dockerfile_stages()} - {stage.name for stage in dockerfile_stages()}
    # The observability profile's images (Prometheus, Grafana) are pulled when it is used; not stood in.
    images = {
        spec["image"]
        for spec in compose()["services"].values()
        if "build" not in spec and spec.get("profiles") != ["observability"]
    }
    assert stand_ins == bases | images == {"python:3.11-slim", "redis:7"}


def test_podman_runs_the_certs_one_shot_to_completion_before_the_services():
    certs_done = STACK_SCRIPT.index('wait_certs "$project"')
    assert certs_done < STACK_SCRIPT.index('up --detach --no-build "$@"')
    assert certs_done < STACK_SCRIPT.index("run --detach --no-deps -T")


def test_the_host_side_run_calls_over_mtls_as_the_tests_service_does():
    host = dict(re.findall(r"\b(TLS_\w+_FILE)=\$pki/(\S+)", STACK_SCRIPT))
    inside = {
        name: path.removeprefix("/pki/")
        for name, path in compose()["services"]["tests"]["environment"].items()
        if name.startswith("TLS_")
    }
    assert host == inside
    assert len(host) == 3
    (copied,) = re.findall(r"tar -C /pki -cf - (.+?) \|", STACK_SCRIPT)
    assert set(copied.split()) == set(host.values())


def _observability() -> dict[str, dict]:
    return {n: s for n, s in compose()["services"].items() if s.get("profiles") == ["observability"]}


def test_the_observability_profile_brings_prometheus_and_grafana_and_nothing_else_needs_them():
    assert set(_observability()) == {"prometheus", "grafana"}
    for name, spec in compose()["services"].items():
        if name not in _observability():
            assert not set(_observability()) & set(spec.get("depends_on") or {}), name


def test_every_file_the_observability_profile_mounts_is_in_the_repository():
    mounts = [v.split(":")[0] for spec in _observability().values() for v in spec["volumes"]]
    host_paths = [m for m in mounts if m.startswith("./")]
    assert len(host_paths) == 3
    for path in host_paths:
        assert (ROOT / path).exists(), path


def test_compose_prometheus_scrapes_each_service_by_name_with_the_shipped_jobs_and_rules():
    observability = ROOT / "deploy" / "observability"
    shipped = yaml.safe_load((observability / "prometheus.yml").read_text())
    in_compose = yaml.safe_load((observability / "prometheus.compose.yml").read_text())
    metrics_ports = {"pricing_svc": 9091, "balance_svc": 9092, "payment_svc": 9093}  # svckit.metrics defaults
    services = {module: name for name, (module, _, _) in OUR_SERVICES.items()}
    for job in in_compose["scrape_configs"]:
        module = job["job_name"]
        assert job["static_configs"] == [{"targets": [f"{services[module]}:{metrics_ports[module]}"]}]
    strip = lambda c: {**c, "scrape_configs": [j["job_name"] for j in c["scrape_configs"]]}  # noqa: E731
    assert strip(in_compose) == strip(shipped)
    command = _observability()["prometheus"]["command"]
    assert "--config.file=/etc/prometheus/observability/prometheus.compose.yml" in command


def test_compose_grafana_provisions_the_profiles_prometheus_and_the_shipped_dashboard():
    provisioning = ROOT / "deploy" / "observability" / "grafana"
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    assert (source["type"], source["url"], source["isDefault"]) == (
        "prometheus",
        "http://prometheus:9090",
        True,
    )
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "priceledger.yml").read_text())["providers"]
    volumes = _observability()["grafana"]["volumes"]
    assert (
        f"./deploy/observability/grafana-dashboard.json:{provider['options']['path']}/priceledger.json:ro"
        in volumes
    )
