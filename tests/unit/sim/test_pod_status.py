"""The status a simulated kubelet reports for running and finished pods."""

from __future__ import annotations

from typing import Any

from kubelite.sim.pod_status import (
    finished_status,
    image_id,
    merge_conditions,
    normalize_image,
    running_status,
)

NOW = "2025-01-02T03:04:05Z"


def make_pod(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "default", "uid": "u-1"},
        "spec": {"nodeName": "sim-0001", "containers": [{"name": "app", "image": "nginx"}],
                 **spec},
        "status": {"phase": "Pending", "qosClass": "BestEffort", "conditions": [
            {"type": "PodScheduled", "status": "True",
             "lastTransitionTime": "2025-01-01T00:00:00Z"}]},
    }


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def test_running_status_has_phase_ips_and_start_time() -> None:
    status = running_status(make_pod(), "172.16.0.1", "10.128.0.5", NOW)
    assert status["phase"] == "Running"
    assert status["hostIP"] == "172.16.0.1" and status["hostIPs"] == [{"ip": "172.16.0.1"}]
    assert status["podIP"] == "10.128.0.5" and status["podIPs"] == [{"ip": "10.128.0.5"}]
    assert status["startTime"] == NOW


def test_running_conditions_are_true_in_kubelet_order() -> None:
    status = running_status(make_pod(), "172.16.0.1", "10.128.0.5", NOW)
    assert [c["type"] for c in status["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert all(c["status"] == "True" for c in status["conditions"])
    # PodScheduled did not change, so its transition time is kept
    assert conditions(status)["PodScheduled"]["lastTransitionTime"] == "2025-01-01T00:00:00Z"
    assert conditions(status)["Ready"]["lastTransitionTime"] == NOW


def test_running_container_status_fields() -> None:
    (cs,) = running_status(make_pod(), "172.16.0.1", "10.128.0.5", NOW)["containerStatuses"]
    assert cs["name"] == "app"
    assert cs["state"] == {"running": {"startedAt": NOW}}
    assert cs["ready"] is True and cs["started"] is True and cs["restartCount"] == 0
    assert cs["image"] == "docker.io/library/nginx:latest"
    assert cs["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert cs["containerID"].startswith("sim://") and len(cs["containerID"]) == 6 + 64


def test_container_ids_differ_per_container_and_pod() -> None:
    pod = make_pod(containers=[{"name": "a", "image": "x"}, {"name": "b", "image": "x"}])
    ids = [c["containerID"] for c in running_status(pod, "h", "p", NOW)["containerStatuses"]]
    other = make_pod(containers=[{"name": "a", "image": "x"}])
    other["metadata"]["uid"] = "u-2"
    ids.append(running_status(other, "h", "p", NOW)["containerStatuses"][0]["containerID"])
    assert len(set(ids)) == 3


def test_init_containers_completed_and_sidecars_running() -> None:
    pod = make_pod(initContainers=[{"name": "setup", "image": "busybox"},
                                   {"name": "proxy", "image": "envoy", "restartPolicy": "Always"}])
    setup, proxy = running_status(pod, "h", "p", NOW)["initContainerStatuses"]
    term = setup["state"]["terminated"]
    assert term["exitCode"] == 0 and term["reason"] == "Completed"
    assert setup["ready"] is True and setup["started"] is False
    assert proxy["state"] == {"running": {"startedAt": NOW}} and proxy["ready"] is True


def test_no_init_container_statuses_without_init_containers() -> None:
    assert "initContainerStatuses" not in running_status(make_pod(), "h", "p", NOW)


def test_start_time_is_kept_once_set() -> None:
    pod = make_pod()
    pod["status"]["startTime"] = "2024-12-31T00:00:00Z"
    status = running_status(pod, "h", "p", NOW)
    assert status["startTime"] == "2024-12-31T00:00:00Z"
    assert status["containerStatuses"][0]["state"]["running"]["startedAt"] == "2024-12-31T00:00:00Z"


def test_finished_status_succeeded() -> None:
    status = finished_status(make_pod(), "h", "10.128.0.5", 0, NOW)
    assert status["phase"] == "Succeeded"
    (cs,) = status["containerStatuses"]
    assert cs["state"]["terminated"]["exitCode"] == 0
    assert cs["state"]["terminated"]["reason"] == "Completed"
    assert cs["ready"] is False and cs["started"] is False
    conds = conditions(status)
    assert conds["Ready"]["status"] == "False" and conds["Ready"]["reason"] == "PodCompleted"
    assert conds["ContainersReady"]["reason"] == "PodCompleted"
    assert conds["PodReadyToStartContainers"]["status"] == "False"
    assert conds["Initialized"]["status"] == "True"


def test_finished_status_failed_with_exit_code() -> None:
    status = finished_status(make_pod(), "h", "p", 3, NOW)
    assert status["phase"] == "Failed"
    term = status["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 3 and term["reason"] == "Error"


def test_merge_conditions_keeps_foreign_conditions() -> None:
    existing = [{"type": "DisruptionTarget", "status": "True"},
                {"type": "Ready", "status": "False", "lastTransitionTime": "old"}]
    merged = merge_conditions(existing, (("Ready", "True", None),), NOW)
    assert merged[0] == {"type": "Ready", "status": "True", "lastProbeTime": None,
                         "lastTransitionTime": NOW}
    assert merged[1]["type"] == "DisruptionTarget"


def test_normalize_image() -> None:
    assert normalize_image("nginx") == "docker.io/library/nginx:latest"
    assert normalize_image("nginx:1.27") == "docker.io/library/nginx:1.27"
    assert normalize_image("bitnami/redis") == "docker.io/bitnami/redis:latest"
    assert normalize_image("registry.k8s.io/pause:3.10") == "registry.k8s.io/pause:3.10"
    assert normalize_image("localhost:5000/app") == "localhost:5000/app:latest"
    digest = "sha256:" + "a" * 64
    assert normalize_image(f"quay.io/x/y@{digest}") == f"quay.io/x/y@{digest}"
    assert image_id(f"quay.io/x/y@{digest}") == f"quay.io/x/y@{digest}"
    assert image_id("nginx") == image_id("docker.io/library/nginx:latest")


def test_simulated_container_statuses_report_volume_mounts() -> None:
    mounts = [{"name": "token", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
               "readOnly": True}]
    pod = make_pod(containers=[{"name": "app", "image": "nginx", "volumeMounts": mounts}])
    (cs,) = running_status(pod, "172.16.0.1", "10.128.0.5", NOW)["containerStatuses"]
    assert cs["volumeMounts"] == [{**mounts[0], "recursiveReadOnly": "Disabled"}]
    (plain,) = running_status(make_pod(), "172.16.0.1", "10.128.0.5", NOW)["containerStatuses"]
    assert "volumeMounts" not in plain
