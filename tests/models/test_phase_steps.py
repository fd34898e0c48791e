"""Phase steps: a bin turns on from its onset, and a held tone keeps its pitch."""

from __future__ import annotations

import math

import numpy as np
import torch

from sda.audio.tone_fidelity import power_spectrum, tone_kept
from sda.models.codec import Codec, CodecConfig
from sda.models.phase_steps import onsets, turned_phase
from sda.models.spectral import ISTFTHead
from sda.training.phase_step_loss import advance_beyond_centre, phase_step_loss

RATE = 48000


def test_a_bin_turns_from_the_heads_phase_at_its_last_onset():
    frames = 40
    phase = torch.rand(1, 257, frames)  # a 512-sample window: centre advance k pi / 2 a hop
    steps = torch.full((1, 257, frames), 0.25)
    log_mag = torch.zeros(1, 257, frames)
    log_mag[0, 2, 20:] = 3.0  # bin 2 comes in loud at frame 20 (an attack) and holds
    turned = turned_phase(phase, steps, log_mag, hop_length=128)
    t = torch.arange(frames)
    for k in (0, 1):  # held throughout: from frame 0 on at centre advance (k pi / 2) + step
        assert torch.allclose(turned[0, k], phase[0, k, 0] + t * (k * math.pi / 2 + 0.25))
    rising = onsets(log_mag)[0, 2]
    last = int(torch.nonzero(rising).max())
    assert (
        12 <= int(torch.nonzero(rising).min()) <= 20 <= last <= 28
    )  # the attack, give or take a latent frame
    assert torch.allclose(turned[0, 2][rising], phase[0, 2][rising])
    after = t[last:] - last
    assert torch.allclose(turned[0, 2, last:], phase[0, 2, last] + after * (math.pi + 0.25))


def test_a_long_decode_goes_on_from_the_carried_phase():
    phase, steps = torch.rand(1, 257, 10), torch.full((1, 257, 10), 0.1)
    carried = torch.full((1, 257), 2.0)
    turned = turned_phase(phase, steps, torch.zeros(1, 257, 10), hop_length=128, carried=carried)
    assert torch.allclose(turned[0, 1, 0], torch.tensor(2.0 + math.pi / 2 + 0.1))


def _held_tone(head: ISTFTHead, hz: float, frames: int) -> np.ndarray:
    """The head as a held note drives it: features that repeat every 4 frames, its bins around
    `hz` loud, each bin's phase turning at the bin's centre frequency (what a head learns to give
    a steady input: 4 hops make one window) and, with steps, as far again as a partial at `hz`
    turns beyond that centre."""
    bin_hz = RATE / head.n_fft
    near = (torch.arange(head.bins) * bin_hz - hz).abs() < 2.5 * bin_hz
    features = torch.zeros(1, 8, frames)
    features[0, torch.arange(frames) % 4, torch.arange(frames)] = 1.0
    with torch.no_grad():
        head.proj.weight.zero_()
        head.proj.bias[: head.bins] = torch.where(near, 1.0, -12.0)
        head.proj.bias[head.bins :] = 0.0
        for position in range(4):  # the centre frequency's turn at each position
            head.proj.weight[head.bins :, position] = (
                position * math.pi / 2 * torch.arange(head.bins)
            )
        if head.phase_steps is not None:
            advance = 2 * math.pi * hz * head.hop_length / RATE
            centre = 2 * math.pi * head.hop_length / head.n_fft * torch.arange(head.bins)
            beyond = torch.remainder(advance - centre + math.pi, 2 * math.pi) - math.pi
            head.phase_steps.proj.bias.copy_(torch.atanh(beyond / math.pi * 0.999))
        return head(features)[0].numpy()


def test_steps_hold_a_tone_at_its_pitch_where_a_frame_grid_cannot():
    hz, frames = 440.0, 750  # 2 s
    t = np.arange(frames * 128) / RATE
    original = 0.3 * np.sin(2 * math.pi * hz * t)
    plain = _held_tone(ISTFTHead(dim=8, n_fft=512, hop_length=128), hz, frames)
    stepped = _held_tone(ISTFTHead(dim=8, n_fft=512, hop_length=128, phase_steps=True), hz, frames)
    assert tone_kept(original, stepped, RATE) > 0.6  # the rest: sidebands of flat bins
    power, freqs = power_spectrum(stepped[RATE // 2 :], RATE)
    assert abs(freqs[int(np.argmax(power))] - hz) < 2.0
    assert tone_kept(original, plain, RATE) < 0.3  # every 4th frame alike: a 93.75 Hz comb


def test_the_loss_is_least_at_the_originals_own_advance():
    hz = 440.0
    audio = 0.3 * torch.sin(2 * math.pi * hz * torch.arange(RATE // 2) / RATE)[None]
    target, weight = advance_beyond_centre(audio, n_fft=512, hop_length=128)
    loud = int(weight[0, :, 10].argmax())
    assert loud == round(hz / (RATE / 512))
    frames = target.shape[-1] + 1
    right = torch.zeros(1, 257, frames)
    right[..., 1:] = target
    assert float(phase_step_loss(right, audio, n_fft=512, hop_length=128)) < 0.01
    zero = phase_step_loss(torch.zeros(1, 257, frames), audio, n_fft=512, hop_length=128)
    assert float(zero) > 0.1


def test_older_codec_settings_load_without_steps_and_keep_their_fingerprint():
    config = CodecConfig(encoder_dim=32, decoder_dim=32, encoder_blocks=1, decoder_blocks=1)
    saved = {k: v for k, v in config.__dict__.items() if k != "phase_steps"}
    assert CodecConfig.from_dict(saved).phase_steps is False
    torch.manual_seed(0)
    before = Codec(CodecConfig.from_dict(saved))
    assert before.decoder.head.phase_steps is None
    stepped = Codec(CodecConfig(**{**saved, "phase_steps": True}))
    assert stepped.fingerprint() != before.fingerprint()
