"""CLI commands: `sda dna stats`, what a model's codes mean: usage per level, each file's signature
codes, how codes sound (descriptor profiles) and file-to-file similarity.

Stereo sounds have two grids: usage, signatures and similarity are shown for the mid (the
downmix) and, when every sound is stereo, for the side (width and room) too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sda.cli.options import LibraryOption, ModelArgument

if TYPE_CHECKING:
    from rich.table import Table

    from sda.dna.codes import Codes, Part
    from sda.library import Bundle


def stats(
    model: ModelArgument,
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Audio or .sdacodes files to analyse (two or more to compare)."),
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Signature codes shown per file.")] = 5,
    profile: Annotated[
        bool,
        typer.Option(
            "--profile/--no-profile", help="Show the brightest/loudest... codes of level 0."
        ),
    ] = True,
    library: LibraryOption = None,
) -> None:
    """Code usage per level, signature codes per file and file similarity.

    Example: sda dna stats demo kick.wav snare.wav pad.sdacodes --top 3
    """
    from rich.console import Console

    from sda.cli.options import load_model
    from sda.dna.codec_bridge import load_codes_or_audio

    console = Console()
    bundle = load_model(model, library)
    config = bundle.codec.config
    stereo = f", stereo: mid + {bundle.side_levels} side levels" if bundle.channels == 2 else ""
    console.print(
        f"[bold]{bundle.name}[/] ({bundle.id}): {config.num_levels} levels x "
        f"{config.codebook_size} codes, {config.frame_rate:.2f} frames/s{stereo}",
        highlight=False,
    )
    if not files:
        console.print("pass audio or .sdacodes files to see how they use the codes")
        return
    names = _unique_names(files)
    grids = {
        name: load_codes_or_audio(bundle, path) for name, path in zip(names, files, strict=True)
    }
    parts = _parts(grids, console)
    for part in parts:
        console.print(_usage_table(grids, part, _titled(part, parts)))
        console.print(_signature_table(grids, top, part, _titled(part, parts)))
        if len(grids) > 1:
            console.print(_similarity_table(grids, part, _titled(part, parts)))
    if profile:
        console.print(_profile_table(bundle, grids, top))


def _parts(grids: dict[str, Codes], console) -> tuple[Part, ...]:
    """The grids to show: the mid, and the side when every sound has one (else say why not)."""
    mono = [name for name, codes in grids.items() if codes.channels == 1]
    if not mono:
        return ("mid", "side")
    if len(mono) < len(grids):
        console.print(
            f"{', '.join(mono)}: mono, with no side grid; the tables compare the mids (the "
            "downmixes). Encode every file with a stereo model to compare their sides too",
            highlight=False,
        )
    return ("mid",)


def _titled(part: Part, parts: tuple[Part, ...]) -> str:
    """A table title's suffix naming the grid, when there are two."""
    if len(parts) == 1:
        return ""
    return " - mid (the downmix)" if part == "mid" else " - side (width and room)"


def _usage_table(grids: dict[str, Codes], part: Part = "mid", suffix: str = "") -> Table:
    """How many codes each level uses, how evenly, and its most frequent code."""
    from rich.table import Table

    from sda.dna import analytics

    usage = Table(title=f"code usage per level{suffix}")
    for column in ("level", "codes used", "of codebook", "perplexity", "top code", "top share"):
        usage.add_column(column, justify="right")
    for row in analytics.usage_summary(analytics.level_usage(grids.values(), part=part)):
        usage.add_row(
            str(row["level"]),
            str(row["used"]),
            f"{row['share']:.0%}",
            f"{row['perplexity']:.1f}",
            str(row["top_code"]),
            f"{row['top_share']:.0%}",
        )
    return usage


def _signature_table(
    grids: dict[str, Codes], top: int, part: Part = "mid", suffix: str = ""
) -> Table:
    """Each file's codes that are frequent in it and rare in the others."""
    from rich.table import Table

    from sda.dna import analytics

    signatures = Table(title=f"signature codes (frequent here, rare elsewhere){suffix}")
    for column in ("file", "level:code", "share here", "share elsewhere", "score"):
        signatures.add_column(column, justify="left" if column == "file" else "right")
    for name, found in analytics.signature_codes(grids, top=top, part=part).items():
        for i, sig in enumerate(found):
            signatures.add_row(
                name if i == 0 else "",
                f"{sig.level}:{sig.code}",
                f"{sig.share:.0%}",
                f"{sig.elsewhere:.0%}" if len(grids) > 1 else "-",
                f"{sig.score:.3f}",
            )
    return signatures


def _similarity_table(grids: dict[str, Codes], part: Part = "mid", suffix: str = "") -> Table:
    """File against file: how alike their code histograms are."""
    from rich.table import Table

    from sda.dna import analytics

    names = list(grids)
    similar = Table(
        title=f"similarity of code histograms (1 = same codes, same proportions){suffix}"
    )
    similar.add_column("")
    for name in names:
        similar.add_column(name, justify="right")
    for name, row in zip(names, analytics.similarity(grids, part=part), strict=True):
        similar.add_row(name, *(f"{value:.2f}" for value in row))
    return similar


def _profile_table(bundle: Bundle, grids: dict[str, Codes], top: int) -> Table:
    """Level-0 codes of the mids ranked by each descriptor, measured on the decoded mid."""
    from rich.table import Table

    from sda.audio.descriptors import CONTROL_NAMES
    from sda.dna import analytics
    from sda.dna.codec_bridge import decode

    config = bundle.codec.config
    pairs = []
    for grid in (codes.mid for codes in grids.values()):
        audio = decode(bundle, grid)  # profile what the codes sound like, as decoded
        values = analytics.frame_descriptors(
            audio,
            sample_rate=config.sample_rate,
            samples_per_frame=config.samples_per_frame,
            frames=grid.frames,
            stats=bundle.descriptor_stats or None,
        )
        pairs.append((grid, values))
    code_profile = analytics.code_profile(pairs, CONTROL_NAMES)
    sounds = Table(title="level-0 codes by sound (highest first)")
    sounds.add_column("descriptor")
    sounds.add_column("codes", justify="left")
    for name in CONTROL_NAMES:
        sounds.add_row(name, ", ".join(map(str, code_profile.search(name, level=0, top=top))))
    return sounds


def _unique_names(files: list[Path]) -> list[str]:
    """File names for table rows, with the parent folder added where two names collide."""
    names = [path.name for path in files]
    return [
        str(Path(path.parent.name) / path.name) if names.count(path.name) > 1 else path.name
        for path in files
    ]


def register(app: typer.Typer) -> None:
    """Add `sda dna ...` to the main app."""
    group = typer.Typer(
        name="dna",
        help="What a model's codes mean: usage, signatures, similarity.",
        no_args_is_help=True,
    )
    group.command("stats")(stats)
    app.add_typer(group, name="dna")
