"""STFT analysis (log-magnitude features) and a Vocos-style inverse-STFT synthesis head.

Both use "same" padding: `frames = samples // hop_length` and the inverse returns exactly
`frames * hop_length` samples, so the codec's frame grid and the audio line up without trimming.

Apple MPS: complex tensors, `torch.stft` and `torch.fft.irfft` are incomplete or slow there, so
when a tensor lives on an `mps` device the complex part of each op runs on the CPU and only
real-valued results move back (gradients flow through the device copies). Everything else in the
codec is real-valued and stays on the accelerator.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sda.audio.magnitude import magnitude
from sda.models.vocoder_phase import vocoder_phases

EDGE_PADDINGS = ("zeros", "reflect")  # what the analysis sees before time 0 and after the end
HEAD_PHASES = ("learned", "vocoder")  # where the synthesis head's phases come from
PHASE_ROUNDS = 4  # Griffin-Lim rounds after the vocoder's phases (`consistent_phases`)


def _needs_cpu_fallback(device: torch.device) -> bool:
    return device.type == "mps"


class LogMagnitudeSTFT(nn.Module):
    """(batch, samples) -> (batch, n_fft // 2 + 1, samples // hop_length) log-magnitudes."""

    def __init__(
        self, *, n_fft: int, hop_length: int, floor: float = 1e-5, edge_padding: str = "zeros"
    ) -> None:
        super().__init__()
        if n_fft < hop_length or (n_fft - hop_length) % 2:
            raise ValueError("n_fft - hop_length must be a non-negative even number")
        if edge_padding not in EDGE_PADDINGS:
            raise ValueError(f"edge_padding must be one of {EDGE_PADDINGS}, got {edge_padding!r}")
        self.edge_padding = edge_padding
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.floor = floor
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, audio: Tensor) -> Tensor:
        device = audio.device
        window = self.window
        if _needs_cpu_fallback(device):
            audio, window = audio.cpu(), window.cpu()
        pad = (self.n_fft - self.hop_length) // 2
        # Zeros: a sound that starts at sample 0 (a one-shot) is analysed as in training, where
        # one-shots sit in silence. Reflecting mirrors the attack before time 0 (older codecs; it
        # needs a signal longer than the pad, very short inputs get zeros either way).
        reflect = self.edge_padding == "reflect" and audio.shape[-1] > pad
        mode = "reflect" if reflect else "constant"
        padded = F.pad(audio.unsqueeze(1), (pad, pad), mode=mode).squeeze(1)
        spec = torch.stft(
            padded,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            window=window,
            center=False,
            return_complex=True,
        )
        log_mag = torch.log(magnitude(spec).clamp(min=self.floor))
        return log_mag.to(device)


def istft_same(
    real: Tensor, imag: Tensor, *, n_fft: int, hop_length: int, window: Tensor
) -> Tensor:
    """Overlap-add inverse STFT with "same" padding; real/imag: (batch, n_fft // 2 + 1, frames).

    Returns (batch, frames * hop_length), exact length, no centre padding assumed.
    """
    device = real.device
    if _needs_cpu_fallback(device):
        real, imag, window = real.cpu(), imag.cpu(), window.cpu()
    frames = real.shape[-1]
    pad = (n_fft - hop_length) // 2
    # frames first: each frame's inverse FFT then runs over contiguous memory (half the time of
    # one strided along the bins)
    spectrum = torch.complex(real, imag).transpose(1, 2)  # (batch, frames, bins)
    segments = torch.fft.irfft(spectrum, n=n_fft, dim=-1, norm="backward") * window
    audio = overlap_add(segments, hop_length)
    envelope = overlap_add(window.square().expand(1, frames, -1), hop_length)[0]
    length = audio.shape[-1]
    audio = audio[:, pad : length - pad] / envelope[pad : length - pad].clamp(min=1e-11)
    return audio.to(device)


def frames_stft(
    audio: Tensor, *, n_fft: int, hop_length: int, window: Tensor, frames: int
) -> Tensor:
    """(batch, samples) -> (batch, bins, frames) complex: the STFT on the frames `istft_same`
    plays (frame f centred on sample f * hop + hop / 2), `audio` cut or padded to
    frames * hop. On MPS it runs on the CPU (see the module's docstring)."""
    device = audio.device
    if _needs_cpu_fallback(device):
        audio, window = audio.cpu(), window.cpu()
    pad = (n_fft - hop_length) // 2
    audio = audio[..., : frames * hop_length]
    audio = F.pad(audio, (pad, frames * hop_length - audio.shape[-1] + pad))
    spec = torch.stft(audio, n_fft, hop_length, window=window, center=False, return_complex=True)
    return spec[..., :frames].to(device)


