"""Secrets encrypted at rest, as k3s' --secrets-encryption: the SQLite file and the etcd key hold
no plaintext, `kubelite secrets-encrypt` rotates the key and re-writes every Secret, a
restarted server reads them, and Secrets stored in clear before encryption stay readable."""

from __future__ import annotations

import base64
import json
import sqlite3
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

from tests.helpers.cluster import Server, start_server
from tests.helpers.etcd import start_etcd


def secrets_encrypt(data: Path, action: str) -> str:
    done = subprocess.run([sys.executable, "-m", "kubelite.cli.main", "secrets-encrypt", action,
                           "--data-dir", str(data)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def create_secret(server: Server, name: str, marker: str) -> None:
    server.kubectl("create", "secret", "generic", name, f"--from-literal=password={marker}")


def read_secret(server: Server, name: str) -> str:
    out = server.kubectl("get", "secret", name, "-o", "jsonpath={.data.password}").stdout
    return base64.b64decode(out).decode()


def latest_rows(db: Path, prefix: str) -> dict[str, bytes]:
    """Each key's newest stored value, read from the file as the server left it."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT key, value FROM kv WHERE key LIKE ? AND deleted = 0"
                            " ORDER BY revision", (prefix + "%",)).fetchall()
    finally:
        conn.close()
    return {k: bytes(v) for k, v in rows}


def file_bytes(data: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data.glob("state.db*"))


def test_secrets_are_encrypted_rotated_and_read_after_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    marker = f"hunter-{uuid.uuid4().hex}"
    encoded = base64.b64encode(marker.encode())
    # a cluster made without encryption: this Secret lies in clear
    server = start_server(data, "--no-secrets-encryption")
    try:
        create_secret(server, "before", marker)
        server.kubectl("create", "configmap", "visible", f"--from-literal=v={marker}")
        port = server.port
    finally:
        server.stop()
    assert encoded in file_bytes(data)
    assert not (data / "cred" / "encryption-config.json").exists()

    server = start_server(data, port=port)  # encryption on (the default): identity reads the old one
    try:
        assert read_secret(server, "before") == marker
        for i in range(3):
            create_secret(server, f"after-{i}", marker)
        rows = latest_rows(data / "state.db", "/registry/core/secrets/default/")
        assert rows["/registry/core/secrets/default/after-0"].startswith(b"k8s:enc:aescbc:v1:aescbckey:")
        assert encoded not in rows["/registry/core/secrets/default/after-0"]
        assert "Current Rotation Stage: start" in secrets_encrypt(data, "status")
        assert "Current Rotation Stage: prepare" in secrets_encrypt(data, "prepare")
        assert "Current Rotation Stage: rotate" in secrets_encrypt(data, "rotate")
        out = secrets_encrypt(data, "reencrypt")
        assert "Current Rotation Stage: reencrypt_finished" in out
        config = json.loads((data / "cred" / "encryption-config.json").read_text())
        keys = config["resources"][0]["providers"][0]["aescbc"]["keys"]
        assert len(keys) == 1 and keys[0]["name"].startswith("aescbckey-")  # the old key is gone
        new_prefix = f"k8s:enc:aescbc:v1:{keys[0]['name']}:".encode()
        rows = latest_rows(data / "state.db", "/registry/core/secrets/")
        assert rows and all(v.startswith(new_prefix) for v in rows.values()), \
            [k for k, v in rows.items() if not v.startswith(new_prefix)]
        assert read_secret(server, "before") == marker
    finally:
        server.stop()
    # compaction has not run: old revisions may still hold the first key's bytes, never plaintext
    # of the Secrets made after encryption was on; the ConfigMap is not encrypted at all
    restarted = start_server(data, port=port)
    try:
        assert [read_secret(restarted, n) for n in ("before", "after-0", "after-2")] == [marker] * 3
        assert "aescbckey-" in secrets_encrypt(data, "status")
    finally:
        restarted.stop()


def etcd_value(endpoint: str, key: str) -> bytes:
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
    req = urllib.request.Request(endpoint + "/v3/kv/range", data=body, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        kvs = json.loads(resp.read()).get("kvs") or []
    return base64.b64decode(kvs[0]["value"]) if kvs else b""


def test_the_etcd_key_holds_no_plaintext(tmp_path: Path) -> None:
    (tmp_path / "etcd").mkdir()
    endpoint, stop_etcd = start_etcd(str(tmp_path / "etcd"))
    marker = f"hunter-{uuid.uuid4().hex}"
    try:
        url = "etcd://" + endpoint.split("://", 1)[1]
        server = start_server(tmp_path / "data", "--datastore-endpoint", url)
        try:
            create_secret(server, "db", marker)
            stored = etcd_value(endpoint, "/kubelite/registry/core/secrets/default/db")
            assert stored.startswith(b"k8s:enc:aescbc:v1:aescbckey:")
            assert base64.b64encode(marker.encode()) not in stored and marker.encode() not in stored
            secrets_encrypt(tmp_path / "data", "rotate-keys")
            assert b"aescbckey-" in etcd_value(endpoint, "/kubelite/registry/core/secrets/default/db")
            assert read_secret(server, "db") == marker
        finally:
            server.stop()
    finally:
        stop_etcd()
