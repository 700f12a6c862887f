"""A user installs CustomResourceDefinitions and works with their objects through kubectl
(and the Python client's dynamic client), as against a Kubernetes 1.32 API server."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from tests.helpers.cluster import KUBECTL_VERSIONS, Server, kubectl_binary
from tests.helpers.wait import until

DATA = Path(__file__).parent / "data" / "crds"

CRONTABS = textwrap.dedent(
    """
    apiVersion: apiextensions.k8s.io/v1
    kind: CustomResourceDefinition
    metadata:
      name: crontabs.stable.example.com
    spec:
      group: stable.example.com
      scope: Namespaced
      names:
        plural: crontabs
        kind: CronTab
        shortNames: [ct]
        categories: [all]
      versions:
      - name: v1
        served: true
        storage: true
        subresources:
          status: {}
          scale:
            specReplicasPath: .spec.replicas
            statusReplicasPath: .status.replicas
            labelSelectorPath: .status.selector
        selectableFields:
        - jsonPath: .spec.color
        additionalPrinterColumns:
        - name: Schedule
          type: string
          jsonPath: .spec.cronSpec
        - name: Replicas
          type: integer
          jsonPath: .spec.replicas
        - name: Image
          type: string
          priority: 1
          jsonPath: .spec.image
        - name: Age
          type: date
          jsonPath: .metadata.creationTimestamp
        schema:
          openAPIV3Schema:
            type: object
            description: A CronTab runs an image on a schedule.
            properties:
              spec:
                type: object
                description: What to run and when.
                properties:
                  cronSpec:
                    type: string
                    description: The schedule, in cron format.
                  image:
                    type: string
                  color:
                    type: string
                  replicas:
                    type: integer
              status:
                type: object
                properties:
                  replicas:
                    type: integer
                  selector:
                    type: string
    """
)


def crontab(name: str, color: str = "blue", replicas: int = 1) -> str:
    return textwrap.dedent(
        f"""
        apiVersion: stable.example.com/v1
        kind: CronTab
        metadata:
          name: {name}
        spec:
          cronSpec: "*/5 * * * *"
          image: busybox:1.36
          color: {color}
          replicas: {replicas}
        """
    )


def install(server: Server, manifest: str, name: str) -> None:
    server.kubectl("apply", "-f", "-", input=manifest)
    server.kubectl("wait", "--for=condition=Established", f"crd/{name}", "--timeout=30s")


def ensure_crontabs(server: Server) -> None:
    install(server, CRONTABS, "crontabs.stable.example.com")


def test_crd_is_established_with_accepted_names_and_printed(server: Server) -> None:
    ensure_crontabs(server)
    crd = json.loads(server.kubectl("get", "crd", "crontabs.stable.example.com", "-o", "json").stdout)
    status = crd["status"]
    assert status["acceptedNames"]["plural"] == "crontabs"
    assert status["acceptedNames"]["singular"] == "crontab"  # defaulted from the kind
    assert status["acceptedNames"]["listKind"] == "CronTabList"
    assert status["storedVersions"] == ["v1"]
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions["NamesAccepted"] == ("True", "NoConflicts")
    assert conditions["Established"] == ("True", "InitialNamesAccepted")
    out = server.kubectl("get", "crd", "crontabs.stable.example.com").stdout.splitlines()
    assert out[0].split() == ["NAME", "CREATED", "AT"]
    assert out[1].startswith("crontabs.stable.example.com")


def test_invalid_crd_is_refused_with_kubernetes_words(server: Server) -> None:
    bad = CRONTABS.replace("name: crontabs.stable.example.com", "name: wrong.stable.example.com")
    result = server.kubectl("apply", "-f", "-", input=bad, check=False)
    assert result.returncode != 0
    assert 'metadata.name: Invalid value: "wrong.stable.example.com": must be spec.names.plural+"."+spec.group' in result.stderr
    two = CRONTABS.replace("name: crontabs.stable.example.com", "name: crontabs.other.example.com") \
        .replace("group: stable.example.com", "group: other.example.com") \
        .replace("storage: true", "storage: false")
    result = server.kubectl("apply", "-f", "-", input=two, check=False)
    assert "must have exactly one version marked as storage version" in result.stderr


def test_get_prints_the_crd_columns_and_explain_shows_the_schema(server: Server) -> None:
    ensure_crontabs(server)
    server.kubectl("apply", "-f", "-", input=crontab("cols"))
    lines = server.kubectl("get", "ct", "cols").stdout.splitlines()
    assert lines[0].split() == ["NAME", "SCHEDULE", "REPLICAS", "AGE"]
    assert lines[1].split()[:7] == ["cols", "*/5", "*", "*", "*", "*", "1"]
    wide = server.kubectl("get", "crontabs.stable.example.com", "cols", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == ["NAME", "SCHEDULE", "REPLICAS", "IMAGE", "AGE"]
    assert "busybox:1.36" in wide[1]
    explained = server.kubectl("explain", "crontab.spec").stdout
    assert "What to run and when." in explained
    assert "The schedule, in cron format." in explained
    assert "KIND:       CronTab" in explained


def test_get_watch_streams_changes(server: Server) -> None:
    ensure_crontabs(server)
    server.kubectl("apply", "-f", "-", input=crontab("watched"))
    cmd = [kubectl_binary("1.33"), f"--kubeconfig={server.kubeconfig}", "get", "ct", "watched",
           "-w", "--output-watch-events", "-o", "json", "--request-timeout=20s"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as watch:
        try:
            assert watch.stdout is not None
            first = watch.stdout.readline()  # the object as it is, then its changes
            assert "watched" in first
            server.kubectl("patch", "ct", "watched", "--type=merge", "-p", '{"spec":{"image":"nginx:1"}}')
            decoder = json.JSONDecoder()
            buffer = ""
            while True:
                line = watch.stdout.readline()
                assert line, "the watch ended before the change arrived"
                buffer += line
                try:
                    event, _ = decoder.raw_decode(buffer.strip())
                except ValueError:
                    continue
                buffer = ""
                if event.get("type") == "MODIFIED":
                    assert event["object"]["spec"]["image"] == "nginx:1"
                    break
        finally:
            watch.terminate()


def test_scale_and_status_subresources(server: Server) -> None:
    ensure_crontabs(server)
    server.kubectl("apply", "-f", "-", input=crontab("scaled", replicas=1))
    server.kubectl("scale", "ct", "scaled", "--replicas=4")
    obj = json.loads(server.kubectl("get", "ct", "scaled", "-o", "json").stdout)
    assert obj["spec"]["replicas"] == 4
    assert obj["metadata"]["generation"] == 2
    # status is written only through /status, and does not move the generation
    server.kubectl("patch", "ct", "scaled", "--subresource=status", "--type=merge",
                   "-p", '{"status":{"replicas":4,"selector":"app=cron"}}')
    server.kubectl("patch", "ct", "scaled", "--type=merge", "-p", '{"status":{"replicas":99}}')
    obj = json.loads(server.kubectl("get", "ct", "scaled", "-o", "json").stdout)
    assert obj["status"] == {"replicas": 4, "selector": "app=cron"}
    assert obj["metadata"]["generation"] == 2
    scale = json.loads(server.kubectl("get", "--raw",
                                      "/apis/stable.example.com/v1/namespaces/default/crontabs/scaled/scale").stdout)
    assert scale["kind"] == "Scale"
    assert scale["spec"] == {"replicas": 4}
    assert scale["status"] == {"replicas": 4, "selector": "app=cron"}


def test_server_side_apply_on_custom_objects(server: Server) -> None:
    ensure_crontabs(server)
    manifest = crontab("applied")
    server.kubectl("apply", "--server-side", "--field-manager=ops", "-f", "-", input=manifest)
    server.kubectl("apply", "--server-side", "--field-manager=ops", "-f", "-",
                   input=manifest.replace("busybox:1.36", "busybox:1.37"))
    obj = json.loads(server.kubectl("get", "ct", "applied", "-o", "json", "--show-managed-fields").stdout)
    assert obj["spec"]["image"] == "busybox:1.37"
    assert [m["manager"] for m in obj["metadata"]["managedFields"]] == ["ops"]
    # another manager changing the same field conflicts, as in Kubernetes
    conflict = server.kubectl("apply", "--server-side", "--field-manager=other", "-f", "-",
                              input=manifest.replace("busybox:1.36", "busybox:2"), check=False)
    assert conflict.returncode != 0
    assert "conflict" in conflict.stderr.lower()


def test_field_selectors_and_categories(server: Server) -> None:
    ensure_crontabs(server)
    server.kubectl("apply", "-f", "-", input=crontab("red-one", color="red"))
    server.kubectl("apply", "-f", "-", input=crontab("green-one", color="green"))
    names = server.kubectl("get", "ct", "--field-selector", "spec.color=red", "-o", "name").stdout.split()
    assert names == ["crontab.stable.example.com/red-one"]
    refused = server.kubectl("get", "ct", "--field-selector", "spec.image=x", check=False)
    assert "field label not supported: spec.image" in refused.stderr
    everything = server.kubectl("get", "all", "-o", "name").stdout.split()
    assert "crontab.stable.example.com/green-one" in everything


def test_cluster_scoped_kind_with_two_versions(server: Server) -> None:
    manifest = textwrap.dedent(
        """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: colours.paint.example.com
        spec:
          group: paint.example.com
          scope: Cluster
          names: {plural: colours, kind: Colour}
          versions:
          - name: v1beta1
            served: true
            storage: false
            deprecated: true
            schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
          - name: v1
            served: true
            storage: true
            schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
        """
    )
    install(server, manifest, "colours.paint.example.com")
    applied = server.kubectl("apply", "-f", "-", input=textwrap.dedent(
        """
        apiVersion: paint.example.com/v1beta1
        kind: Colour
        metadata: {name: teal}
        spec: {rgb: "#008080"}
        """))
    assert "Warning: paint.example.com/v1beta1 Colour is deprecated; use paint.example.com/v1 Colour" \
        in applied.stderr
    old = json.loads(server.kubectl("get", "--raw", "/apis/paint.example.com/v1beta1/colours/teal").stdout)
    new = json.loads(server.kubectl("get", "--raw", "/apis/paint.example.com/v1/colours/teal").stdout)
    assert old["apiVersion"] == "paint.example.com/v1beta1"
    assert new["apiVersion"] == "paint.example.com/v1"
    assert old["spec"] == new["spec"] == {"rgb": "#008080"}
    assert "namespace" not in new["metadata"]
    group = json.loads(server.kubectl("get", "--raw", "/apis/paint.example.com").stdout)
    assert group["preferredVersion"]["version"] == "v1"
    assert [v["version"] for v in group["versions"]] == ["v1", "v1beta1"]


def test_deleting_the_crd_deletes_its_objects(server: Server) -> None:
    manifest = CRONTABS.replace("crontabs", "jobtabs").replace("CronTab", "JobTab") \
        .replace("shortNames: [ct]", "shortNames: [jt]")
    install(server, manifest, "jobtabs.stable.example.com")
    obj = crontab("doomed").replace("CronTab", "JobTab")
    server.kubectl("apply", "-f", "-", input=obj)
    server.kubectl("create", "namespace", "tabs")
    server.kubectl("apply", "-n", "tabs", "-f", "-", input=obj)
    cmd = [kubectl_binary("1.33"), f"--kubeconfig={server.kubeconfig}", "get", "jobtabs", "-A", "-w"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as watch:
        try:
            assert watch.stdout is not None and "doomed" in watch.stdout.readline() + watch.stdout.readline()
            server.kubectl("delete", "crd", "jobtabs.stable.example.com", "--timeout=60s")
            # the watch of a kind no longer served ends (LIVENESS_CHECK, 15 s, at the latest)
            assert watch.wait(timeout=45) is not None
        finally:
            watch.kill()
    assert server.kubectl("get", "crd", "jobtabs.stable.example.com", check=False).returncode != 0
    # installed again, the kind starts empty: the objects went with the old definition
    install(server, manifest, "jobtabs.stable.example.com")
    listed = json.loads(server.kubectl("get", "--raw", "/apis/stable.example.com/v1/jobtabs").stdout)
    assert listed["items"] == []


def test_operator_crds_install_and_serve_objects(server: Server) -> None:
    install(server, (DATA / "cert-manager-certificates.yaml").read_text(), "certificates.cert-manager.io")
    install(server, (DATA / "prometheus-operator-servicemonitors.yaml").read_text(),
            "servicemonitors.monitoring.coreos.com")
    server.kubectl("apply", "-f", "-", input=textwrap.dedent(
        """
        apiVersion: cert-manager.io/v1
        kind: Certificate
        metadata: {name: site}
        spec:
          secretName: site-tls
          dnsNames: [site.example.com]
          issuerRef: {name: letsencrypt, kind: ClusterIssuer}
        ---
        apiVersion: monitoring.coreos.com/v1
        kind: ServiceMonitor
        metadata: {name: web}
        spec:
          selector: {matchLabels: {app: web}}
          endpoints:
          - port: metrics
            interval: 30s
            targetPort: 8080
        """))
    certs = server.kubectl("get", "certs").stdout.splitlines()
    assert certs[0].split() == ["NAME", "READY", "SECRET", "AGE"]
    assert certs[1].split()[:2] == ["site", "site-tls"]  # Ready is empty until an issuer acts
    server.kubectl("patch", "certificate", "site", "--subresource=status", "--type=merge", "-p",
                   '{"status":{"conditions":[{"type":"Ready","status":"True","message":"issued"}]}}')
    wide = server.kubectl("get", "certificate", "site", "-o", "wide").stdout.splitlines()
    assert wide[1].split()[:5] == ["site", "True", "site-tls", "letsencrypt", "issued"]
    # status.conditions is a list-type map keyed by type: two managers each own their entry
    server.kubectl("apply", "--server-side", "--field-manager=issuer", "--subresource=status", "-f", "-",
                   input=textwrap.dedent(
                       """
                       apiVersion: cert-manager.io/v1
                       kind: Certificate
                       metadata: {name: site}
                       status: {conditions: [{type: Issuing, status: "False"}]}
                       """))
    cert = json.loads(server.kubectl("get", "certificate", "site", "-o", "json").stdout)
    assert [c["type"] for c in cert["status"]["conditions"]] == ["Ready", "Issuing"]
    smon = json.loads(server.kubectl("get", "smon", "web", "-o", "json").stdout)
    assert smon["spec"]["endpoints"][0]["targetPort"] == 8080
    resources = server.kubectl("api-resources", "--categories=prometheus-operator", "-o", "name").stdout
    assert resources.split() == ["servicemonitors.monitoring.coreos.com"]
    explained = server.kubectl("explain", "certificate.spec.secretName").stdout
    assert "Name of the Secret resource" in explained


def test_python_dynamic_client(server: Server) -> None:
    from kubernetes import client, config, dynamic

    ensure_crontabs(server)
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(server.kubeconfig), client_configuration=cfg)
    dyn = dynamic.DynamicClient(client.ApiClient(cfg))
    api = dyn.resources.get(api_version="stable.example.com/v1", kind="CronTab")
    api.create(body={"apiVersion": "stable.example.com/v1", "kind": "CronTab",
                     "metadata": {"name": "from-python"}, "spec": {"cronSpec": "0 * * * *"}},
               namespace="default")
    got = api.get(name="from-python", namespace="default")
    assert got.spec.cronSpec == "0 * * * *"
    names = [item.metadata.name for item in api.get(namespace="default").items]
    assert "from-python" in names
    api.patch(name="from-python", namespace="default", body={"spec": {"replicas": 2}},
              content_type="application/merge-patch+json")
    assert api.get(name="from-python", namespace="default").spec.replicas == 2
    api.delete(name="from-python", namespace="default")
    until(lambda: "from-python" not in [i.metadata.name for i in api.get(namespace="default").items],
          10, "the deleted CronTab gone from the list")


def test_deleting_a_namespace_deletes_its_custom_objects(server: Server) -> None:
    ensure_crontabs(server)
    server.kubectl("create", "namespace", "cron-team")
    server.kubectl("apply", "-n", "cron-team", "-f", "-", input=crontab("nightly"))
    server.kubectl("delete", "namespace", "cron-team", "--timeout=60s")
    listed = json.loads(server.kubectl("get", "--raw",
                                       "/apis/stable.example.com/v1/namespaces/cron-team/crontabs").stdout)
    assert listed["items"] == []


def test_garbage_collector_follows_custom_owners_and_dependents(server: Server) -> None:
    ensure_crontabs(server)
    owner = json.loads(server.kubectl("create", "-f", "-", "-o", "json", input=crontab("owner")).stdout)
    ref = {"apiVersion": "stable.example.com/v1", "kind": "CronTab", "name": "owner",
           "uid": owner["metadata"]["uid"]}
    config = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "owned-by-cron", "ownerReferences": [ref]}}
    server.kubectl("create", "-f", "-", input=json.dumps(config))
    holder = json.loads(server.kubectl("create", "configmap", "holds-a-cron", "-o", "json").stdout)
    held = {"apiVersion": "stable.example.com/v1", "kind": "CronTab",
            "metadata": {"name": "held", "ownerReferences": [{
                "apiVersion": "v1", "kind": "ConfigMap", "name": "holds-a-cron",
                "uid": holder["metadata"]["uid"]}]},
            "spec": {"cronSpec": "* * * * *"}}
    server.kubectl("create", "-f", "-", input=json.dumps(held))
    server.kubectl("delete", "ct", "owner")
    server.kubectl("delete", "configmap", "holds-a-cron")
    until(lambda: server.kubectl("get", "configmap", "owned-by-cron", check=False).returncode != 0,
          30, "the ConfigMap owned by a deleted CronTab collected")
    until(lambda: server.kubectl("get", "ct", "held", check=False).returncode != 0,
          30, "the CronTab owned by a deleted ConfigMap collected")


def test_webhook_conversion_is_refused_with_a_clear_message(server: Server) -> None:
    manifest = textwrap.dedent(
        """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: hooks.conv.example.com
        spec:
          group: conv.example.com
          scope: Namespaced
          names: {plural: hooks, kind: Hook}
          conversion:
            strategy: Webhook
            webhook:
              conversionReviewVersions: [v1]
              clientConfig: {url: "https://converter.example.com/convert"}
          versions:
          - name: v1
            served: true
            storage: true
            schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
          - name: v1beta1
            served: true
            storage: false
            schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
        """
    )
    install(server, manifest, "hooks.conv.example.com")
    server.kubectl("apply", "-f", "-", input="apiVersion: conv.example.com/v1\nkind: Hook\nmetadata: {name: h}\n")
    assert server.kubectl("get", "--raw", "/apis/conv.example.com/v1/namespaces/default/hooks/h").returncode == 0
    old = server.kubectl("get", "--raw", "/apis/conv.example.com/v1beta1/namespaces/default/hooks/h", check=False)
    assert old.returncode != 0
    assert "conversion webhook for conv.example.com/v1, Kind=Hook is not supported by kubelite" in old.stderr


def test_client_side_apply_again_and_diff_with_each_kubectl(server: Server) -> None:
    """kubectl picks its patch type from OpenAPI: custom kinds must not offer strategic merge."""
    ensure_crontabs(server)
    for version in KUBECTL_VERSIONS:
        name = f"again-{version.replace('.', '-')}"
        server.kubectl("apply", "-f", "-", input=crontab(name), version=version)
        changed = crontab(name, replicas=3)
        diff = server.kubectl("diff", "-f", "-", input=changed, version=version, check=False)
        assert diff.returncode == 1, diff.stderr  # 1: differences found
        assert "+  replicas: 3" in diff.stdout
        server.kubectl("apply", "-f", "-", input=changed, version=version)
        obj = json.loads(server.kubectl("get", "ct", name, "-o", "json").stdout)
        assert obj["spec"]["replicas"] == 3


def test_horizontal_pod_autoscaler_scales_a_custom_kind(server: Server) -> None:
    """The HPA finds a custom kind's scale subresource by discovery: below minReplicas it
    scales the object up through /scale without needing any metric."""
    ensure_crontabs(server)
    server.kubectl("apply", "-f", "-", input=crontab("autoscaled", replicas=1))
    server.kubectl("apply", "-f", "-", input=textwrap.dedent(
        """
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: autoscaled}
        spec:
          scaleTargetRef: {apiVersion: stable.example.com/v1, kind: CronTab, name: autoscaled}
          minReplicas: 3
          maxReplicas: 5
          metrics:
          - type: Resource
            resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
        """))
    until(lambda: json.loads(server.kubectl("get", "ct", "autoscaled", "-o", "json").stdout)
          ["spec"]["replicas"] == 3, 40, "the CronTab scaled to minReplicas by the HPA")


def test_schema_defaults_prunes_and_cel_rules_through_kubectl(server: Server) -> None:
    """The acceptance of issue 18: a CEL rule refuses with its message (422), defaults are
    filled in, unknown fields are pruned (a warning, or a 400 with --validate=strict)."""
    manifest = textwrap.dedent(
        """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: ranges.rules.example.com}
        spec:
          group: rules.example.com
          scope: Namespaced
          names: {plural: ranges, kind: Range}
          versions:
          - name: v1
            served: true
            storage: true
            schema:
              openAPIV3Schema:
                type: object
                properties:
                  spec:
                    type: object
                    x-kubernetes-validations:
                    - rule: "self.min <= self.max"
                      message: "min must not exceed max"
                    properties:
                      min: {type: integer, minimum: 0}
                      max: {type: integer, maximum: 100}
                      mode: {type: string, default: fast, enum: [fast, slow]}
        """
    )
    install(server, manifest, "ranges.rules.example.com")

    def range_(name: str, spec: str) -> str:
        return f"apiVersion: rules.example.com/v1\nkind: Range\nmetadata: {{name: {name}}}\nspec: {spec}\n"

    good = server.kubectl("apply", "--validate=warn", "-f", "-", input=range_("ok", "{min: 1, max: 3, colour: red}"))
    assert 'Warning: unknown field "spec.colour"' in good.stderr
    obj = json.loads(server.kubectl("get", "range", "ok", "-o", "json").stdout)
    assert obj["spec"] == {"min": 1, "max": 3, "mode": "fast"}  # pruned and defaulted
    strict = server.kubectl("apply", "-f", "-", input=range_("strict", "{min: 1, max: 3, colour: red}"),
                            check=False)
    assert 'strict decoding error: unknown field "spec.colour"' in strict.stderr
    refused = server.kubectl("apply", "-f", "-", input=range_("bad", "{min: 5, max: 3}"), check=False)
    assert refused.returncode != 0  # kubectl words a 422 Invalid Status "The KIND "NAME" is invalid"
    assert 'The Range "bad" is invalid: spec: Invalid value: "object": min must not exceed max' in refused.stderr
    too_big = server.kubectl("apply", "-f", "-", input=range_("big", "{min: 1, max: 300}"), check=False)
    assert "spec.max: Invalid value: 300: spec.max in body should be less than or equal to 100" in too_big.stderr
