"""Secrets encryption at rest as k3s runs it: the configuration file in DATA_DIR/cred/, made
for a new cluster, and key rotation in k3s' stages, served to `kubelite secrets-encrypt`.

Rotation, as k3s' `secrets-encrypt` and the upstream procedure
(kubernetes.io/docs/tasks/administer-cluster/encrypt-data/#rotating-a-decryption-key):
  prepare    add a new key after the current one (every server can read with it)
  rotate     make the new key the first (it writes from now on)
  reencrypt  re-write every stored value of the configured resources with the first key,
             then drop the old keys
`rotate-keys` runs the three at once. This server applies each stage to its own store at once;
with several servers, restart the others after each stage so they load the file (as k3s asks).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

from aiohttp import web

from kubelite.api import status as st
from kubelite.store.encryption import config as enc
from kubelite.store.encryption.store import EncryptedStore
from kubelite.store.interface import RevisionConflictError, Store

log = logging.getLogger(__name__)

CONFIG_FILE = "encryption-config.json"
STATE_FILE = "encryption-state.json"
STATUS_PATH = "/v1-kubelite/encrypt/status"
CONFIG_PATH = "/v1-kubelite/encrypt/config"
ADMIN_GROUP = "system:masters"
STAGES = ("start", "prepare", "rotate", "reencrypt_finished")
KEY_TYPES = {"aescbc": "AES-CBC", "aesgcm": "AES-GCM", "secretbox": "XSalsa20-Poly1305", "identity": "Identity"}


def config_path(data_dir: Path) -> Path:
    return data_dir / "cred" / CONFIG_FILE


class Encryption:
    """The live configuration of one server and the stage of its key rotation."""

    def __init__(self, path: Path, enabled: bool, generated: bool) -> None:
        self.path = path
        self.enabled = enabled
        self.generated = generated  # kubelite made the file (and may rotate its keys)
        self.store: EncryptedStore | None = None

    @classmethod
    def setup(cls, data_dir: Path, enabled: bool, provider_config: str = "") -> Encryption | None:
        """The configuration the server starts with: `--encryption-provider-config`'s file,
        else DATA_DIR/cred/encryption-config.json, made when enabled and missing. Disabled with
        a file present, its keys still read but identity writes (data is not stranded)."""
        if provider_config:
            return cls(Path(provider_config), True, False)
        path = config_path(data_dir)
        if not path.exists():
            if not enabled:
                return None
            enc.save(path, enc.default_document())
            log.info("secrets encryption: made %s", path)
        return cls(path, enabled, True)

    def wrap(self, store: Store) -> EncryptedStore:
        self.store = EncryptedStore(store, self.parsed(enc.load(self.path)))
        return self.store

    def parsed(self, doc: dict[str, Any]) -> enc.EncryptionConfig:
        if not self.enabled:  # identity first: writes plain, reads what the keys wrote
            doc = {**doc, "resources": [{**r, "providers": [{"identity": {}}] + [
                p for p in r.get("providers") or [] if "identity" not in p]} for r in doc.get("resources") or []]}
        return enc.parse(doc)

    # -- stages -----------------------------------------------------------------------------------

    @property
    def stage(self) -> str:
        state = self.path.with_name(STATE_FILE)
        return str(json.loads(state.read_text()).get("stage", "start")) if state.exists() else "start"

    def _set_stage(self, stage: str) -> None:
        state = self.path.with_name(STATE_FILE)
        state.write_text(json.dumps({"stage": stage}) + "\n")

    def _apply(self, doc: dict[str, Any]) -> None:
        parsed = self.parsed(doc)  # refuse a document that does not load before saving it
        enc.save(self.path, doc)
        assert self.store is not None
        self.store.reconfigure(parsed)

    def _keys(self, doc: dict[str, Any]) -> list[dict[str, str]]:
        """The key list of the first keyed provider of the first entry (the one k3s rotates)."""
        for provider in doc["resources"][0]["providers"]:
            for name in ("aescbc", "aesgcm", "secretbox"):
                if name in provider:
                    keys: list[dict[str, str]] = provider[name]["keys"]
                    return keys
        raise ValueError("no keyed provider to rotate")

    def prepare(self) -> None:
        if self.stage not in ("start", "reencrypt_finished"):
            raise ValueError(f"cannot prepare from stage {self.stage}")
        doc = enc.load(self.path)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._keys(doc).append(enc.new_key(f"{enc.DEFAULT_KEY_NAME}-{stamp}"))
        self._apply(doc)
        self._set_stage("prepare")

    def rotate(self) -> None:
        if self.stage != "prepare":
            raise ValueError(f"cannot rotate from stage {self.stage}: prepare first")
        doc = enc.load(self.path)
        keys = self._keys(doc)
        keys.insert(0, keys.pop())
        self._apply(doc)
        self._set_stage("rotate")

    async def reencrypt(self) -> int:
        """Re-write every value not written by the first key; then drop the other keys.
        Returns how many values were re-written."""
        if self.stage != "rotate":
            raise ValueError(f"cannot reencrypt from stage {self.stage}: rotate first")
        count = await reencrypt(self._store())
        doc = enc.load(self.path)
        keys = self._keys(doc)
        del keys[1:]
        self._apply(doc)
        self._set_stage("reencrypt_finished")
        return count

    async def rotate_keys(self) -> int:
        self.prepare()
        self.rotate()
        return await self.reencrypt()

    def _store(self) -> EncryptedStore:
        assert self.store is not None
        return self.store

    def status(self) -> dict[str, Any]:
        cfg = self._store().config
        keys = [{"active": i == 0, "type": KEY_TYPES.get(p.provider, p.provider), "name": p.key_name}
                for _, t in cfg.entries[:1] for i, p in enumerate(t.providers)]
        return {"enabled": self.enabled and not cfg.writes_plain(), "stage": self.stage,
                "resources": cfg.resources(), "keys": keys, "generated": self.generated}

    # -- HTTP ---------------------------------------------------------------------------------------

    def add_routes(self, router: web.UrlDispatcher, user_key: web.RequestKey[Any]) -> None:
        def admin(request: web.Request) -> None:
            user = request.get(user_key)
            if user is not None and ADMIN_GROUP not in user.groups:
                raise st.Forbidden(f'User "{user.name}" cannot change secrets encryption: '
                                   f"it needs a member of {ADMIN_GROUP}")

        async def status(request: web.Request) -> web.Response:
            admin(request)
            return web.json_response(self.status())

        async def change(request: web.Request) -> web.Response:
            admin(request)
            body = await request.json()
            stage = str(body.get("stage") or "")
            steps = {"prepare": self.prepare, "rotate": self.rotate}
            try:
                if stage in steps:
                    steps[stage]()
                    count = 0
                elif stage == "reencrypt":
                    count = await self.reencrypt()
                elif stage == "rotate-keys":
                    count = await self.rotate_keys()
                else:
                    raise ValueError(f"unknown stage {stage!r}")
            except ValueError as e:
                raise st.BadRequest(str(e)) from None
            return web.json_response({**self.status(), "reencrypted": count})

        router.add_get(STATUS_PATH, status)
        router.add_put(CONFIG_PATH, change)


def _prefixes(config: enc.EncryptionConfig) -> list[str]:
    """The store key prefixes the configured resources live under (deduplicated, shortest kept)."""
    out: list[str] = []
    for name in sorted(config.resources(), key=len):
        res, _, group = name.partition(".")
        segment = group or enc.CORE_SEGMENT
        prefix = enc.KEY_PREFIX if name == "*.*" else \
            f"{enc.KEY_PREFIX}{segment}/" + ("" if res == "*" else f"{res}/")
        if not any(prefix.startswith(p) for p in out):
            out.append(prefix)
    return out


async def reencrypt(store: EncryptedStore) -> int:
    """Re-write every value of the configured resources whose bytes the writing key did not
    write, through the store (which encrypts with that key). A value changed meanwhile was
    written with the current key already: its conflict is skipped."""
    count = 0
    for prefix in _prefixes(store.config):
        for raw in (await store.list_raw(prefix)).items:
            t = store.config.for_key(raw.key)
            if t is None or t.is_current(raw.value):
                continue
            try:
                await store.update(raw.key, t.from_storage(raw.value, raw.key), raw.mod_revision)
            except RevisionConflictError:
                continue
            count += 1
    log.info("secrets encryption: re-encrypted %d values", count)
    return count
