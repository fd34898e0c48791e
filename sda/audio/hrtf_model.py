"""The default HRTF: a spherical-head model (Brown & Duda 1998) written as a small SOFA file.

Run `python -m sda.audio.hrtf_model --out sda/assets/default_hrtf.sofa` to regenerate the shipped file;
the output depends only on `HeadModel`, so a test can rebuild it and compare.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

# Coordinates follow SOFA: x to the front, y to the LEFT, z up; azimuth counter-clockwise
# (+90 deg = listener's left). sda.audio.spatial converts to its own clockwise convention.


@dataclass(frozen=True)
class HeadModel:
    """Parameters of the spherical-head HRTF; the defaults are an average adult head."""

    sample_rate: int = 48_000
    taps: int = 256
    head_radius: float = 0.0875  # metres
    speed_of_sound: float = 343.0  # metres per second
    ear_azimuth: float = 100.0  # degrees; ears sit slightly behind the interaural axis
    alpha_min: float = 0.1  # head-shadow high-frequency gain at the darkest spot
    theta_min: float = 150.0  # degrees from the ear where the shadow is darkest
    base_delay: float = 24.0  # samples before the earliest arrival, room for filter pre-ringing
    pinna_scale: float = 0.5  # 0 = no pinna echoes, 1 = Brown & Duda's full echo strengths
    distance: float = 1.5  # metres, written to SourcePosition (the model is far-field)
    azimuth_step: float = 10.0
    horizontal_step: float = 5.0  # finer grid in the horizontal plane, where it matters most
    elevations: tuple[float, ...] = (-40.0, -20.0, 0.0, 20.0, 40.0, 60.0, 90.0)


# Brown & Duda's pinna echoes: reflection gains and delay coefficients (samples at 44.1 kHz).
_PINNA_RHO = np.array([0.5, -1.0, 0.5, -0.25, 0.25])
_PINNA_A = np.array([1.0, 5.0, 5.0, 5.0, 5.0])
_PINNA_B = np.array([2.0, 4.0, 7.0, 11.0, 13.0])
_PINNA_D = np.array([1.0, 0.5, 0.5, 0.5, 0.5])


def source_grid(model: HeadModel) -> np.ndarray:
    """Measurement directions as (azimuth, elevation) in SOFA degrees."""  # (measurements, 2)
    points = []
    for elevation in model.elevations:
        if abs(elevation) >= 90.0:
            points.append((0.0, elevation))  # one point at a pole
            continue
        step = model.horizontal_step if elevation == 0.0 else model.azimuth_step
        points.extend((az, elevation) for az in np.arange(0.0, 360.0, step))
    return np.array(points, dtype=np.float64)


def _unit_vectors(azimuth_deg: np.ndarray, elevation_deg: np.ndarray) -> np.ndarray:
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1)


def _woodworth_delay(theta: np.ndarray, model: HeadModel) -> np.ndarray:
    """Arrival time (s) at an ear for incidence angle theta (rad), zero when facing the source."""
    a_over_c = model.head_radius / model.speed_of_sound
    lit = a_over_c * (1.0 - np.cos(theta))  # straight path to the ear
    shadowed = a_over_c * (1.0 + theta - np.pi / 2)  # wraps around the sphere
    return np.where(theta < np.pi / 2, lit, shadowed)


def _shadow_gain(theta: np.ndarray, freqs: np.ndarray, model: HeadModel) -> np.ndarray:
    """Magnitude of the one-pole/one-zero head-shadow filter."""  # (directions, freqs)
    omega0 = model.speed_of_sound / model.head_radius
    theta_min = np.radians(model.theta_min)
    alpha = (1 + model.alpha_min / 2) + (1 - model.alpha_min / 2) * np.cos(
        theta / theta_min * np.pi
    )
    w = 2 * np.pi * freqs[None, :] / (2 * omega0)
    return np.sqrt((1 + (alpha[:, None] * w) ** 2) / (1 + w**2))


def _pinna_response(side_azimuth: np.ndarray, elevation: np.ndarray, freqs, model: HeadModel):
    """Short pinna echoes whose delays change with elevation: the model's only vertical cue."""
    scale = model.sample_rate / 44_100
    az = np.radians(side_azimuth)[:, None]
    el_term = np.radians(90.0 - np.clip(elevation, -90, 90))[:, None]
    tau = (_PINNA_A * np.cos(az / 2) * np.sin(_PINNA_D * el_term) + _PINNA_B) * scale  # (dirs, 5)
    phase = np.exp(-2j * np.pi * freqs[None, None, :] * tau[..., None] / model.sample_rate)
    echoes = np.einsum("k,dkf->df", model.pinna_scale * _PINNA_RHO, phase)
    return 1.0 + echoes


