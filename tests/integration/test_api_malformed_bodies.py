"""A body with a value of the wrong JSON type gets Kubernetes' 400, on every endpoint that reads one.

Over raw HTTP against a live server: an eviction with `deleteOptions: 5`, a binding whose
target is a string, and the same class of mistake on scale, status, token requests, delete
options, access reviews and patches. Each answers 400 BadRequest in the API server's words
(`X in version "v" cannot be handled as a X: json: cannot unmarshal ...`), never a 500.
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
DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("bodies") / "data") as srv:
        yield srv


@pytest.fixture
async def session(server: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with raw_session(server, connections=4) as s:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "victim"},
               "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
        for url, body in ((f"{NS}/pods", pod), ("/apis/apps/v1/namespaces/default/deployments", DEPLOYMENT),
                          (f"{NS}/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                     "metadata": {"name": "robot"}})):
            async with s.post(url, json=body) as r:
                assert r.status in (201, 409), await r.text()
        yield s


async def _send(session: aiohttp.ClientSession, method: str, url: str, body: Any,
                content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
    async with session.request(method, url, data=json.dumps(body), headers={"Content-Type": content_type}) as r:
        return r.status, await r.json()


CANNOT_UNMARSHAL = [
    ("POST", f"{NS}/pods/victim/eviction",
     {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "victim"}, "deleteOptions": 5},
     'Eviction in version "v1" cannot be handled as a Eviction: json: cannot unmarshal number into '
     "Go struct field Eviction.deleteOptions of type v1.DeleteOptions"),
    ("POST", f"{NS}/pods/victim/binding",
     {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "victim"}, "target": "node-1"},
     'Binding in version "v1" cannot be handled as a Binding: json: cannot unmarshal string into '
     "Go struct field Binding.target of type v1.ObjectReference"),
    ("POST", f"{NS}/bindings",
     {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "victim"}, "target": {"name": 7}},
     'Binding in version "v1" cannot be handled as a Binding: json: cannot unmarshal number into '
     "Go struct field ObjectReference.target.name of type string"),
    ("PUT", "/apis/apps/v1/namespaces/default/deployments/web/scale",
     {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "web"}, "spec": {"replicas": "3"}},
     'Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal string into '
     "Go struct field ScaleSpec.spec.replicas of type int32"),
    ("POST", f"{NS}/serviceaccounts/robot/token",
     {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"boundObjectRef": "victim"}},
     'TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal string '
     "into Go struct field TokenRequestSpec.spec.boundObjectRef of type v1.BoundObjectReference"),
    ("DELETE", f"{NS}/pods/victim", {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": "now"},
     'DeleteOptions in version "v1" cannot be handled as a DeleteOptions: json: cannot unmarshal string '
     "into Go struct field DeleteOptions.gracePeriodSeconds of type int64"),
    ("PUT", f"{NS}/pods/victim/status",
     {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "victim"}, "status": {"conditions": "Ready"}},
     'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into '
     "Go struct field PodStatus.status.conditions of type []v1.PodCondition"),
    ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
     {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": 5},
     'SelfSubjectAccessReview in version "v1" cannot be handled as a SelfSubjectAccessReview: json: cannot '
     "unmarshal number into Go struct field SelfSubjectAccessReview.spec of type v1.SelfSubjectAccessReviewSpec"),
    ("POST", f"{NS}/configmaps",
     {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m", "labels": ["a"]}},
     'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal array into '
     "Go struct field ObjectMeta.metadata.labels of type map[string]string"),
]


@pytest.mark.parametrize(("method", "url", "body", "message"), CANNOT_UNMARSHAL,
                         ids=[c[1].rsplit("/", 1)[-1] + "-" + c[0] for c in CANNOT_UNMARSHAL])
async def test_a_value_of_the_wrong_type_is_a_bad_request_in_kubernetes_words(
    session: aiohttp.ClientSession, method: str, url: str, body: Any, message: str
) -> None:
    code, status = await _send(session, method, url, body)
    assert (code, status["kind"], status["reason"], status["code"]) == (400, "Status", "BadRequest", 400)
    assert status["message"] == message


@pytest.mark.parametrize(
    ("url", "patch", "content_type"),
    [
        ("/apis/apps/v1/namespaces/default/deployments/web/scale", {"spec": {"replicas": [3]}},
         "application/merge-patch+json"),
        (f"{NS}/pods/victim/status", {"status": {"podIP": 10}}, "application/merge-patch+json"),
        (f"{NS}/pods/victim", [{"op": "add", "path": "/metadata/labels", "value": "x"}],
         "application/json-patch+json"),
    ],
)
async def test_a_patch_that_makes_a_wrong_type_is_a_bad_request(
    session: aiohttp.ClientSession, url: str, patch: Any, content_type: str
) -> None:
    code, status = await _send(session, "PATCH", url, patch, content_type)
    assert code == 400 and status["reason"] == "BadRequest"
    assert "json: cannot unmarshal" in status["message"]


async def test_a_strategic_patch_that_makes_a_wrong_type_cannot_be_restored(
    session: aiohttp.ClientSession,
) -> None:
    """applyPatchToObject: the unstructured converter's words, a 422 on the field "patch"."""
    code, status = await _send(session, "PATCH", f"{NS}/pods/victim", {"spec": {"containers": "c"}},
                               "application/strategic-merge-patch+json")
    assert (code, status["reason"]) == (422, "Invalid")
    assert status["message"] == (' "" is invalid: patch: Invalid value: "map[spec:map[containers:c]]": '
                                 "cannot restore slice from string")


async def test_the_object_is_untouched_and_the_server_answers_after_every_bad_body(
    session: aiohttp.ClientSession,
) -> None:
    for method, url, body, _ in CANNOT_UNMARSHAL:
        await _send(session, method, url, body)
    async with session.get(f"{NS}/pods/victim") as r:
        pod = await r.json()
    assert r.status == 200 and "deletionTimestamp" not in pod["metadata"]
    assert not pod["spec"].get("nodeName")
    async with session.get("/apis/apps/v1/namespaces/default/deployments/web") as r:
        assert (await r.json())["spec"]["replicas"] == 1
