"""Runs balance_svc until SIGTERM: `python -m balance_svc`."""

from balance_svc.config import Settings
from balance_svc.server import create_server
from svckit.server import run

if __name__ == "__main__":
    run(Settings(), create_server)
