"""Reconstruction losses: multi-scale mel (the benchmark's own metric) + multi-resolution STFT.

Both are computed from one magnitude STFT per scale (the STFT losses reuse the mel scales'
512/1024/2048 spectra), and the reference side runs without autograd: on a 2-core CPU these
spectral losses otherwise cost more than the codec's own forward and backward passes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
import torchaudio.functional as AF
from torch import Tensor, nn

from sda.audio.dsp import MEL_DISTANCE_BANDS, MEL_DISTANCE_WINDOWS
from sda.audio.magnitude import cross_power, magnitude, power
from sda.models.spectral import frames_stft

_FLOOR = 1e-5
MONO_SIDE_DB = 30.0
# Spectral convergence divides by the reference's norm; a reference quieter than this RMS is
# judged as if it were this loud. Without the floor, a silent reference (the side of a mono file
# in a stereo model, a crop of digital silence) made any output cost ~1e5 and drove a decoder
# trained from scratch to silence it never left (experiments/RESULTS.md, "## Codec", 2026-12-05).
QUIET_REFERENCE_DBFS = -60.0


@dataclass
class SpectralLosses:
    mel: Tensor  # sum over scales of mean |log10 mel difference| (= sda.audio.dsp.mel_distance)
    stft: Tensor  # mean over resolutions of spectral convergence + mean |log magnitude difference|


class SpectralLoss(nn.Module):
    """Inputs (batch, samples) -> `SpectralLosses`.

    Mel: sum over 7 scales (Hann 32..2048, hop window/4, 5..320 slaney mel bands, magnitude) of
    the mean |log10 mel difference|, exactly the held-out metric `sda.audio.dsp.mel_distance`,
    so training optimises what the benchmark reports. STFT: spectral convergence plus mean
    |log magnitude difference| at `stft_windows` (hop window/4), linear frequency: finer detail
    on high partials than the mel bands give.

    `frame_stride` > 1 (training only; `eval()` scores every frame): each call keeps every
    `frame_stride`-th frame from a random first one, so the mean over frames is an unbiased
    estimate of the metric's at 1/`frame_stride` of the cost. The spectra are most of a CPU
    training step's cost (the codec's own passes are the rest).
    """

    def __init__(
        self,
        *,
        sample_rate: int,
        mel_windows: tuple[int, ...] = MEL_DISTANCE_WINDOWS,
        mel_bands: tuple[int, ...] = MEL_DISTANCE_BANDS,
        stft_windows: tuple[int, ...] = (512, 1024, 2048),
        frame_stride: int = 1,
    ) -> None:
        super().__init__()
        if len(mel_windows) != len(mel_bands):
            raise ValueError("one mel band count per window is needed")
        if frame_stride not in (1, 2, 4):
            raise ValueError(
                f"frame_stride must be 1, 2 or 4 (hops between frames), not {frame_stride}"
            )
        self.frame_stride = frame_stride
        self.mel_scales = dict(zip(mel_windows, mel_bands, strict=True))
        self.stft_windows = tuple(stft_windows)
        for window in sorted(set(mel_windows) | set(stft_windows)):
            self.register_buffer(f"window_{window}", torch.hann_window(window), persistent=False)
        # one bin's magnitude of white noise at QUIET_REFERENCE_DBFS (noise of RMS r has
        # E|X|^2 = r^2 * sum(window^2) in every bin): the floor of `_reference_norm`, per bin
        self.quiet_bin = {
            window: 10 ** (QUIET_REFERENCE_DBFS / 20)
            * float(getattr(self, f"window_{window}").square().sum()) ** 0.5
            for window in self.stft_windows
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # many bands on a short window leave empty filters
            for window, bands in self.mel_scales.items():
                filters = AF.melscale_fbanks(
                    window // 2 + 1, 0.0, sample_rate / 2, bands, sample_rate,
                    norm="slaney", mel_scale="slaney",
                )  # fmt: skip
                self.register_buffer(f"mel_{window}", filters, persistent=False)

    def _magnitude(self, audio: Tensor, window: int, first: int = 0, stride: int = 1) -> Tensor:
        """(batch, frames, freqs): every `stride`-th frame from frame `first`."""
        # Same frames as torch.stft(center=True, pad_mode="reflect"), but framed with `unfold`:
        # its backward is 2-3x cheaper on CPU than torch.stft's as_strided backward.
        pad, hop = window // 2, window // 4
        mode = "reflect" if audio.shape[-1] > pad else "constant"
        padded = F.pad(audio.unsqueeze(1), (pad, pad), mode=mode).squeeze(1)
        if first * hop + window > padded.shape[-1]:
            first = 0  # too short for a frame past the first: keep that one
        padded = padded[..., first * hop :]
        frames = padded.unfold(-1, window, hop * stride) * getattr(self, f"window_{window}")
        return magnitude(torch.fft.rfft(frames, dim=-1))

    def _frames_kept(self) -> tuple[int, int]:
        """(first frame, stride) for this call: all frames when judging, a random comb in
        training."""
        if not self.training or self.frame_stride == 1:
            return 0, 1
        return int(torch.randint(self.frame_stride, ())), self.frame_stride

    def _reference_norm(self, ref: Tensor, window: int) -> Tensor:
        """Each item's magnitude norm, at least that of white noise at `QUIET_REFERENCE_DBFS`."""
        return ref.norm(dim=(1, 2)).clamp(min=self.quiet_bin[window] * ref[0].numel() ** 0.5)

    def forward(self, estimate: Tensor, reference: Tensor) -> SpectralLosses:
        mel_total = estimate.new_zeros(())
        stft_total = estimate.new_zeros(())
        for window in sorted(set(self.mel_scales) | set(self.stft_windows)):
            first, stride = self._frames_kept()
            est = self._magnitude(estimate, window, first, stride)
            with torch.no_grad():
                ref = self._magnitude(reference.detach(), window, first, stride)
            if window in self.mel_scales:
                filters = getattr(self, f"mel_{window}")  # (freqs, bands)
                log_est = (est @ filters).clamp(min=_FLOOR).log10()
                with torch.no_grad():
                    log_ref = (ref @ filters).clamp(min=_FLOOR).log10()
                mel_total = mel_total + (log_est - log_ref).abs().mean()
            if window in self.stft_windows:
                convergence = (ref - est).norm(dim=(1, 2)) / self._reference_norm(ref, window)
                log_distance = (est.clamp(min=_FLOOR).log() - ref.clamp(min=_FLOOR).log()).abs()
                stft_total = stft_total + convergence.mean() + log_distance.mean()
        return SpectralLosses(mel=mel_total, stft=stft_total / max(len(self.stft_windows), 1))


