"""Runs payment_svc until SIGTERM: `python -m payment_svc`."""

import asyncio

from payment_svc.config import Settings
from payment_svc.server import create_server
from svckit.server import serve

if __name__ == "__main__":
    asyncio.run(serve(Settings(), create_server))
