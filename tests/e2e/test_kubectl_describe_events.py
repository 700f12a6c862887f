"""A user looks at a pod's events: repeats are one event with a count ("x3 over 40s" in
`kubectl describe` and `kubectl events`, kubectl 1.27, 1.32 and 1.33), in time order."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, running_node

AGGREGATED = re.compile(r"\(x(\d+) over \w+\)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("node")) as c:
        yield c


def pod_events(cluster: NodeCluster, name: str) -> list[dict[str, Any]]:
    out = cluster.kubectl("get", "events", "-o", "json", "--field-selector",
                          f"involvedObject.name={name}").stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


def wait_events(cluster: NodeCluster, name: str, check: Any, timeout: float, what: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        events = pod_events(cluster, name)
        if check(events):
            return events
        time.sleep(0.5)
    raise AssertionError(f"{what} not seen in {timeout}s: {json.dumps(events, indent=1)}")


@pytest.fixture(scope="module")
def unpullable(cluster: NodeCluster) -> Iterator[list[dict[str, Any]]]:
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nopull"},
                   "spec": {"terminationGracePeriodSeconds": 1,
                            "containers": [{"name": "main", "image": "never-there-image:1.0"}]}})

    def repeated(events: list[dict[str, Any]]) -> bool:
        return any(e["reason"] in ("BackOff", "Failed") and (e.get("count") or 0) >= 2 for e in events)

    # back-off starts at 10 s and doubles: the second pull fails about 10-20 s after the first
    yield wait_events(cluster, "nopull", repeated, 90, "a repeated pull failure")
    cluster.kubectl("delete", "pod", "nopull", "--wait=false")


def test_repeated_failures_are_one_event_with_a_count(unpullable: list[dict[str, Any]]) -> None:
    by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in unpullable:
        by_key.setdefault((e["reason"], e["message"]), []).append(e)
    assert all(len(same) == 1 for same in by_key.values()), "a repeat was written as a new event"
    counted = next(e for e in unpullable if (e.get("count") or 0) >= 2)
    assert counted["reason"] in ("BackOff", "Failed")
    assert counted["lastTimestamp"] > counted["firstTimestamp"]
    assert counted["source"]["component"] == "kubelet"
    # named as Kubernetes names them: the object's name and the creation time in hex nanoseconds
    assert re.fullmatch(r"nopull\.[0-9a-f]{16}", counted["metadata"]["name"])


@pytest.mark.parametrize("version", ["1.27", "1.32", "1.33"])
def test_describe_and_kubectl_events_show_the_count(cluster: NodeCluster, version: str,
                                                     unpullable: list[dict[str, Any]]) -> None:
    described = cluster.kubectl("describe", "pod", "nopull", version=version).stdout
    events_part = described.split("Events:", 1)[1]
    assert AGGREGATED.search(events_part), described
    listed = cluster.kubectl("events", "--for", "pod/nopull", version=version).stdout
    assert listed.splitlines()[0].split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert AGGREGATED.search(listed), listed
    table = cluster.kubectl("get", "events", "--sort-by=.lastTimestamp",
                            "--field-selector", "involvedObject.name=nopull", version=version).stdout
    assert "Back-off pulling image" in table or "Failed" in table


def test_events_of_one_second_list_in_the_order_they_happened(cluster: NodeCluster) -> None:
    # Scheduled, Pulled, Created, Started come within a second or two
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ordered"},
                   "spec": {"terminationGracePeriodSeconds": 1,
                            "containers": [{"name": "a", "image": "busybox:latest",
                                            "command": ["sleep", "3600"]}]}})
    cluster.wait_running("ordered")
    events = wait_events(cluster, "ordered", lambda es: any(e["reason"] == "Started" for e in es),
                         30, "Started")
    names = [e["metadata"]["name"] for e in events]
    assert names == sorted(names)  # the list comes in name order, which is time order
    reasons = [e["reason"] for e in events]
    assert reasons.index("Scheduled") < reasons.index("Created") < reasons.index("Started")
    described = cluster.kubectl("describe", "pod", "ordered").stdout.split("Events:", 1)[1]
    positions = [described.index(r) for r in ("Scheduled", "Created", "Started")]
    assert positions == sorted(positions), described
    cluster.kubectl("delete", "pod", "ordered", "--wait=false")
