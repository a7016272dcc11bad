"""Prints runs x acknowledged x lost x unavailability for a Sentinel failover under load, acks 0 and 1.

`.venv/bin/python -m tests.ha.sentinel_failover_timing [runs]` (not a test: it measures, and checks
only that VerifyAccount stays consistent; tests/ha/test_sentinel.py asserts one run of each).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import tempfile
from pathlib import Path

from devtools.redis_procs import SentinelGroup
from tests.ha.failover import failover_under_load


async def main(runs: int) -> None:
    logging.disable(logging.WARNING)  # each run logs dozens of expected UNAVAILABLE lines
    print("| REDIS_MIN_REPLICA_ACKS | runs | acknowledged per run | lost per run", end=" ")
    print("| unavailable s (median, max) |")
    print("|---|---|---|---|---|")
    for acks in (0, 1):
        rows = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as tmp, SentinelGroup(Path(tmp)) as group:
                rows.append(await failover_under_load(group, acks=acks))
        acked = [o.acknowledged_count for o in rows]
        lost = [o.lost for o in rows]
        down = [o.unavailable_s for o in rows]
        assert not any(o.inconsistent_accounts for o in rows)
        print(
            f"| {acks} | {runs} | {min(acked)}-{max(acked)} (total {sum(acked)}) | {min(lost)}-{max(lost)} "
            f"(total {sum(lost)}) | {statistics.median(down):.2f}, {max(down):.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
