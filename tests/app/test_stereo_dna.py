"""The DNA editor with a stereo model, through its callbacks on the real tiny stereo bundle: both
grids drawn, edits aimed at the mid, the side or both, "swap side", stereo decodes and sessions;
mono models keep their editor as it was."""

from __future__ import annotations

import shutil

import factories
import numpy as np
import pytest
import soundfile

from sda.app import dna_callbacks as dna
from sda.app import dna_pictures as pictures
from sda.app import dna_stereo as stereo
from sda.app.errors import AppError
from sda.app.state import UserSession
from sda.audio.io import write_audio
from sda.errors import SdaError

MODEL = "tiny-stereo"


@pytest.fixture
def stereo_ctx(tiny_library_root, tiny_stereo_bundle, tmp_path):
    """An app context over a private library holding the tiny models and the stereo one."""
    from sda.app.state import AppContext
    from sda.library import Library

    root = tmp_path / "library"
    shutil.copytree(tiny_library_root, root)
    library = Library(root)
    library.add(tiny_stereo_bundle.path, name=MODEL, tags=["test"])
    return AppContext.create(library, work_dir=tmp_path / "work")


def _wide_file(folder, name: str, seed: int, seconds: float = 0.5):
    """A stereo file the tiny codec codes in many ways: a pluck left, noise right."""
    pluck = factories.synth_sound("pluck", seconds=seconds, seed=seed)
    noise = 0.2 * np.random.default_rng(seed).standard_normal(pluck.size)
    path = folder / name
    write_audio(path, np.stack([pluck, noise]).astype(np.float32), 48_000)
    return path


@pytest.fixture
def loaded(stereo_ctx, tmp_path):
    """A session with stereo sounds in slots A (0.5 s) and B (0.6 s)."""
    session = UserSession()
    dna.load_file(stereo_ctx, session, "A", MODEL, str(_wide_file(tmp_path, "a.wav", 1)))
    dna.load_file(stereo_ctx, session, "B", MODEL, str(_wide_file(tmp_path, "b.wav", 2, 0.6)))
    return session


def test_a_stereo_upload_fills_both_grids_and_draws_them(stereo_ctx, loaded, tmp_path):
    a = dna.slot_codes(loaded, "A")
    assert a.channels == 2 and a.side_levels == 3  # two levels and the direction row
    assert "stereo" in dna.grid_text(a) and "3 side levels" in dna.grid_text(a)
    assert stereo.is_stereo(loaded)
    axis = pictures.shared_axis(loaded)
    mid = pictures.grid_picture(stereo_ctx, loaded, "A", width=400, axis_frames=axis)
    side = pictures.grid_picture(stereo_ctx, loaded, "A", width=400, axis_frames=axis, part="side")
    assert mid.shape[1] == side.shape[1] == 400  # one time axis
    assert side.shape[0] < mid.shape[0]  # two side levels drawn, not the mid's four
    bright = pictures.grid_picture(stereo_ctx, loaded, "A", "brightness", width=400, part="side")
    assert bright.shape == side.shape and not np.array_equal(bright, side)

    mono_file = tmp_path / "pluck.wav"
    write_audio(mono_file, factories.synth_sound("pluck", seconds=0.4, seed=3), 48_000)
    message = dna.load_file(stereo_ctx, loaded, "B", MODEL, str(mono_file))
    assert "pluck.wav is mono; coded as centred stereo" in message


def test_a_mono_model_keeps_its_editor(stereo_ctx, tmp_path):
    session = UserSession()
    dna.load_file(stereo_ctx, session, "A", "tiny", str(_wide_file(tmp_path, "w.wav", 1)))
    a = dna.slot_codes(session, "A")
    assert a.channels == 1 and "stereo" not in dna.grid_text(a)
    assert not stereo.is_stereo(session)
    assert pictures.grid_picture(stereo_ctx, session, "A", part="side") is None
    region = dna.region_for(a, 0.1, 0.3, 0, 1)
    dna.apply_operation(stereo_ctx, session, "randomize", region, seed=2, target="side")
    assert "(side)" not in dna.history_text(session)  # no target for a mono sound
    dna.load_file(stereo_ctx, session, "B", "tiny", str(_wide_file(tmp_path, "v.wav", 2)))
    with pytest.raises(SdaError, match="needs a stereo model, and tiny is mono"):
        stereo.swap_side(stereo_ctx, session)


