"""Discovery documents derived from the kind registry."""

from __future__ import annotations

from kubelite.api import registry
from kubelite.api.storage_version import storage_version_hash
from kubelite.apiserver import discovery
from tests.helpers import kube_discovery

V2_AND_V2BETA1 = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"
)
V2BETA1_ONLY = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json"


def _resource(doc: dict, name: str) -> dict:
    return next(r for r in doc["resources"] if r["name"] == name)


def test_version_reports_kubernetes_1_32_so_the_dispatcher_picks_kubectl_1_32() -> None:
    info = discovery.version_info()
    assert (info["major"], info["minor"], info["gitVersion"]) == ("1", "32", "v1.32.0")
    assert info["platform"].startswith("linux/")
    assert {"gitCommit", "gitTreeState", "buildDate", "goVersion", "compiler"} <= info.keys()


def test_api_versions_names_v1_and_the_server_address() -> None:
    doc = discovery.api_versions("10.0.0.1:6443")
    assert doc["kind"] == "APIVersions" and doc["versions"] == ["v1"]
    assert doc["serverAddressByClientCIDRs"] == [{"clientCIDR": "0.0.0.0/0", "serverAddress": "10.0.0.1:6443"}]


def test_group_list_has_every_named_group_with_a_preferred_version() -> None:
    doc = discovery.api_group_list()
    names = [g["name"] for g in doc["groups"]]
    assert "" not in names and "apps" in names and "authorization.k8s.io" in names
    apps = next(g for g in doc["groups"] if g["name"] == "apps")
    assert apps["preferredVersion"] == {"groupVersion": "apps/v1", "version": "v1"}


def test_core_resource_list_has_pods_with_short_names_categories_and_verbs() -> None:
    doc = discovery.api_resource_list("", "v1")
    assert doc is not None and doc["groupVersion"] == "v1" and doc["kind"] == "APIResourceList"
    pods = _resource(doc, "pods")
    assert pods["singularName"] == "pod" and pods["namespaced"] is True and pods["kind"] == "Pod"
    assert pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    assert {"list", "watch", "delete", "patch"} <= set(pods["verbs"])
    assert _resource(doc, "namespaces")["namespaced"] is False


def test_subresources_are_listed_with_the_kind_they_speak() -> None:
    core = discovery.api_resource_list("", "v1")
    apps = discovery.api_resource_list("apps", "v1")
    assert core is not None and apps is not None
    assert _resource(core, "pods/log") == {"name": "pods/log", "singularName": "", "namespaced": True,
                                           "kind": "Pod", "verbs": ["get"]}
    assert _resource(core, "pods/exec")["kind"] == "PodExecOptions"
    eviction = _resource(core, "pods/eviction")
    assert (eviction["group"], eviction["version"], eviction["kind"]) == ("policy", "v1", "Eviction")
    scale = _resource(apps, "deployments/scale")
    assert (scale["group"], scale["version"], scale["kind"]) == ("autoscaling", "v1", "Scale")


def test_every_registry_kind_is_discoverable() -> None:
    for kind in registry.KINDS:
        doc = discovery.api_resource_list(kind.group, kind.version)
        assert doc is not None
        assert _resource(doc, kind.plural)["kind"] == kind.kind


def test_unknown_group_version_has_no_resource_list() -> None:
    assert discovery.api_resource_list("apps", "v1beta1") is None
    assert discovery.api_resource_list("example.com", "v1") is None


def test_aggregated_discovery_prefers_v2_when_offered() -> None:
    result = discovery.aggregated(V2_AND_V2BETA1, core=True)
    assert result is not None
    body, content_type = result
    assert content_type == "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
    assert body["apiVersion"] == "apidiscovery.k8s.io/v2" and body["kind"] == "APIGroupDiscoveryList"
    [core] = body["items"]
    assert "name" not in core["metadata"]
    [v1] = core["versions"]
    pods = next(r for r in v1["resources"] if r["resource"] == "pods")
    assert pods["scope"] == "Namespaced" and pods["shortNames"] == ["po"]
    assert pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    log = next(s for s in pods["subresources"] if s["subresource"] == "log")
    assert log["verbs"] == ["get"]