class EnvelopeLoss(nn.Module):
    """Mean |log10 peak-envelope difference| at a few block sizes: (batch, samples) -> scalar.

    The envelope is the peak |sample| per block (1 and 5 ms at 48 kHz by default), so a hit that
    comes back low, an attack smeared over a window, or a tail gated to silence costs what it
    sounds like; the spectral losses average those over their frames.
    """

    def __init__(self, *, blocks: tuple[int, ...] = (48, 240), floor: float = 1e-4) -> None:
        super().__init__()
        self.blocks = tuple(blocks)
        self.floor = floor

    def forward(self, estimate: Tensor, reference: Tensor) -> Tensor:
        total = estimate.new_zeros(())
        for block in self.blocks:
            est = F.max_pool1d(estimate.abs().unsqueeze(1), block, block)
            with torch.no_grad():
                ref = F.max_pool1d(reference.detach().abs().unsqueeze(1), block, block)
            difference = est.clamp(min=self.floor).log10() - ref.clamp(min=self.floor).log10()
            total = total + difference.abs().mean()
        return total / max(len(self.blocks), 1)


class HeadMagnitudeLoss(nn.Module):
    """Mean |natural-log magnitude difference| between a synthesis head's frames (batch, bins,
    frames) and the reference's STFT on the same frames: (head log-magnitudes, reference audio
    (batch, samples)) -> scalar.

    Why: a head whose phases come from its magnitudes (`sda.models.vocoder_phase`) plays a
    partial where its magnitudes peak, and a loss on the played audio alone barely tells it to
    move a peak (with the phases held, a louder neighbouring bin turns at the old peak's rate).
    The first 2,400 steps of a base trained without this term still played a 1 kHz sine at
    610 Hz (experiments/RESULTS.md, Codec, 2026-12-08). Bins below `floor` count as `floor`."""

    def __init__(self, *, n_fft: int, hop_length: int, floor: float = 1e-3) -> None:
        super().__init__()
        self.n_fft, self.hop_length = n_fft, hop_length
        self.log_floor = float(torch.tensor(floor).log())
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, log_magnitude: Tensor, reference: Tensor) -> Tensor:
        with torch.no_grad():
            spec = frames_stft(
                reference.detach(),
                n_fft=self.n_fft,
                hop_length=self.hop_length,
                window=self.window,
                frames=log_magnitude.shape[-1],
            )
            wanted = magnitude(spec).log().clamp(min=self.log_floor)
        return (log_magnitude.clamp(min=self.log_floor) - wanted).abs().mean()


