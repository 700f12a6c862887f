"""Start a throw-away single-member etcd (Debian's /usr/bin/etcd) for tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable

ETCD_MISSING = "etcd is not installed: `make install` puts in Debian's etcd-server"


def start_etcd(tmp_dir: str) -> tuple[str, Callable[[], None]]:
    """Run etcd on 127.0.0.1 with free ports and its data in `tmp_dir`.

    Returns (client URL, stop). `stop` is idempotent; call it even when the test failed.
    """
    binary = shutil.which("etcd") or "/usr/bin/etcd"
    if not os.path.exists(binary):
        raise RuntimeError(ETCD_MISSING)
    last_error = ""
    for attempt in range(3):  # a free port can be taken between choosing it and binding it
        client, peer = _free_port(), _free_port()
        url = f"http://127.0.0.1:{client}"
        data_dir = os.path.join(tmp_dir, f"etcd-{attempt}")
        log_path = os.path.join(tmp_dir, f"etcd-{attempt}.log")
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [
                    binary,
                    "--name", "test",
                    "--data-dir", data_dir,
                    "--listen-client-urls", url,
                    "--advertise-client-urls", url,
                    "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                    "--initial-cluster", f"test=http://127.0.0.1:{peer}",
                    "--log-level", "warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        stop = _stopper(process)
        if _wait_healthy(url, process, timeout=30.0):
            return url, stop
        stop()
        with open(log_path, errors="replace") as f:
            last_error = f.read()[-2000:]
    raise RuntimeError(f"etcd did not become healthy; its log ends with:\n{last_error}")


def _stopper(process: subprocess.Popen[bytes]) -> Callable[[], None]:
    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    return stop


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/health", timeout=1.0) as answer:
                if b'"true"' in answer.read():
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False
