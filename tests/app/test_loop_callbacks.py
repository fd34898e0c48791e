"""The Generate tab's loops, width and movement, called directly (no browser) on the tiny bundles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from sda.app import export_callbacks as export
from sda.app import generate_callbacks as gen
from sda.app.state import UserSession
from sda.audio.loop_points import LoopPoints, read_loop_points
from sda.audio.seam import measure_seam
from sda.audio.stereo_field import measure_width, side_to_mid_ratio

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_loop_take_loops_and_exports_with_loop_points(ctx):
    session = UserSession()
    settings = gen.GenerationSettings(seconds=0.5, seed=1, temperature=1.5, loop=True)
    take = gen.generate_takes(ctx, session, "tiny-prior", settings)[0]
    assert take.loop_seconds == pytest.approx(take.seconds) and take.label.endswith("· loop")
    preview, rate = soundfile.read(str(take.path), dtype="float32")
    np.testing.assert_array_equal(preview, take.audio)  # no width: the decoder's samples
    assert measure_seam(preview, rate).passed
    for fmt, rate_out in (("wav", 44_100), ("flac", 48_000)):
        choice = export.ExportSettings(format=fmt, sample_rate=rate_out)
        path = export.export_source(ctx, session, str(take.number), choice)
        samples = round(take.loop_seconds * rate_out)
        assert soundfile.info(str(path)).frames == samples
        assert read_loop_points(path) == LoopPoints(0, samples)
    plain = gen.generate_takes(ctx, session, "tiny-prior", gen.GenerationSettings(seconds=0.3))
    path = export.export_source(ctx, session, str(plain[0].number), export.ExportSettings())
    assert plain[0].loop_seconds is None and read_loop_points(path) is None


def test_a_tempo_fitted_wide_loop_plays_and_exports_in_stereo(ctx):
    session = UserSession()
    settings = gen.GenerationSettings(
        seed=2, loop=True, bars=1, bpm=333, beats_per_bar=3.0, width=0.6, movement=0.0
    )  # a number box gives 3.0 beats
    take = gen.generate_takes(ctx, session, "tiny-prior", settings)[0]
    assert take.loop_seconds == pytest.approx(3 * 60 / 333)
    assert len(take.audio) == round(3 * 60 / 333 * take.sample_rate)
    preview, _ = soundfile.read(str(take.path), dtype="float64")
    assert preview.shape == (len(take.audio), 2)  # the players hear the stereo field
    path = export.export_source(ctx, session, str(take.number), export.ExportSettings())
    written, _ = soundfile.read(str(path), dtype="float64")
    assert written.shape[1] == 2  # a width makes the mono layout stereo
    assert measure_width(written.T) == pytest.approx(side_to_mid_ratio(0.6), rel=0.1)
    assert read_loop_points(path) == LoopPoints(0, len(written))
    assert gen.take_rows(session)[0][-1] == "free · loop 1 bar at 333 bpm · width 0.60"
    again = gen.settings_from_take(session, take.number)
    assert (again.loop, again.bars, again.bpm, again.width) == (True, 1.0, 333.0, 0.6)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"loop": True, "bars": 2, "bpm": 0}, "bpm 0 is not a usable tempo"),
        ({"loop": True, "bars": -1}, "bars must be more than 0"),
        ({"loop": True, "bars": 1, "beats_per_bar": 40}, "beats per bar must be a whole number"),
        ({"loop": True, "seconds": 0.1}, "shorter than this model's shortest loop"),
        ({"loop": True, "bars": 20, "bpm": 60}, "duration must be at most 60 seconds"),
        ({"width": 2.0}, "stereo width must be from 0 to 1"),
        ({"movement": -0.5}, "stereo movement must be from 0 to 1"),
    ],
)
def test_bad_loop_or_stereo_settings_get_one_message(ctx, changes, message):
    session = UserSession()
    with pytest.raises(gen.GenerateError, match=message):
        gen.generate_takes(ctx, session, "tiny-prior", gen.GenerationSettings(**changes))
    assert session.takes == [] and "--" not in message


def test_presets_saved_before_loops_still_load(writable_ctx):
    ctx = writable_ctx
    key = ctx.models.key("tiny-prior")
    old = {  # a presets file as saved before loops, width and movement existed
        "format": "sda-presets",
        "version": 1,
        "presets": {
            "dark": {
                "seconds": 2.0, "temperature": 0.7, "top_k": 0, "guidance": 3.0,
                "candidates": 4, "count": 1, "controls": {"brightness": 0.2},
            }
        },
    }  # fmt: skip
    folder = Path(ctx.library.root) / "presets"
    folder.mkdir(exist_ok=True)
    (folder / f"{key}.json").write_text(json.dumps(old), encoding="utf-8")
    current = gen.GenerationSettings(seed=9, loop=True, bars=2, width=0.8, movement=0.4)
    recalled = gen.recall_preset(ctx, "tiny-prior", "dark", current)
    assert (recalled.temperature, recalled.controls, recalled.seed) == (0.7, {"brightness": 0.2}, 9)
    assert (recalled.loop, recalled.width, recalled.movement) == (True, 0.8, 0.4)  # kept as set
    fresh = gen.GenerationSettings.from_dict(old["presets"]["dark"])
    assert (fresh.loop, fresh.bars, fresh.width, fresh.movement) == (False, 0.0, 0.0, 0.0)
    looped = gen.GenerationSettings(loop=True, bars=4, bpm=96, width=0.5, movement=0.25)
    gen.save_preset(ctx, "tiny-prior", "loop", looped)
    back = gen.recall_preset(ctx, "tiny-prior", "loop", gen.GenerationSettings())
    assert (back.loop, back.bars, back.bpm, back.width, back.movement) == (True, 4, 96, 0.5, 0.25)


def test_the_settings_panel_round_trips_loop_and_stereo():
    from sda.app import generate_tab

    names = generate_tab.control_names()
    settings = gen.GenerationSettings(
        seed=3, loop=True, bars=2.0, bpm=96.0, beats_per_bar=3, width=0.4, movement=0.2,
        controls={"brightness": 0.3, "density": [0.1, 0.9]},
    )  # fmt: skip
    assert generate_tab.collect(names, generate_tab.spread(names, settings)) == settings
    default = gen.GenerationSettings(width=0.0)  # unset (None: the model's own) shows as 0
    assert generate_tab.collect(names, generate_tab.spread(names, default)) == default


def test_a_loop_take_plays_round_and_round(ctx):
    from sda.app import generate_tab

    session = UserSession()
    plain = gen.generate_takes(ctx, session, "tiny-prior", gen.GenerationSettings(seconds=0.3))
    looped = gen.generate_takes(
        ctx, session, "tiny-prior", gen.GenerationSettings(seconds=0.5, loop=True)
    )
    players = generate_tab._after_generation(ctx, session, "tiny-prior", [*looped, *plain])[1:3]
    assert [player.loop for player in players] == [True, False]
