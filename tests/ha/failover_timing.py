"""Prints runs x acknowledged x lost x unavailability for failovers under load, Sentinel and Cluster.

`.venv/bin/python -m tests.ha.failover_timing [runs [Sentinel|Cluster]]` (not a test: it measures, and checks
only that VerifyAccount stays consistent; tests/ha/test_sentinel.py asserts one run of each).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import sys
import tempfile
from pathlib import Path

from devtools.redis_procs import RedisCluster, SentinelGroup
from tests.ha.failover import ClusterTopology, SentinelTopology, failover_under_load

_TOPOLOGIES = {
    "Sentinel": lambda tmp: (SentinelGroup(tmp), SentinelTopology),
    "Cluster 3x1": lambda tmp: (RedisCluster(tmp, replicas=True, appendfsync="always"), ClusterTopology),
}


async def main(runs: int, only: str = "") -> None:
    logging.disable(logging.WARNING)  # each run logs dozens of expected UNAVAILABLE lines
    print("| Redis | REDIS_MIN_REPLICA_ACKS | runs | acknowledged per run | lost per run", end=" ")
    print("| unavailable s (median, max) | runs without a promotion in 30 s |")
    print("|---|---|---|---|---|---|---|")
    for name, build in ((n, b) for n, b in _TOPOLOGIES.items() if not only or n.startswith(only)):
        for acks in (0, 1):
            rows, stuck = [], 0
            for _ in range(runs):
                with tempfile.TemporaryDirectory() as tmp:
                    servers, topology = build(Path(tmp))
                    with servers:
                        try:
                            rows.append(await failover_under_load(topology(servers), acks=acks))
                        except RuntimeError as exc:  # the promotion did not happen: counted, not measured
                            print(f"run without a failover: {exc}", flush=True)
                            stuck += 1
            acked = [o.acknowledged_count for o in rows]
            lost = [o.lost for o in rows]
            down = [o.unavailable_s for o in rows]
            assert not any(o.inconsistent_accounts for o in rows)
            print(
                f"| {name} | {acks} | {len(rows)} | {min(acked)}-{max(acked)} (total {sum(acked)}) "
                f"| {min(lost)}-{max(lost)} (total {sum(lost)}) "
                f"| {statistics.median(down):.2f}, {max(down):.2f} | {stuck} |",
                flush=True,
            )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10, *sys.argv[2:3]))
