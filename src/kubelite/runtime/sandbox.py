"""Pod sandboxes without a pause process.

A pod's shared namespaces are kept alive by bind-mounted namespace files instead of a process:
a named network namespace (`ip netns add`), and IPC and UTS namespaces pinned with
`unshare --ipc=FILE --uts=FILE hostname NAME`. Containers join them by path. The sandbox also
owns the pod's /dev/shm (one tmpfs shared by every container, so POSIX shared memory works
across the pod) and the generated /etc/hosts, /etc/hostname and /etc/resolv.conf.

For `shareProcessNamespace` a PID namespace needs a living init, so that case does start one
small process (a shell that reaps orphans), pinned by a file like the others.

Every sandbox lives in `<state_dir>/<name>/`, with its network namespace named
`<prefix>-<name>`; the prefix is the cluster's, so clusters on one machine never collide and
`find_sandboxes()` finds exactly this cluster's sandboxes after an agent restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Awaitable
from dataclasses import asdict, dataclass, field

NETNS_DIR = "/run/netns"
SHM_SIZE = 64 * 1024 * 1024
HOSTS_HEADER = "# Kubernetes-managed hosts file."
HOSTS_HEADER_HOST_NETWORK = "# Kubernetes-managed hosts file (host network)."


class SandboxError(Exception):
    """Creating or destroying a pod sandbox failed."""


@dataclass
class DnsConfig:
    """What goes into the pod's /etc/resolv.conf."""

    nameservers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)  # e.g. ["ndots:5"]


@dataclass
class SandboxConfig:
    """A pod's sandbox, in plain data. `name` must be unique in the cluster (use the pod UID)."""

    name: str
    hostname: str
    fqdn: str = ""  # "<hostname>.<subdomain>.<namespace>.svc.<domain>" when the pod has a subdomain
    host_network: bool = False
    host_ipc: bool = False
    share_pid: bool = False
    dns: DnsConfig | None = None  # None: use the host's /etc/resolv.conf
    host_aliases: list[tuple[str, list[str]]] = field(default_factory=list)
    shm_size: int = SHM_SIZE


@dataclass
class SandboxInfo:
    """Where a sandbox's namespaces and files are. Empty paths mean "use the host's"."""

    name: str
    dir: str
    netns_name: str = ""
    netns_path: str = ""
    ipc_path: str = ""
    uts_path: str = ""
    pid_path: str = ""
    shm_dir: str = ""
    hosts_path: str = ""
    hostname_path: str = ""
    resolv_path: str = ""
    pod_ip: str = ""
    config: SandboxConfig | None = None


async def _run(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise SandboxError(f"{' '.join(args)}: {err.decode(errors='replace').strip()}")
    return out.decode()


async def _umount(path: str) -> None:
    """Unmount `path` if it is mounted (lazily, so a busy mount does not block teardown)."""
    if os.path.ismount(path) or _is_nsfs_mount(path):
        with contextlib.suppress(SandboxError):
            await _run("umount", "-l", path)


def _is_nsfs_mount(path: str) -> bool:
    """A namespace file bind mount is a mount point, but os.path.ismount misses files."""
    real = os.path.realpath(path)
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == real for line in f)
    except OSError:
        return False


def hosts_file(cfg: SandboxConfig, pod_ip: str) -> str:
    """The kubelet's managed /etc/hosts for a pod with its own network namespace."""
    lines = [
        HOSTS_HEADER,
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix",
        "fe00::1\tip6-allnodes",
        "fe00::2\tip6-allrouters",
    ]
    if pod_ip:
        if cfg.fqdn:
            lines.append(f"{pod_ip}\t{cfg.fqdn}\t{cfg.hostname}")
        else:
            lines.append(f"{pod_ip}\t{cfg.hostname}")
    text = "\n".join(lines) + "\n"
    return text + _host_aliases(cfg)


def _host_aliases(cfg: SandboxConfig) -> str:
    if not cfg.host_aliases:
        return ""
    lines = ["", "# Entries added by HostAliases."]
    lines += [f"{ip}\t" + "\t".join(names) for ip, names in cfg.host_aliases]
    return "\n".join(lines) + "\n"


