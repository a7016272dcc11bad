"""Runs balance_svc until SIGTERM: `python -m balance_svc`."""

import asyncio

from balance_svc.config import Settings
from balance_svc.server import create_server
from svckit.server import serve

if __name__ == "__main__":
    asyncio.run(serve(Settings(), create_server))