def test_aggregated_discovery_never_sends_v2_to_a_v2beta1_client() -> None:
    result = discovery.aggregated(V2BETA1_ONLY, core=False)
    assert result is not None
    body, content_type = result
    assert ";v=v2beta1;" in content_type and body["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
    names = [item["metadata"]["name"] for item in body["items"]]
    assert "apps" in names and "" not in names
    apps = next(i for i in body["items"] if i["metadata"]["name"] == "apps")
    deployments = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    scale = next(s for s in deployments["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def test_plain_json_accept_gets_no_aggregated_discovery() -> None:
    assert discovery.aggregated("application/json, */*", core=True) is None
    assert discovery.aggregated("", core=False) is None


def _served_lists() -> list[dict]:
    docs = [discovery.api_resource_list(group, version) for group, version in registry.group_versions()]
    return [d for d in docs if d is not None]


def test_every_served_resource_is_listed_exactly_as_kube_apiserver_1_32_lists_it() -> None:
    """Names, singular names, scope, kinds, verbs, short names, categories and storage
    hashes, keys in Go's order, against rows written from Kubernetes' own fixtures."""
    for doc in _served_lists():
        for entry in doc["resources"]:
            want = kube_discovery.expected(doc["groupVersion"], entry["name"])
            assert want is not None, f"{doc['groupVersion']} {entry['name']} is not a 1.32 resource"
            assert list(entry.items()) == list(want.items()), entry["name"]


def test_resources_are_sorted_by_name_with_subresources_after_their_parent() -> None:
    for doc in _served_lists():
        names = [r["name"] for r in doc["resources"]]
        assert names == sorted(names)
    core = discovery.api_resource_list("", "v1")
    assert core is not None
    names = [r["name"] for r in core["resources"]]
    assert names.index("pods") < names.index("pods/attach") < names.index("pods/status") < names.index("resourcequotas")


def test_storage_version_hash_is_sha256_of_the_stored_group_version_kind() -> None:
    # pkg/controlplane/storageversionhashdata/data.go
    assert storage_version_hash("", "v1", "Pod") == "xPOwRZ+Yhw8="
    assert storage_version_hash("apps", "v1", "Deployment") == "8aSe+NMegvE="
    assert storage_version_hash("autoscaling", "v2", "HorizontalPodAutoscaler") == "qwQve8ut294="
    assert storage_version_hash("", "v1", "") == ""


def test_a_kind_stored_as_another_version_hashes_that_version_and_reviews_have_none() -> None:
    # events.k8s.io/v1 Events are stored as core v1 Events: both publish r2yiGXH7wu8=.
    events = registry.by_resource("events.k8s.io", "v1", "events")
    assert events is not None and events.stored_as == ("", "v1", "events")
    assert events.storage_version_hash == "r2yiGXH7wu8="
    review = registry.by_resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews")
    binding = registry.by_resource("", "v1", "bindings")
    assert review is not None and binding is not None
    assert review.storage_version_hash == "" and binding.storage_version_hash == ""


def test_aggregated_discovery_lists_what_the_resource_lists_list() -> None:
    """Same verbs, short names, categories and singular names; no storageVersionHash,
    which APIResourceDiscovery does not have; subresources sorted."""
    result = discovery.aggregated(V2_AND_V2BETA1, core=False)
    core = discovery.aggregated(V2_AND_V2BETA1, core=True)
    assert result is not None and core is not None
    for item in core[0]["items"] + result[0]["items"]:
        group = item["metadata"].get("name", "")
        for version in item["versions"]:
            gv = f"{group}/{version['version']}" if group else version["version"]
            names = [r["resource"] for r in version["resources"]]
            assert names == sorted(names)
            for res in version["resources"]:
                want = kube_discovery.expected(gv, res["resource"])
                assert want is not None
                assert "storageVersionHash" not in res
                assert res["verbs"] == want["verbs"] and res["singularResource"] == want["singularName"]
                assert res.get("shortNames") == want.get("shortNames")
                assert res.get("categories") == want.get("categories")
                assert res["scope"] == ("Namespaced" if want["namespaced"] else "Cluster")
                subs = [s["subresource"] for s in res.get("subresources", [])]
                assert subs == sorted(subs)
                for sub in res.get("subresources", []):
                    sub_want = kube_discovery.expected(gv, f"{res['resource']}/{sub['subresource']}")
                    assert sub_want is not None and sub["verbs"] == sub_want["verbs"]
                    assert sub["responseKind"]["kind"] == sub_want["kind"]


def test_the_all_category_holds_exactly_kubernetes_all_members_that_are_served() -> None:
    served = {(k.group_version, k.plural) for k in registry.KINDS}
    in_all = {(k.group_version, k.plural) for k in registry.KINDS if "all" in k.categories}
    expected_all = {(gv, r["name"]) for gv, rows in kube_discovery.RESOURCES.items() for r in rows
                    if "all" in r.get("categories", ())}
    assert in_all == expected_all & served
    assert {("v1", "pods"), ("v1", "services"), ("apps/v1", "deployments"), ("apps/v1", "replicasets")} <= in_all