def host_network_hosts_file(cfg: SandboxConfig, host_hosts: str = "/etc/hosts") -> str:
    """With hostNetwork the pod sees the node's /etc/hosts, plus its host aliases."""
    with open(host_hosts) as f:
        content = f.read()
    if content and not content.endswith("\n"):
        content += "\n"
    return f"{HOSTS_HEADER_HOST_NETWORK}\n{content}{_host_aliases(cfg)}"


def resolv_conf(dns: DnsConfig | None, host_resolv: str = "/etc/resolv.conf") -> str:
    """The pod's /etc/resolv.conf: from `dns`, or the host's when `dns` is None."""
    if dns is None:
        try:
            with open(host_resolv) as f:
                return f.read()
        except OSError:
            return ""
    lines = [f"nameserver {ns}" for ns in dns.nameservers]
    if dns.searches:
        lines.append("search " + " ".join(dns.searches))
    if dns.options:
        lines.append("options " + " ".join(dns.options))
    return "".join(line + "\n" for line in lines)


def _write(path: str, text: str) -> None:
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


async def _make_netns(name: str) -> None:
    await _run("ip", "netns", "add", name)
    await _run("ip", "-n", name, "link", "set", "lo", "up")


def _touch(path: str) -> None:
    with open(path, "a"):
        pass


