"""Runs pricing_svc until SIGTERM: `python -m pricing_svc`."""

import asyncio

from pricing_svc.config import Settings
from pricing_svc.server import create_server
from svckit.server import serve

if __name__ == "__main__":
    asyncio.run(serve(Settings(), create_server))
