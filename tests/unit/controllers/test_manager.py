"""ControllerManager: every controller and the scheduler share one informer per kind."""

from __future__ import annotations

from kubelite.client import ApiClient
from kubelite.client.informer import InformerView
from kubelite.controllers.manager import ControllerManager


async def test_one_informer_per_kind_for_controllers_and_scheduler() -> None:
    client = ApiClient("https://127.0.0.1:1")  # nothing is started, so nothing connects
    manager = ControllerManager(client)
    try:
        for c in manager.controllers:
            c.prepare()
        informers = manager.shared._informers
        pods = [key for key in informers if key[0] == "pods"]
        assert pods == [("pods", None, None, None)]
        sched = manager.scheduler
        assert sched is not None
        assert isinstance(sched.pending, InformerView) and isinstance(sched.assigned, InformerView)
        assert sched.pending.parent is sched.assigned.parent is informers[pods[0]]
        assert sched.nodes.parent is informers[("nodes", None, None, None)]  # type: ignore[attr-defined]
        users = [c.name for c in manager.controllers if informers[pods[0]] in c.informers]
        assert len(users) >= 8, users  # endpoints, slices, quota, workloads, ... on one watch
    finally:
        await client.close()


def test_every_controller_account_has_its_bootstrap_role() -> None:
    from kubelite.api.rbac.bootstrap_components import CONTROLLER_ROLES
    from kubelite.controllers.manager import CONTROLLERS, SHARED_CONTROLLERS

    accounts = {account for account, _ in (*CONTROLLERS, *SHARED_CONTROLLERS) if account}
    assert {"service-lb-controller", "ingress-status-controller"} <= accounts
    assert accounts - set(CONTROLLER_ROLES) == set()
