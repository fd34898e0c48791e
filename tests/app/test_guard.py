"""The served explorer refuses requests for another site (DNS rebinding) and never serves the library.

One in-process server over a private copy of the tiny library; plain HTTP requests with chosen
Host and Origin headers, and the Python client for the API.
"""

from __future__ import annotations

import http.client
import shutil
import urllib.parse
from pathlib import Path

import pytest

from sda.app.host_guard import HostPolicy, exposure_warning, is_loopback


@pytest.fixture(scope="module")
def served(tiny_library_root, tmp_path_factory):
    """The explorer served on 127.0.0.1 (a free port): yields (app, port, library root, work dir)."""
    from sda.app import build_app, launch_app
    from sda.library import Library

    base = tmp_path_factory.mktemp("guard")
    root = base / "library"
    shutil.copytree(tiny_library_root, root)
    app = build_app(Library(root), work_dir=base / "work")
    launch_app(app, host="127.0.0.1", port=None, block=False, quiet=True)
    try:
        yield app, app.server_port, root, base / "work"
    finally:
        app.close()


def _get(port: int, path: str, host: str | None = None, **headers: str):
    """(status, body) of a GET with exactly these Host and other headers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=True)
        connection.putheader("Host", host or f"127.0.0.1:{port}")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _post(port: int, path: str, body: dict, host: str | None = None, **headers: str):
    """(status, body) of a JSON POST, as a page's script would send it."""
    import json

    data = json.dumps(body).encode()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.putrequest("POST", path, skip_host=True)
        connection.putheader("Host", host or f"127.0.0.1:{port}")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(len(data)))
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(data)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _file_route(path) -> str:
    return "/gradio_api/file=" + urllib.parse.quote(str(path))


# ----------------------------------------------------------------------------- policy


def test_policy_answers_only_this_computer_when_bound_to_loopback():
    policy = HostPolicy("127.0.0.1")
    for host in ("127.0.0.1:7860", "localhost:7860", "LOCALHOST:7860", "[::1]:7860"):
        assert policy.allows(host, None, 7860), host
    for host in (
        "evil.example:7860",
        "127.0.0.1:7861",
        "localhost",
        "",
        None,
        "127.0.0.1.nip.io:7860",
    ):
        assert not policy.allows(host, None, 7860), host
    assert policy.allows("localhost:7860", "http://localhost:7860", 7860)
    for origin in ("http://evil.example:7860", "null", "http://localhost:3000", "junk"):
        assert not policy.allows("localhost:7860", origin, 7860), origin
    assert is_loopback("::1") and is_loopback("127.0.0.2") and not is_loopback("0.0.0.0")


def test_policy_when_exposed_allows_any_host_but_no_cross_site_page():
    policy = HostPolicy("0.0.0.0")
    assert policy.exposed
    assert policy.allows("studio.lan:7860", None, 7860)
    assert policy.allows("studio.lan:7860", "http://studio.lan:7860", 7860)
    assert policy.allows("studio.lan", "https://studio.lan", 7860)  # behind a TLS proxy
    assert not policy.allows("studio.lan:7860", "http://evil.example", 7860)
    assert not policy.allows("studio.lan:7860", "null", 7860)


def test_serving_beyond_this_computer_says_what_that_exposes(tmp_path):
    for local in ("127.0.0.1", "localhost", "::1"):
        assert exposure_warning(local, tmp_path) is None, local
    everyone = exposure_warning("0.0.0.0", tmp_path)
    assert "every computer on your networks" in everyone and str(tmp_path) in everyone
    for fact in ("without a password", "delete", "never served", "Train tab", "127.0.0.1"):
        assert fact in everyone, fact
    assert "(192.168.1.20)" in exposure_warning("192.168.1.20", tmp_path)


# ----------------------------------------------------------------------------- served app


def test_a_foreign_host_is_refused_by_every_route(served):
    _, port, root, _ = served
    evil = f"evil.example:{port}"
    routes = ("/", "/config", "/gradio_api/info", _file_route(root / "index.json"))
    for route in routes:
        status, body = _get(port, route, host=evil)
        assert status == 403, route
        assert b"refused" in body and b"Traceback" not in body
    status, _ = _get(port, "/", Origin="http://evil.example")  # right Host, foreign page
    assert status == 403
    search = {"data": ["tiny"]}
    assert _post(port, "/gradio_api/run/on_search", search, host=evil)[0] == 403
    assert _post(port, "/gradio_api/upload", {}, host=evil)[0] == 403
    assert _post(port, "/gradio_api/queue/join", {}, host=evil)[0] == 403
    assert _post(port, "/gradio_api/run/on_search", search, Origin="http://evil.example")[0] == 403


def test_the_right_host_is_answered(served):
    _, port, _, _ = served
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        assert _get(port, "/", host=host)[0] == 200
        assert _get(port, "/gradio_api/info", host=host)[0] == 200
    origin = f"http://127.0.0.1:{port}"
    assert _get(port, "/gradio_api/info", Origin=origin)[0] == 200
    status, body = _post(port, "/gradio_api/run/on_search", {"data": ["prior"]}, Origin=origin)
    assert status == 200 and b"tiny-prior" in body


