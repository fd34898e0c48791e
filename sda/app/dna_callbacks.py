"""DNA editor logic: fill slots A and B, edit the working grid (A) with B as donor, undo, decode.

The working grid is the current grid of an `sda.dna.session.Session` whose sources are "A" and "B";
every operation is applied to it, so undo/redo and saved sessions come for free. A stereo A's
edits change its mid, its side or both (`sda.app.dna_stereo`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sda.app import dna_stereo as stereo
from sda.app.errors import AppError
from sda.app.grid_image import Selection, cell_at
from sda.app.state import PREVIEW_SUBTYPE, AppContext, Editor, UserSession
from sda.audio.io import AudioFileError, write_audio
from sda.dna.codes import Codes

OPERATIONS = ("swap levels", "swap span", "blend", "morph", "randomize", "regenerate")
PAIR_OPERATIONS = ("swap levels", "swap span", "blend", "morph")  # they take material from B
TIME_OPERATIONS = ("morph", "regenerate")  # every level of a time range (region levels unused)
LABEL_KEY = "label"  # a slot's label ("kick.wav", "take 2") in its grid's provenance
UPLOAD_EXTENSIONS = (".wav", ".aif", ".aiff", ".flac", ".ogg", ".opus", ".mp3")


@dataclass(frozen=True)
class Region:
    """The selected rectangle in grid units: levels [first, last] (inclusive), frames [start, end)."""

    first_level: int
    last_level: int
    start: int
    end: int

    @property
    def levels(self) -> list[int]:
        return list(range(self.first_level, self.last_level + 1))

    def selection(self) -> Selection:
        return Selection(self.first_level, self.last_level + 1, self.start, self.end)


def region_for(codes: Codes, start_s: float, end_s: float, first: int, last: int) -> Region:
    """Seconds and levels from the sliders -> a valid region of `codes` (at least one frame)."""
    first, last = sorted((int(first), int(last)))
    if not 0 <= first <= last < codes.levels:
        raise AppError(f"levels must lie within 0..{codes.levels - 1}")
    start_s, end_s = sorted((float(start_s or 0.0), float(end_s or 0.0)))
    start = int(np.clip(round(start_s * codes.frame_rate), 0, codes.frames - 1))
    end = int(np.clip(round(end_s * codes.frame_rate), start + 1, codes.frames))
    return Region(first, last, start, end)


def click_region(
    codes: Codes,
    x: int,
    y: int,
    *,
    width: int,
    anchor: tuple[int, int] | None,
    axis_frames: int | None = None,
) -> tuple[Region, tuple[int, int] | None]:
    """Clicks on the grid pick a region: the first click marks a corner, the second the opposite
    corner. Returns the region to show and the corner still waiting for its partner (or None).
    `axis_frames`: the time axis the grid was drawn on (`dna_pictures.shared_axis`)."""
    level, frame = cell_at(
        x, y, levels=codes.levels, frames=codes.frames, width=width, axis_frames=axis_frames
    )
    if anchor is None:
        return Region(level, level, frame, frame + 1), (level, frame)
    first, last = sorted((anchor[0], level))
    start, end = sorted((anchor[1], frame))
    return Region(first, last, start, end + 1), None


def region_seconds(codes: Codes, region: Region) -> tuple[float, float]:
    """The region's time span in seconds, for the sliders."""
    # Millisecond precision reads well and still maps back to the same frames (< half a frame).
    return round(region.start / codes.frame_rate, 3), round(region.end / codes.frame_rate, 3)


def span_text(codes: Codes, start: int, end: int) -> str:
    """ "0.25–0.50 s": a frame range in the seconds the sliders speak."""
    return f"{start / codes.frame_rate:.2f}–{end / codes.frame_rate:.2f} s"


def grid_text(codes: Codes) -> str:
    """ "8 levels × 0.50 s" (stereo: "8 levels + 4 side levels × 0.50 s, stereo"): a grid's size
    in the editor's words."""
    if codes.channels == 2:
        return f"{codes.levels} levels + {codes.side_levels} side levels × {codes.seconds:.2f} s, stereo"
    return f"{codes.levels} levels × {codes.seconds:.2f} s"


# ----------------------------------------------------------------------------- filling slots


def load_file(
    ctx: AppContext, session: UserSession, slot: str, model: str | None, path: str | None
) -> str:
    """Encode an uploaded audio file with `model` into `slot` (stereo for a stereo model);
    returns a status line."""
    from sda.dna.codec_bridge import encode_file, layout_note

    if not path:
        raise AppError("choose an audio file to load")
    if not model:
        raise AppError("pick the model that should encode the file")
    name = Path(path).name
    if Path(path).suffix.lower() not in UPLOAD_EXTENSIONS:
        raise AppError(f"{name} is not an audio file sda reads ({', '.join(UPLOAD_EXTENSIONS)})")
    bundle = ctx.models.get(model)
    try:
        codes = encode_file(bundle, path)
    except AudioFileError as error:  # its message names the upload's temporary copy
        raise AppError(
            f"{name} cannot be loaded: {error.reason}; choose another file or export it "
            "again as WAV or FLAC"
        ) from None
    if codes.seconds > ctx.max_seconds * 2:
        raise AppError(
            f"{name} is {codes.seconds:.0f} s long; the editor takes up to {ctx.max_seconds * 2:g} s, "
            "trim it first"
        )
    note = layout_note(codes, name)
    return _put(session, slot, codes, model, name) + (f". Note: {note}" if note else "")