class SandboxManager:
    """Creates, destroys and finds this cluster's pod sandboxes."""

    def __init__(self, prefix: str, state_dir: str) -> None:
        if not prefix or "/" in prefix:
            raise ValueError(f"invalid sandbox prefix {prefix!r}")
        self.prefix = prefix
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)

    def _dir(self, name: str) -> str:
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"invalid sandbox name {name!r}")
        return os.path.join(self.state_dir, name)

    def netns_name(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    async def create_sandbox(self, cfg: SandboxConfig) -> SandboxInfo:
        """Create the pod's namespaces and files. On failure nothing is left behind."""
        sdir = self._dir(cfg.name)
        if os.path.exists(sdir):
            raise SandboxError(f"sandbox {cfg.name} already exists")
        os.makedirs(sdir)
        info = SandboxInfo(name=cfg.name, dir=sdir, config=cfg)
        try:
            await self._create(cfg, info)
        except BaseException:
            await self.destroy_sandbox(cfg.name)
            raise
        return info

    async def _create(self, cfg: SandboxConfig, info: SandboxInfo) -> None:
        sdir = info.dir
        self._save(info)  # first, so destroy_sandbox can find what to undo
        steps: list[Awaitable[object]] = []  # independent of each other: run together
        if not cfg.host_network:
            info.netns_name = self.netns_name(cfg.name)
            info.netns_path = os.path.join(NETNS_DIR, info.netns_name)
            steps.append(_make_netns(info.netns_name))
        unshare = ["unshare"]
        if not cfg.host_ipc:
            info.ipc_path = os.path.join(sdir, "ipc")
            _touch(info.ipc_path)
            unshare.append(f"--ipc={info.ipc_path}")
        if not cfg.host_network:  # hostNetwork pods also use the node's UTS namespace
            info.uts_path = os.path.join(sdir, "uts")
            _touch(info.uts_path)
            unshare.append(f"--uts={info.uts_path}")
        if cfg.host_ipc:
            info.shm_dir = "/dev/shm"
        else:
            info.shm_dir = os.path.join(sdir, "shm")
            os.makedirs(info.shm_dir)
        self._save(info)
        if len(unshare) > 1:
            steps.append(_run(*unshare, *(("hostname", cfg.hostname) if info.uts_path
                                          else ("true",))))
        if cfg.share_pid:
            steps.append(self._start_pid_holder(info))
        if not cfg.host_ipc:
            steps.append(_run("mount", "-t", "tmpfs", "-o",
                              f"nosuid,nodev,noexec,mode=1777,size={cfg.shm_size}", "shm",
                              info.shm_dir))
        results = await asyncio.gather(*steps, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        info.hostname_path = os.path.join(sdir, "hostname")
        hostname = socket.gethostname() if cfg.host_network else cfg.hostname
        _write(info.hostname_path, hostname + "\n")
        info.resolv_path = os.path.join(sdir, "resolv.conf")
        _write(info.resolv_path, resolv_conf(cfg.dns))
        info.hosts_path = os.path.join(sdir, "hosts")
        if cfg.host_network:
            _write(info.hosts_path, host_network_hosts_file(cfg))
        else:
            _write(info.hosts_path, hosts_file(cfg, ""))
        self._save(info)

    async def _start_pid_holder(self, info: SandboxInfo) -> None:
        """A PID namespace dies with its init, so shareProcessNamespace needs one that stays:
        a shell that reaps the orphans the containers leave (the role of the pause process)."""
        info.pid_path = os.path.join(info.dir, "pid")
        _touch(info.pid_path)
        self._save(info)
        init = "trap 'exit 0' TERM; while :; do sleep 3600 & wait; done"
        proc = subprocess.Popen(
            ["unshare", f"--pid={info.pid_path}", "--fork", "--kill-child", "sh", "-c", init],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _write(os.path.join(info.dir, "pid-holder"), str(proc.pid))
        for _ in range(200):  # the bind mount appears once unshare has run
            if _is_nsfs_mount(info.pid_path):
                return
            await asyncio.sleep(0.005)
        raise SandboxError("the pod's PID namespace did not come up")

    async def set_pod_ip(self, name: str, pod_ip: str) -> SandboxInfo:
        """Record the pod IP (after CNI ADD) and write it into the pod's /etc/hosts."""
        info = self.load(name)
        if info is None or info.config is None:
            raise SandboxError(f"sandbox {name} not found")
        info.pod_ip = pod_ip
        if not info.config.host_network:
            # In place: containers created before the network came up bind-mount this inode.
            with open(info.hosts_path, "w") as f:
                f.write(hosts_file(info.config, pod_ip))
        self._save(info)
        return info

    async def destroy_sandbox(self, name: str) -> None:
        """Remove the sandbox's namespaces, mounts and files. Safe to call again, or on a
        half-created sandbox. Remove the pod's network (CNI DEL) first."""
        sdir = self._dir(name)
        info = self.load(name) or SandboxInfo(name=name, dir=sdir)
        holder = os.path.join(sdir, "pid-holder")
        if os.path.exists(holder):
            with contextlib.suppress(OSError, ValueError):
                with open(holder) as f:
                    pid = int(f.read().strip())
                os.killpg(pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
        for path in ("pid", "ipc", "uts", "shm"):
            await _umount(os.path.join(sdir, path))
        netns = info.netns_name or self.netns_name(name)
        if os.path.exists(os.path.join(NETNS_DIR, netns)):
            with contextlib.suppress(SandboxError):
                await _run("ip", "netns", "del", netns)
        shutil.rmtree(sdir, ignore_errors=True)

    def load(self, name: str) -> SandboxInfo | None:
        try:
            with open(os.path.join(self._dir(name), "sandbox.json")) as f:
                raw = json.load(f)
        except (OSError, ValueError):
            return None
        cfg = raw.pop("config", None)
        info = SandboxInfo(**raw)
        if cfg is not None:
            dns = cfg.pop("dns", None)
            aliases = [(ip, list(names)) for ip, names in cfg.pop("host_aliases", [])]
            info.config = SandboxConfig(
                **cfg, dns=DnsConfig(**dns) if dns else None, host_aliases=aliases
            )
        return info

    def _save(self, info: SandboxInfo) -> None:
        _write(os.path.join(info.dir, "sandbox.json"), json.dumps(asdict(info)))

    def find_sandboxes(self) -> list[SandboxInfo]:
        """This cluster's sandboxes on this machine (for adoption after an agent restart)."""
        found = []
        for name in sorted(os.listdir(self.state_dir)):
            info = self.load(name)
            if info is not None:
                found.append(info)
        return found
