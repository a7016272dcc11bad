"""The Dockerfile, checked without a Docker engine; its build stage is replayed into a wheel."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest

from tests.deploy.deploy_files import (
    ROOT,
    compose,
    dev_requirement,
    dockerfile_stages,
    healthcheck_command,
    runnable_module,
)

STAGES = {stage.name: stage for stage in dockerfile_stages()}


def _json_command(args: str) -> list[str]:
    return json.loads(args[args.index("[") :])


def _copies(stage_name: str) -> list[tuple[str, str]]:
    return [tuple(args.split()[-2:]) for args in STAGES[stage_name].args_of("COPY") if "--from" not in args]


def test_every_stage_builds_on_the_official_slim_python_3_11_image():
    for stage in STAGES.values():
        assert stage.base == "python:3.11-slim" or stage.base in STAGES, stage


def test_runtime_is_the_default_target():
    assert dockerfile_stages()[-1].name == "runtime"


@pytest.mark.parametrize("stage", ["runtime", "test"])
def test_containers_run_as_a_non_root_user(stage):
    users = STAGES[stage].args_of("USER")
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_healthcheck_runs_the_grpc_health_probe():
    (healthcheck,) = STAGES["runtime"].args_of("HEALTHCHECK")
    assert _json_command(healthcheck) == ["python", "-m", "devtools.healthprobe"]
    assert int(re.search(r"--timeout=(\d+)s", healthcheck).group(1)) > 2  # the probe's own 2 s


def test_generated_code_is_built_in_the_image_never_copied_from_the_host():
    runs = STAGES["build"].args_of("RUN")
    gen = next(i for i, run in enumerate(runs) if "scripts/gen_protos.sh gen" in run)
    install = next(i for i, run in enumerate(runs) if "pip_install.sh --no-deps ." in run)
    assert gen < install
    assert all(not src.startswith("gen") for src, _ in _copies("build"))
    assert "gen" in (ROOT / ".dockerignore").read_text().split()


PIP_SECRET_MOUNTS = ("--mount=type=secret,id=pip-cert", "--mount=type=secret,id=pip-conf")


def test_every_pip_install_gets_the_build_hosts_pip_secrets_mounted():
    runs = [run for stage in STAGES.values() for run in stage.args_of("RUN")]
    installs = [run for run in runs if "pip_install.sh" in run]
    assert len(installs) == 3  # dependencies, the project's wheel, the dev extras
    for run in installs:
        assert all(mount in run for mount in PIP_SECRET_MOUNTS), run
    direct = [run for run in runs if re.search(r"\bpip install\b", run)]
    assert not direct, "install through scripts/pip_install.sh"


def test_pip_secrets_are_never_stored_in_an_image():
    wrapper = (ROOT / "scripts" / "pip_install.sh").read_text()
    assert "/run/secrets/pip-cert" in wrapper and "/run/secrets/pip-conf" in wrapper
    for stage in STAGES.values():
        for name, args in stage.instructions:
            if name in ("COPY", "ADD", "ENV", "ARG"):
                assert not re.search(r"(?i)pip[._-]?(conf|cert)\b|PIP_CONFIG_FILE|\.crt\b", args), args


def test_code_generator_version_matches_the_dev_extra():
    runs = " ".join(STAGES["build"].args_of("RUN"))
    assert f'"{dev_requirement("grpcio-tools")}"' in runs
    assert "pip uninstall -y grpcio-tools" in runs


def test_image_copies_every_package_the_project_ships():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    top_level = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    shipped = {name for name in top_level if any(fnmatch(name, pattern) for pattern in patterns["include"])}
    copied = {src.rstrip("/") for src, _ in _copies("build")}
    assert shipped and shipped <= copied, shipped - copied


def test_test_image_carries_the_suite_and_runs_the_e2e_tests():
    copied = {src for src, _ in _copies("test")}
    assert {"pyproject.toml", "tests/"} <= copied
    assert _json_command(STAGES["test"].args_of("CMD")[-1]) == compose()["services"]["tests"]["command"]


def _replay_build_copies(dest: Path) -> None:
    for src, target in _copies("build"):
        source, into = ROOT / src, dest / target
        if source.is_dir():
            shutil.copytree(source, into, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            into.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / source.name)


def test_image_build_stage_yields_every_module_compose_runs(tmp_path):
    context = tmp_path / "src"
    _replay_build_copies(context)
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run(["scripts/gen_protos.sh", "gen"], cwd=context, env=env, check=True, timeout=120)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            tmp_path,
            context,
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    files = set(zipfile.ZipFile(wheel).namelist())

    modules = set()
    for name, spec in compose()["services"].items():
        if "build" not in spec or name == "tests":  # not our image, or not run by it
            continue
        modules.add(runnable_module(spec["command"]))
        if "healthcheck" in spec:  # one-shots (certs) have none
            modules.add(runnable_module(healthcheck_command(spec)))
    modules.discard(None)
    for module in modules:
        path = module.replace(".", "/")
        assert f"{path}/__main__.py" in files or f"{path}.py" in files, module
    for shipped in ("pricing/v1/pricing_service_pb2_grpc.py", "devtools/fake_stripe/params.json"):
        assert shipped in files
    for package in ("pricing_svc", "balance_svc", "payment_svc"):
        scripts = {p.relative_to(ROOT).as_posix() for p in (ROOT / package).glob("lua/*.lua")}
        assert scripts <= files, scripts - files
