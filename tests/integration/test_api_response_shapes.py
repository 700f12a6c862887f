"""What kube-apiserver 1.32 answers, byte for byte where clients compare bytes, over raw HTTP.

The expected bodies are written from Kubernetes' source: metav1.Status's field order and Go's
json.Encoder (a trailing newline, <>& escaped), store.go's finalizeDelete (a Success Status
with details, or the object where ReturnDeletedObject is set), the strategies'
PrepareForCreate (a new Service's `status: {"loadBalancer": {}}`), transformDecodeError and
the unstructured converter for bodies of the wrong shape.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from tests.helpers.cluster import Server, running_server
from tests.helpers.raw_api import raw_session

NS = "/api/v1/namespaces/default"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
TEMPLATE = {"metadata": {"labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("shapes") / "data") as srv:
        yield srv


@pytest.fixture
async def session(server: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with raw_session(server, connections=4) as s:
        yield s


async def _call(session: aiohttp.ClientSession, method: str, url: str, body: Any = None,
                raw: bytes | None = None, content_type: str = "application/json") -> tuple[int, bytes]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    async with session.request(method, url, data=data, headers={"Content-Type": content_type}) as r:
        return r.status, await r.read()


def _failure(message: str, reason: str, code: int, details: str | None) -> bytes:
    """A Failure Status as kube-apiserver encodes it (Go escapes < > & in strings)."""
    text = json.dumps(message)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    detail = f'"details":{details},' if details is not None else ""
    return (f'{{"kind":"Status","apiVersion":"v1","metadata":{{}},"status":"Failure",'
            f'"message":"{text}","reason":"{reason}",{detail}"code":{code}}}\n').encode()


async def test_a_created_service_and_deployment_carry_the_status_they_start_with(session: aiohttp.ClientSession) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "shape-svc"},
           "spec": {"ports": [{"port": 80}]}}
    code, body = await _call(session, "POST", f"{NS}/services", svc)
    assert code == 201 and body.endswith(b"}\n")
    assert json.loads(body)["status"] == {"loadBalancer": {}}
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "shape-deploy"},
              "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": TEMPLATE}}
    code, body = await _call(session, "POST", "/apis/apps/v1/namespaces/default/deployments", deploy)
    assert code == 201 and json.loads(body)["status"] == {}


async def test_deleting_a_service_returns_the_service(session: aiohttp.ClientSession) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "gone-svc"},
           "spec": {"ports": [{"port": 80}]}}
    assert (await _call(session, "POST", f"{NS}/services", svc))[0] == 201
    code, body = await _call(session, "DELETE", f"{NS}/services/gone-svc")
    deleted = json.loads(body)
    assert code == 200 and (deleted["kind"], deleted["metadata"]["name"]) == ("Service", "gone-svc")


async def test_deleting_a_config_map_answers_a_success_status_naming_it(session: aiohttp.ClientSession) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gone-cm"}}
    code, body = await _call(session, "POST", f"{NS}/configmaps", cm)
    uid = json.loads(body)["metadata"]["uid"]
    code, body = await _call(session, "DELETE", f"{NS}/configmaps/gone-cm")
    assert code == 200
    assert body == ('{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Success",'
                    f'"details":{{"name":"gone-cm","kind":"configmaps","uid":"{uid}"}}}}\n').encode()


async def test_not_found_statuses_are_byte_compatible(session: aiohttp.ClientSession) -> None:
    code, body = await _call(session, "GET", f"{NS}/pods/nope")
    assert (code, body) == (404, _failure('pods "nope" not found', "NotFound", 404,
                                          '{"name":"nope","kind":"pods"}'))
    code, body = await _call(session, "GET", "/apis/apps/v1/namespaces/default/deployments/nope")
    assert body == _failure('deployments.apps "nope" not found', "NotFound", 404,
                            '{"name":"nope","group":"apps","kind":"deployments"}')
    # a path nothing serves (kubectl debug's ephemeralcontainers here): details present, empty
    code, body = await _call(session, "GET", f"{NS}/pods/nope/ephemeralcontainers")
    assert (code, body) == (404, _failure("the server could not find the requested resource",
                                          "NotFound", 404, "{}"))


@pytest.mark.parametrize(("raw", "content_type", "words"), [
    (b"garbage", "application/json",
     "couldn't get version/kind; json parse error: invalid character 'g' looking for beginning "
     "of value (67617262616765)"),
    (b"", "application/json",
     "couldn't get version/kind; json parse error: unexpected end of JSON input (<empty>)"),
    (b"[1]", "application/json",
     "couldn't get version/kind; json parse error: json: cannot unmarshal array into Go value of "
     'type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string '
     '"json:\\"kind,omitempty\\"" } (5b315d)'),
])
async def test_a_body_that_is_no_object_is_unrecognized(
    session: aiohttp.ClientSession, raw: bytes, content_type: str, words: str,
) -> None:
    code, body = await _call(session, "POST", "/api/v1/namespaces", raw=raw, content_type=content_type)
    message = f"the object provided is unrecognized (must be of type Namespace): {words}"
    assert (code, body) == (400, _failure(message, "BadRequest", 400, None))


async def test_a_body_of_another_kind_cannot_be_converted(session: aiohttp.ClientSession) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}
    code, body = await _call(session, "POST", "/api/v1/namespaces", pod)
    assert (code, json.loads(body)["message"]) == (400, (
        'Pod in version "v1" cannot be handled as a Namespace: converting (v1.Pod) to '
        "(core.Namespace): unknown conversion"))


async def test_a_strategic_patch_of_the_wrong_type_cannot_be_restored(session: aiohttp.ClientSession) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "smp-cm"}}
    assert (await _call(session, "POST", f"{NS}/configmaps", cm))[0] == 201
    patch = {"metadata": {"labels": "abc"}}
    code, body = await _call(session, "PATCH", f"{NS}/configmaps/smp-cm", patch,
                             content_type="application/strategic-merge-patch+json")
    cause = 'Invalid value: "map[metadata:map[labels:abc]]": cannot restore map from string'
    assert (code, body) == (422, _failure(
        f' "" is invalid: patch: {cause}', "Invalid", 422,
        json.dumps({"causes": [{"reason": "FieldValueInvalid", "message": cause, "field": "patch"}]},
                   separators=(",", ":"))))


@pytest.mark.parametrize("rv", [None, "0"])
async def test_a_node_is_replaced_without_a_resource_version(session: aiohttp.ClientSession, rv: str | None) -> None:
    name = f"replace-node-{rv or 'none'}"
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    assert (await _call(session, "POST", "/api/v1/nodes", node))[0] == 201
    replacement = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"x": "y"}}}
    if rv is not None:
        replacement["metadata"]["resourceVersion"] = rv
    code, body = await _call(session, "PUT", f"/api/v1/nodes/{name}", replacement)
    assert code == 200, body
    assert json.loads(body)["metadata"]["labels"] == {"x": "y"}


async def test_a_lease_is_not_replaced_without_a_resource_version(session: aiohttp.ClientSession) -> None:
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "shape-lease"},
             "spec": {"holderIdentity": "a"}}
    assert (await _call(session, "POST", LEASES, lease))[0] == 201
    code, body = await _call(session, "PUT", f"{LEASES}/shape-lease", lease)
    message = "Invalid value: 0x0: must be specified for an update"
    assert (code, body) == (422, _failure(
        f'leases.coordination.k8s.io "shape-lease" is invalid: metadata.resourceVersion: {message}',
        "Invalid", 422,
        '{"name":"shape-lease","group":"coordination.k8s.io","kind":"leases","causes":'
        f'[{{"reason":"FieldValueInvalid","message":"{message}","field":"metadata.resourceVersion"}}]}}'))
