"""Runs pricing_svc until SIGTERM: `python -m pricing_svc`."""

from pricing_svc.server import create_server
from pricing_svc.settings import Settings
from svckit.server import run

if __name__ == "__main__":
    run(Settings(), create_server)
