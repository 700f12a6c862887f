"""Pod create validation: one table row per Kubernetes rule and its exact message."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.api.validation import invalid_message, validate_pod

from .conftest import container, make_pod

NEG = "must be greater than or equal to 0"


def messages(spec: dict[str, Any], **meta: Any) -> list[str]:
    return [e.message() for e in validate_pod(make_pod(spec, **meta))]


def test_minimal_pod_is_valid() -> None:
    assert messages({"containers": [container()]}) == []


CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("no containers", {"containers": []}, ["spec.containers: Required value"]),
    ("duplicate container names",
     {"containers": [container(), container()]},
     ['spec.containers[1].name: Duplicate value: "web"']),
    ("init container name clashes with app container",
     {"containers": [container()], "initContainers": [container()]},
     ['spec.initContainers[0].name: Duplicate value: "web"']),
    ("image required",
     {"containers": [{"name": "web"}]}, ["spec.containers[0].image: Required value"]),
    ("malformed image",
     {"containers": [container(image="Nginx:1")]},
     ['spec.containers[0].image: Invalid value: "Nginx:1": invalid reference format: '
      "repository name (Nginx) must be lowercase"]),
    ("container name is a DNS label",
     {"containers": [container(name="Web")]},
     ['spec.containers[0].name: Invalid value: "Web": a lowercase RFC 1123 label must consist '
      "of lower case alphanumeric characters or '-', and must start and end with an "
      "alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]),
    ("port out of range",
     {"containers": [container(ports=[{"containerPort": 70000}])]},
     ["spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and "
      "65535, inclusive"]),
    ("duplicate port names",
     {"containers": [container(ports=[{"containerPort": 80, "name": "http"},
                                      {"containerPort": 81, "name": "http"}])]},
     ['spec.containers[0].ports[1].name: Duplicate value: "http"']),
    ("bad protocol",
     {"containers": [container(ports=[{"containerPort": 80, "protocol": "ICMP"}])]},
     ['spec.containers[0].ports[0].protocol: Unsupported value: "ICMP": supported values: '
      '"SCTP", "TCP", "UDP"']),
    ("host port conflict",
     {"containers": [container(ports=[{"containerPort": 80, "hostPort": 8080}]),
                     container(name="b", ports=[{"containerPort": 81, "hostPort": 8080}])]},
     ['spec.containers[1].ports[0].hostPort: Duplicate value: "/TCP/8080"']),
    ("duplicate volume names",
     {"containers": [container()], "volumes": [{"name": "v", "emptyDir": {}},
                                                {"name": "v", "emptyDir": {}}]},
     ['spec.volumes[1].name: Duplicate value: "v"']),
    ("two volume sources",
     {"containers": [container()],
      "volumes": [{"name": "v", "emptyDir": {}, "hostPath": {"path": "/x"}}]},
     ["spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type"]),
    ("volume name is a DNS label",
     {"containers": [container()], "volumes": [{"name": "V_1", "emptyDir": {}}]},
     ['spec.volumes[0].name: Invalid value: "V_1": a lowercase RFC 1123 label must consist of '
      "lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
      "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
      "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]),
    ("mount of a missing volume",
     {"containers": [container(volumeMounts=[{"name": "data", "mountPath": "/d"}])]},
     ['spec.containers[0].volumeMounts[0].name: Not found: "data"']),
    ("mount paths unique",
     {"containers": [container(volumeMounts=[{"name": "v", "mountPath": "/d"},
                                             {"name": "v", "mountPath": "/d"}])],
      "volumes": [{"name": "v", "emptyDir": {}}]},
     ['spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/d": must be unique']),
    ("subPath absolute and climbing",
     {"containers": [container(volumeMounts=[{"name": "v", "mountPath": "/d",
                                              "subPath": "/../x"}])],
      "volumes": [{"name": "v", "emptyDir": {}}]},
     ['spec.containers[0].volumeMounts.subPath: Invalid value: "/../x": must be a relative path',
      "spec.containers[0].volumeMounts.subPath: Invalid value: \"/../x\": must not contain '..'"]),
    ("env name with =",
     {"containers": [container(env=[{"name": "A=B", "value": "1"}])]},
     ['spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name '
      "must consist only of printable ASCII characters other than '='"]),
    ("valueFrom with two sources",
     {"containers": [container(env=[{"name": "A", "valueFrom": {
         "fieldRef": {"fieldPath": "metadata.name"},
         "secretKeyRef": {"name": "s", "key": "k"}}}])]},
     ['spec.containers[0].env[0].valueFrom: Invalid value: "": may not have more than one '
      "field specified at a time"]),
    ("valueFrom with value",
     {"containers": [container(env=[{"name": "A", "value": "x", "valueFrom": {
         "fieldRef": {"fieldPath": "metadata.name"}}}])]},
     ['spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when '
      "`value` is not empty"]),
    ("unsupported fieldRef",
     {"containers": [container(env=[{"name": "A", "valueFrom": {
         "fieldRef": {"fieldPath": "spec.foo"}}}])]},
     ['spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.foo": '
      'supported values: "metadata.name", "metadata.namespace", "metadata.uid", '
      '"spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", '
      '"status.podIP", "status.podIPs"']),
    ("requests above limits",
     {"containers": [container(resources={"limits": {"cpu": "1"}, "requests": {"cpu": "2"}})]},
     ['spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal '
      "to cpu limit of 1"]),
    ("negative quantity",
     {"containers": [container(resources={"requests": {"memory": "-1Mi"}})]},
     ['spec.containers[0].resources.requests[memory]: Invalid value: "-1Mi": ' + NEG]),
    ("unparsable quantity",
     {"containers": [container(resources={"requests": {"memory": "lots"}})]},
     ['spec.containers[0].resources.requests[memory]: Invalid value: "lots": quantities must '
      "match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"]),
    ("unknown resource name",
     {"containers": [container(resources={"limits": {"gpu": "1"}})]},
     ['spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard '
      "resource type or fully qualified",
      'spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard '
      "resource for containers",
      # Requests are defaulted from limits before validation, so they fail the same way.
      'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard '
      "resource type or fully qualified",
      'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard '
      "resource for containers"]),
    ("extended resource must equal its limit",
     {"containers": [container(resources={"limits": {"example.com/gpu": "2"},
                                          "requests": {"example.com/gpu": "1"}})]},
     ['spec.containers[0].resources.requests: Invalid value: "1": must be equal to '
      "example.com/gpu limit of 2"]),
    ("probe without handler",
     {"containers": [container(readinessProbe={"periodSeconds": 5})]},
     ["spec.containers[0].readinessProbe: Required value: must specify a handler type"]),
    ("probe with two handlers",
     {"containers": [container(readinessProbe={"exec": {"command": ["true"]},
                                               "tcpSocket": {"port": 80}})]},
     ["spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 "
      "handler type"]),
    ("liveness successThreshold",
     {"containers": [container(livenessProbe={"tcpSocket": {"port": 80},
                                              "successThreshold": 3})]},
     ["spec.containers[0].livenessProbe.successThreshold: Invalid value: 3: must be 1"]),
    ("negative probe timing",
     {"containers": [container(startupProbe={"tcpSocket": {"port": 80},
                                             "initialDelaySeconds": -1})]},
     ["spec.containers[0].startupProbe.initialDelaySeconds: Invalid value: -1: " + NEG]),
    ("bad restart policy",
     {"containers": [container()], "restartPolicy": "Sometimes"},
     ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", '
      '"OnFailure", "Never"']),
    ("bad dns policy",
     {"containers": [container()], "dnsPolicy": "Google"},
     ['spec.dnsPolicy: Unsupported value: "Google": supported values: '
      '"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"']),
    ("toleration without key must be Exists",
     {"containers": [container()], "tolerations": [{"operator": "Equal", "value": "x"}]},
     ['spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when '
      '`key` is empty, which means "match all values and all keys"']),
    ("tolerationSeconds needs NoExecute",
     {"containers": [container()],
      "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule",
                       "tolerationSeconds": 5}]},
     ['spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be \'NoExecute\' '
      "when `tolerationSeconds` is set"]),
    ("bad taint effect",
     {"containers": [container()],
      "tolerations": [{"key": "k", "operator": "Exists", "effect": "Never"}]},
     ['spec.tolerations[0].effect: Unsupported value: "Never": supported values: '
      '"NoSchedule", "PreferNoSchedule", "NoExecute"']),
    ("node selector label syntax",
     {"containers": [container()], "nodeSelector": {"-bad": "x"}},
     ["spec.nodeSelector: Invalid value: \"-bad\": name part must consist of alphanumeric "
      "characters, '-', '_' or '.', and must start and end with an alphanumeric character "
      "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
      "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"]),
    ("node affinity with no terms",
     {"containers": [container()], "affinity": {"nodeAffinity": {
         "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}}},
     ["spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
      "nodeSelectorTerms: Required value: must have at least one node selector term"]),
    ("node affinity bad operator",
     {"containers": [container()], "affinity": {"nodeAffinity": {
         "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
             {"matchExpressions": [{"key": "zone", "operator": "Near", "values": ["a"]}]}]}}}},
     ["spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
      'nodeSelectorTerms[0].matchExpressions[0].operator: Invalid value: "Near": not a valid '
      "selector operator"]),
    ("Gt needs one value",
     {"containers": [container()], "affinity": {"nodeAffinity": {
         "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
             {"matchExpressions": [{"key": "n", "operator": "Gt", "values": ["1", "2"]}]}]}}}},
     ["spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution."
      "nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified "
      "single value when `operator` is 'Lt' or 'Gt'"]),
    ("maxSkew must be positive",
     {"containers": [container()], "topologySpreadConstraints": [
         {"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]},
     ["spec.topologySpreadConstraints[0].maxSkew: Invalid value: 0: must be greater than zero"]),
    ("minDomains only with DoNotSchedule",
     {"containers": [container()], "topologySpreadConstraints": [
         {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
          "minDomains": 2}]},
     ["spec.topologySpreadConstraints[0].minDomains: Invalid value: 2: can only use minDomains "
      "if whenUnsatisfiable=DoNotSchedule, not ScheduleAnyway"]),
    ("bad whenUnsatisfiable",
     {"containers": [container()], "topologySpreadConstraints": [
         {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "Maybe"}]},
     ['spec.topologySpreadConstraints[0].whenUnsatisfiable: Unsupported value: "Maybe": '
      'supported values: "DoNotSchedule", "ScheduleAnyway"']),
    ("negative grace period",
     {"containers": [container()], "terminationGracePeriodSeconds": -5},
     ["spec.terminationGracePeriodSeconds: Invalid value: -5: " + NEG]),
    ("runAsUser out of range",
     {"containers": [container(securityContext={"runAsUser": -1})]},
     ["spec.containers[0].securityContext.runAsUser: Invalid value: -1: must be between 0 and "
      "2147483647, inclusive"]),
    ("activeDeadlineSeconds zero",
     {"containers": [container()], "activeDeadlineSeconds": 0},
     ["spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, "
      "inclusive"]),
]


@pytest.mark.parametrize(("spec", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_pod_rule(spec: dict[str, Any], expected: list[str]) -> None:
    assert messages(spec) == expected


def test_bad_name_message_as_kubectl_prints_it() -> None:
    pod = make_pod({"containers": [container()]}, name="Bad_Name")
    assert invalid_message("Pod", "Bad_Name", validate_pod(pod)) == (
        'Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC '
        "1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
        "must start and end with an alphanumeric character (e.g. 'example.com', regex used for "
        "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")


def test_labels_and_annotations_checked() -> None:
    out = messages({"containers": [container()]}, labels={"app": "a b"},
                   annotations={"Example.com/Ok": "x"})
    assert out == ['metadata.labels: Invalid value: "a b": a valid label must be an empty string '
                   "or consist of alphanumeric characters, '-', '_' or '.', and must start and "
                   "end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
                   "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?"
                   "[A-Za-z0-9])?')"]


def test_annotations_total_size_limit() -> None:
    out = messages({"containers": [container()]}, annotations={"a": "x" * (256 * 1024)})
    assert out == ["metadata.annotations: Too long: may not be more than 262144 bytes"]


def test_owner_references_need_uid_and_single_controller() -> None:
    ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "",
           "controller": True}
    out = messages({"containers": [container()]},
                   ownerReferences=[ref, {**ref, "uid": "u", "name": "rs2"}])
    assert out[0] == 'metadata.ownerReferences.uid: Invalid value: "": uid must not be empty'
    assert out[1].startswith("metadata.ownerReferences: Invalid value: ")
    assert out[1].endswith('Only one reference can have Controller set to true. Found "true" '
                           "in references for ReplicaSet/rs and ReplicaSet/rs2")


def test_sidecar_init_container_may_have_probes() -> None:
    init = container(name="side", restartPolicy="Always",
                     readinessProbe={"tcpSocket": {"port": 80}})
    assert messages({"containers": [container()], "initContainers": [init]}) == []
    plain = container(name="init", readinessProbe={"tcpSocket": {"port": 80}})
    assert messages({"containers": [container()], "initContainers": [plain]}) == [
        "spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers "
        "without restartPolicy=Always"]
