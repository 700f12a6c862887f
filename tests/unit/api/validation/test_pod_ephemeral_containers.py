"""pods/ephemeralcontainers: ValidatePodEphemeralContainersUpdate and the subresource's
strategy (only spec.ephemeralContainers comes from the request)."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.registry import by_resource
from kubelite.api.strategy import write_strategy_for
from kubelite.api.types import core_v1
from kubelite.api.validation.pod import validate_pod_ephemeral_containers_update

from .conftest import container, make_pod

BASE: dict[str, Any] = {"containers": [container(name="app")]}
DEBUGGER: dict[str, Any] = {"name": "debugger-abcd", "image": "busybox", "stdin": True,
                            "tty": True, "targetContainerName": "app"}


def _pod(*ephemeral: dict[str, Any], **meta: Any) -> core_v1.Pod:
    return make_pod({**BASE, "ephemeralContainers": list(ephemeral)}, **meta)


def messages(old: core_v1.Pod, new: core_v1.Pod) -> list[str]:
    return [e.message() for e in validate_pod_ephemeral_containers_update(new, old)]


def test_adding_an_ephemeral_container_is_valid() -> None:
    assert messages(_pod(), _pod(DEBUGGER)) == []
    assert messages(_pod(DEBUGGER), _pod(DEBUGGER, {**DEBUGGER, "name": "second"})) == []


def test_changing_an_existing_one_is_forbidden_with_kubernetes_text() -> None:
    out = messages(_pod(DEBUGGER), _pod({**DEBUGGER, "image": "alpine"}))
    assert len(out) == 1
    assert out[0].startswith('spec.ephemeralContainers: Forbidden: existing ephemeral '
                             'containers "debugger-abcd" may not be changed\n')
    assert '"busybox"' in out[0] and '"alpine"' in out[0]


def test_removing_one_is_forbidden() -> None:
    assert messages(_pod(DEBUGGER), _pod()) == [
        'spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger-abcd" '
        'may not be removed\n']


def test_names_are_unique_across_all_containers() -> None:
    out = messages(_pod(), _pod({**DEBUGGER, "name": "app"}))
    assert out == ['spec.ephemeralContainers[0].name: Duplicate value: "app"']


def test_target_must_name_a_container() -> None:
    out = messages(_pod(), _pod({**DEBUGGER, "targetContainerName": "nope"}))
    assert out == ['spec.ephemeralContainers[0].targetContainerName: Not found: "nope"']


def test_ports_probes_lifecycle_and_resources_are_forbidden() -> None:
    bad = {**DEBUGGER, "ports": [{"containerPort": 80}],
           "readinessProbe": {"exec": {"command": ["true"]}},
           "lifecycle": {"preStop": {"exec": {"command": ["true"]}}},
           "resources": {"limits": {"cpu": "1"}}}
    out = messages(_pod(), _pod(bad))
    for field in ("ports", "readinessProbe", "lifecycle", "resources"):
        assert (f"spec.ephemeralContainers[0].{field}: Forbidden: cannot be set for an "
                "Ephemeral Container") in out
    assert messages(_pod(), _pod({**DEBUGGER, "resources": {}})) == []


def test_static_pods_do_not_support_them() -> None:
    annotations = {"kubernetes.io/config.mirror": "x"}
    out = messages(_pod(annotations=annotations), _pod(DEBUGGER, annotations=annotations))
    assert out == ["Forbidden: static pods do not support ephemeral containers"]


def test_main_resource_update_may_not_add_them() -> None:
    from kubelite.api.validation import validate_pod_update

    assert validate_pod_update(_pod(DEBUGGER), _pod())


def test_strategy_keeps_everything_but_the_ephemeral_containers() -> None:
    pods = by_resource("", "v1", "pods")
    assert pods is not None
    strategy = write_strategy_for(pods, "ephemeralcontainers")
    old = _pod()
    old.status = core_v1.PodStatus(phase="Running")
    new = _pod(DEBUGGER)
    assert new.spec is not None
    new.spec.containers[0].image = "changed"
    new.spec.restart_policy = "Never"
    new.status = core_v1.PodStatus(phase="Failed")
    strategy.prepare_for_update(new, old)
    assert new.spec is not None and old.spec is not None
    assert new.spec.containers == old.spec.containers
    assert new.spec.restart_policy == old.spec.restart_policy
    assert new.status == old.status
    assert [ec.name for ec in new.spec.ephemeral_containers or []] == ["debugger-abcd"]
    assert new.spec.ephemeral_containers is not None
    assert new.spec.ephemeral_containers[0].termination_message_policy == "File"  # defaulted
    assert strategy.validate_update(new, old) == []
    changed = msgspec.structs.replace(new, spec=msgspec.structs.replace(
        new.spec, ephemeral_containers=[]))
    assert strategy.validate_update(changed, new)
