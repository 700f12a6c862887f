"""Two `kubelite server`s sharing one embedded etcd serve the same CustomResourceDefinitions:
each follows CRDs in its own watch cache, so a CRD made through one is served by the other,
its objects are read through either, and deleting it through one removes them for both."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.helpers.server_machines import server_machines
from tests.helpers.wait import until

CRD = textwrap.dedent(
    """
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata: {name: pipes.flow.example.com}
    spec:
      group: flow.example.com
      scope: Namespaced
      names: {plural: pipes, kind: Pipe, shortNames: [pp]}
      versions:
      - name: v1
        served: true
        storage: true
        additionalPrinterColumns:
        - {name: Width, type: integer, jsonPath: .spec.width}
        schema:
          openAPIV3Schema:
            type: object
            properties:
              spec:
                type: object
                properties:
                  width: {type: integer, default: 10}
    """
)


def test_a_crd_made_through_one_server_is_served_by_the_other(tmp_path: Path) -> None:
    with server_machines(tmp_path / "servers", 2) as sm:
        first = sm.init(sm.machines[0])
        second = sm.join(sm.machines[1], first)
        first.kubectl("apply", "-f", "-", input=CRD)
        second.kubectl("wait", "--for=condition=Established", "crd/pipes.flow.example.com", "--timeout=60s")
        until(lambda: second.kubectl("get", "pipes", check=False).returncode == 0, 30,
              "the Pipe kind served by the second server")
        second.kubectl("apply", "-f", "-", input="apiVersion: flow.example.com/v1\nkind: Pipe\nmetadata: {name: main}\nspec: {}\n")
        rows = until(lambda: first.kubectl("get", "pp", "main", check=False).stdout.splitlines(), 30,
                     "the Pipe read through the first server")
        assert rows[0].split() == ["NAME", "WIDTH"] and rows[1].split() == ["main", "10"]
        second.kubectl("delete", "crd", "pipes.flow.example.com", "--timeout=60s")
        until(lambda: first.kubectl("get", "crd", "pipes.flow.example.com", check=False).returncode != 0,
              30, "the CRD gone for the first server")
        gone = first.kubectl("get", "--raw", "/apis/flow.example.com/v1/pipes", check=False)
        assert gone.returncode != 0 or json.loads(gone.stdout)["items"] == []
