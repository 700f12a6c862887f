"""Start a real `kubelite server` for a test and drive it with the real kubectl.

Every server gets its own data dir and port, and is stopped (SIGTERM, then SIGKILL)
even when the test fails.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

KUBECTL_DIR = Path("/usr/lib/google-cloud-sdk/bin")
KUBECTL_VERSIONS = ("1.27", "1.30", "1.33")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kubectl_binary(version: str) -> str:
    return str(KUBECTL_DIR / f"kubectl.{version}")


@dataclass
class Server:
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    host: str = "127.0.0.1"
    cache_root: Path = field(init=False)

    def __post_init__(self) -> None:
        self.cache_root = self.data_dir.parent / "kubectl-cache"

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig.yaml"

    def token_kubeconfig(self, token: str) -> Path:
        """A kubeconfig of this cluster whose user is only `token`: `kubectl --token` with the
        admin kubeconfig would still present its client certificate, which authenticates first
        (as in kube-apiserver)."""
        config = yaml.safe_load(self.kubeconfig.read_text())
        for user in config["users"]:
            user["user"] = {"token": token}
        digest = hashlib.sha256(token.encode()).hexdigest()[:16]
        path = self.data_dir.parent / f"kubeconfig-token-{self.port}-{digest}.yaml"
        path.write_text(yaml.safe_dump(config))
        path.chmod(0o600)
        return path

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def token(self) -> str:
        return (self.data_dir / "auth" / "admin-token").read_text().strip()


    def kubectl(
        self,
        *args: str,
        version: str = "1.33",
        input: str | bytes | None = None,
        check: bool = True,
        env: dict[str, str] | None = None,
        timeout: float = 60,
        kubeconfig: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl VERSION with a cache dir of its own (discovery caches hide changes),
        as the admin or with another `kubeconfig` (see token_kubeconfig)."""
        cache = self.cache_root / version
        cmd = [
            kubectl_binary(version),
            f"--kubeconfig={kubeconfig or self.kubeconfig}",
            f"--cache-dir={cache}",
            *args,
        ]
        full_env = {**os.environ, **(env or {})}
        full_env.pop("KUBECONFIG", None)
        result = subprocess.run(
            cmd,
            input=input.decode() if isinstance(input, bytes) else input,
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}\n"
                f"server log tail:\n{self.log_tail()}"
            )
        return result

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(data_dir: Path, *extra: str, port: int | None = None, host: str = "127.0.0.1",
                 env: dict[str, str] | None = None, prefix: tuple[str, ...] = (),
                 timeout: float = 30) -> Server:
    """`kubelite server` on HOST:PORT, returned once it listens; `prefix` runs it elsewhere
    (nsenter into a machine's network namespace)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = data_dir.parent / f"server-{port}.log"
    log = open(log_path, "ab")
    process = subprocess.Popen(
        [
            *prefix,
            sys.executable,
            "-m",
            "kubelite.cli.main",
            "server",
            "--data-dir",
            str(data_dir),
            "--listen",
            f"{host}:{port}",
            *extra,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )
    server = Server(data_dir, port, process, log_path, host)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"kubelite server exited with {process.returncode}:\n{server.log_tail()}"
            )
        if server.kubeconfig.exists():
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return server
            except OSError:
                pass
        time.sleep(0.05)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"kubelite server did not start:\n{server.log_tail()}")


@contextmanager
def running_server(data_dir: Path, *extra: str) -> Iterator[Server]:
    server = start_server(data_dir, *extra)
    try:
        yield server
    finally:
        server.stop()
