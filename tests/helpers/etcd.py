"""Start a throw-away single-member etcd (Debian's /usr/bin/etcd) for tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ETCD_MISSING = "etcd is not installed: `make install` puts in Debian's etcd-server"


@dataclass(frozen=True)
class EtcdCerts:
    """A CA, etcd's serving pair for 127.0.0.1 and a client pair the CA signed (PEM files)."""

    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str


def make_certs(directory: str) -> EtcdCerts:
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.x509.oid import ExtendedKeyUsageOID

    from kubelite import pki

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca_key = pki.new_key()
    ca = pki.issue("etcd-test-ca", ca_key.public_key(), signer_key=ca_key, ca=True)
    (d / "ca.crt").write_bytes(ca.public_bytes(Encoding.PEM))
    pairs = {}
    for name, usage in (("server", ExtendedKeyUsageOID.SERVER_AUTH), ("client", ExtendedKeyUsageOID.CLIENT_AUTH)):
        key = pki.new_key()
        cert = pki.issue(
            f"etcd-test-{name}", key.public_key(), signer_key=ca_key, issuer=ca.subject,
            sans=pki.subject_alt_names(["127.0.0.1", "localhost"]), usages=[usage],
        )
        pki.write_pair(d / f"{name}.crt", d / f"{name}.key", cert, key)
        pairs[name] = (str(d / f"{name}.crt"), str(d / f"{name}.key"))
    return EtcdCerts(str(d / "ca.crt"), *pairs["server"], *pairs["client"])


def start_etcd(tmp_dir: str, certs: EtcdCerts | None = None) -> tuple[str, Callable[[], None]]:
    """Run etcd on 127.0.0.1 with free ports and its data in `tmp_dir`; with `certs`, clients
    speak TLS and must present a certificate the CA signed.

    Returns (client URL, stop). `stop` is idempotent; call it even when the test failed.
    """
    binary = shutil.which("etcd") or "/usr/bin/etcd"
    if not os.path.exists(binary):
        raise RuntimeError(ETCD_MISSING)
    last_error = ""
    for attempt in range(3):  # a free port can be taken between choosing it and binding it
        client, peer = _free_port(), _free_port()
        url = f"{'https' if certs else 'http'}://127.0.0.1:{client}"
        tls_flags = [] if certs is None else [
            "--cert-file", certs.server_cert, "--key-file", certs.server_key,
            "--trusted-ca-file", certs.ca, "--client-cert-auth",
        ]
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
                    *tls_flags,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        stop = _stopper(process)
        if _wait_healthy(url, process, 30.0, certs):
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


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float, certs: EtcdCerts | None) -> bool:
    context = None
    if certs is not None:
        context = ssl.create_default_context(cafile=certs.ca)
        context.load_cert_chain(certs.client_cert, certs.client_key)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/health", timeout=1.0, context=context) as answer:
                if b'"true"' in answer.read():
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def start_etcd_cluster(tmp_dir: str, members: int = 3) -> tuple[list[str], list[Callable[[], None]]]:
    """Run a cluster of `members` etcd processes on 127.0.0.1 (plain HTTP), data in `tmp_dir`.

    Returns (client URLs, one stop per member). Call every stop even when the test failed.
    """
    binary = shutil.which("etcd") or "/usr/bin/etcd"
    if not os.path.exists(binary):
        raise RuntimeError(ETCD_MISSING)
    ports = [(_free_port(), _free_port()) for _ in range(members)]
    initial = ",".join(f"m{i}=http://127.0.0.1:{peer}" for i, (_, peer) in enumerate(ports))
    urls, stops, processes = [], [], []
    for i, (client, peer) in enumerate(ports):
        url = f"http://127.0.0.1:{client}"
        with open(os.path.join(tmp_dir, f"m{i}.log"), "wb") as log:
            process = subprocess.Popen(
                [
                    binary, "--name", f"m{i}", "--data-dir", os.path.join(tmp_dir, f"m{i}"),
                    "--listen-client-urls", url, "--advertise-client-urls", url,
                    "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                    "--initial-cluster", initial, "--initial-cluster-state", "new",
                    "--log-level", "warn",
                ],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        urls.append(url)
        stops.append(_stopper(process))
        processes.append(process)
    if all(_wait_healthy(url, p, 60.0, None) for url, p in zip(urls, processes, strict=True)):
        return urls, stops
    for stop in stops:
        stop()
    raise RuntimeError(f"the etcd cluster did not become healthy (logs in {tmp_dir})")
