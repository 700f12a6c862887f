"""Debian's etcdctl (etcd-client) for what the server does rarely: membership changes and
snapshots. Always against the local member's loopback client URL, with the v3 API."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ETCDCTL_BINARY = "/usr/bin/etcdctl"
ETCDCTL_MISSING = "etcdctl is not installed: `make install` puts in Debian's etcd-client (/usr/bin/etcdctl)"
TIMEOUT = 60.0  # seconds a command may take (a snapshot of a big store included)


class EtcdctlError(Exception):
    """etcdctl failed; the message is its own."""


@dataclass(frozen=True)
class Member:
    id: int
    name: str  # "" for a member added but not started yet
    peer_urls: tuple[str, ...]
    learner: bool

    @property
    def hex_id(self) -> str:
        return f"{self.id:x}"


def binary() -> str:
    found = shutil.which("etcdctl") or ETCDCTL_BINARY
    if not os.path.exists(found):
        raise EtcdctlError(ETCDCTL_MISSING)
    return found


async def run(endpoint: str | None, *args: str, timeout: float = TIMEOUT) -> str:
    """etcdctl's standard output, or EtcdctlError with its standard error."""
    argv = [binary(), *args] if endpoint is None else [binary(), "--endpoints", endpoint, *args]
    env = {**os.environ, "ETCDCTL_API": "3"}
    proc = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL, env=env,
                                                stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise EtcdctlError(f"etcdctl {args[0]} took more than {timeout:.0f} s") from None
    if proc.returncode != 0:  # its last line is the error; client retry logs come before it
        lines = err.decode(errors="replace").strip().splitlines()
        raise EtcdctlError(lines[-1].removeprefix("Error: ") if lines else f"etcdctl exited with {proc.returncode}")
    return out.decode(errors="replace")


def _members(doc: dict[str, Any]) -> list[Member]:
    return [Member(int(m["ID"]), m.get("name", ""), tuple(m.get("peerURLs") or ()), bool(m.get("isLearner")))
            for m in doc.get("members") or ()]


async def member_list(endpoint: str) -> list[Member]:
    return _members(json.loads(await run(endpoint, "-w", "json", "member", "list")))


async def member_add(endpoint: str, name: str, peer_url: str, *, learner: bool) -> list[Member]:
    """Add a member; the answer is the member list including it."""
    args = ["-w", "json", "member", "add", name, f"--peer-urls={peer_url}"]
    if learner:
        args.append("--learner")
    return _members(json.loads(await run(endpoint, *args)))


async def member_remove(endpoint: str, member: Member) -> None:
    await run(endpoint, "member", "remove", member.hex_id)


async def member_promote(endpoint: str, member: Member) -> None:
    await run(endpoint, "member", "promote", member.hex_id)


async def snapshot_save(endpoint: str, path: Path) -> None:
    await run(endpoint, "snapshot", "save", str(path))


async def snapshot_restore(path: Path, data_dir: Path, name: str, peer_url: str) -> None:
    """A new single-member data dir from a snapshot (etcd's data and revisions, one member)."""
    await run(None, "snapshot", "restore", str(path), "--data-dir", str(data_dir), "--name", name,
              "--initial-cluster", f"{name}={peer_url}", "--initial-advertise-peer-urls", peer_url)


def initial_cluster(members: list[Member], name: str, peer_url: str) -> str:
    """etcd's --initial-cluster for a joining member: every started member by name, and this one."""
    entries = [f"{m.name}={url}" for m in members if m.name and m.name != name for url in m.peer_urls]
    return ",".join([*entries, f"{name}={peer_url}"])
