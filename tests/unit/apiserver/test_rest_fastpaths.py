"""The create path answers with the bytes it stored, and its uids stay random v4 UUIDs."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
import pytest

from kubelite.api.registry import by_resource
from kubelite.apiserver import objects
from kubelite.apiserver.rest import ObjectStore, WriteOptions, WriteResult, new_uid
from kubelite.store.sqlite import SqliteStore

PODS = by_resource("", "v1", "pods")
assert PODS is not None


def test_uids_are_distinct_version_4_uuids() -> None:
    uids = [new_uid() for _ in range(2000)]  # more than one block of random bytes
    assert len(set(uids)) == len(uids)
    for text in uids[:: 97]:
        parsed = uuid.UUID(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122 and str(parsed) == text


def test_a_write_result_makes_the_object_or_its_bytes_only_when_asked() -> None:
    from_bytes = WriteResult(data=b'{"kind":"Pod","metadata":{"name":"a"}}', code=201)
    assert from_bytes.obj == {"kind": "Pod", "metadata": {"name": "a"}} and from_bytes.code == 201
    from_obj = WriteResult({"kind": "Pod"})
    assert msgspec.json.decode(from_obj.data) == {"kind": "Pod"} and from_obj.warnings == []
    with pytest.raises(ValueError):
        WriteResult()


async def test_a_create_answers_with_the_stored_object_and_its_managed_fields(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "state.db"))
    await store.start()
    try:
        objs = ObjectStore(store)
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
        result = await objs.create(PODS, "default", body, WriteOptions(field_manager="kubectl"))
        kv = await store.get(objects.object_key(PODS, "default", "p"))
        assert kv is not None
        assert result.data == objects.with_resource_version(kv.value, kv.mod_revision)
        meta = result.obj["metadata"]
        assert meta["resourceVersion"] == str(kv.mod_revision)
        [entry] = meta["managedFields"]
        assert (entry["manager"], entry["operation"], entry["apiVersion"]) == ("kubectl", "Update", "v1")
        assert entry["fieldsV1"]["f:metadata"] == {"f:labels": {".": {}, "f:a": {}}}
        assert 'k:{"name":"c"}' in entry["fieldsV1"]["f:spec"]["f:containers"]
        # a client that sends managedFields on create keeps the general path: the entry it sent
        # is honoured and loses the fields this create sets to the writing manager
        sent = {**body, "metadata": {"name": "q", "managedFields": meta["managedFields"]}}
        other = await objs.create(PODS, "default", sent, WriteOptions(field_manager="other"))
        kept, mine = other.obj["metadata"]["managedFields"]
        assert (kept["manager"], mine["manager"]) == ("kubectl", "other")
        assert "f:spec" not in kept["fieldsV1"] or "f:containers" not in kept["fieldsV1"]["f:spec"]
        assert kept["fieldsV1"]["f:metadata"] == {"f:labels": {".": {}, "f:a": {}}}  # q has no labels
    finally:
        await store.close()


async def test_a_create_owns_what_the_client_sent_and_defaults_but_not_what_admission_adds(
        tmp_path: Path) -> None:
    """As in Kubernetes, managedFields are recorded before mutating admission: the service
    account, its token volume, default tolerations and priority belong to no manager. Pods
    of one template get equal entries (the create path remembers a repeated spec)."""
    store = SqliteStore(str(tmp_path / "state.db"))
    await store.start()
    try:
        objs = ObjectStore(store)
        entries = []
        for name in ("a", "b"):
            body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
            result = await objs.create(PODS, "default", body, WriteOptions(field_manager="kubectl"))
            pod = result.obj
            [entry] = pod["metadata"]["managedFields"]
            entries.append(entry["fieldsV1"])
            spec_fields = entry["fieldsV1"]["f:spec"]
            assert {"f:dnsPolicy", "f:restartPolicy", "f:schedulerName"} <= set(spec_fields)  # defaults
            for added in ("f:volumes", "f:tolerations", "f:serviceAccountName", "f:priority"):
                assert added not in spec_fields
            assert "f:volumeMounts" not in spec_fields["f:containers"]['k:{"name":"c"}']
            # ...though admission did add them to the pod
            assert pod["spec"]["serviceAccountName"] == "default" and pod["spec"]["tolerations"]
            assert pod["spec"]["volumes"][0]["name"].startswith("kube-api-access-")
        assert entries[0] == entries[1]
    finally:
        await store.close()