@pytest.mark.parametrize("operation", ["swap levels", "swap span", "blend", "randomize"])
@pytest.mark.parametrize("target", ["mid", "side", "both"])
def test_edits_change_only_their_target(stereo_ctx, loaded, operation, target):
    a = dna.slot_codes(loaded, "A")
    region = dna.region_for(a, 0.05, 0.35, 0, a.levels - 1)
    dna.apply_operation(stereo_ctx, loaded, operation, region, alpha=1.0, seed=3, target=target)
    result = dna.slot_codes(loaded, "A")
    assert result.frames == a.frames and result.channels == 2
    mid_changed = not np.array_equal(result.indices, a.indices)
    side_changed = not np.array_equal(result.side_indices, a.side_indices)
    assert mid_changed == (target != "side") and side_changed == (target != "mid")
    pairs = ((result.indices, a.indices), (result.side_indices, a.side_indices))
    for grid, before in pairs if operation != "swap levels" else ():  # (levels: every frame)
        np.testing.assert_array_equal(grid[:, : region.start], before[:, : region.start])
        np.testing.assert_array_equal(grid[:, region.end :], before[:, region.end :])
    words = {"mid": "(mid)", "side": "(side)", "both": "(mid + side)"}[target]
    assert words in dna.history_text(loaded)


def test_a_region_above_the_side_levels(stereo_ctx, loaded):
    a = dna.slot_codes(loaded, "A")
    high = dna.region_for(a, 0.05, 0.35, 3, 3)  # the side has rows 0-2: levels 0-1, direction
    dna.apply_operation(stereo_ctx, loaded, "randomize", high, seed=1, target="both")
    result = dna.slot_codes(loaded, "A")
    np.testing.assert_array_equal(result.side_indices, a.side_indices)  # only the mid had them
    assert "(mid)" in dna.history_text(loaded)
    with pytest.raises(AppError, match="side grid has levels 0–2"):
        dna.apply_operation(stereo_ctx, loaded, "randomize", high, seed=1, target="side")


def test_swap_side_decode_and_session_round_trip(stereo_ctx, loaded):
    a, b = dna.slot_codes(loaded, "A"), dna.slot_codes(loaded, "B")
    assert "B's room" in stereo.swap_side(stereo_ctx, loaded)
    room = dna.slot_codes(loaded, "A")
    np.testing.assert_array_equal(room.indices, a.indices)
    np.testing.assert_array_equal(room.side_indices, b.side_indices[:, : a.frames])
    assert "A in B's room" in dna.history_text(loaded)

    path = dna.decode_working(stereo_ctx, loaded, levels=None)
    audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    assert audio.shape[1] == 2 and rate == 48_000  # the player gets both channels
    np.testing.assert_array_equal(loaded.decoded_take.audio, audio.T)  # exports use the same

    saved = dna.save_session(stereo_ctx, loaded)
    fresh = UserSession()
    assert MODEL in dna.load_session(stereo_ctx, fresh, str(saved))
    reopened = dna.slot_codes(fresh, "A")
    np.testing.assert_array_equal(reopened.side_indices, room.side_indices)
    np.testing.assert_array_equal(dna.slot_codes(fresh, "B").side_indices, b.side_indices)
    dna.undo(fresh)  # the history came back too
    np.testing.assert_array_equal(dna.slot_codes(fresh, "A").side_indices, a.side_indices)


