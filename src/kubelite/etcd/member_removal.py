"""Removing a server's etcd member when its Node is deleted, as k3s does
(`kubectl delete node NAME`): the member whose peer URL is on one of the deleted Node's
addresses (the server's advertised address is its machine's, which the agent on that machine
reports as InternalIP) leaves the etcd cluster. Every server watches; the first to act removes
it, the others find nothing to do. The last member is never removed.

A removed server's etcd stops (etcd refuses a removed member); to bring that machine back as a
server, stop it, delete its DATA_DIR/db and join it again.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.client import ApiClient
from kubelite.client.informer import Informer
from kubelite.etcd.embedded import EmbeddedEtcd
from kubelite.etcd.etcdctl import EtcdctlError

log = logging.getLogger(__name__)

ADDRESS_TYPES = ("InternalIP", "ExternalIP")


def node_addresses(node: dict[str, Any]) -> set[str]:
    return {a.get("address", "") for a in (node.get("status") or {}).get("addresses") or ()
            if a.get("type") in ADDRESS_TYPES} - {""}


class MemberRemoval:
    """Watches Nodes; a deleted Node's etcd member is removed."""

    def __init__(self, client: ApiClient, etcd: EmbeddedEtcd) -> None:
        self.client = client
        self.etcd = etcd
        self.nodes = Informer(client, "nodes", raw=True)
        self.nodes.on_delete(self._deleted)

    def start(self) -> None:
        self.nodes.start()

    async def _deleted(self, node: dict[str, Any]) -> None:
        addresses = node_addresses(node)
        if not addresses:
            return
        try:
            removed = await self.etcd.remove_at(addresses)
        except EtcdctlError as e:
            log.warning("could not remove the etcd member of deleted node %s: %s",
                        node.get("metadata", {}).get("name"), e)
            return
        if self.etcd.urls is not None and self.etcd.urls.name in removed:
            log.error("this server's own etcd member %s was removed (its node was deleted): stop this "
                      "server, delete its DATA_DIR/db and join it again", self.etcd.urls.name)

    async def stop(self) -> None:
        await self.nodes.stop()
        await self.client.close()
