"""Calling the API server from inside a pod, as an in-cluster client does.

busybox's own TLS offers no signature algorithms and is refused: the pod runs the node's
openssl (the node's /usr mounted read-only at /host/usr, `HOST_USR_VOLUME`, started through the
node's dynamic loader), which also checks the certificate against the pod's ca.crt for the
in-cluster name. `CALL_API` prints the raw HTTP answer to GET /version made with the pod's
service-account token; `version_major` reads it.
"""

from __future__ import annotations

import json
from typing import Any

SA = "/var/run/secrets/kubernetes.io/serviceaccount"
LIBS = "/host/usr/lib/x86_64-linux-gnu"
CALL_API = (
    "printf 'GET /version HTTP/1.0\\r\\nHost: kubernetes.default.svc\\r\\n"
    "Authorization: Bearer %s\\r\\n\\r\\n' \"$(cat " + SA + "/token)\" | "
    f"timeout 10 {LIBS}/ld-linux-x86-64.so.2 --library-path {LIBS} /host/usr/bin/openssl s_client "
    f"-quiet -verify_return_error -CAfile {SA}/ca.crt -servername kubernetes.default.svc "
    "-connect kubernetes.default.svc:443")
HOST_USR_VOLUME: dict[str, Any] = {"name": "usr", "hostPath": {"path": "/usr", "type": "Directory"}}
HOST_USR_MOUNT: dict[str, Any] = {"name": "usr", "mountPath": "/host/usr", "readOnly": True}


def version_major(answer: str) -> str:
    """The `major` of the /version body in CALL_API's raw HTTP answer."""
    body = answer.replace("\r\n", "\n").split("\n\n", 1)[1]
    return str(json.loads(body)["major"])
