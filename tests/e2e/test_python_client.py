"""The official Python client lists, creates, patches and watches pods."""

from __future__ import annotations

import threading

from kubernetes import client, config, watch

from tests.helpers.cluster import Server


def api(server: Server) -> client.CoreV1Api:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(server.kubeconfig), client_configuration=cfg)
    return client.CoreV1Api(client.ApiClient(cfg))


def pod(name: str) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"app": "py"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox:1.36")]),
    )


def test_create_list_patch_and_watch(server: Server) -> None:
    core = api(server)
    seen: list[tuple[str, str]] = []
    ready = threading.Event()

    def watcher() -> None:
        w = watch.Watch()
        ready.set()
        for event in w.stream(core.list_namespaced_pod, "default", label_selector="app=py", timeout_seconds=10):
            seen.append((event["type"], event["object"].metadata.name))
            if event["type"] == "MODIFIED":
                w.stop()

    t = threading.Thread(target=watcher)
    t.start()
    ready.wait()
    created = core.create_namespaced_pod("default", pod("py1"))
    assert created.metadata.uid and created.spec.restart_policy == "Always"
    names = [p.metadata.name for p in core.list_namespaced_pod("default", label_selector="app=py").items]
    assert names == ["py1"]
    patched = core.patch_namespaced_pod("py1", "default", {"metadata": {"labels": {"extra": "1"}}})
    assert patched.metadata.labels == {"app": "py", "extra": "1"}
    t.join(15)
    assert ("ADDED", "py1") in seen and ("MODIFIED", "py1") in seen


def test_delete_answers_parse_as_the_client_expects(server: Server) -> None:
    """DELETE of a Service answers the Service (ReturnDeletedObject), which the client parses
    as a V1Service; a ConfigMap's answers a Success Status naming it."""
    core = api(server)
    svc = client.V1Service(metadata=client.V1ObjectMeta(name="py-svc"),
                           spec=client.V1ServiceSpec(ports=[client.V1ServicePort(port=80)]))
    created = core.create_namespaced_service("default", svc)
    assert created.status.load_balancer is not None  # {"loadBalancer": {}}, as Kubernetes
    deleted = core.delete_namespaced_service("py-svc", "default")
    assert isinstance(deleted, client.V1Service) and deleted.metadata.name == "py-svc"
    core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-cm")))
    status = core.delete_namespaced_config_map("py-cm", "default")  # this client: a plain dict
    assert (status["status"], status["details"]["name"], status["details"]["kind"]) == (
        "Success", "py-cm", "configmaps")