def load_take(ctx: AppContext, session: UserSession, slot: str, number: str | int | None) -> str:
    """Put a generated take's codes into `slot`."""
    take = session.take(number)
    if take is None:
        raise AppError("pick a take first (generate one in the Generate tab)")
    codes = take.codes
    if codes is None:
        from sda.dna.codec_bridge import encode_file

        codes = encode_file(ctx.models.get(take.model), take.path)
    return _put(session, slot, codes, take.model, f"take {take.number}")


def _put(session: UserSession, slot: str, codes: Codes, model: str, label: str) -> str:
    from sda.dna.session import Session

    if slot not in ("A", "B"):
        raise AppError(f"unknown slot {slot!r}")
    editor = session.editor
    note = ""
    if editor.session is None or editor.session.bundle_id not in (None, codes.bundle_id):
        if editor.session is not None and editor.session.bundle_id is not None:
            note = " (the editor was cleared: the other slot came from a different model)"
        session.editor = editor = Editor(session=Session(), model=model)
    editor.model = model
    editor.labels[slot] = label
    # The label travels in the grid's provenance, so a saved session keeps its file names.
    codes = codes.with_indices(codes.indices, **{LABEL_KEY: label})
    editor.session.add_source(slot, codes, make_current=slot == "A")
    return f"Slot {slot}: {label}, {grid_text(codes)}{note}"


def slot_codes(session: UserSession, slot: str) -> Codes | None:
    return session.editor.slot(slot)


# ----------------------------------------------------------------------------- operations


def apply_operation(
    ctx: AppContext,
    session: UserSession,
    operation: str,
    region: Region,
    *,
    alpha: float = 0.5,
    seed: int = 0,
    target: str = "both",
) -> str:
    """Apply one editor operation to the working grid; returns a status line. A stereo A's
    `target` (mid, side or both) names the grid(s) it changes."""
    editor = session.editor
    a = editor.slot("A")
    if a is None:
        raise AppError("load a sound into slot A first")
    if operation not in OPERATIONS:
        raise AppError(f"unknown operation {operation!r}; use one of {', '.join(OPERATIONS)}")
    b = editor.slot("B")
    if operation in PAIR_OPERATIONS and b is None:
        raise AppError(f"{operation} takes material from slot B: load a sound into slot B first")
    if operation == "swap span" and region.end > b.frames:
        raise AppError(f"slot B is only {b.seconds:.2f} s long; pick a time range inside it")
    bundle = ctx.models.get(editor.model)
    aim = stereo.target_for(a, target, None if operation in TIME_OPERATIONS else region)
    if operation == "regenerate":
        result = stereo.regenerated(bundle, a, region.start, region.end, seed, aim)
    elif operation in PAIR_OPERATIONS:
        result = stereo.on_pair(a, b, aim, _pair_edit(bundle, operation, region, alpha))
    else:
        result = stereo.on_one(a, aim, lambda x: _randomized(x, region, seed))
    label = stereo.labelled(_label(operation, a, region, alpha), aim)
    editor.session.apply(result, label=label)
    return f"{label}: done. {history_text(session, plain=True)}"


def _pair_edit(bundle, operation: str, region: Region, alpha: float):
    """The two-grid edit an operation makes (applied to mids, sides, or mono grids)."""
    from sda.dna import blend as dna_blend
    from sda.dna import edit

    start, end = region.start, region.end
    if operation == "swap levels":
        return lambda x, y: _swap_levels(x, y, region)
    if operation == "swap span":
        return lambda x, y: edit.swap_span(
            x, y, start=start, end=end, levels=stereo.side_levels(region.levels, x)
        )
    if operation == "blend":
        return lambda x, y: _within(x, dna_blend.blend(bundle, x, y, alpha, fit="a"), region)
    return lambda x, y: dna_blend.morph_latents(bundle, x, y, start=start, end=end, fit="a")


def _randomized(codes: Codes, region: Region, seed: int) -> Codes:
    from sda.dna import edit

    levels = stereo.side_levels(region.levels, codes)
    return edit.randomize_region(
        codes, start=region.start, end=region.end, levels=levels, seed=int(seed)
    )


