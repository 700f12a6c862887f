"""An async client for the OCI distribution API: resolve a reference, download blobs.

Endpoints are tried in order (mirrors, then the registry itself). Bearer-token auth follows
the ``WWW-Authenticate`` challenge; credentials come from ``registries.yaml`` configs or from
imagePullSecret dockerconfigjson dicts. Every downloaded byte is checked against its digest.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from .config import Credential, Endpoint, RegistriesConfig
from .credentials import DockerConfig, find_credential
from .errors import ImageCorrupt, ImageError, ImageNotFound, RegistryUnavailable, Unauthorized
from .manifest import (
    ACCEPT,
    INDEX_TYPES,
    Descriptor,
    Manifest,
    media_type_of,
    parse_manifest,
    select_platform,
    sha256_digest,
)
from .reference import Reference

Progress = Callable[[int, int, str], None]
"""``progress(downloaded_bytes, total_bytes, layer_digest)``."""

MAX_MANIFEST_BYTES = 4 * 1024 * 1024
CHUNK = 256 * 1024

_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class Resolved:
    """A reference resolved on one endpoint to this host's platform manifest."""

    reference: Reference
    endpoint: Endpoint
    repository: str  # the path asked of that endpoint (mirror rewrites applied)
    digest: str  # what the reference points at: the index if there is one
    manifest_digest: str  # the platform manifest
    manifest: Manifest
    raw: dict[str, bytes]  # digest -> raw bytes of the index and the manifest


