"""Bound service account tokens stop authenticating once what they are bound to is gone (the
pod, the secret, the service account), read from in-memory copies fed by the watch cache; a
kube-api-access token (3607 s) is extended to a year with `warnafter`."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubelite.api.registry import by_resource
from kubelite.apiserver.auth import TokenAuthenticator
from kubelite.apiserver.bound_objects import INVALIDATED, BoundObjects
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.apiserver.tokens import EXTENDED_EXPIRATION, create_token
from kubelite.apiserver.watchcache import WatchCache
from kubelite.store.sqlite import SqliteStore

OPTS = WriteOptions()


def kind(plural: str) -> Any:
    k = by_resource("", "v1", plural)
    assert k is not None
    return k


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[tuple[ObjectStore, TokenAuthenticator]]:
    store = SqliteStore(str(tmp_path / "s.db"))
    await store.start()
    cache = WatchCache(store)
    await cache.start()
    objs = ObjectStore(store)
    await objs.create(kind("serviceaccounts"), "ns1", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                      "metadata": {"name": "default"}}, OPTS)
    await objs.create(kind("pods"), "ns1", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}, OPTS)
    await objs.create(kind("secrets"), "ns1", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}, OPTS)
    auth = TokenAuthenticator(tmp_path / "auth")
    bound = BoundObjects(store)
    await bound.start(cache)
    auth.bound = bound
    try:
        yield objs, auth
    finally:
        await bound.stop()
        await cache.stop()
        await store.close()


async def token_for(objs: ObjectStore, auth: TokenAuthenticator, ref_kind: str, name: str,
                    seconds: int = 3600) -> dict[str, Any]:
    return await create_token(objs, auth.issuer, "ns1", "default", {"spec": {
        "expirationSeconds": seconds, "boundObjectRef": {"kind": ref_kind, "apiVersion": "v1", "name": name}}})


async def eventually_refused(auth: TokenAuthenticator, token: str) -> None:
    async with asyncio.timeout(10):
        while auth.review(token).error != INVALIDATED:
            await asyncio.sleep(0.02)
    assert auth.authenticate(f"Bearer {token}") is None


@pytest.mark.parametrize("ref_kind, plural, name", [("Pod", "pods", "p"), ("Secret", "secrets", "s")])
async def test_a_token_dies_with_the_object_it_is_bound_to(
        world: tuple[ObjectStore, TokenAuthenticator], ref_kind: str, plural: str, name: str) -> None:
    objs, auth = world
    token = (await token_for(objs, auth, ref_kind, name))["status"]["token"]
    plain = (await create_token(objs, auth.issuer, "ns1", "default", {"spec": {}}))["status"]["token"]
    user = auth.authenticate(f"Bearer {token}")
    assert user is not None and user.name == "system:serviceaccount:ns1:default"
    await objs.delete(kind(plural), "ns1", name, {"gracePeriodSeconds": 0}, OPTS)
    await eventually_refused(auth, token)
    assert auth.authenticate(f"Bearer {plain}") is not None  # bound to nothing: still valid
    await objs.delete(kind("serviceaccounts"), "ns1", "default", {}, OPTS)
    await eventually_refused(auth, plain)


async def test_a_recreated_pod_does_not_revive_the_old_token(world: tuple[ObjectStore, TokenAuthenticator]) -> None:
    objs, auth = world
    token = (await token_for(objs, auth, "Pod", "p"))["status"]["token"]
    await objs.delete(kind("pods"), "ns1", "p", {"gracePeriodSeconds": 0}, OPTS)
    await objs.create(kind("pods"), "ns1", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                                            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}, OPTS)
    await eventually_refused(auth, token)


async def test_kube_api_access_tokens_are_extended_with_warnafter(world: tuple[ObjectStore, TokenAuthenticator]) -> None:
    objs, auth = world
    answer = await token_for(objs, auth, "Pod", "p", seconds=3607)
    part = answer["status"]["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    assert claims["exp"] - claims["iat"] == EXTENDED_EXPIRATION
    assert claims["kubernetes.io"]["warnafter"] == claims["iat"] + 3607
    assert answer["spec"]["expirationSeconds"] == 3607  # the kubelet refreshes on the asked lifetime
    shorter = await token_for(objs, auth, "Pod", "p", seconds=3600)
    part = shorter["status"]["token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    assert claims["exp"] - claims["iat"] == 3600 and "warnafter" not in claims["kubernetes.io"]
