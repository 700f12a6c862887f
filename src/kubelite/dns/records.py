"""Answers for names in the cluster zone, from Services and EndpointSlices.

    NAME.NS.svc.ZONE              A: the ClusterIP; headless: every ready endpoint IP;
                                  ExternalName: a CNAME
    HOST.NAME.NS.svc.ZONE         A: a headless endpoint by hostname or dashed IP (10-244-0-5)
    _PORT._PROTO.NAME.NS.svc.ZONE SRV for a named port
    A-B-C-D.NS.pod.ZONE           A: that IP (CoreDNS "pods insecure")

A name that exists but has no record of the asked type answers NOERROR with no answers;
anything else in the zone is NXDOMAIN. Both carry the zone's SOA, as CoreDNS does.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubelite.dns import wire

Obj = dict[str, Any]
TTL = 5


@dataclass
class Answer:
    rcode: int
    answers: list[wire.Record] = field(default_factory=list)
    additional: list[wire.Record] = field(default_factory=list)
    soa: bool = False  # attach the zone SOA in the authority section


def ready_endpoints(slices: list[Obj]) -> list[Obj]:
    out = []
    for es in slices:
        if es.get("addressType", "IPv4") != "IPv4":
            continue
        out += [e for e in es.get("endpoints") or [] if (e.get("conditions") or {}).get("ready", True)]
    return out


def _dashed(ip: str) -> str:
    return ip.replace(".", "-")


class ClusterRecords:
    """Looks names up in the cluster zone through two cache accessors."""

    def __init__(self, service: Callable[[str, str], Obj | None],
                 slices: Callable[[str, str], list[Obj]], zone: str = "cluster.local") -> None:
        self.service = service  # (namespace, name) -> Service dict or None
        self.slices = slices  # (namespace, service name) -> its EndpointSlices
        self.zone = wire.normalize(zone)
        self.serial = 1

    def in_zone(self, name: str) -> bool:
        name = wire.normalize(name)
        return name == self.zone or name.endswith("." + self.zone)

    def soa(self) -> wire.Record:
        data = wire.soa_data(f"ns.dns.{self.zone}", f"hostmaster.{self.zone}", self.serial)
        return wire.Record(self.zone, wire.SOA, TTL, data)

    def lookup(self, qname: str, qtype: int) -> Answer:
        name = wire.normalize(qname)
        labels = name[: -len(self.zone)].rstrip(".").split(".") if name != self.zone else []
        if not labels:
            return Answer(wire.NOERROR, soa=True)
        if labels[-1] == "svc" and len(labels) >= 3:
            return self._service_name(name, labels[:-1], qtype)
        if labels[-1] == "pod" and len(labels) == 3:
            return self._pod(name, labels[0], qtype)
        if labels in (["svc"], ["pod"]) or (len(labels) == 2 and labels[1] in ("svc", "pod")):
            return Answer(wire.NOERROR, soa=True)  # an existing branch of the zone, no records
        return Answer(wire.NXDOMAIN, soa=True)

    def _service_name(self, name: str, labels: list[str], qtype: int) -> Answer:
        ns, svc_name = labels[-1], labels[-2]
        svc = self.service(ns, svc_name)
        if svc is None:
            return Answer(wire.NXDOMAIN, soa=True)
        spec = svc.get("spec") or {}
        rest = labels[:-2]
        if not rest:
            return self._service(name, svc, spec, ns, svc_name, qtype)
        if len(rest) == 2 and rest[0].startswith("_") and rest[1].startswith("_"):
            return self._srv(name, spec, ns, svc_name, rest[0][1:], rest[1][1:].upper(), qtype)
        if len(rest) == 1 and spec.get("clusterIP") == "None":
            for endpoint in ready_endpoints(self.slices(ns, svc_name)):
                ip = endpoint["addresses"][0]
                if rest[0] in (endpoint.get("hostname"), _dashed(ip)):
                    return self._a(name, [ip], qtype)
        return Answer(wire.NXDOMAIN, soa=True)

    def _service(self, name: str, svc: Obj, spec: Obj, ns: str, svc_name: str, qtype: int) -> Answer:
        if spec.get("type") == "ExternalName":
            target = wire.encode_name(spec.get("externalName") or "")
            return Answer(wire.NOERROR, [wire.Record(name, wire.CNAME, TTL, target)])
        if spec.get("clusterIP") == "None":
            ips = sorted({e["addresses"][0] for e in ready_endpoints(self.slices(ns, svc_name))},
                         key=lambda ip: ipaddress.IPv4Address(ip))
        else:
            ips = [spec["clusterIP"]] if spec.get("clusterIP") else []
        if qtype == wire.SRV:
            answer = Answer(wire.NOERROR, soa=True)
            for port in spec.get("ports") or []:
                if port.get("name"):
                    more = self._srv(name, spec, ns, svc_name, port["name"], port.get("protocol") or "TCP", qtype)
                    answer.answers += more.answers
                    answer.additional += more.additional
            answer.soa = not answer.answers
            return answer
        return self._a(name, ips, qtype)

    def _srv(self, name: str, spec: Obj, ns: str, svc_name: str, port_name: str, protocol: str,
             qtype: int) -> Answer:
        port = next((p for p in spec.get("ports") or []
                     if p.get("name") == port_name and (p.get("protocol") or "TCP") == protocol), None)
        if port is None:
            return Answer(wire.NXDOMAIN, soa=True)
        if qtype not in (wire.SRV, wire.ANY):
            return Answer(wire.NOERROR, soa=True)
        base = f"{svc_name}.{ns}.svc.{self.zone}"
        answer = Answer(wire.NOERROR)
        if spec.get("clusterIP") == "None":
            for endpoint in ready_endpoints(self.slices(ns, svc_name)):
                ip = endpoint["addresses"][0]
                target = f"{endpoint.get('hostname') or _dashed(ip)}.{base}"
                answer.answers.append(wire.Record(name, wire.SRV, TTL, wire.srv_data(0, 100, port["port"], target)))
                answer.additional.append(wire.Record(target, wire.A, TTL, wire.a_data(ip)))
        elif spec.get("clusterIP"):
            answer.answers.append(wire.Record(name, wire.SRV, TTL, wire.srv_data(0, 100, port["port"], base)))
            answer.additional.append(wire.Record(base, wire.A, TTL, wire.a_data(spec["clusterIP"])))
        return answer

    def _pod(self, name: str, dashed: str, qtype: int) -> Answer:
        try:
            ip = str(ipaddress.IPv4Address(dashed.replace("-", ".")))
        except ValueError:
            return Answer(wire.NXDOMAIN, soa=True)
        return self._a(name, [ip], qtype)

    def _a(self, name: str, ips: list[str], qtype: int) -> Answer:
        if qtype not in (wire.A, wire.ANY) or not ips:
            return Answer(wire.NOERROR, soa=True)
        return Answer(wire.NOERROR, [wire.Record(name, wire.A, TTL, wire.a_data(ip)) for ip in ips])
