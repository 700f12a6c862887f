"""NetworkPolicy: validation with Kubernetes' words, defaults (policyTypes, TCP), generation."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.defaults import apply_defaults
from kubelite.api.registry import by_kind
from kubelite.api.strategy import strategy_for
from kubelite.api.types import networking_v1
from kubelite.api.validation import networking
from kubelite.api.validation.errors import FieldError


def msgs(errors: list[FieldError]) -> list[str]:
    return [e.message() for e in errors]


def policy(spec: dict[str, Any]) -> networking_v1.NetworkPolicy:
    return msgspec.convert({"metadata": {"name": "np", "namespace": "default"},
                            "spec": {"podSelector": {}, **spec}}, networking_v1.NetworkPolicy)


def check(spec: dict[str, Any]) -> list[str]:
    return msgs(networking.validate_network_policy(policy(spec)))


def test_default_deny_and_allow_rules_are_valid() -> None:
    assert check({"policyTypes": ["Ingress", "Egress"]}) == []
    assert check({"ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}},
                                         "namespaceSelector": {}}],
                               "ports": [{"port": 80}, {"port": "http", "protocol": "UDP"},
                                         {"port": 8000, "endPort": 8100}]}],
                  "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}]}) == []


def test_ports_protocol_and_end_port_rules() -> None:
    def port(**p: Any) -> list[str]:
        return check({"ingress": [{"ports": [p]}]})
    assert port(protocol="ICMP") == [
        'spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"']
    assert port(port=90, endPort=80) == [
        "spec.ingress[0].ports[0].endPort: Invalid value: 90: must be greater than or equal to `port`"]
    assert port(endPort=80) == [
        "spec.ingress[0].ports[0].endPort: Invalid value: 80: may not be specified when `port` is not specified"]
    assert port(port="http", endPort=80) == [
        "spec.ingress[0].ports[0].endPort: Invalid value: 80: may not be specified when `port` is non-numeric"]
    assert port(port=0) == ["spec.ingress[0].ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"]
    assert port(port="-bad-")[0].startswith('spec.ingress[0].ports[0].port: Invalid value: "-bad-"')


def test_peers_need_one_kind_and_ip_block_alone() -> None:
    assert check({"egress": [{"to": [{}]}]}) == ["spec.egress[0].to[0]: Required value: must specify a peer"]
    assert check({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}}]}]}) == [
        "spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer"]
    assert check({"ingress": [{"from": [{"podSelector": {"matchLabels": {"a": "-"}}}]}]})[0].startswith(
        'spec.ingress[0].from[0].podSelector.matchLabels: Invalid value: "-"')


def test_ip_blocks() -> None:
    def block(**b: Any) -> list[str]:
        return check({"ingress": [{"from": [{"ipBlock": b}]}]})
    assert block(cidr="") == ["spec.ingress[0].from[0].ipBlock.cidr: Required value"]
    assert block(cidr="10.0.0.1") == [
        'spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.1": must be a valid CIDR value, '
        "(e.g. 10.9.8.0/24 or 2001:db8::/64)"]
    assert block(cidr="10.0.0.0/8", **{"except": ["10.0.0.0/8", "11.0.0.0/16"]}) == [
        'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`',
        'spec.ingress[0].from[0].ipBlock.except[1]: Invalid value: "11.0.0.0/16": must be a strict subset of `cidr`']


def test_policy_types() -> None:
    [too_many] = check({"policyTypes": ["Ingress", "Egress", "Ingress"]})
    assert too_many.startswith("spec.policyTypes: Invalid value: ")
    assert too_many.endswith(": may not specify more than two policyTypes")
    assert check({"policyTypes": ["Sideways"]}) == [
        'spec.policyTypes[0]: Unsupported value: "Sideways": supported values: "Ingress", "Egress"']


def test_defaults_policy_types_from_rules_and_tcp() -> None:
    ingress_only = policy({"ingress": [{"ports": [{"port": 80}]}]})
    apply_defaults(ingress_only)
    assert ingress_only.spec is not None and ingress_only.spec.policy_types == ["Ingress"]
    assert ingress_only.spec.ingress and ingress_only.spec.ingress[0].ports
    assert ingress_only.spec.ingress[0].ports[0].protocol == "TCP"
    both = policy({"egress": [{}]})
    apply_defaults(both)
    assert both.spec is not None and both.spec.policy_types == ["Ingress", "Egress"]
    egress_only = policy({"policyTypes": ["Egress"]})
    apply_defaults(egress_only)
    assert egress_only.spec is not None and egress_only.spec.policy_types == ["Egress"]


def test_the_strategy_tracks_generation() -> None:
    kind = by_kind("networking.k8s.io", "v1", "NetworkPolicy")
    assert kind is not None and kind.short_names == ("netpol",)
    assert strategy_for(kind).tracks_generation
