"""`kubectl get ingresses`, `ingressclasses` and `networkpolicies` (printIngress,
printIngressClass, printNetworkPolicy in
pkg/printers/internalversion)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.api.selectors import selector_to_string
from kubelite.api.tables._base import (
    Column,
    Obj,
    Printer,
    age,
    age_column,
    columns,
    name,
    name_column,
    spec,
)
from kubelite.api.tables.services import load_balancer_ips

MAX_HOSTS = 3  # formatHosts shows this many, then "+ N more..."

INGRESS_COLUMNS = columns(
    name_column(),
    Column("Class", "string",
           "The name of the IngressClass resource that should be used for additional configuration"),
    Column("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
    Column("Address", "string", "Address is a list containing ingress points for the load-balancer"),
    Column("Ports", "string", "Ports of TLS configurations that open"),
    age_column(),
)

INGRESS_CLASS_COLUMNS = columns(
    name_column(),
    Column("Controller", "string", "Controller that is responsible for handling this class"),
    Column("Parameters", "string", "A reference to a resource with additional parameters"),
    age_column(),
)


def format_hosts(rules: list[Obj]) -> str:
    """formatHosts: the first three rule hosts, `*` when no rule names one."""
    hosts = [r["host"] for r in rules[:MAX_HOSTS] if r.get("host")]
    if not hosts:
        return "*"
    joined = ",".join(hosts)
    if len(rules) > MAX_HOSTS:
        return f"{joined} + {len(rules) - MAX_HOSTS} more..."
    return joined


def ingress_row(ing: Obj, now: dt.datetime) -> list[Any]:
    s = spec(ing)
    ports = "80, 443" if s.get("tls") else "80"
    return [name(ing), s.get("ingressClassName") or "<none>", format_hosts(s.get("rules") or []),
            load_balancer_ips(ing), ports, age(ing, now)]


def ingress_class_row(ic: Obj, now: dt.datetime) -> list[Any]:
    s = spec(ic)
    parameters = "<none>"
    ref = s.get("parameters")
    if ref is not None:
        parameters = ref.get("kind", "")
        if ref.get("apiGroup") is not None:
            parameters += "." + ref["apiGroup"]
        parameters += "/" + ref.get("name", "")
    return [name(ic), s.get("controller", ""), parameters, age(ic, now)]


INGRESS = Printer(INGRESS_COLUMNS, ingress_row)
INGRESS_CLASS = Printer(INGRESS_CLASS_COLUMNS, ingress_class_row)


NETWORK_POLICY_COLUMNS = columns(
    name_column(),
    Column("Pod-Selector", "string",
           "Selects the pods to which this NetworkPolicy object applies. The array of ingress rules "
           "is applied to any pods selected by this field. Multiple network policies can select the "
           "same set of pods. In this case, the ingress rules for each are combined additively. This "
           "field is NOT optional and follows standard label selector semantics. An empty "
           "podSelector matches all pods in this namespace."),
    age_column(),
)


def network_policy_row(np: Obj, now: dt.datetime) -> list[Any]:
    """printNetworkPolicy: the pod selector as FormatLabelSelector writes it."""
    return [name(np), selector_to_string(spec(np).get("podSelector") or {}), age(np, now)]


NETWORK_POLICY = Printer(NETWORK_POLICY_COLUMNS, network_policy_row)
