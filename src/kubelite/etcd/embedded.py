"""The embedded etcd of one `kubelite server`, in the modes k3s has:

- `--cluster-init`: a new cluster of one member (later starts find the member and reuse it);
- `--server URL --token TOKEN`: join the cluster of that server (etcd/join.py), once; later
  starts find the member and reuse it, needing no other server;
- `--cluster-reset [--cluster-reset-restore-path FILE]`: make this member the only one of a new
  cluster, keeping its data or restoring a snapshot, then stop (the server exits and is
  started again without the flag), as k3s does.

The store is then etcd's loopback client URL: only this server uses it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from kubelite.etcd import etcdctl, layout, peertls
from kubelite.etcd.join import ClusterJoin
from kubelite.etcd.layout import EtcdConfigError, MemberUrls
from kubelite.etcd.process import EtcdProcess, PeerTls, etcd_flags

log = logging.getLogger(__name__)

# etcd's refusal to promote a learner that has not caught up (or not started) yet
LEARNER_BEHIND = "can only promote a learner member which is in sync with leader"
RESET_DONE = ("Managed etcd cluster membership has been reset, restart without --cluster-reset flag "
              "now. Backup and delete DATA_DIR/db on each peer etcd server and rejoin the nodes")


@dataclass
class EtcdSettings:
    """What `kubelite server` was asked to do with its embedded etcd."""

    advertise_ip: str
    cluster_init: bool = False
    join_server: str = ""  # https://FIRST:6443 to join
    join_token: str = ""  # the cluster's K10 token (when joining)
    client_port: int = layout.CLIENT_PORT
    peer_port: int = layout.PEER_PORT
    cluster_reset: bool = False
    restore_path: str = ""
    extra_hosts: list[str] = field(default_factory=list)  # more names for the peer certificate


class EmbeddedEtcd:
    """Sets up, starts, supervises and stops this server's etcd member."""

    def __init__(self, data_dir: Path, settings: EtcdSettings) -> None:
        self.data_dir = data_dir
        self.settings = settings
        self.process: EtcdProcess | None = None
        self.urls: MemberUrls | None = None
        self._lock = asyncio.Lock()  # one membership change at a time

    @property
    def client_url(self) -> str:
        assert self.urls is not None, "the embedded etcd is not started"
        return self.urls.client_url

    def _peer_tls(self) -> PeerTls:
        tls_dir = layout.tls_dir(self.data_dir)
        crt, key = peertls.ensure_peer_cert(tls_dir, {self.settings.advertise_ip, *self.settings.extra_hosts})
        return PeerTls(tls_dir / f"{peertls.PEER_CA}.crt", crt, key)

    def _urls(self) -> MemberUrls:
        s = self.settings
        return layout.member_urls(self.data_dir, s.advertise_ip, s.client_port, s.peer_port)

    def joining(self) -> bool:
        """Whether this start joins another server's cluster (it has no member yet)."""
        return bool(self.settings.join_server) and not layout.has_member(self.data_dir)

    async def copy_bootstrap(self) -> None:
        """Before anything else of the server: the cluster's CAs and keys, when joining."""
        if self.joining():
            join = ClusterJoin(self.settings.join_server, self.settings.join_token)
            written = await join.copy_bootstrap(self.data_dir)
            log.info("copied the cluster's bootstrap data from %s: %s", self.settings.join_server,
                     ", ".join(written))

    async def start(self) -> str:
        """Start the member (joining first if asked) and return the store URL once it serves."""
        self.urls = urls = self._urls()
        tls = self._peer_tls()
        pending = layout.pending_join(self.data_dir)
        if self.joining():
            join = ClusterJoin(self.settings.join_server, self.settings.join_token)
            layout.set_pending_join(self.data_dir, join.server)
            initial = await join.add_member(urls.name, urls.peer_url)
            log.info("joining the etcd cluster as %s (%s)", urls.name, initial)
            self._run(etcd_flags(self.data_dir, urls, tls, initial_cluster=initial, state="existing"))
            await self._finish_join(join)
        else:
            if not layout.has_member(self.data_dir):
                log.info("starting a new etcd cluster with member %s at %s", urls.name, urls.peer_url)
            self._run(etcd_flags(self.data_dir, urls, tls, initial_cluster=urls.initial_cluster(), state="new"))
            if pending:  # stopped while still a learner: it cannot serve until it is promoted
                log.info("finishing the join through %s", pending)
                await self._finish_join(ClusterJoin(pending, (self.data_dir / "token").read_text()))
        assert self.process is not None
        await self.process.wait_healthy()
        return urls.client_url

    async def _finish_join(self, join: ClusterJoin) -> None:
        assert self.urls is not None
        await join.promote(self.urls.name, self.urls.peer_url)
        layout.set_pending_join(self.data_dir, "")

    def _run(self, flags: list[str]) -> None:
        assert self.urls is not None
        layout.write_config(self.data_dir, self.urls)
        layout.make_etcd_dir(self.data_dir)
        self.process = EtcdProcess(flags, self.urls.client_url)
        self.process.start()

    async def reset(self) -> str:
        """`--cluster-reset`: this member alone in a new cluster (from a snapshot if
        `restore_path`), then stopped. The message for the user."""
        self.urls = urls = self._urls()
        tls = self._peer_tls()
        layout.set_pending_join(self.data_dir, "")  # alone from now on: nothing left to join
        if self.settings.restore_path:
            await self._restore(Path(self.settings.restore_path), urls)
        elif not layout.has_member(self.data_dir):
            raise EtcdConfigError(f"--cluster-reset: no etcd data in {layout.etcd_dir(self.data_dir)}")
        self._run(etcd_flags(self.data_dir, urls, tls, initial_cluster=urls.initial_cluster(), state="new",
                             extra=("--force-new-cluster",)))
        try:
            assert self.process is not None
            await self.process.wait_healthy(timeout=120)
        finally:
            await self.stop()
        return RESET_DONE

    async def _restore(self, snapshot: Path, urls: MemberUrls) -> None:
        if not snapshot.is_file():
            raise EtcdConfigError(f"--cluster-reset-restore-path: {snapshot} is not a file")
        db = layout.db_dir(self.data_dir)
        staging = db / f"etcd-restore-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        await etcdctl.snapshot_restore(snapshot, staging, urls.name, urls.peer_url)
        if layout.etcd_dir(self.data_dir).exists():
            old = layout.move_aside(self.data_dir, int(time.time()))
            log.info("moved the old etcd data to %s", old)
        os.replace(staging / "member", layout.make_etcd_dir(self.data_dir) / "member")
        shutil.rmtree(staging, ignore_errors=True)
        log.info("restored etcd from %s", snapshot)

    # -- membership, for servers that join through this one --------------------------------

    async def add_learner(self, name: str, peer_url: str) -> str:
        """Add `name` at `peer_url` as a learner (replacing a stale member of that name or
        URL: a server joining again after losing its data); etcd's --initial-cluster for it."""
        async with self._lock:
            members = await etcdctl.member_list(self.client_url)
            for m in members:
                if m.name == name and m.peer_urls == (peer_url,):
                    return etcdctl.initial_cluster(members, name, peer_url)  # asked again: same answer
                if m.name == name or peer_url in m.peer_urls:
                    log.info("removing the stale etcd member %s (%s) before it joins again", m.name or m.hex_id,
                             ",".join(m.peer_urls))
                    await etcdctl.member_remove(self.client_url, m)
            members = await etcdctl.member_add(self.client_url, name, peer_url, learner=True)
            log.info("added etcd learner %s at %s", name, peer_url)
            return etcdctl.initial_cluster(members, name, peer_url)

    async def promote(self, name: str, peer_url: str) -> bool:
        """Promote the learner `name` at `peer_url` to a voting member: True once it votes,
        False while it is still catching up (or not started: etcd then knows only its URL).
        KeyError if there is no such member."""
        async with self._lock:
            member = next((m for m in await etcdctl.member_list(self.client_url)
                           if m.name == name or (not m.name and peer_url in m.peer_urls)), None)
            if member is None:
                raise KeyError(name)
            if not member.learner:
                return True
            try:
                await etcdctl.member_promote(self.client_url, member)
            except etcdctl.EtcdctlError as e:
                if LEARNER_BEHIND in str(e):
                    return False
                raise
            log.info("promoted etcd member %s", name)
            return True

    async def remove_at(self, addresses: set[str]) -> list[str]:
        """Remove the members whose peer URLs are on one of `addresses` (the machine of a
        deleted Node), never the last member; the names removed."""
        async with self._lock:
            members = await etcdctl.member_list(self.client_url)
            doomed = [m for m in members if any(urlsplit(u).hostname in addresses for u in m.peer_urls)]
            if doomed and len(doomed) >= len(members):
                log.warning("not removing etcd member(s) %s: a cluster keeps its last member",
                            ", ".join(m.name for m in doomed))
                return []
            for m in doomed:
                await etcdctl.member_remove(self.client_url, m)
                log.info("removed etcd member %s (%s): its node was deleted", m.name or m.hex_id,
                         ",".join(m.peer_urls))
            return [m.name for m in doomed]

    # -- lifetime ---------------------------------------------------------------------------

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()
