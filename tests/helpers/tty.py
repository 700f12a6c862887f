"""Driving commands through a pseudo-terminal, as a person at a terminal would: `kubectl
exec -it`, or `kubelite up` stopped with Ctrl-C (`Terminal`)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import threading
import time


def read_until(fd: int, pattern: str, timeout: float = 15) -> str:
    """Read the terminal until `pattern` (a regex) shows up; fail with what was seen."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if re.search(pattern, seen.decode(errors="replace")):
                return seen.decode(errors="replace")
    raise AssertionError(f"{pattern!r} not seen in {seen!r}")


def set_size(fd: int, rows: int, cols: int) -> None:
    """Set the terminal's window size (kubectl gets SIGWINCH and sends a resize)."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Terminal:
    """A command run in a pseudo-terminal of its own, as a person starts it in a shell: it is
    the session leader and its foreground group gets SIGINT when ^C is typed. Its output is
    collected by a thread, so a chatty command never blocks on a full terminal."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: exec, or leave without running the test's cleanups
            try:
                os.execvpe(argv[0], argv, env if env is not None else dict(os.environ))
            finally:
                os._exit(127)
        self.output = b""
        self.returncode: int | None = None
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # EIO: the last process holding the terminal has gone
                return
            if not chunk:
                return
            with self._lock:
                self.output += chunk

    @property
    def text(self) -> str:
        with self._lock:
            return self.output.decode(errors="replace")

    def wait_for(self, pattern: str, timeout: float) -> str:
        """Wait until `pattern` (a regex) shows in the output; fail with the output's end."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.text):
                return self.text
            if self.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{pattern!r} not seen (exit code {self.returncode}); output ends:\n"
                             f"{self.text[-4000:]}")

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if still running after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.returncode

    def close(self) -> None:
        """Kill it if still running (a failed test), reap it and close the terminal."""
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.returncode = -signal.SIGKILL
        self._reader.join(1)  # ends when no process holds the terminal any more
        os.close(self.fd)
