"""The WordPress example (examples/wordpress) as a user would run it, on three machines, from
empty: real images built from Debian's packages, all pods Ready, WordPress on three different
machines, its install page through the Ingress on every machine's port 80 and the install form
creating the site in MariaDB; the NetworkPolicy keeping other pods off MariaDB's port; and
`kubectl drain` of a WordPress machine with the site answering throughout."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.machines import MachineCluster, machine_cluster
from tests.helpers.wait import until
from tests.helpers.wordpress_site import (
    get,
    install_site,
    is_ready,
    manifests,
    pod_named,
    push_example_images,
    sql,
)

pytestmark = [pytest.mark.root, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def lan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MachineCluster]:
    with machine_cluster(tmp_path_factory.mktemp("wp"), 3) as mc:
        push_example_images(mc.registry.url)
        for m in mc.machines:
            mc.join(m)
        mc.server.kubectl("apply", "-f", "-", input=manifests())
        yield mc


def _json(mc: MachineCluster, *args: str) -> Any:
    return json.loads(mc.server.kubectl("get", *args, "-o", "json").stdout)


def _wordpress_nodes(mc: MachineCluster) -> list[str]:
    return sorted(p["spec"]["nodeName"] for p in _json(mc, "pods", "-l", "app=wordpress")["items"]
                  if is_ready(p))


def test_from_empty_every_pod_ready_and_the_site_installs_through_each_machines_ingress(
        lan: MachineCluster) -> None:
    until(lambda: is_ready(pod_named(lan.server.kubectl, "mariadb-0")), timeout=600, what="mariadb-0 Ready")
    nodes = until(lambda: len(n := _wordpress_nodes(lan)) == 3 and n, timeout=600,
                  what="three WordPress pods Ready")
    assert len(set(nodes)) == 3, nodes  # spread over the three machines
    for m in lan.machines:  # the Ingress on every machine's port 80
        status, body = until(lambda m=m: (r := get(f"http://{m.address}/wp-admin/install.php"))[0] == 200
                             and r, timeout=120, what=f"the install page through {m.node_name}")
        assert "WordPress" in body
    answer = install_site(f"http://{lan.machines[0].address}")
    assert "Success!" in answer, answer[:2000]
    assert {"wp_posts", "wp_users"} <= set(sql(lan.server.kubectl, "show tables").split())
    for m in lan.machines:  # the site, not the installer, from every machine
        status, body = get(f"http://{m.address}/")
        assert status == 200 and "kubelite site" in body, (m.node_name, status, body[:300])
    lb = _json(lan, "ingress", "wordpress")["status"]["loadBalancer"]["ingress"]
    assert {i["ip"] for i in lb} == {m.address for m in lan.machines}


def test_only_wordpress_reaches_mariadb(lan: MachineCluster) -> None:
    mariadb_ip = _json(lan, "pod", "mariadb-0")["status"]["podIP"]
    probe = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "intruder", "labels": {"app": "other"}},
             "spec": {"terminationGracePeriodSeconds": 0, "containers": [
                 {"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}}
    lan.server.kubectl("apply", "-f", "-", input=json.dumps(probe))
    until(lambda: is_ready(_json(lan, "pod", "intruder")), timeout=120, what="the intruder pod")

    def greeting(pod: str) -> str:
        out = lan.server.kubectl("exec", pod, "--", "sh", "-c",
                                 f"timeout 5 nc {mariadb_ip} 3306 </dev/null | head -c 200 | tr -d '\\000-\\010\\016-\\037\\177-\\377'",
                                 check=False)
        return str(out.stdout)

    try:
        assert "mysql_native_password" not in greeting("intruder")  # no handshake: dropped
        # the same pod, labelled as WordPress, gets MariaDB's greeting
        lan.server.kubectl("label", "pod", "intruder", "app=wordpress", "--overwrite")
        assert until(lambda: "mysql_native_password" in greeting("intruder"), timeout=30,
                     what="MariaDB's greeting once allowed")
    finally:  # gone before the drain test: a pod without a controller would stop a drain
        lan.server.kubectl("delete", "pod", "intruder", "--timeout=60s", timeout=90)


def test_drain_of_a_wordpress_machine_keeps_the_site_answering(lan: MachineCluster) -> None:
    mariadb_node = _json(lan, "pod", "mariadb-0")["spec"]["nodeName"]
    target = next(m for m in lan.machines if m.node_name != mariadb_node)
    entry = next(m for m in lan.machines if m is not target)
    failures: list[str] = []
    served = 0
    stop = threading.Event()

    def visitor() -> None:
        nonlocal served
        while not stop.is_set():
            try:
                status, body = get(f"http://{entry.address}/", timeout=20)
                if status != 200 or "kubelite site" not in body:
                    failures.append(f"{status} {body[:200]}")
                served += 1
            except Exception as e:  # noqa: BLE001 - every failure is recorded
                failures.append(repr(e))
            time.sleep(0.05)

    thread = threading.Thread(target=visitor, daemon=True)
    thread.start()
    try:
        out = lan.server.kubectl("drain", target.node_name, "--ignore-daemonsets",
                                 "--delete-emptydir-data", "--timeout=300s", timeout=320)
        assert "drained" in out.stdout
        until(lambda: target.node_name not in _wordpress_nodes(lan), timeout=60,
              what="no WordPress pod left on the drained machine")
        time.sleep(3)  # and a little more traffic after it
    finally:
        stop.set()
        thread.join(30)
        lan.server.kubectl("uncordon", target.node_name)
    assert served > 20
    assert not failures, failures[:5]
    assert len(_wordpress_nodes(lan)) >= 2  # the PodDisruptionBudget kept two

