"""Discovery as real clients read it: raw HTTP with and without trailing slashes,
`kubectl api-resources` and `kubectl get all` on kubectl 1.27, 1.32 and 1.33, and the
official Python client's discovery calls (one popular client asks for `/version/`).

Expected rows come from tests/helpers/kube_discovery.py, written from Kubernetes'
own discovery fixtures, never from kubelite.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest
from kubernetes import client, config

from kubelite.api import registry
from tests.helpers import kube_discovery
from tests.helpers.cluster import Server, running_server
from tests.helpers.raw_api import raw_session

pytestmark = pytest.mark.kubectl

KUBECTLS = ("1.27", "1.32", "1.33")
AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("discovery") / "data") as srv:
        yield srv


@pytest.fixture
async def session(server: Server) -> AsyncIterator[aiohttp.ClientSession]:
    async with raw_session(server, connections=4) as s:
        yield s


async def _get(session: aiohttp.ClientSession, path: str, accept: str = "application/json") -> tuple[int, str, bytes]:
    async with session.get(path, headers={"Accept": accept}) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.read()


@pytest.mark.parametrize("path", ["/version", "/api", "/apis", "/api/v1", "/apis/apps", "/apis/apps/v1",
                                  "/apis/metrics.k8s.io/v1beta1"])
async def test_discovery_paths_answer_the_same_with_a_trailing_slash(
        session: aiohttp.ClientSession, path: str) -> None:
    plain = await _get(session, path)
    slashed = await _get(session, path + "/")
    assert plain[0] == 200 and slashed == plain


@pytest.mark.parametrize("path", ["/api", "/apis"])
async def test_aggregated_discovery_answers_the_same_with_a_trailing_slash(
        session: aiohttp.ClientSession, path: str) -> None:
    plain = await _get(session, path, AGGREGATED)
    slashed = await _get(session, path + "/", AGGREGATED)
    assert plain[0] == 200 and ";as=APIGroupDiscoveryList" in plain[1]
    assert slashed == plain


@pytest.mark.parametrize("path", ["/openapi/v2/", "/healthz/", "/livez/", "/readyz/", "/api/v2/", "/apis/apps/v2/"])
async def test_paths_kube_apiserver_does_not_serve_with_a_slash_stay_not_found(
        session: aiohttp.ClientSession, path: str) -> None:
    # /openapi/v2 and the health checks are exact paths in kube-apiserver's mux; /openapi/v3/
    # names no group version.
    status, _, _ = await _get(session, path)
    assert status == 404


async def test_served_slash_forms_carry_storage_version_hashes(session: aiohttp.ClientSession) -> None:
    status, _, body = await _get(session, "/api/v1/")
    pods = next(r for r in json.loads(body)["resources"] if r["name"] == "pods")
    assert status == 200 and pods["storageVersionHash"] == "xPOwRZ+Yhw8="
    status, _, body = await _get(session, "/apis/apps/v1/")
    deployments = next(r for r in json.loads(body)["resources"] if r["name"] == "deployments")
    assert deployments["storageVersionHash"] == "8aSe+NMegvE="


def test_version_with_a_slash_needs_no_credentials(server: Server) -> None:
    """kube-apiserver's system:public-info-viewer grants /version and /version/ to anyone."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with urllib.request.urlopen(f"{server.url}/version/", context=context, timeout=10) as r:
        assert json.loads(r.read())["gitVersion"] == "v1.32.0"


def _rows(output: str) -> list[dict[str, str]]:
    """Parse kubectl's column output by the header's column offsets (SHORTNAMES may be empty)."""
    header, *lines = output.splitlines()
    names = header.split()
    starts = [header.index(n) for n in names]
    rows = []
    for line in lines:
        cells = [line[s:e].strip() for s, e in zip(starts, starts[1:] + [len(line) + 1], strict=True)]
        rows.append(dict(zip(names, cells, strict=True)))
    return rows


