"""Drive an OCI runtime (runc or crun) with each container under conmon.

conmon is the container's parent for its whole life: it runs `runc create`, writes the
container's output to a log file in the kubelet's CRI format (`<RFC3339Nano> stdout|stderr F|P
line`), and writes the exit code to a file when the container ends. Because conmon is not our
child, containers, their logs and their exit codes survive a restart of the agent; a new
`OciRuntime` on the same `state_root` finds them again with `list()`.

Layout of `state_root` (one per cluster, so two clusters on one machine never collide):

    <state_root>/runc/                    the runtime's own --root
    <state_root>/containers/<id>/         meta.json, ctr.pid, conmon.pid, started,
                                          exits/<id> (exit code), persist/ (conmon's oom file)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal as signals
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from kubelite.runtime import cgroups

Status = Literal["created", "running", "stopped"]

CONMON = "/usr/bin/conmon"
CREATE_TIMEOUT = 30.0
WAIT_INTERVAL = 0.1
IDLE_WAIT_INTERVAL = 0.5
FAST_WAIT_SECONDS = 5.0


class OciError(Exception):
    """The runtime or conmon failed; the message carries their own words."""


class ContainerNotFoundError(OciError):
    """No container with this id exists in this runtime's state root."""


class RuntimeUnavailableError(OciError):
    """The runtime cannot run on this host as configured (e.g. crun on hybrid cgroups)."""


@dataclass
class ContainerState:
    """The runtime's view of one container instance."""

    id: str
    status: Status
    pid: int = 0
    exit_code: int | None = None
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    oom_killed: bool = False
    bundle: str = ""
    log_path: str = ""
    cgroups_path: str = ""


def crun_hybrid_problem() -> str | None:
    """Why crun cannot run here, or None. crun refuses hybrid hosts whose cgroup2 has
    controllers; on this kind of machine only `hugetlb` is there."""
    ctrls = cgroups.unified_controllers_on_hybrid()
    if not ctrls:
        return None
    return (
        "crun does not support hybrid cgroups with controllers in cgroup2 "
        f"({', '.join(ctrls)}): use runc, or let kubelite move hugetlb to a v1 hierarchy "
        "(OciRuntime(..., apply_hugetlb_workaround=True) mounts it at "
        "/sys/fs/cgroup/hugetlb)"
    )


def mount_hugetlb_v1(mountpoint: str = "/sys/fs/cgroup/hugetlb") -> None:
    """Bind hugetlb to a v1 hierarchy so cgroup2 is left with no controllers (crun then works).

    This changes the host until reboot or until the hierarchy is emptied and unmounted.
    """
    if "hugetlb" not in cgroups.unified_controllers_on_hybrid():
        return
    os.makedirs(mountpoint, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "cgroup", "-o", "hugetlb", "cgroup", mountpoint],
        check=True,
        capture_output=True,
    )
    cgroups.forget_hierarchies()


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _parse_rfc3339(text: str) -> datetime | None:
    """runc's `created` has nanoseconds, which datetime cannot hold: cut them to micro."""
    if not text:
        return None
    text = text.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(ch for ch in rest if ch.isdigit())
        tz = rest[len(digits) :]
        text = f"{head}.{digits[:6]}{tz}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


