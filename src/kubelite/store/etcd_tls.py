"""Client TLS to etcd, as k3s' --datastore-cafile, --datastore-certfile, --datastore-keyfile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class EtcdTLS:
    """PEM files for https:// etcd members; no CA file: the system's CAs."""

    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""

    def __bool__(self) -> bool:
        return bool(self.ca_file or self.cert_file or self.key_file)

    def check(self) -> None:
        """ValueError naming the flag when a file is missing or unreadable, or half a key pair."""
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError("an etcd client certificate needs both --datastore-certfile and --datastore-keyfile")
        for flag, path in (("cafile", self.ca_file), ("certfile", self.cert_file), ("keyfile", self.key_file)):
            if path:
                try:
                    with open(path, "rb") as f:
                        f.read(1)
                except OSError as e:
                    raise ValueError(f"--datastore-{flag} {path}: {e.strerror}") from None

    def credentials(self) -> Any:
        """grpc.ChannelCredentials (grpc is imported here: SQLite users never load it)."""
        import grpc

        def read(path: str) -> bytes | None:
            if not path:
                return None
            with open(path, "rb") as f:
                return f.read()

        self.check()
        return grpc.ssl_channel_credentials(
            root_certificates=read(self.ca_file),
            private_key=read(self.key_file),
            certificate_chain=read(self.cert_file),
        )
