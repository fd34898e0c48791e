"""The export panel, placed under any player: format, rate, depth, channels, loudness, tags."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from sda.app import export_callbacks as cb
from sda.app.feedback import friendly
from sda.app.state import AppContext, UserSession


@dataclass
class ExportPanel:
    button: gr.Button
    file: gr.File


def build_export_panel(
    ctx: AppContext, session_state: gr.State, source: gr.Component, *, prefix: str
) -> ExportPanel:
    """Build the panel; `source` holds a take number or `cb.EDITOR_SOURCE`."""
    with gr.Accordion("Export", open=True, elem_classes=["sda-export"]):
        fmt, rate, depth, channels, azimuth, normalise, lufs = _sound_settings(prefix)
        title, artist, comment = _tag_fields(prefix)
        button = gr.Button("Export", variant="primary", elem_id=f"{prefix}-export-button")
        file = gr.File(
            label="Download",
            interactive=False,
            height=80,
            visible=False,
            elem_id=f"{prefix}-export-file",
        )

    def on_format(value: str, current_rate, current_depth):
        """Offer only what the format can write: its rates, and its depths (none if lossy)."""
        rates = cb.sample_rate_choices(value)
        depths = cb.bit_depth_choices(value)
        return (
            gr.Dropdown(
                choices=[(cb.rate_label(r), r) for r in rates],
                value=cb.kept_choice(current_rate, rates, 48_000),
            ),
            gr.Dropdown(
                choices=depths,
                value=cb.kept_choice(current_depth, depths, 24),
                visible=bool(depths),
            ),
        )

    fmt.change(on_format, [fmt, rate, depth], [rate, depth], queue=False)
    channels.change(lambda c: gr.Slider(visible=c == "binaural"), channels, azimuth, queue=False)
    normalise.change(lambda on: gr.Slider(visible=on), normalise, lufs, queue=False)

    @friendly("exporting")
    def on_export(session: UserSession, source_value, *values):
        path = cb.export_source(ctx, session, source_value, _settings(*values))
        gr.Info(f"exported {path.name}")
        return gr.File(value=str(path), visible=True)

    fields = [fmt, rate, depth, channels, azimuth, normalise, lufs, title, artist, comment]
    button.click(on_export, [session_state, source, *fields], file)
    return ExportPanel(button=button, file=file)


def _sound_settings(prefix: str) -> tuple:
    """(format, rate, depth, channels, azimuth, normalise, lufs) inputs."""
    with gr.Row():
        fmt = gr.Dropdown(
            list(cb.FORMATS), value="wav", label="Format", elem_id=f"{prefix}-export-format"
        )
        rate = gr.Dropdown(
            [(cb.rate_label(r), r) for r in cb.sample_rate_choices("wav")],
            value=48_000,
            label="Sample rate",
            elem_id=f"{prefix}-export-rate",
        )
        depth = gr.Dropdown(
            cb.bit_depth_choices("wav"),
            value=24,
            label="Bit depth",
            elem_id=f"{prefix}-export-depth",
        )
    with gr.Row():
        channels = gr.Radio(
            list(cb.CHANNELS),
            value="mono",
            label="Channels",
            info="a take with stereo width or movement, or from a stereo model, exports in stereo",
        )
        azimuth = gr.Slider(
            -180,
            180,
            value=0,
            step=5,
            label="Azimuth (°)",
            visible=False,
            info="binaural: 0 = front, +90 = right",
        )
    with gr.Row():
        normalise = gr.Checkbox(value=False, label="Normalise loudness")
        lufs = gr.Slider(-36, -6, value=-16, step=0.5, label="Target (LUFS)", visible=False)
    return fmt, rate, depth, channels, azimuth, normalise, lufs


def _tag_fields(prefix: str) -> tuple[gr.Textbox, gr.Textbox, gr.Textbox]:
    """(title, artist, comment) inputs."""
    with gr.Row():
        title = gr.Textbox(
            label="Title",
            placeholder="default: model and take",
            scale=2,
            elem_id=f"{prefix}-export-title",
        )
        artist = gr.Textbox(label="Artist", scale=1)
    comment = gr.Textbox(label="Comment", placeholder="added before the generation settings")
    return title, artist, comment


def _settings(
    fmt, rate, depth, channels, azimuth, normalise, lufs, title, artist, comment
) -> cb.ExportSettings:
    """The panel's values (in `build_export_panel`'s `fields` order) as export settings."""
    return cb.ExportSettings(
        format=fmt,
        sample_rate=int(rate),
        bit_depth=int(depth) if depth else 24,
        channels=channels,
        azimuth=float(azimuth),
        lufs=float(lufs) if normalise else None,
        title=title,
        artist=artist,
        comment=comment,
    )
