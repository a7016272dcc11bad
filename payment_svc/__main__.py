"""Runs payment_svc until SIGTERM: `python -m payment_svc`."""

from payment_svc.config import Settings
from payment_svc.server import create_server
from svckit.server import run

if __name__ == "__main__":
    run(Settings(), create_server)