@pytest.mark.parametrize("version", KUBECTLS)
def test_kubectl_api_resources_columns_match_kubernetes(server: Server, version: str) -> None:
    rows = _rows(server.kubectl("api-resources", "-o", "wide", version=version).stdout)
    seen = set()
    for row in rows:
        if row["APIVERSION"] not in kube_discovery.RESOURCES:
            continue  # metrics.k8s.io is metrics-server's own
        want = kube_discovery.expected(row["APIVERSION"], row["NAME"])
        assert want is not None, row
        assert row["SHORTNAMES"] == ",".join(want.get("shortNames", [])), row
        assert row["NAMESPACED"] == str(want["namespaced"]).lower(), row
        assert row["KIND"] == want["kind"], row
        assert row["CATEGORIES"] == ",".join(want.get("categories", [])), row
        for verb in want["verbs"]:
            assert verb in row["VERBS"], row
        seen.add((row["APIVERSION"], row["NAME"]))
    # api-resources lists each group's preferred version only (the first in the registry)
    preferred: dict[str, str] = {}
    for group, version in registry.group_versions():
        preferred.setdefault(group, version)
    assert seen == {(k.group_version, k.plural) for k in registry.KINDS
                    if preferred[k.group] == k.version}


def served_in_category_all() -> set[str]:
    """What kubectl lists for `--categories=all`: kube-apiserver's `all` resources among those
    kubelite serves, as `NAME[.GROUP]`."""
    names = set()
    for group_version, resources in kube_discovery.RESOURCES.items():
        group, _, version = group_version.rpartition("/")
        for r in resources:
            if "all" in r.get("categories", ()) and registry.by_resource(group, version, r["name"]):
                names.add(f"{r['name']}.{group}" if group else r["name"])
    return names


@pytest.mark.parametrize("version", KUBECTLS)
def test_kubectl_api_resources_by_short_name_and_category(server: Server, version: str) -> None:
    out = server.kubectl("api-resources", "--categories=all", "-o", "name", version=version).stdout.split()
    assert set(out) == served_in_category_all()
    assert server.kubectl("get", "deploy,rs,svc,po,cm,sa,ns,quota,limits,pvc,ep,ev,sc,pdb,hpa,job,cj",
                          "-A", "-o", "name", version=version).returncode == 0


def test_kubectl_get_all_lists_the_all_category_that_is_served(server: Server) -> None:
    server.kubectl("create", "deployment", "web", "--image=busybox")
    server.kubectl("create", "configmap", "not-in-all", "--from-literal=a=b")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        names = server.kubectl("get", "all", "-o", "name").stdout.split()
        if any(n.startswith("replicaset.apps/") for n in names) and any(n.startswith("pod/") for n in names):
            break
        time.sleep(0.5)
    for version in KUBECTLS:
        names = server.kubectl("get", "all", "-o", "name", version=version).stdout.split()
        types = {n.split("/", 1)[0] for n in names}
        assert types == {"pod", "service", "deployment.apps", "replicaset.apps"}, (version, names)
        assert "deployment.apps/web" in names and "service/kubernetes" in names


def _api_client(server: Server) -> client.ApiClient:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(server.kubeconfig), client_configuration=cfg)
    return client.ApiClient(cfg)


def test_the_official_python_client_reads_discovery(server: Server) -> None:
    api = _api_client(server)
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    code = client.VersionApi(api).get_code()
    assert (code.major, code.minor, code.git_version) == ("1", "32", "v1.32.0")
    groups = {g.name for g in client.ApisApi(api).get_api_versions().groups}
    assert {"apps", "coordination.k8s.io", "policy"} <= groups
    core = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
    assert core["pods"].storage_version_hash == "xPOwRZ+Yhw8=" and core["pods"].categories == ["all"]
    assert core["pods/status"].storage_version_hash is None
    apps = {r.name: r for r in client.AppsV1Api(api).get_api_resources().resources}
    assert apps["replicasets"].short_names == ["rs"] and apps["replicasets"].storage_version_hash == "P1RzHs8/mWQ="


def test_a_python_client_asking_for_version_with_a_slash_gets_the_version(server: Server) -> None:
    """The request such a client builds: GET /version/ with its bearer token."""
    api = _api_client(server)
    method, url, headers, body, _ = api.param_serialize("GET", "/version/", auth_settings=["BearerToken"],
                                                        header_params={"Accept": "application/json"})
    response = api.call_api(method, url, headers, body)
    response.read()
    info = api.response_deserialize(response, {"200": "VersionInfo"}).data
    assert response.status == 200 and url.endswith("/version/")
    assert info.git_version == "v1.32.0" and info.platform.startswith("linux/")
