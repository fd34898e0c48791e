"""CLI commands: `sda edit swap/blend/morph/regen`, sound-DNA edits of codes files or audio files.

Inputs are `.sdacodes` files or audio (encoded on the fly with --model); the output's suffix picks
what is written: `.sdacodes` keeps the codes, `.wav`/`.flac`/`.ogg`/`.mp3` decodes and exports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sda.cli.options import CommandError, LibraryOption, ModelOption, load_model

OutOption = Annotated[
    Path,
    typer.Option(
        "--out", "-o", help="Output: NAME.sdacodes for codes, NAME.wav/.flac/.ogg/.mp3 for audio."
    ),
]
OverwriteOption = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output.")]
DecodeLevelsOption = Annotated[
    int | None,
    typer.Option("--decode-levels", help="Decode audio output with only the first K levels."),
]
FitOption = Annotated[
    str,
    typer.Option(
        "--fit", help="Different lengths: shortest (crop), longest (loop), a or b (follow one)."
    ),
]


def parse_range(text: str, what: str) -> tuple[int | None, int | None]:
    """'0:2' -> (0, 2); '3' -> (3, 4); ':2' / '4:' leave one end open (None)."""
    try:
        if ":" not in text:
            value = int(text)
            return value, value + 1
        start, end = text.split(":", 1)
        return (int(start) if start.strip() else None, int(end) if end.strip() else None)
    except ValueError:
        raise CommandError(
            f"{what} {text!r} is not a range like 0:2 (start:end, end excluded)"
        ) from None


def _frame_span(text: str | None, frames: int) -> tuple[int | None, int | None]:
    if text is None:
        return None, None
    start, end = parse_range(text, "frame range")
    return (0 if start is None else start), (frames if end is None else end)


def _bundle(model: str, library: Path | None):
    return load_model(model, library)


def _finish(bundle, codes, out: Path, decode_levels: int | None, overwrite: bool) -> None:
    from rich.console import Console

    from sda.dna.codec_bridge import save_codes_or_audio

    written = save_codes_or_audio(bundle, codes, out, levels=decode_levels, overwrite=overwrite)
    Console().print(
        f"wrote [bold]{written}[/] ({codes.levels} levels x {codes.frames} frames, "
        f"{codes.seconds:.2f} s)",
        highlight=False,
    )


def swap(
    a: Annotated[
        Path, typer.Argument(help="Sound A: .sdacodes or audio; gives the chosen levels.")
    ],
    b: Annotated[Path, typer.Argument(help="Sound B: .sdacodes or audio; gives the other levels.")],
    levels: Annotated[
        str, typer.Option("--levels", "-l", help="Levels taken from A, e.g. 0:2 (end excluded).")
    ],
    model: ModelOption,
    out: OutOption,
    fit: FitOption = "shortest",
    decode_levels: DecodeLevelsOption = None,
    overwrite: OverwriteOption = False,
    library: LibraryOption = None,
) -> None:
    """Levels from A, the rest from B: e.g. A's coarse shape with B's fine texture.

    Example: sda edit swap drum.wav pad.wav --levels 0:2 --model demo --out hybrid.wav
    """
    from sda.dna import edit
    from sda.dna.codec_bridge import load_codes_or_audio

    bundle = _bundle(model, library)
    codes_a, codes_b = load_codes_or_audio(bundle, a), load_codes_or_audio(bundle, b)
    start, end = parse_range(levels, "level range")
    result = edit.swap_levels(codes_a, codes_b, slice(start, end), fit=fit)
    _finish(bundle, result, out, decode_levels, overwrite)


def blend(
    a: Annotated[Path, typer.Argument(help="Sound A: .sdacodes or audio.")],
    b: Annotated[Path, typer.Argument(help="Sound B: .sdacodes or audio.")],
    model: ModelOption,
    out: OutOption,
    alpha: Annotated[
        float, typer.Option("--alpha", help="0 = exactly A, 1 = exactly B, between = a latent mix.")
    ] = 0.5,
    fit: FitOption = "shortest",
    decode_levels: DecodeLevelsOption = None,
    overwrite: OverwriteOption = False,
    library: LibraryOption = None,
) -> None:
    """Mix A and B in the codec's latent space and re-quantize.

    Example: sda edit blend bell.wav voice.sdacodes --alpha 0.3 --model demo --out mix.flac
    """
    from sda.dna import blend as blending
    from sda.dna.codec_bridge import load_codes_or_audio

    bundle = _bundle(model, library)
    blending.check_alpha(alpha)  # before the (slow) encoding
    codes_a, codes_b = load_codes_or_audio(bundle, a), load_codes_or_audio(bundle, b)
    result = blending.blend(bundle, codes_a, codes_b, alpha, fit=fit)
    _finish(bundle, result, out, decode_levels, overwrite)


def morph(
    a: Annotated[Path, typer.Argument(help="Sound A (the start): .sdacodes or audio.")],
    b: Annotated[Path, typer.Argument(help="Sound B (the end): .sdacodes or audio.")],
    model: ModelOption,
    out: OutOption,
    frames: Annotated[
        str | None,
        typer.Option("--frames", help="Frames over which to morph, e.g. 50:150 (default: all)."),
    ] = None,
    mode: Annotated[
        str,
        typer.Option(
            "--mode", help="levels: switch level by level, coarse first; latent: glide latents."
        ),
    ] = "levels",
    fit: FitOption = "shortest",
    decode_levels: DecodeLevelsOption = None,
    overwrite: OverwriteOption = False,
    library: LibraryOption = None,
) -> None:
    """Turn A into B over time.

    Example: sda edit morph rain.wav choir.wav --frames 100:400 --model demo --out morph.wav
    """
    from sda.dna import blend as blending
    from sda.dna import edit
    from sda.dna.codec_bridge import load_codes_or_audio

    if mode not in ("levels", "latent"):
        raise CommandError(f"unknown morph mode {mode!r}; use --mode levels or --mode latent")
    bundle = _bundle(model, library)
    codes_a, codes_b = load_codes_or_audio(bundle, a), load_codes_or_audio(bundle, b)
    length = edit.fit_pair(codes_a, codes_b, fit)[0].shape[1]
    start, end = _frame_span(frames, length)
    if mode == "levels":
        result = edit.morph_levels(codes_a, codes_b, start=start, end=end, fit=fit)
    else:
        result = blending.morph_latents(bundle, codes_a, codes_b, start=start, end=end, fit=fit)
    _finish(bundle, result, out, decode_levels, overwrite)


def regen(
    a: Annotated[Path, typer.Argument(help="The sound to edit: .sdacodes or audio.")],
    frames: Annotated[
        str, typer.Option("--frames", help="Frames to redraw with the prior, e.g. 100:200.")
    ],
    model: ModelOption,
    out: OutOption,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same result).")] = 0,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Sampling temperature.")
    ] = 1.0,
    decode_levels: DecodeLevelsOption = None,
    overwrite: OverwriteOption = False,
    library: LibraryOption = None,
) -> None:
    """Let the prior rewrite a region, listening to the context on both sides.

    Example: sda edit regen loop.wav --frames 100:200 --seed 3 --model demo --out variation.wav
    """
    from sda.dna.codec_bridge import load_codes_or_audio
    from sda.generate import regenerate_region

    bundle = _bundle(model, library)
    codes = load_codes_or_audio(bundle, a)
    start, end = _frame_span(frames, codes.frames)
    result = regenerate_region(bundle, codes, start, end, seed=seed, temperature=temperature)
    _finish(bundle, result, out, decode_levels, overwrite)


def register(app: typer.Typer) -> None:
    """Add `sda edit ...` to the main app."""
    group = typer.Typer(
        name="edit",
        help="Sound-DNA edits: swap levels, blend, morph and regenerate regions of code grids.",
        no_args_is_help=True,
    )
    for command in (swap, blend, morph, regen):
        group.command(command.__name__)(command)
    app.add_typer(group, name="edit")