def _label(operation: str, a: Codes, region: Region, alpha: float) -> str:
    """The history's name for an operation on this region."""
    span = span_text(a, region.start, region.end)
    return {
        "swap levels": f"levels {region.first_level}–{region.last_level} from B",
        "swap span": f"span {span} from B",
        "blend": f"blend α={float(alpha):.2f}",
        "morph": f"morph over {span}",
        "randomize": f"randomize {span}",
        "regenerate": f"regenerate {span}",
    }[operation]


def _swap_levels(a: Codes, b: Codes, region: Region) -> Codes:
    """The region's levels from B, the others from A (a side grid: those of them it has)."""
    from sda.dna import edit

    keep = [level for level in range(a.levels) if level not in region.levels]
    if keep:
        return edit.swap_levels(a, b, keep, fit="a")
    everything = edit.fit_pair(a, b, "a")[1]  # every level from B, at A's length
    return edit.pair_result(a, b, "swap_levels", everything, levels=[], fit="a")


def _within(a: Codes, result: Codes, region: Region) -> Codes:
    """Keep `result` only inside the region (A elsewhere), when both grids line up."""
    if result.frames != a.frames:
        return result
    indices = a.indices.copy()
    indices[region.first_level : region.last_level + 1, region.start : region.end] = result.indices[
        region.first_level : region.last_level + 1, region.start : region.end
    ]
    return result.with_indices(indices)


def undo(session: UserSession) -> str:
    _session_or_fail(session).undo()
    return f"undone. {history_text(session, plain=True)}"


def redo(session: UserSession) -> str:
    _session_or_fail(session).redo()
    return f"redone. {history_text(session, plain=True)}"


def _session_or_fail(session: UserSession):
    if session.editor.session is None:
        raise AppError("nothing to undo yet: load a sound into slot A")
    return session.editor.session


def history_text(session: UserSession, *, plain: bool = False) -> str:
    """The edit history, the current step in bold (markdown for the history panel; `plain` for
    toasts, which show text as it is)."""
    dna = session.editor.session
    if dna is None or dna.position < 0:
        return "History: empty."
    steps = [step.label for step in dna.history]
    mark = "[{}]" if plain else "**{}**"
    shown = " → ".join(
        mark.format(label) if index == dna.position else label for index, label in enumerate(steps)
    )
    return f"History: {shown}"


# ----------------------------------------------------------------------------- output


def decode_working(ctx: AppContext, session: UserSession, levels: int | None) -> Path:
    """Decode the working grid with its first `levels` levels, once: the float audio is kept for
    exports, and a float WAV of it in the session folder is the player's preview."""
    from sda.dna.codec_bridge import decode_take

    codes = session.editor.slot("A")
    if codes is None:
        raise AppError("load a sound into slot A first")
    bundle = ctx.models.get(session.editor.model)
    levels = None if not levels else min(int(levels), codes.levels)
    take = decode_take(bundle, codes, levels=levels)
    path = session.new_file(ctx, "dna-decode")
    write_audio(path, take.audio, take.sample_rate, subtype=PREVIEW_SUBTYPE)
    session.decoded, session.decoded_take = path, take
    return path


def save_session(ctx: AppContext, session: UserSession) -> Path:
    dna = session.editor.session
    if dna is None or dna.current is None:
        raise AppError("there is nothing to save yet: load a sound into slot A")
    label = session.editor.labels.get("A", "edit")
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:40] or "edit"
    return dna.save(session.new_file(ctx, f"session-{stem}", suffix=".sdasession"))


def load_session(ctx: AppContext, session: UserSession, path: str | None) -> str:
    """Open a saved `.sdasession`; the model that made it must be in the library."""
    from sda.dna.session import Session

    if not path:
        raise AppError("choose a .sdasession file to open")
    dna = Session.load(path)
    bundle_id = dna.bundle_id
    # One codec can sit in several bundles: keep the current model if it fits, else prefer a prior.
    candidates = sorted(
        (e for e in ctx.library.list() if e.id == bundle_id), key=lambda e: not e.has_prior
    )
    names = [e.name for e in candidates]
    model = session.editor.model if session.editor.model in names else (names or [None])[0]
    if model is None:
        raise AppError(
            f"this session was made with model {bundle_id}, which is not in the library; "
            "import that model first"
        )
    labels = {slot: source_label(codes, slot) for slot, codes in dna.sources.items()}
    session.editor = Editor(session=dna, model=model, labels=labels)
    return f"Opened {Path(path).name} ({model}). {history_text(session, plain=True)}"


def source_label(codes: Codes, slot: str) -> str:
    """A slot's name for a grid from a saved session: the label it was loaded under, else the
    file it was encoded from (sessions saved before labels were kept), else the slot."""
    label = codes.provenance.get(LABEL_KEY)
    if isinstance(label, str) and label.strip():
        return label.strip()[:80]
    sources = codes.provenance.get("sources")
    if isinstance(sources, list) and sources and isinstance(sources[0], str):
        return Path(sources[0]).name[:80]
    return f"{slot} (session)"
