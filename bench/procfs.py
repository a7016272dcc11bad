"""What /proc tells about a local process: CPU seconds used and its TCP sockets (no psutil needed)."""

from __future__ import annotations

import os

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid`, all threads included; 0.0 if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return 0.0
    # Field 2 (comm) may contain spaces, so split after its closing parenthesis.
    fields = stat[stat.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def local_tcp_ports(pid: int) -> set[int]:
    """Local ports of the TCP sockets `pid` has open, e.g. its Redis connections."""
    return {local_port for local_port, _ in _tcp_sockets(pid)}


def established_connections(pid: int, port: int) -> int:
    """Open TCP connections `pid` holds on local `port`: those a server accepted there (not its listener)."""
    return sum(local_port == port and state == _ESTABLISHED for local_port, state in _tcp_sockets(pid))


_ESTABLISHED = "01"


def _tcp_sockets(pid: int) -> list[tuple[int, str]]:
    """(local port, state in /proc/net/tcp's hex code) of each TCP socket `pid` has open."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if link.startswith("socket:["):
            inodes.add(link[len("socket:[") : -1])
    sockets = []
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[9] in inodes:
                    sockets.append((int(fields[1].rsplit(":", 1)[1], 16), fields[3]))
    return sockets
