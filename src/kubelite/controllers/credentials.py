"""Service account credentials for the controllers, as kube-controller-manager's
`--use-service-account-credentials` (its SAControllerClientBuilder): each controller talks to the
API server as the service account kube-system/<controller>, whose bootstrap role
(system:controller:<controller>) holds only what that controller needs.

The controller-manager makes the accounts with its own identity (system:kube-controller-manager
may create service accounts and request their tokens) and asks a TokenRequest for each; a
token is replaced when 80% of its lifetime has passed, as client-go's token source does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from kubelite.client import ApiClient
from kubelite.client.errors import AlreadyExists, NotFound

log = logging.getLogger(__name__)

NAMESPACE = "kube-system"
EXPIRATION = 3600  # seconds asked of each TokenRequest (Kubernetes' defaultExpirationSeconds)
REFRESH_AFTER = 0.8  # share of the lifetime after which the token is replaced
RETRY = 1.0  # seconds between attempts while the API server refuses or is away


class ServiceAccountCredentials:
    """One client per controller service account, all tokens kept fresh by one task."""

    def __init__(self, root: ApiClient, expiration: int = EXPIRATION) -> None:
        self.root = root
        self.expiration = expiration
        self.clients: dict[str, ApiClient] = {}
        self.ready = asyncio.Event()  # every client holds a token
        self._task: asyncio.Task[None] | None = None

    def client(self, account: str) -> ApiClient:
        """The client of kube-system/`account` (its token arrives once start() ran)."""
        if account not in self.clients:
            self.clients[account] = self.root.with_token(
                None, user_agent=f"kubelite-controller-manager/{account}")
        return self.clients[account]

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="service-account-credentials")

    async def _run(self) -> None:
        while True:
            for account, client in self.clients.items():
                while True:
                    try:
                        client.set_token(await self._token(account))
                        break
                    except Exception as e:  # noqa: BLE001 - retried: the server may be starting
                        log.warning("no token for service account %s/%s: %s", NAMESPACE, account, e)
                        await asyncio.sleep(RETRY)
            self.ready.set()
            await asyncio.sleep(self.expiration * REFRESH_AFTER)

    async def _token(self, account: str) -> str:
        """Make the account if it is missing, then a TokenRequest for it."""
        try:
            await self.root.get("serviceaccounts", account, NAMESPACE, raw=True)
        except NotFound:
            with contextlib.suppress(AlreadyExists):
                await self.root.create("serviceaccounts", {
                    "apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": account, "namespace": NAMESPACE}}, NAMESPACE)
        body: dict[str, Any] = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                "spec": {"expirationSeconds": self.expiration}}
        answer: dict[str, Any] = await self.root.request(
            "POST", self.root.path("serviceaccounts", NAMESPACE, account) + "/token", body=body)
        return str(answer["status"]["token"])

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for client in self.clients.values():
            await client.close()
