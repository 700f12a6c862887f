"""Deployment rollout arithmetic: fenceposts, new/old ReplicaSet sizes, history, conditions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.controllers import rollout as ro

Obj = dict[str, Any]
NOW = dt.datetime(2025, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def dep(replicas: int = 10, surge: Any = "25%", unavailable: Any = "25%", *, kind: str = "RollingUpdate",
        generation: int = 1, **spec: Any) -> Obj:
    strategy: Obj = {"type": kind}
    if kind == "RollingUpdate":
        strategy["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"metadata": {"name": "web", "namespace": "default", "uid": "d-uid", "generation": generation},
            "spec": {"replicas": replicas, "strategy": strategy, "progressDeadlineSeconds": 600,
                     "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}, **spec},
            "status": {}}


def rs(name: str, replicas: int, available: int | None = None, *, created: str = "2025-01-01T00:00:00Z",
       revision: int = 1, status_replicas: int | None = None) -> Obj:
    return {"metadata": {"name": name, "creationTimestamp": created, "generation": 1,
                         "annotations": {ro.REVISION: str(revision)}},
            "spec": {"replicas": replicas},
            "status": {"replicas": replicas if status_replicas is None else status_replicas,
                       "availableReplicas": replicas if available is None else available,
                       "observedGeneration": 1}}


def test_fenceposts_round_surge_up_and_unavailable_down() -> None:
    assert ro.fenceposts(dep(10)) == (3, 2)
    assert ro.fenceposts(dep(6, 1, 1)) == (1, 1)
    assert ro.fenceposts(dep(4, 0, 0)) == (0, 1)  # both zero: one may be unavailable
    assert ro.max_unavailable(dep(2, "0%", "100%")) == 2
    assert ro.max_unavailable(dep(3, kind="Recreate")) == 0
    assert ro.max_surge(dep(3, kind="Recreate")) == 0


def test_new_replica_set_grows_within_max_surge() -> None:
    d = dep(10)
    old = rs("old", 10)
    assert ro.new_rs_replicas(d, [old], None) == 3
    new = rs("new", 3, 0)
    assert ro.new_rs_replicas(d, [old, new], new) == 3  # 13 pods already: wait
    old2 = rs("old", 8)
    assert ro.new_rs_replicas(d, [old2, new], new) == 5
    assert ro.new_rs_replicas(dep(4, kind="Recreate"), [], None) == 4


def test_old_replica_sets_shrink_only_while_minimum_availability_holds() -> None:
    d = dep(10)  # surge 3, unavailable 2: at least 8 available
    old = rs("old", 10)
    new = rs("new", 3, 0)
    assert ro.old_scale_down_plan(d, [old], new) == {"old": 8}
    new_ready = rs("new", 3, 3)
    assert ro.old_scale_down_plan(d, [old], new_ready) == {"old": 5}
    # unhealthy old replicas go first, and do not count as available
    sick = rs("old", 10, 7)
    assert ro.old_scale_down_plan(d, [sick], new) == {"old": 8}
    assert ro.old_scale_down_plan(d, [rs("old", 0)], new_ready) == {}


def test_stale_available_count_of_a_shrinking_set_is_capped_by_its_size() -> None:
    d = dep(6, 1, 1)
    shrinking = rs("old", 5, 6)  # status still says 6 available, spec says 5
    new = rs("new", 1, 0, created="2025-01-01T00:01:00Z")
    assert ro.available(shrinking) == 5
    assert ro.old_scale_down_plan(d, [shrinking], new) == {}  # 5 available = minimum


def test_template_hash_is_stable_and_ignores_the_hash_label_and_empty_fields() -> None:
    t = dep()["spec"]["template"]
    h = ro.template_hash(t)
    assert h == ro.template_hash({**t, "metadata": {"labels": {"app": "web", ro.HASH_LABEL: "x"}}})
    with_empty = {**t, "spec": {"containers": [{"name": "c", "image": "nginx:1", "resources": {}}]}}
    assert ro.template_hash(with_empty) == h
    assert ro.equal_ignore_hash(with_empty, t)
    assert ro.template_hash(t, 1) != h
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")


def test_new_replica_set_carries_hash_revision_and_owner() -> None:
    d = dep(4)
    d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "v2", ro.REVISION: "1"}
    body = ro.new_replica_set(d, None, 2, 1)
    h = ro.template_hash(d["spec"]["template"])
    assert body["metadata"]["name"] == f"web-{h}"
    assert body["spec"]["selector"]["matchLabels"] == {"app": "web", ro.HASH_LABEL: h}
    assert body["spec"]["template"]["metadata"]["labels"][ro.HASH_LABEL] == h
    assert body["metadata"]["annotations"] == {"kubernetes.io/change-cause": "v2", ro.REVISION: "2",
                                               ro.DESIRED_REPLICAS: "4", ro.MAX_REPLICAS: "5"}
    assert body["metadata"]["ownerReferences"][0]["uid"] == "d-uid"
    assert body["metadata"]["ownerReferences"][0]["controller"] is True


def test_rollback_moves_the_old_revision_into_history() -> None:
    old = rs("a", 0, revision=1)
    assert ro.revision_history(old, 3) == {ro.REVISION: "3", ro.REVISION_HISTORY: "1"}
    assert ro.revision_history(rs("a", 0, revision=3), 3) is None


def test_history_beyond_the_limit_is_deleted_oldest_first() -> None:
    d = dep(2, revisionHistoryLimit=1)
    sets = [rs("r1", 0, revision=1), rs("r2", 0, revision=2), rs("r3", 0, revision=3),
            rs("busy", 2, revision=4)]
    assert [s["metadata"]["name"] for s in ro.history_to_delete(d, sets)] == ["r1", "r2"]


def test_proportional_scaling_splits_by_size() -> None:
    d = dep(20, 3, 2)  # scaled from 10 to 20 mid-rollout
    a = rs("a", 8, created="2025-01-01T00:00:00Z")
    b = rs("b", 5, created="2025-01-01T00:01:00Z")
    for s in (a, b):
        s["metadata"]["annotations"][ro.MAX_REPLICAS] = "13"
    sizes = ro.proportional_sizes(d, [a, b])
    assert sum(sizes.values()) == 23
    assert sizes["a"] > sizes["b"]


def test_status_and_conditions_of_a_complete_rollout() -> None:
    d = dep(3)
    new = rs("web-abc", 3)
    new["status"]["readyReplicas"] = 3
    status = ro.calculate_status(d, [new], new)
    assert status == {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
                      "availableReplicas": 3, "unavailableReplicas": 0}
    conditions, recheck = ro.rollout_conditions(d, status, new, NOW)
    by_type = {c["type"]: c for c in conditions}
    assert by_type["Available"]["reason"] == "MinimumReplicasAvailable"
    assert by_type["Progressing"]["reason"] == "NewReplicaSetAvailable"
    assert by_type["Progressing"]["message"] == 'ReplicaSet "web-abc" has successfully progressed.'
    assert recheck is None


def test_progress_deadline_exceeded() -> None:
    d = dep(3, progressDeadlineSeconds=60)
    d["status"] = {"updatedReplicas": 1, "replicas": 4, "readyReplicas": 3, "availableReplicas": 3, "conditions": [
        {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
         "lastUpdateTime": "2025-01-01T11:58:00Z", "lastTransitionTime": "2025-01-01T11:58:00Z",
         "message": 'ReplicaSet "web-abc" is progressing.'}]}
    new = rs("web-abc", 1, 0)
    status = {"observedGeneration": 1, "replicas": 4, "updatedReplicas": 1, "readyReplicas": 3,
              "availableReplicas": 3, "unavailableReplicas": 0}
    conditions, _ = ro.rollout_conditions(d, status, new, NOW)
    progressing = ro.condition(conditions, "Progressing")
    assert progressing is not None
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert progressing["message"] == 'ReplicaSet "web-abc" has timed out progressing.'
    # still within the deadline: a recheck is scheduled for when it would pass
    conditions, recheck = ro.rollout_conditions(d, status, new, NOW - dt.timedelta(seconds=90))
    assert ro.condition(conditions, "Progressing")["reason"] == "ReplicaSetUpdated"  # type: ignore[index]
    assert recheck is not None and 25 < recheck < 40


def test_paused_deployment_reports_paused() -> None:
    d = dep(3, paused=True)
    conditions, _ = ro.rollout_conditions(d, ro.calculate_status(d, [], None), None, NOW)
    progressing = ro.condition(conditions, "Progressing")
    assert progressing is not None and progressing["reason"] == "DeploymentPaused"


def _finished(d: Obj) -> Obj:
    d["status"] = {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
                   "availableReplicas": 3, "conditions": [
                       {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                        "message": 'ReplicaSet "web-abc" has successfully progressed.',
                        "lastUpdateTime": "2025-01-01T11:00:00Z",
                        "lastTransitionTime": "2025-01-01T11:00:00Z"}]}
    return d


def test_a_finished_rollout_stays_finished_while_a_pod_is_replaced() -> None:
    d = _finished(dep(3))
    new = rs("web-abc", 3, 2)
    new["status"]["readyReplicas"] = 3  # the replacement just became ready: progress, but no rollout
    status = ro.calculate_status(d, [new], new)
    conditions, _ = ro.rollout_conditions(d, status, new, NOW)
    progressing = ro.condition(conditions, "Progressing")
    assert progressing == d["status"]["conditions"][0]


def test_scaling_syncs_only_available() -> None:
    d = _finished(dep(3))
    d["spec"]["replicas"] = 9
    new = rs("web-abc", 9, 3, status_replicas=3)
    status = ro.calculate_status(d, [new], new)
    conditions, recheck = ro.rollout_conditions(d, status, new, NOW, estimate_progress=False)
    assert ro.condition(conditions, "Progressing") == d["status"]["conditions"][0]
    assert ro.condition(conditions, "Available")["status"] == "False"  # type: ignore[index]
    assert recheck is None


def test_progress_keeps_transition_time_and_moves_update_time() -> None:
    d = dep(3)
    d["status"] = {"replicas": 3, "updatedReplicas": 0, "conditions": [
        {"type": "Progressing", "status": "True", "reason": "NewReplicaSetCreated",
         "message": 'Created new replica set "web-new"', "lastUpdateTime": "2025-01-01T11:59:00Z",
         "lastTransitionTime": "2025-01-01T11:59:00Z"}]}
    new, old = rs("web-new", 1, 0, revision=2), rs("web-old", 3)
    status = ro.calculate_status(d, [new, old], new)
    conditions, recheck = ro.rollout_conditions(d, status, new, NOW)
    progressing = ro.condition(conditions, "Progressing")
    assert progressing == {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                           "message": 'ReplicaSet "web-new" is progressing.',
                           "lastUpdateTime": "2025-01-01T12:00:00Z",
                           "lastTransitionTime": "2025-01-01T11:59:00Z"}
    assert recheck is not None and 500 < recheck < 600  # from the condition this sync started with


def test_set_condition_ignores_a_new_message_with_the_same_status_and_reason() -> None:
    before = [{"type": "Progressing", "status": "True", "reason": "NewReplicaSetCreated",
               "message": 'Created new replica set "web-b"'}]
    after = ro.set_condition(before, "Progressing", "True", "NewReplicaSetCreated",
                             'Created new replica set "web-c"', NOW)
    assert after == before


def test_without_a_deadline_there_is_no_progressing_condition() -> None:
    d = _finished(dep(3, progressDeadlineSeconds=ro.NO_DEADLINE))
    new = rs("web-abc", 3)
    conditions, recheck = ro.rollout_conditions(d, ro.calculate_status(d, [new], new), new, NOW)
    assert ro.condition(conditions, "Progressing") is None and recheck is None


def test_messages_name_the_deployment_without_a_new_replica_set() -> None:
    d = dep(0)
    conditions, _ = ro.rollout_conditions(d, ro.calculate_status(d, [], None), None, NOW)
    assert ro.condition(conditions, "Progressing")["message"] == (  # type: ignore[index]
        'Deployment "web" has successfully progressed.')
