"""The code tension table: which codes the training material plays in tense sound."""

from __future__ import annotations

import numpy as np

from sda.audio.descriptors import HOP, DescriptorStats, analyse
from sda.training.code_tension import code_tension
from sda.training.prior_data import EncodedFile

RATE = 48_000
SPF = 2 * HOP  # two descriptor frames per code frame


def _tone(freqs: list[float], seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * sum(np.sin(2 * np.pi * f * t) for f in freqs)).astype(np.float32)


def _file(audio: np.ndarray, level_codes: list[int]) -> EncodedFile:
    """One recording whose every code frame plays `level_codes` (one code per level)."""
    frames = len(audio) // SPF
    codes = np.repeat(np.array(level_codes, dtype=np.int16)[:, None], frames, axis=1)
    return EncodedFile([codes], analyse(audio, RATE), [0], SPF)


def test_codes_of_tense_sound_rank_above_codes_of_calm_sound():
    tense = _tone([440.0, 466.2, 493.9], 1.0)  # a cluster of semitones: beating partials
    calm = _tone([440.0], 1.0)  # one pure tone: no pair to beat
    files = [_file(tense, [0, 2]), _file(calm, [1, 2])]
    stats = DescriptorStats.fit(np.array([[0, 0, 0, 0.0, 0, 0], [0, 0, 0, 0.2, 0, 0]]))
    record = code_tension(files, [f.frames for f in files], stats, levels=2, codebook_size=4)
    table = np.array(record["table"])
    assert table.shape == (2, 4)
    assert (
        table[0, 0] > 0 > table[0, 1]
    )  # the cluster's code above its level's mean, the tone's below
    assert abs(table[1, 2]) < 1e-3  # a code heard in both plays the level's mean
    assert table[0, 3] == 0.0  # a code never heard carries no pull
    assert 0.0 < record["neutral"] <= 1.0


def test_held_out_frames_do_not_count():
    tense = _tone([440.0, 466.2, 493.9], 1.0)
    calm = _tone([440.0], 1.0)
    files = [_file(np.concatenate([calm, tense]), [0])]
    stats = DescriptorStats.fit(np.array([[0, 0, 0, 0.0, 0, 0], [0, 0, 0, 0.2, 0, 0]]))
    calm_only = code_tension(files, [len(calm) // SPF], stats, levels=1, codebook_size=2)
    both = code_tension(files, [files[0].frames], stats, levels=1, codebook_size=2)
    assert calm_only["neutral"] < both["neutral"]  # the tense second half is held out
