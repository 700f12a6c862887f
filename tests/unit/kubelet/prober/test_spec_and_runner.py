"""Probe specs get Kubernetes' defaults; ports resolve by number or container port name."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.kubelet.prober import Result, container_probes, probe_spec, resolve_port, run_probe
from kubelite.kubelet.prober.runner import PortError

CONTAINER: dict[str, Any] = {"name": "web", "ports": [{"name": "http", "containerPort": 8080}]}


def test_defaults_are_kubernetes_ones() -> None:
    spec = probe_spec({"livenessProbe": {"tcpSocket": {"port": 80}}}, "liveness")
    assert spec is not None
    assert (spec.initial_delay, spec.period, spec.timeout) == (0, 10, 1)
    assert (spec.success_threshold, spec.failure_threshold) == (1, 3)
    assert spec.termination_grace is None and spec.title == "Liveness"


def test_success_threshold_is_one_for_liveness_and_startup_only() -> None:
    probe = {"exec": {"command": ["true"]}, "successThreshold": 3, "periodSeconds": 2,
             "terminationGracePeriodSeconds": 5}
    c = {"livenessProbe": probe, "readinessProbe": probe, "startupProbe": probe}
    probes = container_probes(c)
    assert probes["liveness"].success_threshold == 1
    assert probes["startup"].success_threshold == 1
    assert probes["readiness"].success_threshold == 3
    assert probes["liveness"].termination_grace == 5 and probes["readiness"].period == 2


def test_a_probe_without_handler_is_none() -> None:
    assert probe_spec({"readinessProbe": {"periodSeconds": 1}}, "readiness") is None
    assert probe_spec({}, "startup") is None


def test_ports_by_number_and_by_name() -> None:
    assert resolve_port(80, CONTAINER) == 80
    assert resolve_port("http", CONTAINER) == 8080
    assert resolve_port("8081", CONTAINER) == 8081
    with pytest.raises(PortError, match="port metrics not found"):
        resolve_port("metrics", CONTAINER)
    with pytest.raises(PortError, match="invalid port number: 70000"):
        resolve_port(70000, CONTAINER)


async def test_unknown_port_name_is_an_unknown_result_not_a_failure() -> None:
    spec = probe_spec({"readinessProbe": {"httpGet": {"port": "nope"}}}, "readiness")
    assert spec is not None

    async def no_exec(cid: str, argv: list[str], timeout: float) -> tuple[int, bytes]:
        raise AssertionError("not an exec probe")

    outcome = await run_probe(spec, CONTAINER, "127.0.0.1", "cid", no_exec)
    assert outcome.result is Result.UNKNOWN and "nope" in outcome.output


async def test_exec_probe_runs_in_the_container_with_its_timeout() -> None:
    calls: list[tuple[str, list[str], float]] = []

    async def exec_sync(cid: str, argv: list[str], timeout: float) -> tuple[int, bytes]:
        calls.append((cid, argv, timeout))
        return 1, b"not ready yet"

    spec = probe_spec({"readinessProbe": {"exec": {"command": ["cat", "/ready"]},
                                          "timeoutSeconds": 4}}, "readiness")
    assert spec is not None
    outcome = await run_probe(spec, CONTAINER, "10.0.0.2", "abc", exec_sync)
    assert calls == [("abc", ["cat", "/ready"], 4.0)]
    assert outcome.result is Result.FAILURE and outcome.output == "not ready yet"
