"""Encryption at rest: the providers' bytes, the configuration's resource matching, and the
encrypting store on SQLite and etcd (the backend holds no plaintext; every read decrypts)."""

from __future__ import annotations

import asyncio
import base64
import os

import pytest

from kubelite.apiserver.encryption import reencrypt
from kubelite.store.encryption import config as enc
from kubelite.store.encryption.providers import AesCbc, TransformError
from kubelite.store.encryption.store import EncryptedStore
from kubelite.store.interface import RevisionConflictError, Store

SECRET_KEY = "/registry/core/secrets/default/db"
PLAIN = b'{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}'


def doc(*providers: dict[str, object], resources: tuple[str, ...] = ("secrets",)) -> dict[str, object]:
    return {"kind": enc.KIND, "apiVersion": enc.API_VERSION,
            "resources": [{"resources": list(resources), "providers": list(providers)}]}


def keyed(provider: str, name: str, size: int = 32) -> dict[str, object]:
    return {provider: {"keys": [{"name": name, "secret": base64.b64encode(os.urandom(size)).decode()}]}}


@pytest.mark.parametrize("provider", ["aescbc", "aesgcm"])
def test_a_provider_writes_its_prefix_and_reads_back(provider: str) -> None:
    t = enc.parse(doc(keyed(provider, "k1"), {"identity": {}})).for_key(SECRET_KEY)
    assert t is not None
    stored = t.to_storage(PLAIN, SECRET_KEY)
    assert stored.startswith(f"k8s:enc:{provider}:v1:k1:".encode()) and b"aHVudGVyMg" not in stored
    assert t.from_storage(stored, SECRET_KEY) == PLAIN
    assert t.from_storage(PLAIN, SECRET_KEY) == PLAIN  # identity reads what was stored in clear


def test_aesgcm_binds_the_value_to_its_key() -> None:
    t = enc.parse(doc(keyed("aesgcm", "k1"))).for_key(SECRET_KEY)
    assert t is not None
    stored = t.to_storage(PLAIN, SECRET_KEY)
    with pytest.raises(TransformError):
        t.from_storage(stored, "/registry/core/secrets/default/other")


def test_aescbc_bytes_are_iv_then_pkcs7_blocks() -> None:
    raw = AesCbc(b"k" * 32).to_storage(b"x" * 16, "")
    assert len(raw) == 16 + 32  # a full block of padding after a block-sized input


def test_no_matching_key_is_an_error_and_identity_first_still_reads_keys() -> None:
    old = keyed("aescbc", "old")
    writer = enc.parse(doc(old)).for_key(SECRET_KEY)
    assert writer is not None
    stored = writer.to_storage(PLAIN, SECRET_KEY)
    other = enc.parse(doc(keyed("aescbc", "new"))).for_key(SECRET_KEY)
    assert other is not None
    with pytest.raises(TransformError, match="no matching prefix found"):
        other.from_storage(stored, SECRET_KEY)
    decrypting = enc.parse(doc({"identity": {}}, old)).for_key(SECRET_KEY)  # migrating away
    assert decrypting is not None
    assert decrypting.from_storage(stored, SECRET_KEY) == PLAIN
    assert decrypting.to_storage(PLAIN, SECRET_KEY) == PLAIN


def test_resource_names_match_store_keys() -> None:
    cfg = enc.parse(doc({"identity": {}}, resources=("secrets", "deployments.apps", "*.batch")))
    assert cfg.for_key(SECRET_KEY) is not None
    assert cfg.for_key("/registry/apps/deployments/ns/web") is not None
    assert cfg.for_key("/registry/batch/cronjobs/ns/c") is not None
    assert cfg.for_key("/registry/core/configmaps/ns/c") is None
    assert cfg.for_key("/registry/apps/statefulsets/ns/s") is None
    everything = enc.parse(doc({"identity": {}}, resources=("*.*",)))
    assert everything.for_key("/registry/core/configmaps/ns/c") is not None


@pytest.mark.parametrize("bad, message", [
    ({"aescbc": {"keys": [{"name": "k", "secret": base64.b64encode(b"short").decode()}]}}, "expected length"),
    ({"kms": {"name": "x"}}, "kms provider is not supported"),
    ({"aescbc": {"keys": []}}, "Required value"),
])
def test_bad_configurations_are_refused(bad: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        enc.parse(doc(bad))


async def test_the_backend_holds_ciphertext_and_every_read_decrypts(store: Store) -> None:
    secure = EncryptedStore(store, enc.parse(enc.default_document()))
    events = secure.watch("/registry/", await secure.current_revision())
    rev = await secure.create(SECRET_KEY, PLAIN)
    await secure.create("/registry/core/configmaps/default/c", b"plain config")
    raw = await store.get(SECRET_KEY)
    assert raw is not None and raw.value.startswith(b"k8s:enc:aescbc:v1:aescbckey:")
    assert b"aHVudGVyMg" not in raw.value
    assert (await store.get("/registry/core/configmaps/default/c")).value == b"plain config"  # type: ignore[union-attr]
    got = await secure.get(SECRET_KEY)
    assert got is not None and got.value == PLAIN
    assert [kv.value for kv in (await secure.list("/registry/core/secrets/")).items] == [PLAIN]
    async with asyncio.timeout(10):
        first = await anext(events)
    assert first.kv.value == PLAIN
    await secure.update(SECRET_KEY, PLAIN + b" ", rev)
    with pytest.raises(RevisionConflictError) as conflict:
        await secure.update(SECRET_KEY, PLAIN, rev)
    assert conflict.value.current is not None and conflict.value.current.value == PLAIN + b" "
    assert (await secure.delete(SECRET_KEY)).value == PLAIN + b" "


async def test_reencrypt_rewrites_every_value_not_written_by_the_first_key(store: Store) -> None:
    first = enc.default_document()
    plain_store = store
    await plain_store.create("/registry/core/secrets/a/legacy", PLAIN)  # stored before encryption
    secure = EncryptedStore(store, enc.parse(first))
    for i in range(3):
        await secure.create(f"/registry/core/secrets/ns/s{i}", PLAIN)
    second = enc.default_document()
    keys = second["resources"][0]["providers"]
    keys[0]["aescbc"]["keys"].append(first["resources"][0]["providers"][0]["aescbc"]["keys"][0])
    keys[0]["aescbc"]["keys"][0]["name"] = "new"
    secure.reconfigure(enc.parse(second))
    assert await reencrypt(secure) == 4
    for kv in (await store.list("/registry/core/secrets/")).items:
        assert kv.value.startswith(b"k8s:enc:aescbc:v1:new:"), kv.key
    assert await reencrypt(secure) == 0
    del keys[0]["aescbc"]["keys"][1:]  # the old key dropped: everything still reads
    secure.reconfigure(enc.parse(second))
    assert all(kv.value == PLAIN for kv in (await secure.list("/registry/core/secrets/")).items)