def consistent_phases(
    magnitude_: Tensor,
    phase: Tensor,
    *,
    n_fft: int,
    hop_length: int,
    window: Tensor,
    iterations: int,
    momentum: float = 0.99,
) -> Tensor:
    """`phase` (batch, bins, frames) moved towards phases an actual signal could have under
    `magnitude_`: fast Griffin-Lim (Perraudin et al., 2013) from a good start, without gradient.
    Why: frames whose phases come from each frame's peaks alone (`sda.models.vocoder_phase`)
    do not quite agree where they overlap; 4 rounds take the original's own STFT magnitudes
    rendered from vocoder phases from held-out mel 1.05 to 0.72-0.83 (RESULTS.md, Codec,
    2026-12-08)."""
    previous, shape = None, dict(n_fft=n_fft, hop_length=hop_length, window=window)
    with torch.no_grad():
        unit = torch.polar(torch.ones_like(phase), phase)
        for _ in range(iterations):
            wanted = magnitude_ * unit
            audio = istft_same(wanted.real, wanted.imag, **shape)
            spec = frames_stft(audio, frames=phase.shape[-1], **shape)
            projected = spec / magnitude(spec).clamp(min=1e-12)
            step = projected
            if previous is not None:
                step = projected + momentum * (projected - previous)
                step = step / magnitude(step).clamp(min=1e-12)
            previous, unit = projected, step
        return phase if iterations == 0 else torch.angle(unit)


def overlap_add(segments: Tensor, hop_length: int) -> Tensor:
    """(batch, frames, size) windowed segments -> (batch, (frames - 1) * hop + size) summed
    signal."""
    batch, frames, size = segments.shape
    length = (frames - 1) * hop_length + size
    if size % hop_length:
        fold = dict(output_size=(1, length), kernel_size=(1, size), stride=(1, hop_length))
        return F.fold(segments.transpose(1, 2), **fold)[:, 0, 0]
    # when the hop divides the segment, overlap-add is a handful of shifted adds (faster than fold)
    parts = size // hop_length
    chunks = segments.reshape(batch, frames, parts, hop_length)
    out = segments.new_zeros(batch, frames + parts - 1, hop_length)
    for part in range(parts):
        out[:, part : part + frames] += chunks[:, :, part]
    return out.reshape(batch, length)


class ISTFTHead(nn.Module):
    """Predicts log-magnitude and phase per frame and synthesises audio with an inverse STFT.

    (batch, dim, frames) -> (batch, frames * hop_length). As in Vocos, the phase is predicted as
    an unconstrained angle; the magnitude is `exp` of the prediction, capped so early training
    cannot blow up (the cap sits above a full-scale sine's peak of n_fft / 4).

    `phase="vocoder"` (opt-in): the phases come from the magnitudes (`sda.models.vocoder_phase`,
    then `PHASE_ROUNDS` of `consistent_phases`), which takes held tones off the frame-rate comb;
    the projection's phase half is then unused (kept, so the weights load either way).
    "learned": the prediction's own phases (the shipped base's)."""

    def __init__(
        self,
        *,
        dim: int,
        n_fft: int,
        hop_length: int,
        initial_log_magnitude: float = -4.0,
        phase: str = "learned",
    ) -> None:
        super().__init__()
        if phase not in HEAD_PHASES:
            raise ValueError(f"phase must be one of {HEAD_PHASES}, got {phase!r}")
        self.phase = phase
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.bins = n_fft // 2 + 1
        self.proj = nn.Linear(dim, 2 * self.bins)
        # Start quiet (about -70 dBFS per bin) rather than as loud noise: the log-domain losses
        # punish noise in silent passages hardest, and sound is easier to grow than to silence.
        with torch.no_grad():
            self.proj.bias[: self.bins].fill_(initial_log_magnitude)
        self.max_log_magnitude = math.log(n_fft)
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)

    def forward(self, x: Tensor, *, log_gain: Tensor | None = None, start_frame: int = 0) -> Tensor:
        """x: (batch, dim, frames); `log_gain` (batch, 1, frames) is added to every bin;
        `start_frame`: the first frame's index in the whole sound (for vocoder phases)."""
        return self.render(*self.frames(x, log_gain=log_gain, start_frame=start_frame))

    def frames(
        self, x: Tensor, *, log_gain: Tensor | None = None, start_frame: int = 0
    ) -> tuple[Tensor, Tensor]:
        """What the head plays per bin and frame: (log-magnitude with `log_gain` added,
        phase), each (batch, bins, frames). `experiments/bench_tones.py` renders them apart."""
        h = self.proj(x.transpose(1, 2)).transpose(1, 2)  # (batch, 2 * bins, frames)
        log_mag, phase = h.split(self.bins, dim=1)
        if log_gain is not None:
            log_mag = log_mag + log_gain
        if self.phase == "vocoder":
            capped = log_mag.detach().clamp(max=self.max_log_magnitude)
            shape = dict(n_fft=self.n_fft, hop_length=self.hop_length)
            phase = vocoder_phases(capped, start_frame=start_frame, **shape)
            phase = consistent_phases(
                capped.exp(), phase, window=self.window, iterations=PHASE_ROUNDS, **shape
            )
        return log_mag, phase

    def render(self, log_magnitude: Tensor, phase: Tensor) -> Tensor:
        """(batch, frames * hop_length) audio of per-bin log-magnitudes and phases."""
        mag = torch.exp(log_magnitude.clamp(max=self.max_log_magnitude))
        return istft_same(
            mag * torch.cos(phase),
            mag * torch.sin(phase),
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            window=self.window,
        )