def generate_hrirs(model: HeadModel = HeadModel()) -> tuple[np.ndarray, np.ndarray]:
    """Return (grid, irs): grid (measurements, 2) SOFA az/el degrees, irs (measurements, 2, taps)."""
    grid = source_grid(model)
    n_fft = 4 * model.taps
    freqs = np.fft.rfftfreq(n_fft, 1.0 / model.sample_rate)
    # A gentle roll-off above 18 kHz keeps the fractional-delay sinc tails short.
    nyquist = model.sample_rate / 2
    rolloff = np.clip((freqs - 18_000) / (nyquist - 18_000), 0.0, 1.0)
    band = np.cos(rolloff * np.pi / 2) ** 2
    source = _unit_vectors(grid[:, 0], grid[:, 1])
    irs = np.zeros((len(grid), 2, model.taps))
    for ear, ear_az in enumerate((model.ear_azimuth, -model.ear_azimuth)):  # left, right
        ear_dir = _unit_vectors(np.array(ear_az), np.array(0.0))
        theta = np.arccos(np.clip(source @ ear_dir, -1.0, 1.0))
        delay = _woodworth_delay(theta, model) * model.sample_rate + model.base_delay
        # Mirror the azimuth for the right ear so both pinnae see the same geometry.
        side_az = (grid[:, 0] if ear == 0 else -grid[:, 0] + 180.0) % 360.0 - 90.0
        spectrum = (
            _shadow_gain(theta, freqs, model)
            * _pinna_response(side_az, grid[:, 1], freqs, model)
            * band[None, :]
            * np.exp(-2j * np.pi * freqs[None, :] * delay[:, None] / model.sample_rate)
        )
        irs[:, ear, :] = np.fft.irfft(spectrum, n_fft, axis=-1)[:, : model.taps]
    fade = 32  # half-Hann fade-out so truncation does not click
    irs[..., -fade:] *= np.cos(np.linspace(0, np.pi / 2, fade)) ** 2
    irs /= np.sqrt(np.mean(np.sum(irs**2, axis=-1)))  # mean energy per ear and direction = 1
    # Rounding through float32 halves the file size (zlib finds the zero bytes) and loses nothing.
    return grid, irs.astype(np.float32).astype(np.float64)


def build_sofa(model: HeadModel = HeadModel()):
    """The model as a sofar SimpleFreeFieldHRIR object."""
    import sofar

    grid, irs = generate_hrirs(model)
    sofa = sofar.Sofa("SimpleFreeFieldHRIR")
    sofa.GLOBAL_Title = "sda default HRTF (spherical head model)"
    sofa.GLOBAL_DatabaseName = "sda"
    sofa.GLOBAL_ListenerShortName = "spherical-head"
    sofa.GLOBAL_Organization = "sda (Small DataSet Audio)"
    sofa.GLOBAL_License = "MIT, generated by sda.audio.hrtf_model"
    sofa.GLOBAL_Comment = (
        "Brown & Duda spherical head: Woodworth ITD, head shadow, pinna echoes. "
        + (", ".join(f"{k}={v}" for k, v in asdict(model).items()))
    )
    # Fixed dates keep the file reproducible byte for byte on one machine.
    sofa.GLOBAL_DateCreated = "2024-01-01 00:00:00"
    sofa.GLOBAL_DateModified = "2024-01-01 00:00:00"
    sofa.Data_IR = irs
    sofa.Data_SamplingRate = float(model.sample_rate)
    sofa.SourcePosition = np.column_stack([grid, np.full(len(grid), model.distance)])
    sofa.SourcePosition_Type = "spherical"
    sofa.SourcePosition_Units = "degree, degree, metre"
    sofa.ReceiverPosition = np.array(
        [[0.0, model.head_radius, 0.0], [0.0, -model.head_radius, 0.0]]
    )
    return sofa


def write_default_hrtf(out: str | Path, model: HeadModel = HeadModel()) -> Path:
    """Generate the model and write it as a SOFA file."""
    import sofar

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sofar.write_sofa(str(out), build_sofa(model), compression=9)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="sda/assets/default_hrtf.sofa", help="SOFA file to write")
    args = parser.parse_args(argv)
    path = write_default_hrtf(args.out)
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
