"""The WordPress example (examples/wordpress) with real images built from Debian's packages,
on one machine: MariaDB's StatefulSet becomes ready only when it accepts SQL, WordPress' install
form creates the site's tables, MariaDB shuts down cleanly on delete (no crash recovery on the
next start) and comes back on its volume with the site's rows."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, running_node
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

# NetworkPolicy and Ingress are exercised on three machines (test_wordpress_machines.py)
ONE_MACHINE_KINDS = {"Secret", "Service", "StatefulSet", "Deployment", "PodDisruptionBudget",
                     "HorizontalPodAutoscaler"}


def _one_replica(doc: dict[str, Any]) -> None:
    if doc["kind"] == "Deployment":
        doc["spec"]["replicas"] = 1
    if doc["kind"] == "HorizontalPodAutoscaler":
        doc["spec"]["minReplicas"] = 1
    if doc["kind"] == "PodDisruptionBudget":
        doc["spec"]["minAvailable"] = 0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("wordpress")) as c:
        push_example_images(c.registry.url)
        c.kubectl("apply", "-f", "-", input=manifests(
            keep=lambda d: d["kind"] in ONE_MACHINE_KINDS, edit=_one_replica))
        yield c


def _log_lines(cluster: NodeCluster) -> int:
    return len(cluster.kubectl("logs", "mariadb-0", check=False).stdout.splitlines())


@pytest.mark.timeout(900)
def test_the_install_form_creates_the_site_in_mariadb(cluster: NodeCluster) -> None:
    until(lambda: is_ready(pod_named(cluster.kubectl, "mariadb-0")), timeout=300, what="mariadb-0 Ready")
    assert sql(cluster.kubectl, "select 1").strip() == "1"  # ready means it answers SQL
    cluster.kubectl("rollout", "status", "deployment/wordpress", "--timeout=300s", timeout=320)
    pods = json.loads(cluster.kubectl("get", "pods", "-l", "app=wordpress", "-o", "json").stdout)
    base = f"http://{pods['items'][0]['status']['podIP']}"
    status, body = get(f"{base}/wp-admin/install.php")
    assert status == 200 and "WordPress" in body, body[:500]
    answer = install_site(base)
    assert "Success!" in answer, answer[:2000]
    tables = sql(cluster.kubectl, "show tables").split()
    assert {"wp_posts", "wp_users", "wp_options"} <= set(tables)
    assert sql(cluster.kubectl, "select user_login from wp_users").split() == ["admin"]


@pytest.mark.timeout(600)
def test_mariadb_stops_cleanly_and_comes_back_with_its_data(cluster: NodeCluster) -> None:
    posts = sql(cluster.kubectl, "select count(*) from wp_posts").strip()
    assert int(posts) >= 1
    uid = pod_named(cluster.kubectl, "mariadb-0")["metadata"]["uid"]
    with ThreadPoolExecutor(1) as pool:  # follow the log to the server's last line
        follow = pool.submit(cluster.kubectl, "logs", "-f", "mariadb-0", check=False, timeout=120)
        until(lambda: _log_lines(cluster) > 0, timeout=30, what="the log followed")
        time.sleep(1)
        cluster.kubectl("delete", "pod", "mariadb-0", "--wait=false")
        shutdown = follow.result().stdout
    assert "Shutdown complete" in shutdown, shutdown[-3000:]  # SIGTERM, and time to flush
    until(lambda: is_ready(p := pod_named(cluster.kubectl, "mariadb-0")) and p["metadata"]["uid"] != uid,
          timeout=300, what="mariadb-0 back and Ready")
    assert sql(cluster.kubectl, "select count(*) from wp_posts").strip() == posts
    log = cluster.kubectl("logs", "mariadb-0").stdout
    assert "crash recovery" not in log.lower(), log[-3000:]
    assert "entrypoint: initializing" not in log  # the volume kept the data directory
