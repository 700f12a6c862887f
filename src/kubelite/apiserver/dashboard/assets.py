"""The dashboard's page and its bundled scripts and styles, served from this package.

They are built from npm packages by `make install` (web/dashboard/, esbuild) into
`static/`, never fetched at run time. The page is public (it holds no data; it logs in with
a bearer token it keeps in the tab) and is served with a strict Content-Security-Policy: its
own scripts only, and connections only back to this server.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"
PREFIX = "/dashboard"
ASSETS = f"{PREFIX}/assets/"
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html",
                 ".svg": "image/svg+xml", ".map": "application/json", ".txt": "text/plain"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
NOT_BUILT = ("the dashboard's assets are not built: run `make install` (npm ci and esbuild in "
             "web/dashboard/) to produce src/kubelite/apiserver/dashboard/static/\n")


def is_public(path: str) -> bool:
    return path in (PREFIX, PREFIX + "/") or path.startswith(ASSETS)


def _file(request: web.Request, name: str, static: Path) -> web.StreamResponse:
    if "/" in name or name.startswith(".") or Path(name).suffix not in CONTENT_TYPES:
        raise web.HTTPNotFound()
    path = static / name
    try:
        stat = path.stat()
    except OSError:
        if name == "index.html":
            return web.Response(status=503, text=NOT_BUILT, headers=SECURITY_HEADERS)
        raise web.HTTPNotFound() from None
    # Revalidated at each load (a rebuild shows at once), answered 304 while unchanged.
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    headers = {**SECURITY_HEADERS, "ETag": etag}
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=path.read_bytes(), headers={**headers, "Content-Type": CONTENT_TYPES[path.suffix]})


def add_routes(router: web.UrlDispatcher, static: Path = STATIC) -> None:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(PREFIX + "/")

    async def index(request: web.Request) -> web.StreamResponse:
        return _file(request, "index.html", static)

    async def asset(request: web.Request) -> web.StreamResponse:
        return _file(request, request.match_info["name"], static)

    router.add_get(PREFIX, redirect)
    router.add_get(PREFIX + "/", index)
    router.add_get(ASSETS + "{name}", asset)
