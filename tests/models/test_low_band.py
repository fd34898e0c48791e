"""The low band synthesised with the full window below `low_band_hz`, the short head above it."""

from __future__ import annotations

import pytest
import torch

from sda.models.codec import Codec, CodecConfig, CodecError
from sda.models.low_band import LowBandHead, crossover_ramp, high_band_weights, low_band_weights

RATE = 48000
SMALL = dict(
    encoder_dim=32, encoder_blocks=1, encoder_latent_blocks=1, decoder_dim=32, decoder_blocks=1,
    decoder_latent_blocks=1, latent_dim=16, num_levels=2, codebook_size=8,
)  # fmt: skip


def test_the_two_bands_share_every_frequency_out_exactly() -> None:
    frequencies = torch.arange(1025) * RATE / 2048
    low = crossover_ramp(2048, RATE, 500.0)
    assert torch.all(low[frequencies <= 375] == 1) and torch.all(low[frequencies >= 625] == 0)
    assert torch.all(low[1:] <= low[:-1])  # falls across the crossover, never rises
    # the short head's 94 Hz bins take what the long head leaves at their own frequencies
    high = high_band_weights(512, RATE, 500.0)
    short_frequencies = torch.arange(257) * RATE / 512
    assert torch.allclose(high + crossover_ramp(512, RATE, 500.0), torch.ones(257))
    assert high[short_frequencies < 375].abs().max() == 0
    # the long head predicts only the bins with a share: up to 625 Hz at 23.4 Hz per bin
    assert len(low_band_weights(2048, RATE, 500.0)) == 27


def test_the_low_head_sounds_only_below_the_crossover() -> None:
    torch.manual_seed(0)
    head = LowBandHead(dim=16, n_fft=2048, hop_length=512, sample_rate=RATE, crossover_hz=500.0)
    with torch.no_grad():
        head.head.proj.bias[: head.head.bins] = 0.0  # audible, whatever the random features say
        audio = head(torch.randn(1, 16, 40))[0]
    assert audio.shape == (40 * 512,)
    spectrum = torch.fft.rfft(audio * torch.hann_window(len(audio))).abs().square()
    frequencies = torch.fft.rfftfreq(len(audio), 1 / RATE)
    above = spectrum[frequencies > 1000].sum()
    assert above < 1e-3 * spectrum[frequencies < 625].sum()


def test_a_codec_with_a_low_band_keeps_the_frame_grid_and_its_identity() -> None:
    plain = Codec(CodecConfig(head_upsample=4, **SMALL))
    split = Codec(CodecConfig(head_upsample=4, low_band_hz=500.0, **SMALL))
    audio = torch.randn(1, RATE) * 0.1
    with torch.no_grad():
        assert split(audio).audio.shape == plain(audio).audio.shape
    assert split.fingerprint() != plain.fingerprint()
    # a codec saved before the setting existed reads back as one head
    old = {k: v for k, v in vars(plain.config).items() if k != "low_band_hz"}
    assert CodecConfig.from_dict(old).low_band_hz == 0.0


@pytest.mark.parametrize(
    "settings",
    [dict(low_band_hz=500.0), dict(head_upsample=4, low_band_hz=50.0),
     dict(head_upsample=4, low_band_hz=9000.0)],
)  # fmt: skip
def test_a_low_band_that_cannot_work_is_refused(settings: dict) -> None:
    with pytest.raises(CodecError, match="low_band_hz"):
        CodecConfig(**settings)