@dataclass
class StereoImageErrors:
    """How far a rebuilt stereo image is from the original's, per mel band, energy-weighted."""

    correlation: Tensor  # mean |L/R correlation difference| (0..2)
    side_mid_db: Tensor  # mean |side/mid energy ratio difference| in dB


class StereoImageLoss(nn.Module):
    """(batch, 2, samples) estimate and reference -> `StereoImageErrors`.

    Per mel band of one STFT, from the band energies of L and R and their cross term X = Re(L R*):
    the L/R correlation X / sqrt(P_L P_R) and the side/mid energy ratio
    (P_L + P_R - 2X) / (P_L + P_R + 2X), in dB. Band errors are weighted by the reference's energy
    in the band, so they track the broadband figures the benchmark reports while a band the
    decoder left incoherent (a panned source) still costs what it is worth.
    """

    def __init__(self, *, sample_rate: int, window: int = 1024, bands: int = 32) -> None:
        super().__init__()
        self.window = window
        self.register_buffer("hann", torch.hann_window(window), persistent=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            filters = AF.melscale_fbanks(
                window // 2 + 1, 0.0, sample_rate / 2, bands, sample_rate,
                norm=None, mel_scale="slaney",
            )  # fmt: skip
        self.register_buffer("filters", filters, persistent=False)  # (freqs, bands)

    def _band_sums(self, stereo: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(P_L, P_R, X) per item and band, summed over frames: each (batch, bands)."""
        # framed with unfold, as SpectralLoss does: a cheaper backward on CPU than torch.stft's
        pad = self.window // 2
        mode = "reflect" if stereo.shape[-1] > pad else "constant"
        padded = F.pad(stereo, (pad, pad), mode=mode)
        frames = padded.unfold(-1, self.window, self.window // 4) * self.hann
        spectra = torch.fft.rfft(frames, dim=-1)  # (batch, 2, frames, freqs)
        left, right = spectra[:, 0], spectra[:, 1]
        power_l = power(left).sum(1) @ self.filters
        power_r = power(right).sum(1) @ self.filters
        cross = cross_power(left, right).sum(1) @ self.filters
        return power_l, power_r, cross

    def forward(self, estimate: Tensor, reference: Tensor) -> StereoImageErrors:
        est_l, est_r, est_x = self._band_sums(estimate)
        with torch.no_grad():
            ref_l, ref_r, ref_x = self._band_sums(reference.detach())
            energy = ref_l + ref_r
            weights = energy / energy.sum(-1, keepdim=True).clamp(min=_FLOOR)
        floor = _FLOOR * (1 + energy.mean(-1, keepdim=True))

        def correlation(p_l: Tensor, p_r: Tensor, x: Tensor) -> Tensor:
            return x / (p_l * p_r).clamp(min=floor**2).sqrt()

        def side_mid_db(p_l: Tensor, p_r: Tensor, x: Tensor) -> Tensor:
            side = (p_l + p_r - 2 * x).clamp(min=floor)
            ratio = 10 * (side / (p_l + p_r + 2 * x).clamp(min=floor)).log10()
            # a side 30 dB under the mid is mono to the ear: a centred file (no side at all)
            # must not ask for an exact zero
            return ratio.clamp(-MONO_SIDE_DB, MONO_SIDE_DB)

        corr = (correlation(est_l, est_r, est_x) - correlation(ref_l, ref_r, ref_x)).abs()
        ratio = (side_mid_db(est_l, est_r, est_x) - side_mid_db(ref_l, ref_r, ref_x)).abs()
        return StereoImageErrors(
            correlation=(weights * corr).sum(-1).mean(),
            side_mid_db=(weights * ratio).sum(-1).mean(),
        )
