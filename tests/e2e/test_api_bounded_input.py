"""Bombs in a body are refused at once while the server keeps serving everyone else.

Quantity exponents, YAML alias expansion, JSON nesting, integer query parameters and control
characters in field names: each gets its 4xx Status quickly, and a `kubectl get` running
alongside keeps answering.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.helpers.cluster import Server

# Generous bounds: the issue asks for < 100 ms; measured ~5-20 ms on an idle machine, but
# other work shares this one. A bomb that was computed would take seconds to hours.
REFUSE_WITHIN = 1.0

BILLION_LAUGHS = """apiVersion: v1
kind: ConfigMap
metadata:
  name: laughs
  managedFields:
  - a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def _send(server: Server, method: str, path: str, body: bytes | None = None,
          content_type: str = "application/json") -> tuple[int, dict, dict[str, str], float]:
    ctx = ssl.create_default_context(cafile=str(server.data_dir / "tls" / "ca.crt"))
    headers = {"Authorization": f"Bearer {server.token()}", "Content-Type": content_type}
    req = urllib.request.Request(server.url + path, data=body, method=method, headers=headers)
    start = time.monotonic()
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            code, raw, answer_headers = resp.status, resp.read(), resp.headers
    except urllib.error.HTTPError as e:
        code, raw, answer_headers = e.code, e.read(), e.headers
    return code, json.loads(raw), dict(answer_headers), time.monotonic() - start


def _pod(name: str, cpu: str) -> bytes:
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "containers": [{"name": "c", "image": "busybox", "resources": {"limits": {"cpu": cpu}}}]}}).encode()


@pytest.fixture
def kubectl_get_loop(server: Server) -> Iterator[list[float]]:
    """`kubectl get configmaps` over and over alongside the test; yields its durations."""
    durations: list[float] = []
    failures: list[str] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            start = time.monotonic()
            result = server.kubectl("get", "configmaps", "-n", "default", check=False, timeout=30)
            durations.append(time.monotonic() - start)
            if result.returncode != 0:
                failures.append(result.stderr)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    time.sleep(0.5)
    yield durations
    stop.set()
    thread.join(60)
    assert not failures, failures[:3]
    assert len(durations) >= 2


@pytest.mark.parametrize("cpu", ["1e999999999", "1e10000000"])
def test_quantity_bomb_is_refused_at_once_naming_the_field(server: Server, kubectl_get_loop: list[float],
                                                            cpu: str) -> None:
    code, status, _, took = _send(server, "POST", "/api/v1/namespaces/default/pods", _pod("bomb", cpu))
    assert code == 422 and status["reason"] == "Invalid"
    assert f'spec.containers[0].resources.limits[cpu]: Invalid value: "{cpu}": must be less than or equal to' \
        in status["message"]
    assert took < REFUSE_WITHIN, f"refused in {took * 1000:.0f} ms"
    print(f"quantity {cpu} refused in {took * 1000:.1f} ms")


def test_yaml_alias_bomb_is_refused_at_once(server: Server, kubectl_get_loop: list[float]) -> None:
    code, status, _, took = _send(server, "POST", "/api/v1/namespaces/default/configmaps",
                                  BILLION_LAUGHS.encode(), "application/yaml")
    assert code == 400 and "document contains excessive aliasing" in status["message"]
    assert took < REFUSE_WITHIN, f"refused in {took * 1000:.0f} ms"
    print(f"billion laughs refused in {took * 1000:.1f} ms")


def test_json_nesting_to_kubernetes_depth_is_accepted_and_deeper_refused(server: Server) -> None:
    def body(levels: int, name: str) -> bytes:
        deep = "[" * levels + "]" * levels
        return (f'{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},'
                f'"junk":{deep}}}').encode()

    code, created, headers, _ = _send(server, "POST", "/api/v1/namespaces/default/configmaps",
                                      body(9_999, "deep-ok"))
    assert code == 201 and created["metadata"]["name"] == "deep-ok"
    assert 'unknown field \\"junk\\"' in headers["Warning"]
    code, status, _, _ = _send(server, "POST", "/api/v1/namespaces/default/configmaps",
                               body(10_000, "deep-refused"))
    assert code == 400 and "exceeded max depth" in status["message"]


@pytest.mark.parametrize("query", [
    "limit=99999999999999999999", "timeoutSeconds=1e400&watch=true", "resourceVersion=-1",
    "resourceVersion=99999999999999999999999&resourceVersionMatch=Exact",
])
def test_integer_query_parameters_out_of_range_are_bad_requests(server: Server, query: str) -> None:
    code, status, _, _ = _send(server, "GET", f"/api/v1/namespaces/default/configmaps?{query}")
    assert code == 400 and status["reason"] == "BadRequest"
    assert "strconv.Parse" in status["message"]


def test_grace_period_out_of_range_is_a_bad_request(server: Server) -> None:
    code, status, _, _ = _send(server, "DELETE",
                               "/api/v1/namespaces/default/configmaps/none?gracePeriodSeconds=99999999999999999999")
    assert code == 400
    assert status["message"] == 'strconv.ParseInt: parsing "99999999999999999999": value out of range'


def test_control_character_in_a_field_name_still_gets_its_answer(server: Server) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ctl"}, "x\x01y\u2028": "1"}
    code, created, headers, _ = _send(server, "POST", "/api/v1/namespaces/default/configmaps",
                                      json.dumps(body).encode())
    assert code == 201 and created["metadata"]["name"] == "ctl"
    assert headers["Warning"] == '299 - "unknown field \\"x\\x01y\\u2028\\""'
