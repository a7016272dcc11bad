"""Reads docker-compose.yml, the Dockerfile and pyproject.toml the way the deploy checks need them."""

from __future__ import annotations

import importlib.util
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from balance_svc.config import Settings as BalanceSettings
from payment_svc.config import Settings as PaymentSettings
from pricing_svc.settings import Settings as PricingSettings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"

# compose service -> (the module it runs, its Settings class, the Settings fields naming its ports)
OUR_SERVICES = {
    "pricing": ("pricing_svc", PricingSettings, ("pricing_port",)),
    "balance": ("balance_svc", BalanceSettings, ("balance_port",)),
    "payment": ("payment_svc", PaymentSettings, ("payment_port", "webhook_port")),
}


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def default_port(settings_cls: type, port_field: str) -> int:
    return settings_cls.model_fields[port_field].default


def runnable_module(command: list[str]) -> str | None:
    """`X` for a `python -m X ...` command, else None."""
    return command[2] if command[:2] == ["python", "-m"] and len(command) > 2 else None


def is_entry_point(module: str) -> bool:
    """`python -m module` runs something: a package with `__main__`, or a module with a main guard."""
    spec = importlib.util.find_spec(module)
    if spec is None:
        return False
    if spec.submodule_search_locations is not None:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    return 'if __name__ == "__main__":' in Path(spec.origin).read_text()


def healthcheck_command(service: dict) -> list[str]:
    test = service["healthcheck"]["test"]
    return test[1:] if test[0] == "CMD" else shlex.split(test[1])


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)

    def args_of(self, instruction: str) -> list[str]:
        return [args for name, args in self.instructions if name == instruction]


def dockerfile_stages(path: Path = ROOT / "Dockerfile") -> list[Stage]:
    """Stages in order, with line continuations joined and comments dropped; ARG defaults substituted."""
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        instruction, _, rest = line.partition(" ")
        instruction, rest = instruction.upper(), " ".join(rest.split())
        if instruction == "ARG" and not stages:
            name, _, value = rest.partition("=")
            args[name] = value
        elif instruction == "FROM":
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest.split()[0])
            stages.append(Stage(rest.split()[-1] if " AS " in rest.upper() else "", base))
        else:
            stages[-1].instructions.append((instruction, rest))
    return stages


def dev_requirement(name: str) -> str:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    for requirement in pyproject["project"]["optional-dependencies"]["dev"]:
        if re.match(rf"{re.escape(name)}\b", requirement):
            return requirement
    raise LookupError(name)
