"""Run a process inside a running container (`runc exec`), with pipes or a terminal.

Without a terminal the session has three pipes. With one, `runc exec -t` needs a controlling
terminal, so we open a pty, make its slave the child's controlling terminal, and talk through
the master: reads give the merged output, `resize()` sets the window size on the master, and
the kernel's SIGWINCH makes runc pass the new size on to the container's own terminal.

`runc exec --pid-file` tells us the process's host pid, so a timed-out exec (a probe) is killed
for real: killing `runc exec` itself would leave the process running in the container.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import pty
import signal
import struct
import termios
import uuid

from kubelite.runtime.oci import OciRuntime

READ_SIZE = 65536
TTY_TERM = "TERM=xterm"  # what containerd puts in the environment of an exec with a terminal


class ExecTimeoutError(Exception):
    """The exec'd process did not finish in time; it has been killed."""


def _make_controlling_tty() -> None:  # runs in the child, after setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class ExecSession:
    """One process started by `runc exec`. Use `exec_process()` to make one."""

    def __init__(
        self, proc: asyncio.subprocess.Process, pid_file: str, master_fd: int | None
    ) -> None:
        self.proc = proc
        self.pid_file = pid_file
        self.tty = master_fd is not None
        self._master = master_fd
        self._tty_output: asyncio.Queue[bytes] = asyncio.Queue()
        if master_fd is not None:
            os.set_blocking(master_fd, False)
            asyncio.get_running_loop().add_reader(master_fd, self._on_tty_readable)

    def _on_tty_readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, READ_SIZE)
        except BlockingIOError:
            return
        except OSError as e:  # EIO: the terminal's other side is closed (the process ended)
            if e.errno != errno.EIO:
                raise
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._master)
        self._tty_output.put_nowait(data)

    async def write_stdin(self, data: bytes) -> None:
        """Send bytes to the process's stdin (or the terminal's input)."""
        if self._master is not None:
            view = memoryview(data)
            while view:
                try:
                    n = os.write(self._master, view)
                    view = view[n:]
                except BlockingIOError:
                    await asyncio.sleep(0.005)
            return
        if self.proc.stdin is None:
            raise ValueError("the exec session was started without stdin")
        self.proc.stdin.write(data)
        await self.proc.stdin.drain()

    async def close_stdin(self) -> None:
        """End of input: closes the pipe, or types ^D on a terminal."""
        if self._master is not None:
            await self.write_stdin(b"\x04")
        elif self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await self.proc.stdin.wait_closed()

    async def read_stdout(self, n: int = READ_SIZE) -> bytes:
        """Up to `n` bytes of output (the terminal's, with a tty); b"" at the end."""
        if self._master is not None:
            data = await self._tty_output.get()
            if not data:
                self._tty_output.put_nowait(b"")  # stay at EOF for later readers
            return data
        assert self.proc.stdout is not None
        return await self.proc.stdout.read(n)

    async def read_stderr(self, n: int = READ_SIZE) -> bytes:
        """Up to `n` bytes of stderr; always b"" with a tty (it is merged into stdout)."""
        if self._master is not None or self.proc.stderr is None:
            return b""
        return await self.proc.stderr.read(n)

    def resize(self, width: int, height: int) -> None:
        """Set the terminal's size in columns and rows (a no-op without a tty)."""
        if self._master is not None:
            fcntl.ioctl(self._master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    def container_pid(self) -> int | None:
        """The exec'd process's pid on the host, once runc has started it."""
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    async def kill(self) -> None:
        """Kill the process in the container (and the runc exec that waits for it)."""
        pid = self.container_pid()
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()

    async def wait(self, timeout: float | None = None) -> int:
        """The process's exit code. After `timeout` seconds it is killed and
        ExecTimeoutError is raised."""
        try:
            code = await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            await self.kill()
            await self.proc.wait()
            self._cleanup()
            raise ExecTimeoutError(f"command timed out after {timeout}s") from None
        self._cleanup()
        return code

    async def communicate(
        self, stdin: bytes | None = None, timeout: float | None = None
    ) -> tuple[int, bytes, bytes]:
        """Write `stdin` (then close it), read all output, wait: (exit code, stdout, stderr)."""

        async def drain(read: object) -> bytes:
            chunks = []
            while chunk := await read():  # type: ignore[operator]
                chunks.append(chunk)
            return b"".join(chunks)

        async def run() -> tuple[bytes, bytes]:
            if stdin is not None:
                await self.write_stdin(stdin)
                await self.close_stdin()
            out, err = await asyncio.gather(drain(self.read_stdout), drain(self.read_stderr))
            return out, err

        try:
            out, err = await asyncio.wait_for(run(), timeout)
        except TimeoutError:
            await self.kill()
            await self.proc.wait()
            self._cleanup()
            raise ExecTimeoutError(f"command timed out after {timeout}s") from None
        return await self.wait(), out, err

    def _cleanup(self) -> None:
        if self._master is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(self._master)
            os.close(self._master)
            self._master = None
            self._tty_output.put_nowait(b"")
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.pid_file)


async def exec_process(
    runtime: OciRuntime,
    container_id: str,
    args: list[str],
    *,
    tty: bool = False,
    stdin: bool = False,
    env: list[str] | None = None,
    cwd: str = "",
    user: str = "",
) -> ExecSession:
    """Start `args` in the running container. `env` entries are "NAME=value" added to the
    container's environment; `user` is "uid[:gid]". With a tty, TERM is `xterm` (as
    containerd sets it for a CRI exec with a terminal) unless `env` names another."""
    exec_dir = os.path.join(runtime.state_root, "exec")
    os.makedirs(exec_dir, exist_ok=True)
    pid_file = os.path.join(exec_dir, f"{container_id}-{uuid.uuid4().hex[:12]}.pid")
    cmd = ["exec", "--pid-file", pid_file]
    if tty and not any(item.startswith("TERM=") for item in env or []):
        cmd += ["--env", TTY_TERM]
    for item in env or []:
        cmd += ["--env", item]
    if cwd:
        cmd += ["--cwd", cwd]
    if user:
        cmd += ["--user", user]
    if tty:
        cmd.append("--tty")
    cmd += [container_id, *args]
    if not tty:
        proc = await asyncio.create_subprocess_exec(
            *runtime.command(*cmd),
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return ExecSession(proc, pid_file, None)
    master, slave = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            *runtime.command(*cmd),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=_make_controlling_tty,
        )
    except BaseException:
        os.close(master)
        raise
    finally:
        os.close(slave)
    return ExecSession(proc, pid_file, master)
