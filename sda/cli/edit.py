"""CLI commands: `sda edit swap/blend/morph/regen/swap-side`, sound-DNA edits of codes files or
audio files.

Inputs are `.sdacodes` files or audio (encoded on the fly with --model); the output's suffix picks
what is written: `.sdacodes` keeps the codes, `.wav`/`.flac`/`.ogg`/`.mp3` decodes and exports.
Stereo sounds (a mid and a side grid) are edited grid by grid: `--target mid|side|both`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
if TYPE_CHECKING:
    from sda.dna.codes import Codes

TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="Stereo sounds: edit the mid (the downmix), the side (width, room) or both "
        "(default: both when the sounds are stereo).",
    ),
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
    side = f" + {codes.side_levels} side levels" if codes.channels == 2 else ""
    Console().print(
        f"wrote [bold]{written}[/] ({codes.levels} levels{side} x {codes.frames} frames, "
        f"{codes.seconds:.2f} s)",
        highlight=False,
    )


def _check_target(bundle, target: str | None) -> None:
    """Refuse an unknown target, and a side edit with a mono model, before any encoding."""
    from sda.dna.stereo_bridge import check_stereo_model
    from sda.dna.stereo_edit import TARGETS

    if target is not None and target not in TARGETS:
        raise CommandError(f"unknown --target {target!r}; use mid, side or both")
    if target in ("side", "both"):
        check_stereo_model(bundle, f"--target {target}")


def _pair_edit(
    a: Codes, b: Codes, target: str | None, edit: Callable[[Codes, Codes], Codes]
) -> Codes:
    """`edit` on the grids `target` names; unnamed, stereo pairs edit both and others as they are
    (a mono sound's edit keeps a stereo A's side)."""
    from sda.dna.stereo_edit import edit_grid_pairs

    if target is None:
        if a.channels == 1 or b.channels == 1:
            return edit(a, b)
        target = "both"
    return edit_grid_pairs(a, b, target, edit)


def _levels_swap(start: int | None, end: int | None, fit: str) -> Callable[[Codes, Codes], Codes]:
    """`swap_levels` of a level range, cut to each grid's own levels: a side grid with fewer
    levels takes from A those it has (none: all of B's)."""
    from sda.dna import edit

    def swap(a: Codes, b: Codes) -> Codes:
        top = a.levels
        low, high = min(start or 0, top), min(top if end is None else end, top)
        if low >= high:
            everything = edit.fit_pair(a, b, fit)[1]
            return edit.pair_result(a, b, "swap_levels", everything, levels=[], fit=fit)
        return edit.swap_levels(a, b, slice(low, high), fit=fit)

    return swap


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
    target: TargetOption = None,
    decode_levels: DecodeLevelsOption = None,
    overwrite: OverwriteOption = False,
    library: LibraryOption = None,
) -> None:
    """Levels from A, the rest from B: e.g. A's coarse shape with B's fine texture.

    A stereo sound's side grid may have fewer levels: it takes from A those of the range it has.

    Example: sda edit swap drum.wav pad.wav --levels 0:2 --model demo --out hybrid.wav
    """
    from sda.dna import edit
    from sda.dna.codec_bridge import load_codes_or_audio

    bundle = _bundle(model, library)
    _check_target(bundle, target)
    codes_a, codes_b = load_codes_or_audio(bundle, a), load_codes_or_audio(bundle, b)
    start, end = parse_range(levels, "level range")
    edit.level_list(codes_a, slice(start, end))  # the range must fit the mid's levels
    result = _pair_edit(codes_a, codes_b, target, _levels_swap(start, end, fit))
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
    target: TargetOption = None,
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
    _check_target(bundle, target)
    codes_a, codes_b = load_codes_or_audio(bundle, a), load_codes_or_audio(bundle, b)
    result = _pair_edit(
        codes_a, codes_b, target, lambda x, y: blending.blend(bundle, x, y, alpha, fit=fit)
    )
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
    target: TargetOption = None,
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
    _check_target(bundle, target)
    codes_a, codes_b = load_codes_or_audio(bundle, a), load_codes_or_audio(bundle, b)
    length = edit.fit_pair(codes_a, codes_b, fit)[0].shape[1]
    start, end = _frame_span(frames, length)
    if mode == "levels":
        result = _pair_edit(
            codes_a,
            codes_b,
            target,
            lambda x, y: edit.morph_levels(x, y, start=start, end=end, fit=fit),
        )
    else:
        result = _pair_edit(
            codes_a,
            codes_b,
            target,
            lambda x, y: blending.morph_latents(bundle, x, y, start=start, end=end, fit=fit),
        )
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
    target: TargetOption = None,
    decode_levels: DecodeLevelsOption = None,
    overwrite: OverwriteOption = False,
    library: LibraryOption = None,
) -> None:
    """Let the prior rewrite a region, listening to the context on both sides.

    A stereo model's prior redraws the mid and the side together; --target mid or side keeps
    the new codes on that grid only.

    Example: sda edit regen loop.wav --frames 100:200 --seed 3 --model demo --out variation.wav
    """
    from sda.dna.codec_bridge import load_codes_or_audio
    from sda.dna.stereo_edit import keep_target
    from sda.generate import regenerate_region

    bundle = _bundle(model, library)
    _check_target(bundle, target)
    codes = load_codes_or_audio(bundle, a)
    if codes.channels == 1 and target in ("side", "both"):
        raise CommandError(f"{a} is mono: it has no side grid to regenerate; use --target mid")
    start, end = _frame_span(frames, codes.frames)
    result = regenerate_region(bundle, codes, start, end, seed=seed, temperature=temperature)
    if codes.channels == 2 and target is not None:
        result = keep_target(codes, result, target)
    _finish(bundle, result, out, decode_levels, overwrite)


def swap_side(
    a: Annotated[Path, typer.Argument(help="Sound A: .sdacodes or audio; gives the mid (sound).")],
    b: Annotated[Path, typer.Argument(help="Sound B: .sdacodes or audio; gives the side (room).")],
    model: ModelOption,
    out: OutOption,
    fit: FitOption = "shortest",
    decode_levels: DecodeLevelsOption = None,
    overwrite: OverwriteOption = False,
    library: LibraryOption = None,
) -> None:
    """Put A in B's room: A's mid (its sound, the downmix) with B's side (width and room).

    Needs a stereo model; a mono A gains B's width.

    Example: sda edit swap-side voice.wav hall.wav --model stereo-demo --out voice-in-hall.wav
    """
    from sda.dna.codec_bridge import load_codes_or_audio
    from sda.dna.stereo_bridge import check_stereo_model
    from sda.dna.stereo_edit import swap_side as put_in_room

    bundle = _bundle(model, library)
    check_stereo_model(bundle, "putting A in B's room (swap-side)")
    codes_a, codes_b = load_codes_or_audio(bundle, a), load_codes_or_audio(bundle, b)
    _finish(bundle, put_in_room(codes_a, codes_b, fit=fit), out, decode_levels, overwrite)


def register(app: typer.Typer) -> None:
    """Add `sda edit ...` to the main app."""
    group = typer.Typer(
        name="edit",
        help="Sound-DNA edits: swap levels, blend, morph and regenerate regions of code grids; "
        "put one stereo sound in another's room (swap-side).",
        no_args_is_help=True,
    )
    for command in (swap, blend, morph, regen, swap_side):
        group.command(command.__name__.replace("_", "-"))(command)
    app.add_typer(group, name="edit")