class RegistryClient:
    """Talks to the registries of one pull. Use as ``async with RegistryClient(...) as c``."""

    def __init__(
        self,
        config: RegistriesConfig | None = None,
        *,
        pull_secrets: DockerConfig | Iterable[DockerConfig] | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
    ) -> None:
        self._config = config or RegistriesConfig()
        self._pull_secrets = pull_secrets
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=connect_timeout, sock_read=read_timeout
        )
        self._session: aiohttp.ClientSession | None = None
        self._tokens: dict[tuple[str, str], str] = {}  # (host, repository) -> Authorization

    async def __aenter__(self) -> RegistryClient:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def resolve(self, ref: Reference) -> Resolved:
        """Find ``ref`` on its endpoints; raise the most useful error if no endpoint has it."""
        errors: list[ImageError] = []
        for endpoint in self._config.endpoints_for(ref.domain):
            try:
                return await self._resolve_on(endpoint, ref)
            except (ImageNotFound, RegistryUnavailable, Unauthorized) as e:
                errors.append(e)
        raise _most_useful(ref, errors)

    async def fetch_blob(
        self,
        resolved: Resolved,
        desc: Descriptor,
        dest: str,
        progress: Progress | None = None,
    ) -> None:
        """Download ``desc`` into the file ``dest``, checking size and sha256 first."""
        try:
            await self._fetch_blob_on(resolved.endpoint, resolved.repository, desc, dest, progress)
        except RegistryUnavailable:
            # The mirror that had the manifest went away: try the other endpoints.
            ref = resolved.reference
            for endpoint in self._config.endpoints_for(ref.domain):
                if endpoint == resolved.endpoint:
                    continue
                try:
                    await self._fetch_blob_on(
                        endpoint, endpoint.repository(ref.path), desc, dest, progress
                    )
                    return
                except (RegistryUnavailable, ImageNotFound):
                    continue
            raise

    # -- manifests -------------------------------------------------------------------------

    async def _resolve_on(self, endpoint: Endpoint, ref: Reference) -> Resolved:
        repository = endpoint.repository(ref.path)
        wanted = ref.digest or ref.tag or "latest"
        raw, content_type = await self._get_manifest(endpoint, repository, wanted, ref)
        top_digest = sha256_digest(raw)
        if ref.digest and top_digest != ref.digest:
            raise ImageCorrupt(
                f"{ref}: manifest from {endpoint.base_url} has digest {top_digest}, "
                f"not the requested {ref.digest}"
            )
        raws = {top_digest: raw}
        manifest_digest = top_digest
        if media_type_of(raw, content_type) in INDEX_TYPES:
            entry = select_platform(raw, ref=str(ref))
            raw, _ = await self._get_manifest(endpoint, repository, entry.digest, ref)
            manifest_digest = sha256_digest(raw)
            if manifest_digest != entry.digest:
                raise ImageCorrupt(
                    f"{ref}: platform manifest has digest {manifest_digest}, "
                    f"the index says {entry.digest}"
                )
            raws[manifest_digest] = raw
        return Resolved(
            ref, endpoint, repository, top_digest, manifest_digest, parse_manifest(raw), raws
        )

    async def _get_manifest(
        self, endpoint: Endpoint, repository: str, wanted: str, ref: Reference
    ) -> tuple[bytes, str | None]:
        url = endpoint.v2_url(f"{repository}/manifests/{wanted}")
        async with self._get(endpoint, repository, url, ref, accept=ACCEPT) as resp:
            if resp.status == 404:
                raise ImageNotFound(f"{ref}: {endpoint.base_url} has no such manifest")
            _raise_for_status(resp, endpoint, ref)
            raw = await resp.content.read(MAX_MANIFEST_BYTES + 1)
            if len(raw) > MAX_MANIFEST_BYTES:
                raise ImageCorrupt(f"{ref}: manifest is larger than {MAX_MANIFEST_BYTES} bytes")
            return raw, resp.headers.get("Content-Type")

    # -- blobs -----------------------------------------------------------------------------

    async def _fetch_blob_on(
        self,
        endpoint: Endpoint,
        repository: str,
        desc: Descriptor,
        dest: str,
        progress: Progress | None,
    ) -> None:
        url = endpoint.v2_url(f"{repository}/blobs/{desc.digest}")
        what = f"blob {desc.digest} of {endpoint.host}/{repository}"
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dest), prefix=".download-")
        try:
            hasher, done = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as f:
                async with self._get(endpoint, repository, url, None) as resp:
                    if resp.status == 404:
                        raise ImageNotFound(f"{what}: not found (blob unknown)")
                    _raise_for_status(resp, endpoint, None)
                    if progress:
                        progress(0, desc.size, desc.digest)
                    try:
                        async for chunk in resp.content.iter_chunked(CHUNK):
                            done += len(chunk)
                            if done > desc.size:
                                raise ImageCorrupt(
                                    f"{what}: more than the {desc.size} bytes expected"
                                )
                            hasher.update(chunk)
                            await asyncio.to_thread(f.write, chunk)
                            if progress:
                                progress(done, desc.size, desc.digest)
                    except (TimeoutError, aiohttp.ClientError, OSError) as e:
                        raise RegistryUnavailable(
                            f"{what}: download interrupted: {e}; retry the pull"
                        ) from e
            if done != desc.size:
                raise ImageCorrupt(f"{what}: got {done} bytes, the manifest says {desc.size}")
            got = "sha256:" + hasher.hexdigest()
            if got != desc.digest:
                raise ImageCorrupt(f"{what}: content has digest {got}; refusing corrupted content")
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    # -- HTTP and auth ---------------------------------------------------------------------

    @asynccontextmanager
    async def _get(
        self, endpoint: Endpoint, repository: str, url: str, ref: Reference | None, accept: str = ""
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        assert self._session is not None, "use RegistryClient as an async context manager"
        for attempt in (1, 2):
            headers = {"Accept": accept} if accept else {}
            auth = self._tokens.get((endpoint.host, repository))
            if auth:
                headers["Authorization"] = auth
            try:
                resp = await self._session.get(
                    url, headers=headers, ssl=self._config.ssl_for(endpoint)
                )
            except (TimeoutError, aiohttp.ClientError, OSError) as e:
                raise RegistryUnavailable(
                    f"{_what(ref, endpoint)}: cannot reach {endpoint.base_url}: {e or type(e).__name__}"
                ) from e
            if resp.status == 401 and attempt == 1:
                challenge = resp.headers.get("WWW-Authenticate", "")
                resp.release()
                await self._authorize(endpoint, repository, challenge, ref)
                continue
            try:
                yield resp
            finally:
                resp.release()
            return

    async def _authorize(
        self, endpoint: Endpoint, repository: str, challenge: str, ref: Reference | None
    ) -> None:
        """Answer a 401 challenge: fetch a bearer token, or fall back to basic auth."""
        credential = self._credential(endpoint, repository)
        scheme, _, params_text = challenge.partition(" ")
        params = dict(_CHALLENGE_PARAM.findall(params_text))
        what = _what(ref, endpoint)
        if scheme.lower() == "basic":
            if credential is None:
                raise Unauthorized(f"{what}: {endpoint.host} wants a username and password")
            self._tokens[(endpoint.host, repository)] = _basic_header(credential)
            return
        if scheme.lower() != "bearer" or "realm" not in params:
            raise Unauthorized(f"{what}: {endpoint.host} answered 401 with no usable challenge")
        query = {"scope": params.get("scope") or f"repository:{repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        headers = {"Authorization": _basic_header(credential)} if credential else {}
        assert self._session is not None
        try:
            async with self._session.get(
                params["realm"], params=query, headers=headers, ssl=self._config.ssl_for(endpoint)
            ) as resp:
                if resp.status in (401, 403):
                    raise Unauthorized(f"{what}: the token service of {endpoint.host} refused us")
                if resp.status != 200:
                    raise RegistryUnavailable(
                        f"{what}: token service {params['realm']} answered {resp.status}"
                    )
                body: dict[str, Any] = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, OSError, ValueError) as e:
            raise RegistryUnavailable(f"{what}: token service {params['realm']}: {e}") from e
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str) or not token:
            raise Unauthorized(f"{what}: the token service of {endpoint.host} gave no token")
        self._tokens[(endpoint.host, repository)] = f"Bearer {token}"

    def _credential(self, endpoint: Endpoint, repository: str) -> Credential | None:
        return self._config.credential_for(endpoint) or find_credential(
            self._pull_secrets, endpoint.host, repository
        )