def test_swap_side_needs_a_stereo_b(stereo_ctx, loaded):
    b = dna.slot_codes(loaded, "B")
    loaded.editor.session.add_source("B", b.mid)
    with pytest.raises(AppError, match="slot B is mono"):
        stereo.swap_side(stereo_ctx, loaded)
    with pytest.raises(AppError, match="unknown edit target"):
        a = dna.slot_codes(loaded, "A")
        dna.apply_operation(stereo_ctx, loaded, "randomize", dna.region_for(a, 0, 0.1, 0, 0),
                            target="left")  # fmt: skip


def test_regenerating_the_side_of_a_stereo_sound_keeps_its_mid(
    stereo_ctx, loaded, one_torch_thread
):
    a = dna.slot_codes(loaded, "A")
    region = dna.region_for(a, 0.1, 0.2, 0, a.levels - 1)
    dna.apply_operation(stereo_ctx, loaded, "regenerate", region, seed=1, target="side")
    result = dna.slot_codes(loaded, "A")
    np.testing.assert_array_equal(result.indices, a.indices)
    np.testing.assert_array_equal(
        result.side_indices[:, : region.start], a.side_indices[:, : region.start]
    )


def test_a_stereo_take_keeps_both_channels_when_released(tmp_path):
    from sda.app.state import PREVIEW_SUBTYPE, SessionTake

    audio = factories.synth_stereo(0.25, seed=5, width=0.7)  # (2, samples)
    preview = tmp_path / "take.wav"
    write_audio(preview, audio, 48_000, subtype=PREVIEW_SUBTYPE)
    take = SessionTake(1, MODEL, preview, audio, 48_000, settings={})
    assert take.channels == 2 and take.seconds == pytest.approx(0.25)
    take.release()
    np.testing.assert_array_equal(take.load_audio(), audio)  # read back, both channels
    mono = SessionTake(2, "tiny", preview, audio[0], 48_000, settings={"width": 0.5})
    mono.release()  # a mono take spread to stereo in its preview keeps its own mono audio
    assert mono.channels == 1 and mono.load_audio().shape == audio[0].shape


def test_the_tab_shows_the_stereo_controls_only_for_stereo_sounds(stereo_ctx, loaded, tmp_path):
    from sda.app import dna_tab

    def shown(session):
        view = dna_tab._full_view(stereo_ctx, session, pictures.COLOUR_BY_CODE)
        side_a, side_b = view[5:7]  # after the session, two statuses and the two mid grids
        target, swap = view[-2:]
        return [side_a.visible, side_b.visible, target.visible, swap.visible], side_a.value

    flags, side_picture = shown(loaded)
    assert flags == [True, True, True, True] and side_picture is not None
    mono = UserSession()
    dna.load_file(stereo_ctx, mono, "A", "tiny", str(_wide_file(tmp_path, "m.wav", 3)))
    assert shown(mono)[0] == [False, False, False, False]  # a mono model's editor as it was


def test_two_clicks_on_the_side_grid_pick_a_region(stereo_ctx, loaded):
    import gradio as gr

    from sda.app import dna_tab

    click = dna_tab._grid_clicker(stereo_ctx, "side")
    a = dna.slot_codes(loaded, "A")
    row = 32 + 1  # a two-level grid's row pitch (rows of 32 px and a 1 px line)
    first = click(
        loaded, pictures.COLOUR_BY_CODE, gr.SelectData(None, {"index": [0, row + 5], "value": None})
    )
    assert first[3:5] == [1, 1]  # one corner: the side's level 1, the first frame
    x = dna_tab.GRID_WIDTH // 2
    second = click(
        loaded, pictures.COLOUR_BY_CODE, gr.SelectData(None, {"index": [x, 5], "value": None})
    )
    start, end, low, high = second[1:5]
    assert (low, high) == (0, 1) and start == 0 and 0 < end < a.seconds
    assert loaded.editor.anchor is None  # the region is complete