class OciRuntime:
    """One OCI runtime binary with a private state root. All methods are async."""

    def __init__(
        self,
        binary: str = "runc",
        state_root: str = "/run/kubelite/runtime",
        *,
        conmon: str = CONMON,
        apply_hugetlb_workaround: bool = False,
    ) -> None:
        path = shutil.which(binary)
        if path is None:
            raise RuntimeUnavailableError(
                f"{binary} not found: install it (apt-get install {os.path.basename(binary)})"
            )
        self.binary = path
        self.name = os.path.basename(path)
        if self.name == "crun":
            if apply_hugetlb_workaround:
                mount_hugetlb_v1()
            problem = crun_hybrid_problem()
            if problem:
                raise RuntimeUnavailableError(problem)
        self.conmon = conmon
        self.state_root = os.path.abspath(state_root)
        self.runtime_root = os.path.join(self.state_root, "runc")
        self.containers_dir = os.path.join(self.state_root, "containers")
        os.makedirs(self.runtime_root, exist_ok=True)
        os.makedirs(self.containers_dir, exist_ok=True)

    # ---- helpers -----------------------------------------------------------------------

    def command(self, *args: str) -> list[str]:
        """The runtime command line with our state root, e.g. for `exec`."""
        return [self.binary, "--root", self.runtime_root, *args]

    async def _run(self, *args: str) -> tuple[int, bytes, bytes]:
        proc = await asyncio.create_subprocess_exec(
            *self.command(*args),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        assert proc.returncode is not None
        return proc.returncode, out, err

    async def _check(self, *args: str) -> bytes:
        rc, out, err = await self._run(*args)
        if rc != 0:
            msg = (err or out).decode(errors="replace").strip()
            if "does not exist" in msg or "not found" in msg:
                raise ContainerNotFoundError(msg)
            raise OciError(f"{self.name} {args[0]}: {msg}")
        return out

    def _dir(self, cid: str) -> str:
        if not cid or "/" in cid or cid in (".", ".."):
            raise ValueError(f"invalid container id {cid!r}")
        return os.path.join(self.containers_dir, cid)

    def _meta(self, cid: str) -> dict[str, Any]:
        try:
            with open(os.path.join(self._dir(cid), "meta.json")) as f:
                meta: dict[str, Any] = json.load(f)
                return meta
        except (OSError, ValueError):
            return {}

    def _write_meta(self, cid: str, meta: dict[str, Any]) -> None:
        path = os.path.join(self._dir(cid), "meta.json")
        with open(path + ".tmp", "w") as f:
            json.dump(meta, f)
        os.replace(path + ".tmp", path)

    def _exit_file(self, cid: str) -> str:
        return os.path.join(self._dir(cid), "exits", cid)

    def _read_exit(self, cid: str) -> tuple[int | None, float | None]:
        path = self._exit_file(cid)
        try:
            with open(path) as f:
                text = f.read().strip()
            return int(text), os.stat(path).st_mtime
        except (OSError, ValueError):
            return None, None

    def _conmon_alive(self, cid: str) -> bool:
        try:
            with open(os.path.join(self._dir(cid), "conmon.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return False
        # A zombie still answers kill(0); look at its state.
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    # ---- lifecycle ---------------------------------------------------------------------

    async def create(
        self, cid: str, bundle_dir: str, config: dict[str, Any], log_path: str,
        *, stdin: bool = False, stdin_once: bool = False,
    ) -> None:
        """Write `config.json` into the bundle and create the container under conmon.

        The container exists (status `created`) when this returns; `start` runs it. With
        `stdin`, conmon keeps a pipe to the process's stdin that `attach_socket` feeds; it is
        closed when the first attached client leaves if `stdin_once`.
        """
        cdir = self._dir(cid)
        if os.path.exists(cdir):
            raise OciError(f"container {cid} already exists")
        os.makedirs(bundle_dir, exist_ok=True)
        with open(os.path.join(bundle_dir, "config.json"), "w") as f:
            json.dump(config, f)
        os.makedirs(os.path.join(cdir, "exits"))
        os.makedirs(os.path.join(cdir, "persist"))
        os.makedirs(os.path.join(cdir, "sock"))
        os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
        cgroups_path = config.get("linux", {}).get("cgroupsPath", "")
        meta: dict[str, Any] = {
            "bundle": os.path.abspath(bundle_dir),
            "log_path": os.path.abspath(log_path),
            "cgroups_path": cgroups_path,
            "created_at": time.time(),
        }
        self._write_meta(cid, meta)
        args = [
            self.conmon, "--api-version", "1", "-c", cid, "-u", cid, "-n", cid,
            "-r", self.binary, "-b", meta["bundle"],
            "-p", os.path.join(cdir, "ctr.pid"), "-P", os.path.join(cdir, "conmon.pid"),
            "-l", "k8s-file:" + meta["log_path"],
            "--exit-dir", os.path.join(cdir, "exits"),
            "--persist-dir", os.path.join(cdir, "persist"),
            "--socket-dir-path", os.path.join(cdir, "sock"),
            "--runtime-arg", "--root", "--runtime-arg", self.runtime_root,
            "--runtime-arg", "--log", "--runtime-arg", os.path.join(cdir, "runtime.log"),
            "--runtime-arg", "--log-format", "--runtime-arg", "json",
            "--log-level", "error",
        ]  # fmt: skip
        if config.get("process", {}).get("terminal"):
            args.append("--terminal")
        if stdin:
            args.append("--stdin")
            if not stdin_once:
                args.append("--leave-stdin-open")
        conmon_log = os.path.join(cdir, "conmon.log")
        read_fd, write_fd = os.pipe()
        try:
            with open(conmon_log, "wb") as log:
                proc = await asyncio.create_subprocess_exec(
                    *args,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=log,
                    pass_fds=(write_fd,),
                    env={**os.environ, "_OCI_SYNCPIPE": str(write_fd)},
                    cwd=cdir,  # conmon also drops an "oom" file in its working directory
                )
            os.close(write_fd)
            write_fd = -1
            await proc.wait()
            line = await asyncio.wait_for(asyncio.to_thread(_read_line, read_fd), CREATE_TIMEOUT)
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
        result = _parse_sync(line)
        if result is None or result.get("data", -1) <= 0:
            message = (
                (result or {}).get("message")
                or _runtime_error(os.path.join(cdir, "runtime.log"))
                or _conmon_error(conmon_log)
            )
            await self._cleanup_failed(cid)
            raise OciError(f"{self.name} create {cid}: {message or 'conmon failed'}")
        if cgroups_path:
            meta["oom_baseline"] = cgroups.oom_kill_count(cgroups_path)
            self._write_meta(cid, meta)

    async def _cleanup_failed(self, cid: str) -> None:
        await self._run("delete", "--force", cid)
        shutil.rmtree(self._dir(cid), ignore_errors=True)

    async def start(self, cid: str) -> None:
        """Run the created container's process."""
        meta = self._meta(cid)
        if not meta:
            raise ContainerNotFoundError(f"container {cid} does not exist")
        await self._check("start", cid)
        meta["started_at"] = time.time()
        self._write_meta(cid, meta)

    async def state(self, cid: str) -> ContainerState:
        """Status, pid and, once stopped, exit code, finish time and whether it was OOM-killed."""
        meta = self._meta(cid)
        try:
            raw = json.loads(await self._check("state", cid))
        except ContainerNotFoundError:
            if not meta:
                raise
            raw = {"status": "stopped", "pid": 0}
        return await self._to_state(cid, raw, meta)

    async def _to_state(
        self, cid: str, raw: dict[str, Any], meta: dict[str, Any]
    ) -> ContainerState:
        status: Status = (
            "running" if raw.get("status") == "paused" else raw.get("status", "stopped")
        )
        created = _ts(meta.get("created_at")) or _parse_rfc3339(raw.get("created", ""))
        st = ContainerState(
            id=cid,
            status=status,
            pid=int(raw.get("pid") or 0),
            created_at=created,
            started_at=_ts(meta.get("started_at")),
            bundle=meta.get("bundle", raw.get("bundle", "")),
            log_path=meta.get("log_path", ""),
            cgroups_path=meta.get("cgroups_path", ""),
        )
        if status != "stopped":
            return st
        st.pid = 0
        code, finished = self._read_exit(cid)
        # conmon writes the exit file just after the process is reaped: give it a moment.
        deadline = time.monotonic() + 2.0
        while code is None and self._conmon_alive(cid) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
            code, finished = self._read_exit(cid)
        st.exit_code = code
        st.finished_at = _ts(finished)
        if st.finished_at and st.started_at and st.finished_at < st.started_at:
            # A process that ends at once may exit before `start` wrote down its start time.
            st.started_at = st.finished_at
        if "oom_killed" not in meta:
            meta["oom_killed"] = self._oom_killed(cid, meta)
            if code is not None and meta.get("bundle"):
                # Final: a later reading of a counter shared with a new instance must not change it.
                with contextlib.suppress(OSError):
                    self._write_meta(cid, meta)
        st.oom_killed = bool(meta["oom_killed"])
        return st

    def _oom_killed(self, cid: str, meta: dict[str, Any]) -> bool:
        """An OOM kill in this instance: conmon's oom file, or the cgroup's counter went up
        since this instance was created (never a count inherited from an earlier one)."""
        if os.path.exists(os.path.join(self._dir(cid), "persist", "oom")):
            return True
        path = meta.get("cgroups_path")
        if not path:
            return False
        return cgroups.oom_kill_count(path) > int(meta.get("oom_baseline", 0))

    async def kill(self, cid: str, signal: int | str = signals.SIGTERM) -> None:
        """Send a signal to the container's init process. A stopped container is not an error."""
        sig = signal if isinstance(signal, str) else str(int(signal))
        rc, out, err = await self._run("kill", cid, sig)
        if rc != 0:
            msg = (err or out).decode(errors="replace").strip()
            if "not running" in msg or "process already finished" in msg:
                return
            if "does not exist" in msg:
                raise ContainerNotFoundError(msg)
            raise OciError(f"{self.name} kill: {msg}")

    async def delete(self, cid: str, force: bool = False) -> None:
        """Remove the container and its state. With `force`, kill it first (KILL, then delete:
        `delete -f` on a running container costs ~100 ms in runc). Deleting a container that is
        already gone is not an error."""
        if force:
            try:
                st = await self.state(cid)
            except ContainerNotFoundError:
                st = None
            if st is not None and st.status != "stopped":
                await self.kill(cid, "KILL")
                deadline = time.monotonic() + 5.0
                while time.monotonic() < deadline:
                    rc, out, _err = await self._run("state", cid)
                    if rc != 0 or json.loads(out).get("status") == "stopped":
                        break
                    await asyncio.sleep(0.01)
        rc, out, err = await self._run("delete", *(["--force"] if force else []), cid)
        msg = (err or out).decode(errors="replace").strip()
        if rc != 0 and "does not exist" not in msg:
            raise OciError(f"{self.name} delete: {msg}")
        # Let conmon finish writing the exit file and leave before removing its directory.
        deadline = time.monotonic() + 2.0
        while os.path.isdir(self._dir(cid)) and self._conmon_alive(cid):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.01)
        shutil.rmtree(self._dir(cid), ignore_errors=True)

    async def list(self) -> list[ContainerState]:
        """Every container in this state root, for adoption after an agent restart."""
        out = await self._check("list", "--format", "json")
        raws = json.loads(out or b"null") or []
        by_id = {r["id"]: r for r in raws}
        ids = set(by_id) | set(os.listdir(self.containers_dir))
        states = []
        for cid in sorted(ids):
            meta = self._meta(cid)
            raw = by_id.get(cid, {"status": "stopped", "pid": 0})
            states.append(await self._to_state(cid, raw, meta))
        return states

    async def wait(self, cid: str) -> ContainerState:
        """Wait until the container has stopped (by polling conmon's exit file) and return
        its final state. The file is read every 0.1 s for the first seconds (a stop that was
        asked for, a process that ends soon), then every 0.5 s, as often as the kubelet's
        PLEG relists: a hundred long-running containers cost a thousand wake-ups a second
        otherwise."""
        self._dir(cid)
        started = time.monotonic()
        next_conmon_check = started + 2
        while True:
            code, _ = self._read_exit(cid)
            if code is not None:
                return await self.state(cid)
            now = time.monotonic()
            # Every ~2 s, notice a conmon that died without an exit file (asking runc only
            # then: a `runc state` per container every 2 s was most of an idle agent's CPU).
            if now >= next_conmon_check:
                next_conmon_check = now + 2
                if not self._conmon_alive(cid):
                    st = await self.state(cid)
                    if st.status == "stopped":
                        return st
            fast = now - started < FAST_WAIT_SECONDS
            await asyncio.sleep(WAIT_INTERVAL if fast else IDLE_WAIT_INTERVAL)

    def stats(self, cid: str) -> cgroups.CgroupStats:
        """CPU, memory and pid figures from the container's cgroup."""
        path = self._meta(cid).get("cgroups_path")
        if not path:
            raise ContainerNotFoundError(f"container {cid} has no known cgroup")
        return cgroups.read_stats(path)


def _read_line(fd: int) -> bytes:
    """Read the first line conmon writes to the sync pipe (blocking; run in a thread)."""
    data = b""
    while b"\n" not in data:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]


def _runtime_error(log_file: str) -> str:
    """The last error the runtime logged (runc and crun both write JSON lines with `msg`)."""
    message = ""
    try:
        with open(log_file) as f:
            for line in f:
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if isinstance(entry, dict) and entry.get("level") in ("error", "fatal"):
                    message = str(entry.get("msg", ""))
    except OSError:
        pass
    return message


def _conmon_error(log_file: str) -> str:
    """conmon's last error line (`[conmon:e]: ...`), without the harmless oom_score_adj noise."""
    try:
        with open(log_file, errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip() and "oom_score_adj" not in ln]
    except OSError:
        return ""
    errors = [ln for ln in lines if ln.startswith("[conmon:e]")]
    return (errors or lines or [""])[-1]


def _parse_sync(line: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
