"""Authentication: x509 client certificates verified against the client CA (user = CN,
groups = O, as kube-apiserver's x509 authenticator), and bearer tokens: the admin token
(kubeconfig), the legacy shared node token and service account tokens (JWTs signed by
`tokens.TokenIssuer`, e.g. the one mounted in pods)."""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubelite.api.rbac.bootstrap_components import CONTROLLER_MANAGER_USER, SCHEDULER_USER
from kubelite.apiserver.tokens import TokenIssuer, TokenSubject, subject_of

if TYPE_CHECKING:
    from kubelite.apiserver.bound_objects import BoundObjects

# Paths anyone may read, as Kubernetes' system:public-info-viewer allows.
# `/cacerts`, the node certificate and the server join endpoints check the join token themselves
# (apiserver/join.py, apiserver/server_join.py).
PUBLIC_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/version", "/version/", "/cacerts",
                          "/v1-kubelite/client-kubelet.crt", "/v1-kubelite/server-bootstrap",
                          "/v1-kubelite/etcd/members", "/v1-kubelite/etcd/members/promote"})
# What the service account authenticator says of a JWT it cannot verify.
INVALID_BEARER_TOKEN = "invalid bearer token"


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...]
    uid: str = ""
    # Extra attributes as Kubernetes' UserInfo carries them (pod name/uid of a bound token).
    extra: tuple[tuple[str, str], ...] = ()

    def info(self) -> dict[str, object]:
        """This user as Kubernetes' UserInfo (authentication.k8s.io), empty fields left out."""
        info: dict[str, object] = {"username": self.name}
        if self.uid:
            info["uid"] = self.uid
        info["groups"] = list(self.groups)
        if self.extra:
            extra: dict[str, list[str]] = {}
            for key, value in self.extra:
                extra.setdefault(key, []).append(value)
            info["extra"] = extra
        return info


def service_account_user(subject: TokenSubject) -> User:
    """The identity Kubernetes gives a service account token's bearer."""
    extra: list[tuple[str, str]] = []
    if subject.pod_name:
        extra += [("authentication.kubernetes.io/pod-name", subject.pod_name),
                  ("authentication.kubernetes.io/pod-uid", subject.pod_uid)]
    if subject.node_name:
        extra.append(("authentication.kubernetes.io/node-name", subject.node_name))
    if subject.token_id:
        extra.append(("authentication.kubernetes.io/credential-id", f"JTI={subject.token_id}"))
    return User(subject.username, ("system:serviceaccounts",
                                   f"system:serviceaccounts:{subject.namespace}",
                                   "system:authenticated"), subject.uid, tuple(extra))


def certificate_user(peercert: dict[str, Any] | None) -> User | None:
    """The user a verified client certificate names (`SSLObject.getpeercert()`'s form): the
    common name, and the organizations as groups. None without a certificate or a CN."""
    if not peercert:
        return None
    name, groups = "", []
    for rdn in peercert.get("subject", ()):
        for attr, value in rdn:
            if attr == "commonName":
                name = str(value)
            elif attr == "organizationName":
                groups.append(str(value))
    if not name:
        return None
    return User(name, (*groups, "system:authenticated"))


def _ensure_token(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(24) + "\n")
    return path.read_text().strip()


class TokenAuthenticator:
    """Maps bearer tokens to users. Tokens and the service account signing key live in
    DATA_DIR/auth/ and survive restarts."""

    def __init__(self, auth_dir: Path) -> None:
        self.issuer = TokenIssuer.from_dir(auth_dir)
        # Bound objects (set by the server once its watch cache runs): a token whose pod,
        # secret, node or service account is gone stops authenticating.
        self.bound: BoundObjects | None = None
        self.admin_token = _ensure_token(auth_dir / "admin-token")
        self.node_token = _ensure_token(auth_dir / "node-token")
        self.node_token_path = auth_dir / "node-token"
        # The controller-manager's own least-privilege identity (bootstrap role
        # system:kube-controller-manager), used instead of the admin token when
        # ServerConfig.component_identities is on.
        self.controller_manager_token_path = auth_dir / "kube-controller-manager-token"
        self.controller_manager_token = _ensure_token(self.controller_manager_token_path)
        # The scheduler's (bootstrap role system:kube-scheduler), in the same child process.
        self.scheduler_token_path = auth_dir / "kube-scheduler-token"
        self.scheduler_token = _ensure_token(self.scheduler_token_path)
        self._users = {
            self.scheduler_token: User(SCHEDULER_USER, ("system:authenticated",)),
            self.controller_manager_token: User(CONTROLLER_MANAGER_USER, ("system:authenticated",)),
            self.admin_token: User("admin", ("system:masters", "system:authenticated")),
            self.node_token: User("system:node", ("system:nodes", "system:authenticated")),
        }

    def authenticate(self, authorization: str | None) -> User | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        return self.review(authorization[len("Bearer ") :].strip()).user

    def review(self, token: str, audiences: Sequence[str] = ()) -> Review:
        """Who `token` is for a client of `audiences` (default: the API server's), as
        kube-apiserver's token authenticators answer a TokenReview: the shared tokens know
        no audience and are valid only for the API's own; a service account token must
        name one of `audiences` in its `aud`."""
        wanted = list(audiences) or list(self.issuer.audiences)
        for known, user in self._users.items():
            if hmac.compare_digest(known, token):
                shared = [a for a in wanted if a in self.issuer.audiences]
                return Review(user, shared) if shared else Review()
        if token.count(".") != 2:  # not a JWT: no authenticator knows it
            return Review()
        claims = self.issuer.claims(token, audiences=wanted)
        subject = subject_of(claims) if claims is not None else None
        if claims is None or subject is None:
            return Review(error=INVALID_BEARER_TOKEN)
        invalid = self.bound.invalid(subject, subject.node_uid) if self.bound is not None else ""
        if invalid:
            return Review(error=invalid)
        return Review(service_account_user(subject), [a for a in wanted if a in claims["aud"]])


@dataclass(frozen=True)
class Review:
    """A token authenticator's answer: the user (None if the token is not one), the
    audiences the token is valid for, and why a token that looked like one was refused."""

    user: User | None = None
    audiences: list[str] = field(default_factory=list)
    error: str = ""
