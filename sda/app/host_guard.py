"""Refuse requests addressed to another name than the app's own, so DNS rebinding cannot reach it.

A web page the user visits can point its own domain at 127.0.0.1 ("DNS rebinding") and then talk
to the explorer as if it were the same site; the browser still sends that domain in the Host and
Origin headers, which is what this ASGI middleware checks on every HTTP and websocket request.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def is_loopback(host: str) -> bool:
    """True for addresses only this computer can reach (127.x.x.x, ::1, localhost)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, library_root: str | Path) -> str | None:
    """What serving on `host` lets others do, to print before serving; None on loopback."""
    if is_loopback(host):
        return None
    reach = "every computer on your networks" if host in ("0.0.0.0", "::", "[::]") else host
    return (
        f"serving on {host}: anyone who can reach it ({reach}) can, without a password, "
        f"generate with every model in {library_root}, download takes and exports (their "
        "file names are hard to guess, not secret), upload audio and session files, and "
        "rename, tag, delete or import models. Model weights and the library's files are "
        "never served, and the "
        "Train tab (which reads this computer's folders) is off. Stop with Ctrl+C; serve on "
        "127.0.0.1 (the default) to keep it to this computer."
    )


def _host_name(host: str) -> str:
    """How a bound address appears in a Host header (IPv6 in brackets)."""
    host = host.strip("[]").lower()
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class HostPolicy:
    """Which Host and Origin headers the app answers, given the address it listens on."""

    bound_host: str

    @property
    def exposed(self) -> bool:
        """The user chose to listen beyond this computer (`--host 0.0.0.0`): any Host is fine."""
        return not is_loopback(self.bound_host)

    def local_hosts(self, port: int) -> set[str]:
        names = {*LOOPBACK_NAMES, _host_name(self.bound_host)}
        hosts = {f"{name}:{port}" for name in names}
        if port == 80:  # browsers leave the default port out of the Host header
            hosts |= names
        return hosts

    def allows(self, host: str | None, origin: str | None, port: int) -> bool:
        """Whether a request with these headers, received on `port`, may reach the app."""
        host = (host or "").strip().lower()
        if self.exposed:
            # Any Host, but a browser page must come from the site it talks to (no cross-site
            # form posts); ports are left out so a TLS proxy in front still works.
            if origin is None:
                return True
            origin_name = _name(_origin_host(origin))
            return origin_name is not None and origin_name == _name(host)
        local = self.local_hosts(port)
        if host not in local:
            return False
        # No Origin: not a cross-site browser request (curl, the Python client). Otherwise the
        # page must be this app itself, not another local site on another port.
        return origin is None or _origin_host(origin) in local


def _name(host: str | None) -> str | None:
    """The host name of a `host[:port]` header value, without the port."""
    if not host:
        return None
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0]


def _origin_host(origin: str) -> str | None:
    """`host:port` of an Origin header; None for "null" (sandboxed or file:// pages) or junk."""
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return f"{_host_name(parts.hostname)}:{port}"


class HostGuard:
    """ASGI middleware: 403 for any request whose Host or Origin is not this app."""

    def __init__(self, app: ASGIApp, *, bound_host: str) -> None:
        self.app = app
        self.policy = HostPolicy(bound_host)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan events carry no headers
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        server = scope.get("server") or (None, 0)
        port = int(server[1] or 0)
        if self.policy.allows(headers.get("host"), headers.get("origin"), port):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
            return
        message = (
            "refused: this sda explorer only answers requests addressed to "
            f"http://127.0.0.1:{port} or http://localhost:{port} on this computer\n"
        )
        await PlainTextResponse(message, status_code=403)(scope, receive, send)
