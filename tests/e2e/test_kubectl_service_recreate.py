"""A deleted Service's clusterIP and nodePort are free the moment the delete answers: delete
and re-create with the same values (and `kubectl replace --force`) succeed at once."""

from __future__ import annotations

import json

from tests.helpers.cluster import Server

IP, NODE_PORT = "10.96.7.7", 30777


def manifest(name: str) -> str:
    return json.dumps({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"type": "NodePort", "clusterIP": IP, "selector": {"app": name},
                 "ports": [{"port": 80, "targetPort": 8080, "nodePort": NODE_PORT}]}})


def allocated(server: Server, name: str) -> tuple[str, int]:
    svc = json.loads(server.kubectl("get", "service", name, "-o", "json").stdout)
    return svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]


def test_delete_and_recreate_with_the_same_cluster_ip_and_node_port(server: Server) -> None:
    server.kubectl("create", "-f", "-", input=manifest("again"))
    for _ in range(3):
        server.kubectl("delete", "service", "again", "--wait=false")
        server.kubectl("create", "-f", "-", input=manifest("again"))
        assert allocated(server, "again") == (IP, NODE_PORT)
    server.kubectl("replace", "--force", "-f", "-", input=manifest("again"))
    assert allocated(server, "again") == (IP, NODE_PORT)
    server.kubectl("delete", "service", "again")
    # another Service may take them at once too
    server.kubectl("create", "-f", "-", input=manifest("other"))
    assert allocated(server, "other") == (IP, NODE_PORT)
    server.kubectl("delete", "service", "other")
