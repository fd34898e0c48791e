"""The explorer's callbacks, called directly (no browser) on the real tiny bundles."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import factories
import numpy as np
import pytest
import soundfile
import torch

from sda.app import dna_callbacks as dna
from sda.app import dna_pictures as pictures
from sda.app import export_callbacks as export
from sda.app import generate_callbacks as gen
from sda.app import library_callbacks as lib
from sda.app.errors import AppError
from sda.app.grid_image import Selection, code_colours, render_grid
from sda.app.presets import PresetError, PresetStore
from sda.app.state import UserSession
from sda.errors import SdaError


@pytest.fixture
def session() -> UserSession:
    return UserSession()


@pytest.fixture
def drone_file(tmp_path) -> Path:
    from sda.audio.io import write_audio

    path = tmp_path / "drone.wav"
    write_audio(path, factories.synth_sound("drone", seconds=0.5, seed=4), 48_000)
    return path


@pytest.fixture
def pluck_file(tmp_path) -> Path:
    from sda.audio.io import write_audio

    path = tmp_path / "pluck.wav"
    write_audio(path, factories.synth_sound("pluck", seconds=0.5, seed=3), 48_000)
    return path


def one_take(ctx, session, **changes):
    settings = gen.GenerationSettings(seconds=0.3, seed=7, **changes)
    return gen.generate_takes(ctx, session, "tiny-prior", settings)


# ----------------------------------------------------------------------------- generate


def test_model_names_lists_the_library(ctx):
    assert gen.model_names(ctx) == ["tiny", "tiny-prior"]


def test_generate_makes_takes_with_their_settings_and_reports_progress(ctx, session):
    reports = []
    settings = gen.GenerationSettings(
        seconds=0.3, seed=11, count=2, candidates=4, controls={"brightness": 0.8}
    )
    takes = gen.generate_takes(
        ctx, session, "tiny-prior", settings, report=lambda f, m: reports.append(f)
    )
    assert [t.settings["seed"] for t in takes] == [11, 12]
    assert all(t.path.is_file() and t.path.is_relative_to(ctx.work_dir) for t in takes)
    # the players' preview holds the decoder's float samples exactly
    preview, rate = soundfile.read(str(takes[0].path), dtype="float32")
    assert rate == takes[0].sample_rate and takes[0].audio.dtype == np.float32
    np.testing.assert_array_equal(preview, takes[0].audio)
    assert all(t.codes is not None and t.codes.bundle_id for t in takes)
    assert takes[0].settings["controls"] == {"brightness": 0.8}
    # 4 candidates with a ticked control: steered (in halves side by side), the closest kept
    drawn = takes[0].codes.provenance["operations"][0]
    assert drawn["candidates"] == 4 and len(drawn["chosen"]) == 2
    assert reports == sorted(reports) and reports[-1] == 1.0
    rows = gen.take_rows(session)
    assert [row[0] for row in rows] == [2, 1]  # newest first
    assert rows[0][-1] == "brightness 0.80"
    assert [value for _, value in gen.take_choices(session)] == ["2", "1"]
    # a control that moves over the take: kept as keyframes, shown as a move
    rising = gen.GenerationSettings(seconds=0.3, seed=3, controls={"density": [0.1, 0.9]})
    take = gen.generate_takes(ctx, session, "tiny-prior", rising)[0]
    assert take.codes.provenance["operations"][-1]["controls"] == {"density": [0.1, 0.9]}
    assert gen.take_rows(session)[0][-1] == "density 0.10 → 0.90"
    assert gen.settings_from_take(session, take.number).controls == {"density": [0.1, 0.9]}
    with pytest.raises(AppError, match="between 0 and 1"):
        gen.generate_takes(ctx, session, "tiny-prior", gen.GenerationSettings(
            controls={"density": [0.1, 1.9]}))  # fmt: skip


def test_same_seed_gives_the_same_take(ctx, session):
    from sda.audio.io import load_audio

    first, second = one_take(ctx, session)[0], one_take(ctx, session)[0]
    assert first.path != second.path
    np.testing.assert_array_equal(load_audio(first.path), load_audio(second.path))
    assert gen.settings_from_take(session, first.number).seed == 7


def test_generate_refuses_a_codec_only_model_and_bad_settings(ctx, session):
    with pytest.raises(AppError, match="no prior"):
        gen.generate_takes(ctx, session, "tiny", gen.GenerationSettings(seconds=0.3))
    with pytest.raises(AppError, match="pick a model"):
        gen.generate_takes(ctx, session, None, gen.GenerationSettings())
    with pytest.raises(AppError, match="temperature"):
        one_take(ctx, session, temperature=0.0)
    with pytest.raises(AppError, match="duration"):
        gen.generate_takes(ctx, session, "tiny-prior", gen.GenerationSettings(seconds=1e6))
    with pytest.raises(SdaError, match="no model named"):
        gen.generate_takes(ctx, session, "../etc", gen.GenerationSettings())
    assert session.takes == []


def test_presets_are_saved_per_model_in_the_library(writable_ctx):
    ctx = writable_ctx
    bright = gen.GenerationSettings(
        seconds=2.0, seed=5, temperature=0.8, controls={"brightness": 0.9}
    )
    assert gen.save_preset(ctx, "tiny-prior", "  bright   one ", bright) == "bright one"
    assert gen.preset_names(ctx, "tiny-prior") == ["bright one"]
    assert gen.preset_names(ctx, "tiny") == []  # per model
    stored = Path(ctx.library.root) / "presets" / f"{ctx.models.key('tiny-prior')}.json"
    assert stored.is_file()
    recalled = gen.recall_preset(ctx, "tiny-prior", "bright one", gen.GenerationSettings(seed=42))
    assert recalled.controls == {"brightness": 0.9}
    swell = gen.GenerationSettings(controls={"loudness": [0.2, 0.8, 0.2]})
    gen.save_preset(ctx, "tiny-prior", "swell", swell)
    assert gen.recall_preset(ctx, "tiny-prior", "swell", bright).controls == swell.controls
    gen.delete_preset(ctx, "tiny-prior", "swell")
    assert (recalled.temperature, recalled.seconds, recalled.seed) == (0.8, 2.0, 42)
    gen.delete_preset(ctx, "tiny-prior", "bright one")
    assert gen.preset_names(ctx, "tiny-prior") == []
    with pytest.raises(PresetError, match="no preset"):
        gen.recall_preset(ctx, "tiny-prior", "bright one", bright)


def test_preset_store_rejects_bad_names_ids_and_damaged_files(tmp_path):
    store = PresetStore(root=tmp_path)
    with pytest.raises(PresetError, match="name"):
        store.save("abc", "   ", {})
    with pytest.raises(PresetError, match="cannot store"):
        store.save("../../x", "ok", {})
    (tmp_path / "presets").mkdir(exist_ok=True)
    (tmp_path / "presets" / "abc.json").write_text("{not json")
    with pytest.raises(PresetError, match="damaged"):
        store.names("abc")


# ----------------------------------------------------------------------------- DNA editor


def test_dna_flow_upload_take_swap_undo_redo_decode(ctx, session, pluck_file):
    message = dna.load_file(ctx, session, "A", "tiny-prior", str(pluck_file))
    assert "pluck.wav" in message
    take = one_take(ctx, session)[0]
    dna.load_take(ctx, session, "B", take.number)
    a, b = dna.slot_codes(session, "A"), dna.slot_codes(session, "B")
    region = dna.region_for(a, 0.0, a.seconds, 0, 0)
    dna.apply_operation(ctx, session, "swap levels", region)
    swapped = dna.slot_codes(session, "A")
    frames = min(swapped.frames, b.frames)
    np.testing.assert_array_equal(swapped.indices[0, :frames], b.indices[0, :frames])
    np.testing.assert_array_equal(swapped.indices[1:], a.indices[1:])
    assert "levels 0–0 from B" in dna.history_text(session)
    dna.undo(session)
    np.testing.assert_array_equal(dna.slot_codes(session, "A").indices, a.indices)
    dna.redo(session)
    np.testing.assert_array_equal(dna.slot_codes(session, "A").indices, swapped.indices)
    path = dna.decode_working(ctx, session, levels=2)
    assert path.is_file() and session.decoded == path
    decoded = session.decoded_take  # what exports use: the same samples, kept as float
    np.testing.assert_array_equal(decoded.audio, soundfile.read(str(path), dtype="float32")[0])
    assert decoded.provenance["operations"][-1] == {"op": "decode", "levels": 2}
    with pytest.raises(SdaError, match="nothing to redo"):
        dna.redo(session)


@pytest.mark.parametrize("operation", ["swap span", "blend", "morph", "randomize", "regenerate"])
def test_every_operation_changes_only_what_it_should(
    ctx, session, pluck_file, drone_file, operation
):
    dna.load_file(ctx, session, "A", "tiny-prior", str(pluck_file))
    dna.load_file(ctx, session, "B", "tiny-prior", str(drone_file))
    a = dna.slot_codes(session, "A")
    region = dna.region_for(a, 0.1, 0.3, 0, a.levels - 1)
    dna.apply_operation(ctx, session, operation, region, alpha=0.5, seed=3)
    result = dna.slot_codes(session, "A")
    assert result.frames == a.frames
    # before the region nothing changes (a morph then ends on B after it, by design)
    np.testing.assert_array_equal(result.indices[:, : region.start], a.indices[:, : region.start])
    if operation != "morph":
        np.testing.assert_array_equal(result.indices[:, region.end :], a.indices[:, region.end :])
    assert dna.history_text(session).count("→") == 1


def test_operations_need_their_slots_and_valid_regions(ctx, session, pluck_file):
    with pytest.raises(AppError, match="slot A"):
        dna.decode_working(ctx, session, 2)
    dna.load_file(ctx, session, "A", "tiny-prior", str(pluck_file))
    a = dna.slot_codes(session, "A")
    with pytest.raises(AppError, match="slot B"):
        dna.apply_operation(ctx, session, "blend", dna.region_for(a, 0, 0.1, 0, 0))
    with pytest.raises(AppError, match="levels must lie"):
        dna.region_for(a, 0, 0.1, 0, a.levels)
    with pytest.raises(AppError, match="not an audio file"):
        dna.load_file(ctx, session, "B", "tiny-prior", str(pluck_file.with_suffix(".txt")))
    empty = dna.region_for(a, 0.2, 0.2, 1, 0)  # reversed and empty ranges still give one frame
    assert (empty.first_level, empty.last_level) == (0, 1) and empty.end == empty.start + 1


def test_grid_pictures_by_code_and_by_descriptor(ctx, session, pluck_file):
    assert pictures.grid_picture(ctx, session, "A") is None
    dna.load_file(ctx, session, "A", "tiny-prior", str(pluck_file))
    a = dna.slot_codes(session, "A")
    region = dna.region_for(a, 0.1, 0.2, 1, 2)
    by_code = pictures.grid_picture(ctx, session, "A", pictures.COLOUR_BY_CODE, region, width=400)
    by_brightness = pictures.grid_picture(ctx, session, "A", "brightness", region, width=400)
    assert by_code.shape == by_brightness.shape and by_code.shape[1] == 400
    assert by_code.dtype == np.uint8 and not np.array_equal(by_code, by_brightness)
    with pytest.raises(AppError, match="unknown descriptor"):
        pictures.grid_picture(ctx, session, "A", "sparkle")


def test_session_save_and_load_restores_history(ctx, session, pluck_file):
    dna.load_file(ctx, session, "A", "tiny-prior", str(pluck_file))
    a = dna.slot_codes(session, "A")
    dna.apply_operation(ctx, session, "randomize", dna.region_for(a, 0, 0.2, 0, 1), seed=1)
    path = dna.save_session(ctx, session)
    fresh = UserSession()
    assert "tiny-prior" in dna.load_session(ctx, fresh, str(path))
    np.testing.assert_array_equal(
        dna.slot_codes(fresh, "A").indices, dna.slot_codes(session, "A").indices
    )
    dna.undo(fresh)
    np.testing.assert_array_equal(dna.slot_codes(fresh, "A").indices, a.indices)


# ----------------------------------------------------------------------------- export


def test_export_a_take_as_tagged_flac(ctx, session):
    import mutagen

    take = one_take(ctx, session)[0]
    settings = export.ExportSettings(format="flac", bit_depth=16, sample_rate=44_100, artist="me")
    path = export.export_source(ctx, session, str(take.number), settings)
    assert path.suffix == ".flac" and path.is_relative_to(ctx.work_dir)
    info = soundfile.info(str(path))
    assert (info.format, info.samplerate, info.subtype) == ("FLAC", 44_100, "PCM_16")
    tags = mutagen.File(str(path))
    assert tags["artist"] == ["me"] and tags["album"] == ["tiny-prior"]
    assert tags["seed"] == ["7"]


def test_a_24_bit_export_carries_24_bits_of_the_decoder_output(ctx, session, monkeypatch):
    """The take is decoded once and exported from its float audio: not a 16-bit file padded."""
    codec = ctx.models.get("tiny-prior").codec
    real_decode, decodes = codec.decode, []

    def counted(*args, **kwargs):
        decodes.append(1)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(codec, "decode", counted)
    take = one_take(ctx, session)[0]
    settings = export.ExportSettings(format="wav", bit_depth=24, sample_rate=48_000)
    path = export.export_source(ctx, session, str(take.number), settings)
    assert len(decodes) == 1  # generating decoded it; the export did not decode again
    assert soundfile.info(str(path)).subtype == "PCM_24"
    samples = soundfile.read(str(path), dtype="int32")[0] >> 8  # the 24-bit values
    assert len(np.unique(samples & 0xFF)) > 200  # a 16-bit signal padded would give 0, 1, 255
    # the decoder's samples, within the +-1 LSB dither (the take is at the model's rate)
    assert np.abs(samples / 2.0**23 - take.audio).max() <= 2.0 / 2**23


def test_export_the_editor_result_in_stereo(ctx, session, pluck_file):
    with pytest.raises(AppError, match="decode"):
        export.export_source(ctx, session, export.EDITOR_SOURCE, export.ExportSettings())
    dna.load_file(ctx, session, "A", "tiny", str(pluck_file))
    dna.decode_working(ctx, session, None)
    path = export.export_source(
        ctx, session, export.EDITOR_SOURCE, export.ExportSettings(format="ogg", channels="stereo")
    )
    assert soundfile.info(str(path)).channels == 2


def test_export_settings_are_checked():
    # the shared rules, in the same words as `export_audio` (and so the CLI)
    with pytest.raises(AppError, match="flac cannot store 32-bit audio"):
        export.ExportSettings(format="flac", bit_depth=32).checked()
    with pytest.raises(AppError, match="Unknown format 'exe'"):
        export.ExportSettings(format="exe").checked()
    with pytest.raises(AppError, match="cannot be written at 12345 Hz"):
        export.ExportSettings(sample_rate=12345).checked()
    with pytest.raises(AppError, match="LUFS is out of range: use -70 to 0"):
        export.ExportSettings(lufs=-80.0).checked()
    assert export.ExportSettings(format="ogg").sound().bit_depth is None  # lossy: no depth
    assert export.bit_depth_choices("mp3") == []


# ----------------------------------------------------------------------------- library


def test_library_table_details_and_search(ctx):
    rows = lib.library_rows(ctx)
    assert [row[0] for row in rows] == ["tiny", "tiny-prior"]
    assert rows[1][2] == "yes" and rows[0][2] == "no"
    assert lib.library_rows(ctx, "prior")[0][0] == "tiny-prior"
    assert lib.library_rows(ctx, "nothing-like-this") == []
    text, preview = lib.model_details(ctx, "tiny-prior")
    assert "tiny-prior" in text and "pluck_0.wav" in text
    assert preview is None or Path(preview).is_file()


def test_library_rename_tag_delete_and_import(writable_ctx, tmp_path):
    ctx = writable_ctx
    assert lib.rename_model(ctx, "tiny", "tiny renamed") == "tiny renamed"
    assert lib.tag_model(ctx, "tiny renamed", "drums, dark", "test") == ["drums", "dark"]
    with pytest.raises(AppError, match="type the name"):
        lib.delete_model(ctx, "tiny renamed", "tiny")
    zip_path = ctx.library.export_zip("tiny renamed", tmp_path / "shared.zip")
    lib.delete_model(ctx, "tiny renamed", "tiny renamed")
    assert gen.model_names(ctx) == ["tiny-prior"]
    assert lib.import_zip(ctx, str(zip_path)) == "tiny renamed"
    with pytest.raises(AppError, match="not a .zip"):
        lib.import_zip(ctx, str(tmp_path / "shared.txt"))


# ----------------------------------------------------------------------------- pieces


def test_code_colours_are_stable_and_selection_is_highlighted():
    indices = np.arange(24).reshape(3, 8) % 5
    np.testing.assert_array_equal(code_colours(indices, 5), code_colours(indices, 5))
    plain = render_grid(indices, codebook_size=5, width=80, row_height=10)
    chosen = render_grid(
        indices, codebook_size=5, width=80, row_height=10, selection=Selection(0, 1, 0, 4)
    )
    assert plain.shape == (3 * 11 - 1, 80, 3)
    # outside the selection is dimmed, the outline is white
    assert chosen[15:25, 50:70].mean() < plain[15:25, 50:70].mean()
    assert (chosen[0, 0:40] == 255).all()


def test_friendly_turns_errors_into_one_line_messages():
    import gradio as gr

    from sda.app.feedback import friendly

    @friendly("testing")
    def user_error():
        raise SdaError("the file is empty; record something first")

    @friendly("testing")
    def bug():
        raise ZeroDivisionError("division by zero in line 3")

    with pytest.raises(gr.Error, match="the file is empty"):
        user_error()
    with pytest.raises(gr.Error) as caught:
        bug()
    assert "ZeroDivisionError" in str(caught.value) and "Traceback" not in str(caught.value)


def test_build_app_keeps_state_per_app(tiny_library_root, tmp_path):
    import gradio as gr

    from sda.app import build_app
    from sda.library import Library

    first = build_app(Library(tiny_library_root), work_dir=tmp_path / "one")
    second = build_app(Library(tiny_library_root), work_dir=tmp_path / "two")
    assert isinstance(first, gr.Blocks)
    assert first.sda_context.work_dir != second.sda_context.work_dir
    assert first.sda_context.models is not second.sda_context.models


# ----------------------------------------------------------------------------- train tab


def test_inspect_folder_reports_every_file(tiny_audio_dir):
    from sda.app import train_callbacks as train

    rows, summary = train.inspect_folder(str(tiny_audio_dir))
    assert len(rows) == 3 and all(row[1] == "ok" for row in rows)
    assert summary.startswith("**3 of 3 files usable**")
    assert "3 usable files, 1.5 s: 3 one-shots" in summary  # the set verdict, as in the CLI
    assert "**codec: too little**" in summary and "**prior: too little**" in summary
    with pytest.raises(AppError, match="not a folder"):
        train.inspect_folder(str(tiny_audio_dir / "missing"))
    (tiny_audio_dir / "again").symlink_to(tiny_audio_dir)  # a loop: noted, as in `sda data inspect`
    rows, summary = train.inspect_folder(str(tiny_audio_dir))
    assert len(rows) == 3 and "- note: " in summary and "again" in summary


def test_training_commands_are_valid_configs(tiny_audio_dir, tmp_path, monkeypatch):
    from sda.app import train_callbacks as train
    from sda.training.train_codec import compose_config

    steps = train.training_steps(None, tiny_audio_dir, "my-kit", minutes=1.5, runs_dir=tmp_path)
    assert [label for label, _ in steps][-1] == "adding the model to the library"
    codec_args, prior_args = steps[0][1], steps[1][1]
    codec = compose_config(codec_args[3:])
    assert codec.data.dir == str(tiny_audio_dir) and codec.trainer.max_time == "00:00:01:30"
    assert codec.recipe == "cpu"  # this machine; the same command picks the GPU recipe on CUDA
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    on_cuda = compose_config(codec_args[3:])
    assert on_cuda.recipe == "cuda" and on_cuda.trainer.max_time == "00:00:01:30"
    assert compose_config(prior_args[3:], config_name="train_prior").recipe == "cuda"
    monkeypatch.undo()
    prior = compose_config(prior_args[3:], config_name="train_prior")
    assert prior.codec == str(tmp_path / "codec" / "my-kit")
    assert train.run_name("  My kit! v2 ") == "My-kit-v2"


def test_training_job_runs_steps_in_order_and_stops(tmp_path):
    from sda.app.train_callbacks import TrainingJob

    python = [sys.executable, "-c"]
    done = TrainingJob(
        name="ok",
        steps=[("one", [*python, "print('first')"]), ("two", lambda: "second")],
        log_path=tmp_path / "ok.log",
    ).start()
    done.wait(30)
    assert done.state == "done" and "first" in done.log_tail() and "second" in done.log_tail()
    failed = TrainingJob(
        name="bad", steps=[("boom", [*python, "raise SystemExit(3)"])], log_path=tmp_path / "b.log"
    ).start()
    failed.wait(30)
    assert failed.state == "failed" and "exit code 3" in failed.status()
    slow = TrainingJob(
        name="slow",
        steps=[("sleep", [*python, "import time; time.sleep(60)"])],
        log_path=tmp_path / "s.log",
    ).start()
    time.sleep(0.5)
    slow.stop()
    slow.wait(30)
    assert slow.state == "stopped"


def test_start_training_refuses_bad_requests(ctx, tiny_audio_dir):
    from sda.app import train_callbacks as train

    with pytest.raises(AppError, match="folder"):
        train.start_training(ctx, "", "x", 5)
    with pytest.raises(AppError, match="already in the library"):
        train.start_training(ctx, str(tiny_audio_dir), "tiny", 5)
    with pytest.raises(AppError, match="minutes"):
        train.start_training(ctx, str(tiny_audio_dir), "new-one", 0)
    assert ctx.training is None


def test_two_clicks_on_the_grid_select_a_region(ctx, session, pluck_file):
    dna.load_file(ctx, session, "A", "tiny-prior", str(pluck_file))
    codes = dna.slot_codes(session, "A")
    image = pictures.grid_picture(ctx, session, "A", width=600)
    height = image.shape[0]
    first, anchor = dna.click_region(codes, 590, height - 1, width=600, anchor=None)
    assert anchor == (codes.levels - 1, first.start) and first.end == first.start + 1
    region, anchor = dna.click_region(codes, 0, 0, width=600, anchor=anchor)
    assert anchor is None
    assert (region.first_level, region.last_level, region.start) == (0, codes.levels - 1, 0)
    assert region.end == first.end
    start, end = dna.region_seconds(codes, region)
    assert dna.region_for(codes, start, end, 0, codes.levels - 1) == region
