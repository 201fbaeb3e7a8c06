"""The observer page's static files, shipped as package data and served over HTTP.

The page is plain HTML, CSS and JavaScript ES modules (no build step): the
files under ``townlet/telemetry/observer/static/`` are exactly what a browser
loads. :func:`http_response` answers one GET for the websocket sink, which
serves them on its own port next to the stream.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from typing import Any, Final

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

__all__ = ["STATIC", "forbidden", "http_response", "read_asset"]

STATIC: Final = "static"
"""Folder of the page's files inside this package."""

_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".json": "application/json",
}

_HEADERS: Final = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # the page talks only to the server it came from
    "Content-Security-Policy": "default-src 'self'; connect-src 'self' ws: wss:; "
    "img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
}


def read_asset(name: str) -> bytes | None:
    """The bytes of static file ``name`` (a relative path), or None if there is none.

    Only plain names under the static folder are served: no ``..``, no
    absolute paths, no hidden files.
    """
    parts = [p for p in name.split("/") if p]
    if not parts or any(p.startswith(".") or "\\" in p for p in parts):
        return None
    node = resources.files(__package__).joinpath(STATIC, *parts)
    if not node.is_file():
        return None
    return node.read_bytes()


def _respond(status: int, reason: str, body: bytes, content_type: str) -> Response:
    headers = Headers(_HEADERS)
    headers["Content-Type"] = content_type
    headers["Content-Length"] = str(len(body))
    return Response(status, reason, headers, body)


def forbidden(message: str) -> Response:
    """A ``403 Forbidden`` answer saying why (plain text)."""
    return _respond(403, "Forbidden", f"{message}\n".encode(), "text/plain; charset=utf-8")


def http_response(request: Request, town: Callable[[], dict[str, Any] | None]) -> Response | None:
    """The HTTP answer to ``request``, or None to go on with a websocket handshake.

    ``/`` is the page, ``/static/...`` its files, ``/town.json`` the town's
    static map (``town()``; 404 when the stream has none). Websocket upgrades
    (on any path) are left to the server.
    """
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return None
    path = request.path.split("?", 1)[0].split("#", 1)[0]
    if path in ("/", "/index.html"):
        path = "/static/index.html"
    if path == "/town.json":
        doc = town()
        if doc is None:
            return _respond(404, "Not Found", b'{"error": "no town map"}', _TYPES[".json"])
        return _respond(200, "OK", json.dumps(doc).encode(), _TYPES[".json"])
    if path.startswith("/static/"):
        body = read_asset(path.removeprefix("/static/"))
        if body is not None:
            suffix = path[path.rfind(".") :] if "." in path.rsplit("/", 1)[-1] else ""
            return _respond(200, "OK", body, _TYPES.get(suffix, "application/octet-stream"))
    return _respond(404, "Not Found", b"not found\n", "text/plain; charset=utf-8")
