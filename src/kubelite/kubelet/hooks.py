"""postStart and preStop hooks: an exec in the container, or an HTTP GET to it."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from kubelite.kubelet.runtime_service import RuntimeService


def _port(value: Any, container: dict[str, Any]) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    for p in container.get("ports") or []:
        if p.get("name") == value:
            return int(p["containerPort"])
    raise ValueError(f"couldn't find port: {value} in {container.get('name')}")


async def run_hook(rt: RuntimeService, cid: str, handler: dict[str, Any],
                   container: dict[str, Any], pod_ip: str, timeout: float) -> str | None:
    """Run a lifecycle handler; None when it succeeded, else what went wrong (for the event)."""
    if handler.get("exec"):
        argv = list(handler["exec"].get("command") or [])
        try:
            code, out = await rt.exec_sync(cid, argv, timeout)
        except Exception as e:  # noqa: BLE001 - reported in the event
            return f"Exec lifecycle hook ({argv}) for Container \"{container['name']}\" failed - error: {e}"
        if code != 0:
            return (f"Exec lifecycle hook ({argv}) for Container \"{container['name']}\" "
                    f"failed - error: command '{' '.join(argv)}' exited with {code}: {out.decode(errors='replace')}, "
                    f"message: \"{out.decode(errors='replace')}\"")
        return None
    if handler.get("httpGet"):
        get = handler["httpGet"]
        host = get.get("host") or pod_ip or "127.0.0.1"
        scheme = (get.get("scheme") or "HTTP").lower()
        try:
            port = _port(get.get("port"), container)
        except ValueError as e:
            return str(e)
        path = get.get("path") or "/"
        if not path.startswith("/"):
            path = "/" + path
        url = f"{scheme}://{host}:{port}{path}"
        headers = {h["name"]: h.get("value", "") for h in get.get("httpHeaders") or []}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as s:
                async with s.get(url, headers=headers, ssl=False) as resp:
                    if resp.status >= 400:
                        return f"HTTP lifecycle hook ({path}) for Container \"{container['name']}\" failed - error: HTTP {resp.status}"
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            return f"HTTP lifecycle hook ({path}) for Container \"{container['name']}\" failed - error: {e}"
        return None
    if handler.get("sleep"):
        await asyncio.sleep(min(float(handler["sleep"].get("seconds", 0)), timeout))
        return None
    return None