def test_library_files_are_never_served(served):
    _, port, root, _ = served
    weights = next(root.glob("bundles/*/codec.safetensors"))
    for path in (weights, root / "index.json", weights.parent / "meta.json"):
        status, body = _get(port, _file_route(path))
        assert status == 403, path
        assert b"dtype" not in body and b"bundles" not in body[:1]


def test_the_api_works_from_the_first_call_and_its_take_downloads(served, tmp_path):
    """No page load first: the Python client calls generate on a fresh session."""
    from gradio_client import Client

    _, port, _, _ = served
    client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(tmp_path))
    result = client.predict("tiny-prior", 1.0, api_name="/on_generate")  # model, seconds
    assert result[0].startswith("Made 1 take"), result[0]
    take = Path(result[-1])  # the A/B player's file, fetched through the file route
    assert take.is_relative_to(tmp_path) and take.read_bytes()[:4] == b"RIFF"


def test_a_preview_is_served_from_a_copy_in_the_work_folder(served):
    from sda.app.library_callbacks import model_details

    app, port, root, work = served
    original = root / "bundles" / "tiny" / "preview.ogg"
    original.write_bytes(b"OggS" + bytes(60))
    _, copy = model_details(app.sda_context, "tiny")
    assert copy is not None and Path(copy).is_relative_to(work)
    assert Path(copy).read_bytes() == original.read_bytes()
    assert _get(port, _file_route(copy))[0] == 200
    assert _get(port, _file_route(original))[0] == 403


# ----------------------------------------------------------------------------- every route


def _routes(routes, prefix: str = ""):
    """(path, methods) of every route the served app has, Gradio's included routers too."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from _routes(inner.routes, prefix + getattr(context, "prefix", ""))
        elif getattr(route, "path", None) is not None:
            methods = getattr(route, "methods", None) or {"WEBSOCKET"}
            yield prefix + route.path, set(methods)


def _websocket_handshake(port: int, path: str, host: str) -> int:
    """The HTTP status a websocket upgrade request gets (101 when it is accepted)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_host=True)
        for name, value in (
            ("Host", host),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ):
            connection.putheader(name, value)
        connection.endheaders()
        return connection.getresponse().status
    finally:
        connection.close()


def test_every_route_of_the_served_app_refuses_a_foreign_host(served):
    """Walk the whole route table (Gradio's /config, /gradio_api/*, file, queue, upload, ...)."""
    import re

    app, port, _, _ = served
    routes = sorted(_routes(app.server_app.routes))
    paths = {path for path, _ in routes}
    for expected in ("/config", "/gradio_api/queue/join", "/gradio_api/queue/data"):
        assert expected in paths, expected  # the walk reached Gradio's own routes
    assert any(path.startswith("/gradio_api/file=") for path in paths)
    evil = f"evil.example:{port}"
    checked = 0
    for path, methods in routes:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        for method in sorted(methods & {"GET", "POST", "WEBSOCKET"}):
            if method == "WEBSOCKET":
                assert _websocket_handshake(port, concrete, evil) == 403, path
                continue
            send = _get if method == "GET" else lambda p, r, host: _post(p, r, {}, host=host)
            status, body = send(port, concrete, host=evil)
            assert status == 403 and b"refused" in body, (method, path, status)
            checked += 1
    assert checked >= 40  # Gradio's API is there, not just the page
    assert _websocket_handshake(port, "/gradio_api/queue/data", evil) == 403


def test_only_the_work_folder_is_served(served, tmp_path):
    """Neither the library nor the project folder nor training runs: takes and exports only."""
    app, port, root, work = served
    ctx = app.sda_context
    outside = [Path("pyproject.toml").resolve(), root / "index.json", tmp_path / "secret.txt"]
    (tmp_path / "secret.txt").write_text("not for the browser")
    for path in outside:
        assert _get(port, _file_route(path))[0] == 403, path
    runs = ctx.runs_dir / "some-run" / "last.ckpt"
    assert _get(port, _file_route(runs))[0] in (403, 404)


def test_the_api_exports_and_edits_without_a_page(served, tmp_path):
    """Take pickers accept what an API client names: export take 1 and put it in slot A."""
    import soundfile
    from gradio_client import Client

    _, port, _, _ = served
    client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=str(tmp_path))
    made = client.predict("tiny-prior", 0.5, api_name="/on_generate")
    assert made[0].startswith("Made 1 take") and isinstance(made[1], int)  # the seed used
    number = "1"  # this client's session is new: its first take
    exported = client.predict(
        number, "flac", 44_100, 16, "mono", 0, False, -16, "", "", "", api_name="/on_export"
    )
    path = Path(exported["value"] if isinstance(exported, dict) else exported)
    info = soundfile.info(str(path))
    assert info.format == "FLAC" and info.samplerate == 44_100 and info.subtype == "PCM_16"
    client.predict(number, api_name="/on_take")  # slot A, from the take the API made
    decoded = client.predict(8, api_name="/on_decode")
    assert Path(decoded).read_bytes()[:4] == b"RIFF"
    missing = client.predict  # a take this session never made: the callback's own words
    with pytest.raises(Exception, match="pick a take"):
        missing("99", "wav", 48_000, 24, "mono", 0, False, -16, "", "", "", api_name="/on_export")