def _basic_header(credential: Credential) -> str:
    raw = f"{credential.username}:{credential.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _what(ref: Reference | None, endpoint: Endpoint) -> str:
    return str(ref) if ref else endpoint.host


def _raise_for_status(
    resp: aiohttp.ClientResponse, endpoint: Endpoint, ref: Reference | None
) -> None:
    what = _what(ref, endpoint)
    if resp.status in (401, 403):
        raise Unauthorized(f"{what}: pull access denied by {endpoint.host} ({resp.status})")
    if resp.status == 429 or resp.status >= 500:
        raise RegistryUnavailable(f"{what}: {endpoint.base_url} answered {resp.status}")
    if resp.status != 200:
        raise RegistryUnavailable(
            f"{what}: unexpected answer {resp.status} from {endpoint.base_url}"
        )


_ADVICE = {
    Unauthorized: "add credentials for the registry with an imagePullSecret or in registries.yaml",
    ImageNotFound: "check the image name and tag, and that the image was pushed to the registry",
    RegistryUnavailable: "check that the registry is running and reachable from this node, "
    "or configure a mirror in registries.yaml",
}


def _most_useful(ref: Reference, errors: list[ImageError]) -> ImageError:
    """One error for a failed resolve: refusals beat absences beat unreachable endpoints."""
    for kind in (Unauthorized, ImageNotFound, RegistryUnavailable):
        mine = [e for e in errors if isinstance(e, kind)]
        if mine:
            details = "; ".join(str(e).removeprefix(f"{ref}: ") for e in errors)
            if kind is ImageNotFound:
                return ImageNotFound(f"{ref}: not found ({details}); {_ADVICE[kind]}")
            return kind(f"{ref}: {details}; {_ADVICE[kind]}")
    return RegistryUnavailable(f"{ref}: no registry endpoint to try")
