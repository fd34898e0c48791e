"""The explorer in a real browser: `sda explore` over the tiny library, driven by headless chromium.

Runs the whole flow (pick model -> generate -> player shows audio -> upload into slot A -> swap with
B -> decode -> export FLAC -> the download is a tagged FLAC) and writes a screenshot per step to
test-artifacts/app/. Needs Debian's /usr/bin/chromium (`.ci/run` installs it); never downloads one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import factories
import pytest

from sda.generate.sampling_defaults import sampling_defaults

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "app"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STEP_TIMEOUT_MS = 90_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_library_root, tmp_path_factory):
    """`sda explore` in a subprocess over a private copy of the tiny library; yields its URL."""
    root = tmp_path_factory.mktemp("browser") / "library"
    shutil.copytree(tiny_library_root, root)
    port = _free_port()
    log = tmp_path_factory.mktemp("browser-log") / "explore.log"
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "OMP_NUM_THREADS": "2"}
    command = [sys.executable, "-c", "from sda.cli import main; main()", "explore"]
    with log.open("w") as output:
        process = subprocess.Popen(
            [*command, "--library", str(root), "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                pytest.fail(f"sda explore exited early:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"sda explore did not answer within 120 s:\n{log.read_text()}")
            time.sleep(0.5)
        yield {"url": url, "port": port, "log": log, "library": root}
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: install Debian's chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield instance
        instance.close()


def _pick(page, elem_id: str, option: str) -> None:
    """Choose an option of a Gradio dropdown."""
    page.click(f"#{elem_id} input")
    page.click(f"[role=option]:has-text('{option}')")


def _wait_text(page, elem_id: str, text: str) -> None:
    page.wait_for_function(
        "([id, text]) => (document.querySelector('#' + id)?.innerText || '').includes(text)",
        arg=[elem_id, text],
        timeout=STEP_TIMEOUT_MS,
    )


def _no_error_toasts(page) -> None:
    errors = [t.inner_text() for t in page.locator(".toast-body.error").all()]
    assert not errors, f"the app showed errors: {errors}"


def test_whole_flow_in_a_real_browser(server, browser, tmp_path):
    import mutagen
    import soundfile

    from sda.audio.io import write_audio

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    upload = tmp_path / "pluck.wav"
    write_audio(upload, factories.synth_sound("pluck", seconds=0.6, seed=3), 48_000)
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(STEP_TIMEOUT_MS)

    def shot(name: str) -> None:
        page.wait_for_timeout(300)  # let the last update paint
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    page.goto(server["url"])
    page.wait_for_selector("#gen-button")
    page.wait_for_function(  # the model list arrived
        "() => document.querySelector('#gen-model input')?.value === 'tiny-prior'"
    )
    shot("01-start")

    # pick model -> generate -> the player shows audio
    _pick(page, "gen-model", "tiny-prior")
    seconds = page.locator("#gen-seconds input[type=number]")
    seconds.fill("0.5")
    seconds.press("Enter")
    _pick(page, "gen-moving", "density")  # density moves from its slider (0.5) to 0.9
    # ticking tension sets guidance and candidates as `sda generate` would pick them
    page.check("#gen-check-tension input[type=checkbox]")
    guidance, candidates = sampling_defaults({"density": [0.5, 0.9], "tension": 0.5})
    assert (guidance, candidates) != (1.0, 1)  # the sliders start there: they must move
    page.wait_for_function(
        "() => document.querySelector('#gen-candidates input[type=number]')?.value"
        f" === '{candidates}'"
    )
    assert float(page.locator("#gen-guidance input[type=number]").input_value()) == guidance
    page.click("#gen-button")
    page.wait_for_selector("#gen-player-0 audio", state="attached")
    _wait_text(page, "gen-status", "Made 1 take")
    seed = page.locator("#gen-seed input").first.input_value()  # a new one per Generate
    assert f"seed {seed}" in page.inner_text("#gen-player-0")
    _wait_text(page, "gen-history", "density 0.50 → 0.90")
    _no_error_toasts(page)
    shot("02-generated")

    # DNA editor: upload a file into slot A, the take into slot B
    page.click("button[role=tab]:has-text('DNA editor')")
    page.set_input_files("#dna-upload-a input[type=file]", str(upload))
    _wait_text(page, "dna-status-a", "pluck.wav")
    page.wait_for_function(
        "() => (document.querySelector('#dna-take-b input')?.value || '').startsWith('#1')"
    )
    page.click("#dna-use-take-b")
    _wait_text(page, "dna-status-b", "take 1")
    assert page.locator("#dna-grid-a img").count() == 1
    shot("03-slots-filled")

    # swap with B (the coarsest level), then decode
    level = page.locator("#dna-last input[type=number]")
    level.fill("0")
    level.press("Enter")
    page.click("#dna-op-swap-levels")
    _wait_text(page, "dna-history", "from B")
    shot("04-swapped")
    page.click("#dna-decode")
    page.wait_for_selector("#dna-player audio", state="attached")
    _no_error_toasts(page)
    shot("05-decoded")

    # export FLAC with a title and download it
    _pick(page, "dna-export-format", "flac")
    page.locator("#dna-export-title").locator("input, textarea").first.fill("browser test")
    page.click("#dna-export-button")
    link = page.locator("#dna-export-file a").first
    link.wait_for()
    shot("06-exported")
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)

    assert soundfile.info(str(saved)).format == "FLAC"
    tags = mutagen.File(str(saved))
    assert type(tags).__name__ == "FLAC"
    assert tags["title"] == ["browser test"]
    assert tags["album"] == ["tiny-prior"]
    assert "sda" in tags["encoder"][0]
    _no_error_toasts(page)
    assert "Traceback" not in server["log"].read_text()
    page.close()


AB_AUDIO = """() => {
  for (const el of document.querySelectorAll('#gen-ab-player *')) {
    const audio = el.shadowRoot ? el.shadowRoot.querySelector('audio') : null;
    if (audio) return audio;
  }
  return null;
}"""
AB_STATE = (
    f"() => {{ const a = ({AB_AUDIO})(); return a ? [a.src, a.currentTime, a.readyState] : null; }}"
)
AB_SEEK = f"(t) => {{ ({AB_AUDIO})().currentTime = t; }}"


def test_ab_compare_switches_at_the_same_position(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(server["url"])
    page.wait_for_function(
        "() => document.querySelector('#gen-model input')?.value === 'tiny-prior'"
    )
    for elem_id, value in (("gen-seconds", "1"), ("gen-count", "2")):
        field = page.locator(f"#{elem_id} input[type=number]")
        field.fill(value)
        field.press("Enter")
    page.click("#gen-button")
    _wait_text(page, "gen-status", "Made 2 takes")
    settled = f"() => !window.sdaAbBusy && ({AB_STATE})()?.[2] >= 1"
    page.wait_for_function(settled)  # the pickers' own A/B updates are over
    source_a = page.evaluate(AB_STATE)[0]
    for _ in range(20):  # the player rewinds once after decoding the file; seek until it sticks
        page.evaluate(AB_SEEK, 0.4)
        page.wait_for_timeout(300)
        if abs(page.evaluate(AB_STATE)[1] - 0.4) < 0.01:
            break
    page.click("#gen-ab-choice label:has-text('B')")
    page.wait_for_function(
        f"([a]) => {{ const s = ({AB_STATE})(); return s && s[0] !== a && !window.sdaAbBusy; }}",
        arg=[source_a],
    )
    assert abs(page.evaluate(AB_STATE)[1] - 0.4) < 0.05
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "08-ab-compare.png"), full_page=True)
    page.close()


def test_a_failing_action_shows_a_message_not_a_trace(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(server["url"])
    page.wait_for_selector("#gen-button")
    page.click("button[role=tab]:has-text('DNA editor')")
    page.click("#dna-decode")  # nothing loaded yet
    toast = page.locator(".toast-body").first
    toast.wait_for()
    text = toast.inner_text()
    assert "slot A" in text and "Traceback" not in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "07-friendly-error.png"), full_page=True)
    page.close()


def test_a_wide_loop_plays_looped_and_exports_with_loop_points(server, browser, tmp_path):
    import soundfile

    from sda.audio.loop_points import read_loop_points
    from sda.audio.stereo_field import describe_width

    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(server["url"])
    page.wait_for_function(
        "() => document.querySelector('#gen-model input')?.value === 'tiny-prior'"
    )
    seconds = page.locator("#gen-seconds input[type=number]")
    seconds.fill("0.5")
    seconds.press("Enter")
    page.click("button:has-text('Loop and stereo')")
    page.check("#gen-loop input[type=checkbox]")
    width = page.locator("#gen-width input[type=number]")
    width.fill("0.5")
    width.press("Enter")
    _wait_text(page, "gen-width-value", describe_width(0.5))  # the physical value, beside it
    page.click("#gen-button")
    _wait_text(page, "gen-status", "Made 1 take")
    assert "loop" in page.inner_text("#gen-player-0")
    page.click("#gen-export-button")
    link = page.locator("#gen-export-file a").first
    link.wait_for()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "09-loop.png"), full_page=True)
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    info = soundfile.info(str(saved))
    assert info.channels == 2 and read_loop_points(saved).length == info.frames
    _no_error_toasts(page)
    page.close()


def test_server_binds_localhost_and_serves_no_other_files(server):
    base = f"http://127.0.0.1:{server['port']}"
    for path in ("/gradio_api/file=/etc/passwd", f"/gradio_api/file={Path.home()}/.bashrc"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + path, timeout=5)
        assert refused.value.code in (403, 404)
    import psutil

    others = [
        address.address
        for addresses in psutil.net_if_addrs().values()
        for address in addresses
        if address.family == socket.AF_INET and not address.address.startswith("127.")
    ]
    if not others:
        pytest.skip("this machine has no non-loopback address to test")
    for address in others:  # not reachable on other interfaces
        with socket.socket() as probe:
            probe.settimeout(2)
            assert probe.connect_ex((address, server["port"])) != 0, address


def _input_value(page, elem_id: str) -> str:
    return page.locator(f"#{elem_id} input").first.input_value()


def test_a_musicians_first_minutes(server, browser, tmp_path):
    """Generate twice (two seeds, shown), lock the seed, export MP3 from a menu that offers only
    what MP3 writes, then the DNA tab: a bad upload is one message, a good one fills slot A."""
    import soundfile

    from sda.audio.io import write_audio

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(server["url"])
    page.wait_for_function(
        "() => document.querySelector('#gen-model input')?.value === 'tiny-prior'"
    )
    # each control's slider shows what it asks for with this model
    page.wait_for_function(
        "() => document.querySelector('#gen-unit-density')?.innerText.includes('onsets/s')"
    )
    seconds = page.locator("#gen-seconds input[type=number]")
    seconds.fill("0.5")
    seconds.press("Enter")

    seeds = []
    for number in (1, 2):
        before = _input_value(page, "gen-seed")
        page.click("#gen-button")
        _wait_text(page, "gen-player-0", f"#{number} ")
        page.wait_for_function(
            "([b]) => document.querySelector('#gen-seed input')?.value !== b", arg=[before]
        )
        seeds.append(_input_value(page, "gen-seed"))
        assert f"seed {seeds[-1]}" in page.inner_text("#gen-player-0")  # shown on the take
    assert seeds[0] != seeds[1]
    page.check("#gen-lock input[type=checkbox]")
    page.click("#gen-button")
    _wait_text(page, "gen-player-0", "#3 ")
    assert f"seed {seeds[1]}" in page.inner_text("#gen-player-0")  # locked: the same seed
    _no_error_toasts(page)
    page.screenshot(path=str(ARTIFACTS / "10-two-seeds.png"), full_page=True)

    # MP3: the rate menu follows the format
    _pick(page, "gen-export-format", "mp3")
    page.wait_for_function(
        "() => !document.querySelector('#gen-export-depth')?.offsetParent"  # no depth for lossy
    )
    page.click("#gen-export-rate input")
    read_options = """() => [...document.querySelectorAll('[role=option]')]
        .map(o => o.innerText.replace('✓', '').trim())"""
    page.wait_for_function(  # the format menu has closed; the rate menu is open
        f"() => {{ const o = ({read_options})(); return o.length && o.every(t => t.endsWith('kHz')); }}"
    )
    options = page.evaluate(read_options)
    assert options == ["44.1 kHz", "48 kHz"], options
    page.click("[role=option]:has-text('44.1 kHz')")
    page.click("#gen-export-button")
    link = page.locator("#gen-export-file a").first
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    info = soundfile.info(str(saved))
    assert info.format == "MP3" and info.samplerate == 44_100
    _no_error_toasts(page)

    # DNA tab: one message for a bad upload (no temp path, no "Error" badges), then a good one
    page.click("button[role=tab]:has-text('DNA editor')")
    notes = tmp_path / "notes.wav"
    notes.write_bytes(b"these are lyrics, not audio " * 40)
    page.set_input_files("#dna-upload-a input[type=file]", str(notes))
    toast = page.locator(".toast-body.error:has-text('notes.wav')").first
    toast.wait_for()
    text = toast.inner_text()
    assert "not audio" in text and "/tmp" not in text and "Traceback" not in text
    page.wait_for_timeout(500)
    assert page.locator("span.error:not(.toast-title)").count() == 0  # no badge on any output
    page.screenshot(path=str(ARTIFACTS / "11-bad-upload.png"), full_page=True)
    pluck = tmp_path / "pluck.wav"
    write_audio(pluck, factories.synth_sound("pluck", seconds=0.6, seed=3), 48_000)
    page.locator("#dna-upload-a button[aria-label='Clear']").first.click()
    page.set_input_files("#dna-upload-a input[type=file]", str(pluck))
    _wait_text(page, "dna-status-a", "pluck.wav")
    assert "0.60 s" in page.inner_text("#dna-status-a")  # seconds, not frames
    assert page.locator("#dna-grid-a img").count() == 1
    page.screenshot(path=str(ARTIFACTS / "12-dna.png"), full_page=True)
    assert "Traceback" not in server["log"].read_text()
    page.close()


def test_a_stereo_model_shows_both_grids_and_swaps_sides(
    server, browser, tiny_stereo_bundle, tmp_path
):
    import numpy as np

    from sda.audio.io import write_audio
    from sda.library import Library

    Library(server["library"]).add(tiny_stereo_bundle.path, name="tiny-stereo")
    files = {}
    for slot, seed in (("a", 1), ("b", 2)):  # a pluck left, noise right: a real side
        pluck = factories.synth_sound("pluck", seconds=0.5, seed=seed)
        noise = 0.2 * np.random.default_rng(seed).standard_normal(pluck.size)
        files[slot] = tmp_path / f"wide-{slot}.wav"
        write_audio(files[slot], np.stack([pluck, noise]).astype(np.float32), 48_000)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(server["url"])
    page.wait_for_selector("#gen-button")
    page.click("button[role=tab]:has-text('DNA editor')")
    _pick(page, "dna-model", "tiny-stereo")
    for slot, path in files.items():
        page.set_input_files(f"#dna-upload-{slot} input[type=file]", str(path))
        _wait_text(page, f"dna-status-{slot}", "stereo")
    page.wait_for_selector("#dna-side-a img")
    assert page.locator("#dna-target").is_visible() and page.locator("#dna-side-b img").count()
    side = page.locator("#dna-side-a img")
    box = side.bounding_box()
    for x, y in ((0.6, 0.1), (0.9, 0.9)):  # two corners on the side grid pick a region
        side.click(position={"x": box["width"] * x, "y": box["height"] * y})
        page.wait_for_timeout(500)
    page.wait_for_function(
        "() => document.querySelector('#dna-last input[type=number]')?.value === '2'"
    )  # the side's last row (two levels, then its direction row)
    page.click("#dna-op-swap-side")
    _wait_text(page, "dna-history", "B's room")
    page.click("#dna-decode")
    page.wait_for_selector("#dna-player audio", state="attached")
    page.screenshot(path=str(ARTIFACTS / "20-dna-stereo.png"), full_page=True)
    _no_error_toasts(page)
    assert "Traceback" not in server["log"].read_text()
    page.close()
