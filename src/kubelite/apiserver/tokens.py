"""Service account tokens: ES256-signed JWTs, issued by the TokenRequest API
(`POST serviceaccounts/NAME/token`) and accepted back as bearer tokens.

The signing key is made on first start in the server's data dir (`auth/service-account.key`)
and survives restarts, so tokens stay valid across them. The claims are Kubernetes' bound
token claims: `iss`, `sub`, `aud`, `exp`, `iat`, `nbf`, `jti` and a `kubernetes.io` object
naming the namespace, the service account and the pod (and its node) the token is bound to.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.apiserver import objects

if TYPE_CHECKING:

    from kubelite.apiserver.handlers import ResourceHandlers
    from kubelite.apiserver.rest import ObjectStore

ISSUER = "https://kubernetes.default.svc.cluster.local"
API_AUDIENCES = (ISSUER,)  # the API server accepts tokens meant for one of these
KEY_FILE = "service-account.key"
DEFAULT_EXPIRATION = 3600  # TokenRequestSpec.expirationSeconds default
# --service-account-extend-token-expiration (default true): a pod-bound token asked for with
# this lifetime (the kube-api-access volume's) is valid for a year, and carries `warnafter`
# the requested lifetime after issue; the answer still names the requested expiry, so the
# kubelet refreshes it as usual.
WARN_ONLY_EXPIRATION = 3607
EXTENDED_EXPIRATION = 365 * 24 * 3600
MIN_EXPIRATION = 600
MAX_EXPIRATION = 1 << 32
SA_PREFIX = "system:serviceaccount:"
BOUND_KINDS = ("Pod", "Secret")
TOKEN_REQUEST = "io.k8s.api.authentication.v1.TokenRequest"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not an EC private key")
    return loaded


@dataclass(frozen=True)
class TokenSubject:
    """Who a verified token speaks for: a service account, maybe bound to a pod on a node."""

    namespace: str
    name: str
    uid: str = ""
    pod_name: str = ""
    pod_uid: str = ""
    node_name: str = ""
    token_id: str = ""
    secret_name: str = ""
    secret_uid: str = ""
    node_uid: str = ""

    @property
    def username(self) -> str:
        return f"{SA_PREFIX}{self.namespace}:{self.name}"


class TokenIssuer:
    """Signs and verifies service account tokens with one ES256 key."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, issuer: str = ISSUER,
                 audiences: tuple[str, ...] = API_AUDIENCES) -> None:
        self.key = key
        self.issuer = issuer
        self.audiences = audiences
        der = key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        self.key_id = _b64(hashlib.sha256(der).digest())  # as kube-apiserver derives its kid

    @classmethod
    def from_dir(cls, auth_dir: Path) -> TokenIssuer:
        """The issuer whose key lives in `auth_dir` (made there on first use)."""
        return cls(_load_or_create_key(auth_dir / KEY_FILE))

    @classmethod
    def ephemeral(cls) -> TokenIssuer:
        """An issuer with a key kept in memory only (servers without a data dir for it)."""
        return cls(ec.generate_private_key(ec.SECP256R1()))

    # -- signing ----------------------------------------------------------------------------

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"alg": "ES256", "kid": self.key_id}
        signing_input = (_b64(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + _b64(json.dumps(claims, separators=(",", ":")).encode()))
        der = self.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + _b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def issue(self, subject: TokenSubject, audiences: list[str], expiration_seconds: int,
              now: float | None = None, node_uid: str = "", warn_after: int = 0) -> tuple[str, int]:
        """A token for `subject`; returns it and its expiry (seconds since the epoch).
        `warn_after`: the lifetime asked for, when the server extended it (the `warnafter` claim)."""
        issued = int(now if now is not None else time.time())
        expires = issued + expiration_seconds
        private: dict[str, Any] = {
            "namespace": subject.namespace,
            "serviceaccount": {"name": subject.name, "uid": subject.uid},
        }
        if subject.pod_name:
            private["pod"] = {"name": subject.pod_name, "uid": subject.pod_uid}
        if subject.secret_name:
            private["secret"] = {"name": subject.secret_name, "uid": subject.secret_uid}
        if subject.node_name:
            private["node"] = {"name": subject.node_name, "uid": node_uid or subject.node_uid}
        if warn_after:
            private["warnafter"] = issued + warn_after
        claims = {
            "aud": list(audiences), "exp": expires, "iat": issued, "iss": self.issuer,
            "jti": subject.token_id or str(uuid.uuid4()), "kubernetes.io": private,
            "nbf": issued, "sub": subject.username,
        }
        return self.sign(claims), expires

    # -- verifying --------------------------------------------------------------------------

    def claims(self, token: str, now: float | None = None,
               audiences: Sequence[str] = ()) -> dict[str, Any] | None:
        """The claims of a token this issuer signed that is valid now for one of `audiences`
        (default: the API's), or None. `aud` is always a list in the result."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header = json.loads(_unb64(parts[0]))
            claims = json.loads(_unb64(parts[1]))
            raw = _unb64(parts[2])
        except ValueError:
            return None
        if not isinstance(header, dict) or not isinstance(claims, dict) \
                or header.get("alg") != "ES256" or len(raw) != 64:
            return None
        if header.get("kid") not in (None, self.key_id):
            return None
        sig = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            self.key.public_key().verify(sig, f"{parts[0]}.{parts[1]}".encode(),
                                         ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return None
        t = now if now is not None else time.time()
        aud = claims.get("aud")
        if isinstance(aud, str):
            aud = [aud]
        if claims.get("iss") != self.issuer or not isinstance(aud, list) \
                or not set(aud) & set(audiences or self.audiences):
            return None
        claims["aud"] = aud
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int) or t >= exp or not isinstance(nbf, int) or t < nbf:
            return None
        return claims

    def verify(self, token: str, now: float | None = None) -> TokenSubject | None:
        """The service account a valid token speaks for, or None."""
        claims = self.claims(token, now)
        return None if claims is None else subject_of(claims)


def subject_of(claims: dict[str, Any]) -> TokenSubject | None:
    """The service account verified claims name, or None if they name none consistently."""
    private = claims.get("kubernetes.io")
    sub = str(claims.get("sub") or "")
    if not isinstance(private, dict) or not sub.startswith(SA_PREFIX):
        return None
    sa = private.get("serviceaccount") or {}
    pod = private.get("pod") or {}
    node = private.get("node") or {}
    secret = private.get("secret") or {}
    namespace = str(private.get("namespace") or "")
    if sub != f"{SA_PREFIX}{namespace}:{sa.get('name', '')}":
        return None
    return TokenSubject(namespace, str(sa.get("name", "")), str(sa.get("uid", "")),
                        str(pod.get("name", "")), str(pod.get("uid", "")),
                        str(node.get("name", "")), str(claims.get("jti", "")),
                        str(secret.get("name", "")), str(secret.get("uid", "")), str(node.get("uid", "")))


# -- the TokenRequest API ---------------------------------------------------------------------


def issuer_of(handlers: ResourceHandlers) -> TokenIssuer:
    """The issuer the server's handlers sign with: `handlers.token_issuer` when the server set
    one; else the key in the data dir (next to the kubelet proxy's tls dir), as the
    authenticator loads it; else (a server without TLS and auth) a key in memory."""
    issuer: TokenIssuer | None = getattr(handlers, "token_issuer", None)
    if issuer is None:
        tls_dir = getattr(handlers.subresources, "tls_dir", None)
        issuer = TokenIssuer.from_dir(Path(tls_dir).parent / "auth") if tls_dir is not None \
            else TokenIssuer.ephemeral()
        handlers.token_issuer = issuer  # type: ignore[attr-defined]
    return issuer


def _invalid(field: str, value: Any, detail: str, name: str) -> st.Invalid:
    message = f"{field}: Invalid value: {json.dumps(value)}: {detail}"
    return st.Invalid(f'TokenRequest.authentication.k8s.io "{name}" is invalid: {message}',
                      name=name, group="authentication.k8s.io", kind="TokenRequest",
                      causes=[{"reason": "FieldValueInvalid", "message": f"Invalid value: "
                               f"{json.dumps(value)}: {detail}", "field": field}])


def _rfc3339(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _get(store: ObjectStore, plural: str, namespace: str | None, name: str) -> dict[str, Any]:
    kind = by_resource("", "v1", plural)
    assert kind is not None
    obj: dict[str, Any] = objects.decode(await store.get(kind, namespace, name))
    return obj


async def create_token(store: ObjectStore, issuer: TokenIssuer, namespace: str, name: str,
                       body: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """Answer a TokenRequest for service account namespace/name (the 201 body)."""
    meta = body.get("metadata") or {}
    if meta.get("name") and meta["name"] != name:
        raise st.BadRequest("the name of the request does not match the name of the service account")
    spec = dict(body.get("spec") or {})
    seconds = spec.get("expirationSeconds")
    seconds = DEFAULT_EXPIRATION if seconds is None else seconds
    if not isinstance(seconds, int) or isinstance(seconds, bool):
        raise st.BadRequest("spec.expirationSeconds must be an integer")
    if seconds < MIN_EXPIRATION:
        raise _invalid("spec.expirationSeconds", seconds,
                       "may not specify a duration less than 10 minutes", name)
    if seconds > MAX_EXPIRATION:
        raise _invalid("spec.expirationSeconds", seconds,
                       "may not specify a duration larger than 2^32 seconds", name)
    audiences = [str(a) for a in spec.get("audiences") or []] or list(issuer.audiences)
    sa = await _get(store, "serviceaccounts", namespace, name)
    subject = TokenSubject(namespace, name, str(sa["metadata"].get("uid", "")),
                           token_id=str(uuid.uuid4()))
    node_uid = ""
    ref = spec.get("boundObjectRef")
    if ref:
        subject, node_uid = await _bind(store, subject, ref)
    lifetime, warn_after = seconds, 0
    if seconds == WARN_ONLY_EXPIRATION and subject.pod_name and set(audiences) <= set(issuer.audiences):
        lifetime, warn_after = EXTENDED_EXPIRATION, seconds
    token, _ = issuer.issue(subject, audiences, lifetime, now, node_uid, warn_after)
    spec.update(audiences=audiences, expirationSeconds=seconds)
    issued = int(now if now is not None else time.time())
    expires = issued + seconds
    return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace,
                         "creationTimestamp": _rfc3339(issued)},
            "spec": spec, "status": {"token": token, "expirationTimestamp": _rfc3339(expires)}}


async def _bind(store: ObjectStore, subject: TokenSubject, ref: dict[str, Any]
                ) -> tuple[TokenSubject, str]:
    """Check a boundObjectRef as kube-apiserver does; the subject bound to it, and its node uid."""
    kind, ref_name = ref.get("kind") or "", ref.get("name") or ""
    if kind not in BOUND_KINDS:
        raise st.BadRequest(f"cannot bind token to object of type {kind}")
    if ref.get("apiVersion") not in (None, "", "v1"):
        raise st.BadRequest(f"cannot bind token to object of apiVersion {ref.get('apiVersion')}")
    obj = await _get(store, "pods" if kind == "Pod" else "secrets", subject.namespace, ref_name)
    uid = str(obj["metadata"].get("uid", ""))
    if ref.get("uid") and ref["uid"] != uid:
        raise st.Conflict(f"the UID in the bound object reference ({ref['uid']}) does not match "
                          f"the UID in record. The object might have been deleted and then "
                          f"recreated", name=ref_name, kind=kind.lower() + "s")
    if kind != "Pod":
        return replace(subject, secret_name=ref_name, secret_uid=uid), ""
    spec = obj.get("spec") or {}
    if (spec.get("serviceAccountName") or "default") != subject.name:
        raise st.BadRequest(f'cannot bind token for serviceaccount "{subject.name}" to pod '
                            "running with different serviceaccount name.")
    node_name, node_uid = str(spec.get("nodeName") or ""), ""
    if node_name:
        try:
            node = await _get(store, "nodes", None, node_name)
            node_uid = str(node["metadata"].get("uid", ""))
        except st.NotFound:
            node_name = ""
    bound = TokenSubject(subject.namespace, subject.name, subject.uid, ref_name, uid, node_name,
                         subject.token_id)
    return bound, node_uid
