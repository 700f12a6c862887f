"""The Node authorizer's graph: what a node reaches through the pods bound to it."""

from __future__ import annotations

from typing import Any

from kubelite.apiserver.authz.node_graph import (
    CONFIGMAP,
    PV,
    PVC,
    SECRET,
    SERVICE_ACCOUNT,
    NodeGraph,
    pod_refs,
)


def pod(name: str, node: str = "n1", ns: str = "default", **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}"},
            "spec": {"nodeName": node, "containers": [{"name": "c"}], **spec}}


def test_pod_refs_cover_env_envfrom_volumes_projected_pull_secrets_and_account() -> None:
    p = pod("p", serviceAccountName="sa", imagePullSecrets=[{"name": "pull"}],
            initContainers=[{"name": "i", "envFrom": [{"configMapRef": {"name": "cm-from"}}]}],
            containers=[{"name": "c", "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "env-s", "key": "k"}}}],
                         "envFrom": [{"secretRef": {"name": "from-s"}}]}],
            volumes=[{"name": "v1", "secret": {"secretName": "vol-s"}},
                     {"name": "v2", "configMap": {"name": "vol-cm"}},
                     {"name": "v3", "persistentVolumeClaim": {"claimName": "claim"}},
                     {"name": "v4", "projected": {"sources": [{"secret": {"name": "proj-s"}},
                                                              {"configMap": {"name": "proj-cm"}}]}},
                     {"name": "eph", "ephemeral": {"volumeClaimTemplate": {}}}])
    refs = pod_refs(p)
    assert {r[2] for r in refs if r[0] == SECRET} == {"pull", "env-s", "from-s", "vol-s", "proj-s"}
    assert {r[2] for r in refs if r[0] == CONFIGMAP} == {"cm-from", "vol-cm", "proj-cm"}
    assert {r[2] for r in refs if r[0] == PVC} == {"claim", "p-eph"}
    assert {r[2] for r in refs if r[0] == SERVICE_ACCOUNT} == {"sa"}
    assert all(r[1] == "default" for r in refs)


def test_only_the_bound_node_reaches_and_unbinding_or_deleting_removes_edges() -> None:
    g = NodeGraph()
    g.set_pod(pod("p", node="", volumes=[{"name": "v", "secret": {"secretName": "s"}}]))
    assert not g.reaches("n1", SECRET, "default", "s")  # not bound yet: not in the graph
    g.set_pod(pod("p", volumes=[{"name": "v", "secret": {"secretName": "s"}}]))
    assert g.reaches("n1", SECRET, "default", "s")
    assert not g.reaches("n2", SECRET, "default", "s")
    assert not g.reaches("n1", SECRET, "other", "s")  # namespaces matter
    assert g.pod_node("default", "p") == "n1"
    g.delete_pod(("default", "p"))
    assert not g.reaches("n1", SECRET, "default", "s")
    assert g.pod_node("default", "p") is None


def test_two_pods_sharing_a_secret_keep_it_until_both_are_gone() -> None:
    g = NodeGraph()
    spec = {"volumes": [{"name": "v", "secret": {"secretName": "s"}}]}
    g.set_pod(pod("a", **spec))
    g.set_pod(pod("b", **spec))
    g.delete_pod(("default", "a"))
    assert g.reaches("n1", SECRET, "default", "s")
    g.set_pod(pod("b"))  # b no longer names it
    assert not g.reaches("n1", SECRET, "default", "s")


def test_a_volume_is_reached_through_its_bound_claim_and_its_secrets_too() -> None:
    g = NodeGraph()
    g.set_pod(pod("p", volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}]))
    assert g.reaches("n1", PVC, "default", "c")
    assert not g.reaches("n1", PV, "", "pv1")
    g.set_claim({"metadata": {"name": "c", "namespace": "default"}, "spec": {"volumeName": "pv1"}})
    g.set_volume({"metadata": {"name": "pv1"},
                  "spec": {"csi": {"driver": "d", "nodePublishSecretRef": {"name": "csi-s", "namespace": "store"}}}})
    assert g.reaches("n1", PV, "", "pv1")
    assert g.reaches("n1", SECRET, "store", "csi-s")
    assert not g.reaches("n2", PV, "", "pv1")
    g.delete_claim(("default", "c"))
    assert not g.reaches("n1", PV, "", "pv1")
    assert not g.reaches("n1", SECRET, "store", "csi-s")


def test_every_node_reaches_the_tls_secrets_of_ingresses() -> None:
    g = NodeGraph()
    web = {"metadata": {"name": "web", "namespace": "shop"},
           "spec": {"tls": [{"secretName": "web-tls"}, {"hosts": ["x"]}]}}
    other = {"metadata": {"name": "other", "namespace": "shop"}, "spec": {"tls": [{"secretName": "web-tls"}]}}
    g.set_ingress(web)
    g.set_ingress(other)
    assert g.reaches("any-node", SECRET, "shop", "web-tls")  # even a node without pods
    assert not g.reaches("any-node", SECRET, "other-ns", "web-tls")
    assert not g.reaches("any-node", CONFIGMAP, "shop", "web-tls")
    g.delete_ingress(("shop", "web"))
    assert g.reaches("any-node", SECRET, "shop", "web-tls")  # still named by `other`
    g.set_ingress({**other, "spec": {}})
    assert not g.reaches("any-node", SECRET, "shop", "web-tls")
