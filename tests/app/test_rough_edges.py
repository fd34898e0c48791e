"""What a musician meets in the explorer's first ten minutes (issue 19, item 7), on the real tiny
bundles: seeds, take levels, bad uploads, the DNA tab's time axis and sessions, export menus,
library words, and the memory a long session keeps."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import factories
import gradio as gr
import numpy as np
import pytest

from sda.app import dna_callbacks as dna
from sda.app import dna_pictures as pictures
from sda.app import export_callbacks as export
from sda.app import generate_callbacks as gen
from sda.app import library_callbacks as lib
from sda.app.errors import AppError
from sda.app.feedback import friendly, without_temp_paths
from sda.app.grid_image import BACKGROUND
from sda.app.model_words import FIGURES, training_lines
from sda.app.state import UserSession
from sda.audio import export_settings as shared
from sda.errors import SdaError


@pytest.fixture
def session() -> UserSession:
    return UserSession()


@pytest.fixture
def pluck_file(tmp_path) -> Path:
    from sda.audio.io import write_audio

    path = tmp_path / "pluck.wav"
    write_audio(path, factories.synth_sound("pluck", seconds=0.5, seed=3), 48_000)
    return path


def _generate(ctx, session, seed: int, **changes):
    settings = gen.GenerationSettings(**{"seconds": 0.3, "seed": seed, **changes})
    return gen.generate_takes(ctx, session, "tiny-prior", settings)


# ----------------------------------------------------------------------------- seeds


def test_every_generate_gets_a_new_seed_unless_it_is_locked(ctx, session):
    assert gen.seed_for_generate(1234, locked=True) == 1234
    fresh = {gen.seed_for_generate(1234, locked=False) for _ in range(20)}
    assert len(fresh) > 15 and 1234 not in fresh
    assert all(0 <= seed <= shared_max_seed() - 64 for seed in fresh)
    with pytest.raises(AppError, match="whole number"):
        gen.seed_for_generate("abc", locked=True)
    first = _generate(ctx, session, gen.seed_for_generate(0, locked=False))[0]
    second = _generate(ctx, session, gen.seed_for_generate(0, locked=False))[0]
    assert first.settings["seed"] != second.settings["seed"]
    assert not np.array_equal(first.audio, second.audio)  # two presses, two takes
    # the seed is shown on the take, and locking it makes the same take again
    assert f"seed {second.settings['seed']}" in second.label
    locked = gen.seed_for_generate(second.settings["seed"], locked=True)
    again = _generate(ctx, session, locked)[0]
    np.testing.assert_array_equal(again.audio, second.audio)


def shared_max_seed() -> int:
    from sda.generate.settings import MAX_SEED

    return MAX_SEED


# ----------------------------------------------------------------------------- levels


def test_app_takes_are_levelled_like_the_command_line(ctx, session):
    """The app renders through `sda.generate.generate` (the CLI's path): the same samples, and
    a bundle that knows its material's level gets the engine's gain towards that level."""
    from sda.dna.codec_bridge import decode
    from sda.generate import generate
    from sda.generate.render import MATERIAL_LEVEL_KEY, material_gain_db

    bundle = ctx.models.get("tiny-prior")  # this context's own copy: the change stays here
    stats = dict(bundle.meta.get("descriptor_stats") or {})
    bundle.meta["descriptor_stats"] = {**stats, MATERIAL_LEVEL_KEY: {"peak_dbfs": -9.0}}
    take = _generate(ctx, session, 5)[0]
    engine = generate(bundle, seconds=0.3, seed=5)
    np.testing.assert_array_equal(take.audio, engine.audio)
    decoded = decode(bundle, take.codes)  # the decoder's own level
    gain_db = material_gain_db(decoded, -9.0)
    assert gain_db > 1.0  # the tiny model is quiet: the take is brought up
    np.testing.assert_allclose(take.audio, decoded * 10 ** (gain_db / 20), rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------------- bad uploads


def _upload_copy(tmp_path: Path, name: str, data: bytes) -> Path:
    """A file where Gradio would put an upload: a temp folder the person never saw."""
    folder = tmp_path / "gradio" / "0f3a9c"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("notes.wav", b"these are my lyrics, not audio" * 20, "not audio"),
        ("empty.wav", b"", "empty"),
        ("cut.wav", b"RIFF\x24\x00\x00\x00WAVEfmt ", "no audio"),
        ("song.mid", b"MThd\x00\x00\x00\x06", "not an audio file"),
    ],
)
def test_a_bad_upload_is_one_clear_message_without_temp_paths(
    ctx, session, tmp_path, name, data, words
):
    path = _upload_copy(tmp_path, name, data)
    load = friendly("loading slot A")(dna.load_file)
    with pytest.raises(gr.Error) as caught:
        load(ctx, session, "A", "tiny-prior", str(path))
    message = caught.value.message
    assert name in message and str(path.parent) not in message and "/tmp" not in message
    assert "Traceback" not in message and message.count("\n") == 0
    assert words in message
    assert session.editor.slot("A") is None  # nothing half-loaded


def test_a_damaged_session_file_names_the_file_not_its_temp_copy(ctx, session, tmp_path):
    path = _upload_copy(tmp_path, "mix.sdasession", b"PK\x03\x04 not really a zip")
    with pytest.raises(gr.Error) as caught:
        friendly("opening the session")(dna.load_session)(ctx, session, str(path))
    assert "mix.sdasession" in caught.value.message
    assert str(tmp_path) not in caught.value.message


def test_temp_paths_are_shortened_and_other_paths_kept(tmp_path):
    inside = tmp_path / "gradio" / "abc" / "kick.wav"
    text = without_temp_paths(f"{inside}: empty file; see /home/ana/sda-models/index.json.")
    assert text == "kick.wav: empty file; see /home/ana/sda-models/index.json."


# ----------------------------------------------------------------------------- DNA tab


def test_grids_a_and_b_share_one_time_axis(ctx, session, pluck_file):
    dna.load_file(ctx, session, "A", "tiny-prior", str(pluck_file))  # 0.5 s
    take = _generate(ctx, session, 3, seconds=0.25)[0]
    dna.load_take(ctx, session, "B", take.number)
    a, b = dna.slot_codes(session, "A"), dna.slot_codes(session, "B")
    assert b.frames < a.frames
    axis = pictures.shared_axis(session)
    assert axis == a.frames
    width = 600
    image_b = pictures.grid_picture(ctx, session, "B", width=width, axis_frames=axis)
    drawn = np.any(image_b != BACKGROUND, axis=(0, 2))  # (width,) columns holding cells
    last = int(np.nonzero(drawn)[0].max()) + 1
    assert last == pytest.approx(width * b.frames / a.frames, abs=width / a.frames + 1)
    image_a = pictures.grid_picture(ctx, session, "A", width=width, axis_frames=axis)
    assert np.any(image_a[:, -1] != BACKGROUND)  # the longer grid fills the width
    # a click at B's end on grid A is A's frame at that time, not A's end
    region, _ = dna.click_region(a, last - 1, 0, width=width, anchor=None, axis_frames=axis)
    assert region.start == pytest.approx(b.frames - 1, abs=1)


def test_history_and_statuses_speak_seconds(ctx, session, pluck_file):
    status = dna.load_file(ctx, session, "A", "tiny-prior", str(pluck_file))
    assert "0.50 s" in status and "frames" not in status
    take = _generate(ctx, session, 3)[0]
    dna.load_take(ctx, session, "B", take.number)
    a = dna.slot_codes(session, "A")
    region = dna.region_for(a, 0.1, 0.2, 0, a.levels - 1)
    message = dna.apply_operation(ctx, session, "swap span", region)
    history = dna.history_text(session)
    start, end = region.start / a.frame_rate, region.end / a.frame_rate
    assert f"span {start:.2f}–{end:.2f} s from B" in history
    assert "**" not in message  # toasts show text as it is: no markdown
    assert "**" in history  # the history panel renders it


def test_a_reloaded_session_keeps_file_names_and_shows_plain_text(ctx, session, pluck_file):
    dna.load_file(ctx, session, "A", "tiny-prior", str(pluck_file))
    take = _generate(ctx, session, 3)[0]
    dna.load_take(ctx, session, "B", take.number)
    saved = dna.save_session(ctx, session)
    reopened = UserSession()
    message = dna.load_session(ctx, reopened, str(saved))
    assert reopened.editor.labels == {"A": "pluck.wav", "B": f"take {take.number}"}
    assert "**" not in message and saved.name in message
    assert str(saved.parent) not in message


def test_a_session_saved_before_labels_shows_the_source_file(ctx, session, pluck_file):
    from sda.dna.codec_bridge import encode_file

    codes = encode_file(ctx.models.get("tiny-prior"), pluck_file)  # no label: an older session
    assert dna.source_label(codes, "A") == "pluck.wav"
    assert dna.source_label(codes.with_indices(codes.indices, sources=[]), "B") == "B (session)"


# ----------------------------------------------------------------------------- export menus


def test_each_format_offers_only_the_rates_and_depths_it_can_write():
    assert export.sample_rate_choices("mp3") == [44_100, 48_000]
    assert export.sample_rate_choices("wav") == list(shared.SAMPLE_RATES)
    assert export.bit_depth_choices("mp3") == [] and export.bit_depth_choices("flac") == [16, 24]
    for fmt in export.FORMATS:  # every choice on offer is one the shared rules accept
        for rate in export.sample_rate_choices(fmt):
            for depth in export.bit_depth_choices(fmt) or [None]:
                shared.ExportSettings(format=fmt, sample_rate=rate, bit_depth=depth)
        for rate in set(shared.SAMPLE_RATES) - set(export.sample_rate_choices(fmt)):
            with pytest.raises(shared.ExportError):
                shared.ExportSettings(format=fmt, sample_rate=rate)
    # switching format keeps what still fits, else a rate the new format has
    assert export.kept_choice(96_000, export.sample_rate_choices("mp3"), 48_000) == 48_000
    assert export.kept_choice(44_100, export.sample_rate_choices("mp3"), 48_000) == 44_100
    assert export.kept_choice(32, export.bit_depth_choices("flac"), 24) == 24


# ----------------------------------------------------------------------------- library words


def test_library_details_speak_a_musicians_words(writable_ctx):
    root = writable_ctx.library.root
    meta_path = next(root.glob("bundles/*/meta.json"))
    meta = json.loads(meta_path.read_text())
    meta["training"] = {
        "codec": {
            "global_step": 1200,
            "epoch": 30,
            "metrics": {
                "val/mel_distance": 1.8,
                "val/mel_distance (best)": 1.75,
                "train/loss": 3.2,
                "codebook/used_percent_min": 85.3,
                "some/new_metric": 0.1,
            },
        },
        "prior": {"metrics": {"best val/cross_entropy": 3.1}},
    }
    meta_path.write_text(json.dumps(meta))
    text, _ = lib.model_details(writable_ctx, meta["name"])
    assert "sound quality: 1.80 (lower is better; best 1.75)" in text
    assert "sound palette in use: 85% (higher is better)" in text
    assert "how well the generator knows your sounds: 3.10 (lower is better)" in text
    assert "training steps: 1,200" in text
    for raw in ("val/", "train/", "codebook/", "some/new_metric", "global_step"):
        assert raw not in text, raw


def test_training_words_skip_junk_without_failing():
    assert training_lines(None) == [] and training_lines({"codec": "broken"}) == []
    junk = {"metrics": {"val/mel_distance": "fast", "val/stft": float("nan"), "val/envelope": 2}}
    assert training_lines(junk) == [
        "**Training**\n\n- attacks and dynamics: 2.00 (lower is better)"
    ]
    assert all("/" not in figure.words for figure in FIGURES.values())


# ----------------------------------------------------------------------------- memory


def test_a_long_session_keeps_only_recent_takes_in_memory(ctx, session):
    takes = [_generate(ctx, session, seed)[0] for seed in range(3)]
    originals = [take.audio.copy() for take in takes]
    ctx.take_memory_bytes = takes[0].audio.nbytes  # room for one take only
    for seed in range(3, 20):
        _generate(ctx, session, seed)
    held = [take for take in session.takes if take.in_memory]
    assert held == [session.takes[-1]]  # the newest take only
    for take, original in zip(takes, originals, strict=True):  # the rest read back exactly
        assert take.audio is None and take.seconds == pytest.approx(len(original) / 48_000)
        np.testing.assert_array_equal(take.load_audio(), original)
    path = export.export_source(ctx, session, "1", export.ExportSettings(format="wav"))
    assert path.is_file()


def test_a_released_stereo_take_keeps_its_mono_audio(ctx, session):
    take = _generate(ctx, session, 1, width=0.5)[0]
    original = take.audio.copy()
    take.release()
    assert take.audio is None and take.audio_file != take.path  # the preview is stereo
    np.testing.assert_array_equal(take.load_audio(), original)
    shutil.rmtree(take.path.parent)  # the session folder was cleaned meanwhile
    with pytest.raises(SdaError, match="no longer on disk"):
        take.load_audio()


def test_freed_memory_is_handed_back_where_the_c_library_can():
    """Freed heap pages stuck below a live block go back to the system (RSS falls)."""
    import platform
    import sys

    import psutil

    from sda.app.free_memory import return_freed_memory

    if not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"):
        pytest.skip("malloc_trim is glibc's")
    process = psutil.Process()
    blocks = [np.ones(2**14, np.float32) for _ in range(1024)]  # 64 MB in 64 kB heap pieces
    keep = np.ones(2**14, np.float32)  # a live block above them: free() alone cannot shrink
    held = process.memory_info().rss
    del blocks
    assert return_freed_memory() is True
    assert held - process.memory_info().rss > 32 * 2**20
    del keep


# ----------------------------------------------------------------------------- control units


def test_each_control_slider_shows_what_it_asks_for_with_this_model(ctx):
    values = {"brightness": 0.0, "density": 1.0, "loudness": 0.5, "warmth": 0.5}
    shown = gen.control_units(ctx, "tiny-prior", values)
    assert shown[0] == "≈ 501 Hz centroid"  # 2 ** 8.97: the low end of the model's brightness
    assert shown[1] == "≈ 20.0 onsets/s"  # the top of its density range
    assert shown[2].endswith("dBFS RMS") and shown[3].endswith("dB lows over highs")
    busier = gen.control_units(ctx, "tiny-prior", {"density": 0.2})
    assert busier == ["≈ 4.0 onsets/s"]
    # no model picked, or one the library lacks: blank, not an error
    assert gen.control_units(ctx, None, values) == ["", "", "", ""]
    assert gen.control_units(ctx, "no-such-model", {"density": 0.5}) == [""]


def test_a_control_the_models_codec_keeps_poorly_says_so_beside_its_slider(ctx):
    from sda.audio.control_fidelity import FIDELITY_KEY

    values = {"tension": 0.7, "density": 0.5}
    assert not any(
        gen.WEAK_LABEL in shown for shown in gen.control_units(ctx, "tiny-prior", values)
    )
    bundle = ctx.models.get("tiny-prior")  # this context's own copy: the change stays here
    stats = dict(bundle.meta.get("descriptor_stats") or {})
    bundle.meta["descriptor_stats"] = {**stats, FIDELITY_KEY: {"tension": 0.5, "density": 0.96}}
    tension, density = gen.control_units(ctx, "tiny-prior", values)
    assert tension == "≈ 0.70 dissonance" + gen.WEAK_LABEL
    assert density == "≈ 10.0 onsets/s"


def test_ticking_tension_picks_one_take_for_a_prior_that_measured_it_follows(ctx):
    from sda.generate.sampling_defaults import TENSION_SAMPLING_KEY

    asked = {"tension": 0.5, "brightness": 0.5}
    assert gen.sampling_for(ctx, "tiny-prior", asked) == (1.0, 3)  # unguided, steered
    assert gen.sampling_for(ctx, "no-such-model", asked) == (1.0, 3)
    assert gen.sampling_for(ctx, None, {"brightness": 0.5}) == (1.0, 1)
    bundle = ctx.models.get("tiny-prior")  # this context's own copy: the change stays here
    stats = dict(bundle.meta.get("descriptor_stats") or {})
    bundle.meta["descriptor_stats"] = {**stats, TENSION_SAMPLING_KEY: {"way": "one_take"}}
    assert gen.sampling_for(ctx, "tiny-prior", asked) == (3.0, 1)
