"""Bearer-token authentication: the admin token (kubeconfig) and the node token (agents)."""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

# Paths anyone may read, as Kubernetes' system:public-info-viewer allows.
PUBLIC_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/version"})


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...]


def _ensure_token(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(24) + "\n")
    return path.read_text().strip()


class TokenAuthenticator:
    """Maps bearer tokens to users. Tokens live in DATA_DIR/auth/ and survive restarts."""

    def __init__(self, auth_dir: Path) -> None:
        self.admin_token = _ensure_token(auth_dir / "admin-token")
        self.node_token = _ensure_token(auth_dir / "node-token")
        self.node_token_path = auth_dir / "node-token"
        self._users = {
            self.admin_token: User("admin", ("system:masters", "system:authenticated")),
            self.node_token: User("system:node", ("system:nodes", "system:authenticated")),
        }

    def authenticate(self, authorization: str | None) -> User | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        token = authorization[len("Bearer ") :].strip()
        for known, user in self._users.items():
            if hmac.compare_digest(known, token):
                return user
        return None
