"""The DNA editor tab: slots A and B, their code grids, a region, operations, undo, decode.

With a stereo sound in the editor each slot also shows its side grid (on the mid's time axis), an
edit target (mid, side or both) and "swap side" appear; mono sounds see none of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from sda.app import dna_callbacks as cb
from sda.app import dna_stereo as stereo
from sda.app.dna_pictures import COLOUR_BY_CODE, grid_picture, shared_axis
from sda.app.export_callbacks import EDITOR_SOURCE
from sda.app.export_panel import build_export_panel
from sda.app.feedback import friendly
from sda.app.generate_callbacks import default_model, model_names, take_choices
from sda.app.state import AppContext, UserSession
from sda.audio.descriptors import CONTROL_NAMES

GRID_WIDTH = 1200
OPERATION_HELP = (
    "Operations change slot A (the working copy) inside the selected region, taking material "
    "from slot B: **swap levels** puts B's selected levels into A, **swap span** B's selected "
    "time range, **blend** mixes A and B at α, **morph** glides from A to B over the time range; "
    "**randomize** and **regenerate** (with the model's prior) redraw the region. Stereo "
    "sounds: the target picks the grid(s) an edit changes (the mid is the sound, the side its "
    "width and room), and **swap side** puts A in B's room."
)


@dataclass
class SlotPanel:
    """One code slot: load a file or a take into it, its status line and its grid picture."""

    upload: gr.File
    take: gr.Dropdown
    use_take: gr.Button
    status: gr.Markdown
    image: gr.Image
    side_image: gr.Image  # a stereo sound's side grid, hidden for mono ones


@dataclass
class RegionPanel:
    """The selected region of slot A: a time range in seconds and a range of levels."""

    start_s: gr.Slider
    end_s: gr.Slider
    first_level: gr.Slider
    last_level: gr.Slider

    @property
    def sliders(self) -> list[gr.Slider]:
        return [self.start_s, self.end_s, self.first_level, self.last_level]


@dataclass
class OperationsPanel:
    """The edit operations on the region, their α and seed, undo and redo, the history."""

    alpha: gr.Slider
    seed: gr.Number
    buttons: dict[str, gr.Button]
    target: gr.Radio  # stereo: the grid(s) an edit changes; hidden for mono sounds
    swap_side: gr.Button  # stereo: A's mid with B's side
    undo: gr.Button
    redo: gr.Button
    history: gr.Markdown


@dataclass
class DecodePanel:
    """Decode slot A with its first k levels, the export panel under the player, the session."""

    levels: gr.Slider
    decode: gr.Button
    player: gr.Audio
    save: gr.Button
    saved: gr.File
    opened: gr.File


@dataclass
class DnaTab:
    """Every component the tab's events read or update."""

    tab: gr.Tab
    model: gr.Dropdown
    colour_by: gr.Radio
    slots: dict[str, SlotPanel]
    region: RegionPanel
    operations: OperationsPanel
    output: DecodePanel

    @property
    def images(self) -> list[gr.Image]:
        """The grids, as `_pictures` draws them: A, B, then their side grids."""
        return [self.slots[s].image for s in "AB"] + [self.slots[s].side_image for s in "AB"]

    def full_outputs(self, session_state: gr.State) -> list:
        """What a newly loaded slot updates: statuses, grids, history, every slider range and
        the stereo controls."""
        stereo_controls = [self.operations.target, self.operations.swap_side]
        return [
            *self._view_outputs(session_state),
            *self.region.sliders,
            self.output.levels,
            *stereo_controls,
        ]

    def edit_outputs(self, session_state: gr.State) -> list:
        """What an edit updates: statuses, grids, history and the time sliders' maxima."""
        return [*self._view_outputs(session_state), self.region.start_s, self.region.end_s]

    def _view_outputs(self, session_state: gr.State) -> list:
        statuses = [self.slots[s].status for s in "AB"]
        return [session_state, *statuses, *self.images, self.operations.history]


def build_dna_tab(ctx: AppContext, session_state: gr.State) -> gr.Tab:
    """Lay out the panels, then wire their events (loading, editing, decoding and sessions)."""
    with gr.Tab("DNA editor", id="dna", elem_id="tab-dna") as tab:
        model, colour_by = _build_pickers()
        slots = {
            slot: _build_slot_panel(slot, title)
            for slot, title in (("A", "Slot A · working copy"), ("B", "Slot B · donor"))
        }
        region = _build_region_panel()
        operations = _build_operations_panel()
        output = _build_decode_panel(ctx, session_state)
    ui = DnaTab(tab, model, colour_by, slots, region, operations, output)
    _wire_loading(ctx, session_state, ui)
    _wire_editing(ctx, session_state, ui)
    _wire_output(ctx, session_state, ui)
    return tab


# --- layout: one panel each ------------------------------------------------------------------------
def _build_pickers() -> tuple[gr.Dropdown, gr.Radio]:
    with gr.Row():
        model = gr.Dropdown(
            label="Model for uploads",
            choices=[],
            # Filled when the tab opens; custom values let API calls name a model without a
            # page (the callbacks refuse names not in the library).
            allow_custom_value=True,
            scale=3,
            elem_id="dna-model",
            info="encodes the files you load into slots",
        )
        colour_by = gr.Radio(
            [COLOUR_BY_CODE, *CONTROL_NAMES],
            value=COLOUR_BY_CODE,
            label="Colour cells by",
            scale=5,
            elem_id="dna-colour",
        )
    return model, colour_by


def _build_slot_panel(slot: str, title: str) -> SlotPanel:
    with gr.Group(elem_classes=["sda-slot"]):
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=240):
                gr.Markdown(f"#### {title}", elem_classes=["sda-slot-title"])
                status = gr.Markdown("Empty.", elem_id=f"dna-status-{slot.lower()}")
            upload = gr.File(
                label="Load an audio file",
                file_types=list(cb.UPLOAD_EXTENSIONS),
                file_count="single",
                height=120,
                scale=3,
                elem_id=f"dna-upload-{slot.lower()}",
            )
            with gr.Column(scale=3, min_width=240):
                take = gr.Dropdown(
                    label="…or a take",
                    choices=[],
                    elem_id=f"dna-take-{slot.lower()}",
                    allow_custom_value=True,  # API calls name takes no page listed
                )
                use_take = gr.Button(
                    f"Put the take in slot {slot}",
                    size="sm",
                    elem_id=f"dna-use-take-{slot.lower()}",
                )
        image = gr.Image(
            label=f"Code grid {slot} (levels × time, level 0 on top)",
            interactive=False,
            show_label=False,
            buttons=[],
            format="png",
            elem_id=f"dna-grid-{slot.lower()}",
            elem_classes=["sda-grid"],
        )
        side_image = gr.Image(
            label=f"Side grid {slot} (width and room, same time axis)",
            interactive=False,
            show_label=True,
            buttons=[],
            format="png",
            visible=False,
            elem_id=f"dna-side-{slot.lower()}",
            elem_classes=["sda-grid"],
        )
    return SlotPanel(upload, take, use_take, status, image, side_image)


def _build_region_panel() -> RegionPanel:
    with gr.Group(elem_classes=["sda-panel"]):
        gr.Markdown(
            "#### Region\nClick two corners on grid A, or use the sliders "
            "(level 0 is the coarsest codebook)."
        )
        with gr.Row():
            start_s = gr.Slider(0, 10, value=0, step=0.01, label="From (s)", elem_id="dna-start")
            end_s = gr.Slider(0, 10, value=10, step=0.01, label="To (s)", elem_id="dna-end")
            first_level = gr.Slider(0, 7, value=0, step=1, label="First level", elem_id="dna-first")
            last_level = gr.Slider(0, 7, value=7, step=1, label="Last level", elem_id="dna-last")
    return RegionPanel(start_s, end_s, first_level, last_level)


def _build_operations_panel() -> OperationsPanel:
    with gr.Group(elem_classes=["sda-panel"]):
        gr.Markdown(OPERATION_HELP)
        with gr.Row():
            alpha = gr.Slider(0, 1, value=0.5, step=0.05, label="Blend α (0 = A, 1 = B)")
            seed = gr.Number(value=0, precision=0, minimum=0, label="Seed (randomize, regenerate)")
        with gr.Row():
            buttons = {
                name: gr.Button(
                    name.capitalize(), size="sm", elem_id=f"dna-op-{name.replace(' ', '-')}"
                )
                for name in cb.OPERATIONS
            }
        with gr.Row():
            target = gr.Radio(
                list(stereo.TARGETS),
                value=stereo.TARGETS[0],
                label="Edit target (stereo)",
                info="the mid is the sound, the side its width and room",
                visible=False,
                elem_id="dna-target",
            )
            swap_side = gr.Button(
                "Swap side: A in B's room", size="sm", visible=False, elem_id="dna-op-swap-side"
            )
        with gr.Row():
            undo = gr.Button("↶ Undo", size="sm", elem_id="dna-undo")
            redo = gr.Button("↷ Redo", size="sm", elem_id="dna-redo")
        history = gr.Markdown("History: empty.", elem_id="dna-history")
    return OperationsPanel(alpha, seed, buttons, target, swap_side, undo, redo, history)


def _build_decode_panel(ctx: AppContext, session_state: gr.State) -> DecodePanel:
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            with gr.Row(equal_height=False):
                levels = gr.Slider(
                    1, 8, value=8, step=1, label="Decode with the first k levels", scale=3
                )
                decode = gr.Button("Decode A", variant="primary", scale=1, elem_id="dna-decode")
            player = gr.Audio(
                label="Decoded", type="filepath", interactive=False, elem_id="dna-player"
            )
            source = gr.Textbox(value=EDITOR_SOURCE, visible=False)
            build_export_panel(ctx, session_state, source, prefix="dna")
        with gr.Column(scale=2), gr.Accordion("Session", open=True):
            save = gr.Button("Save session", size="sm", elem_id="dna-save")
            saved = gr.File(label="Session file", interactive=False, height=80, visible=False)
            opened = gr.File(label="Open a session", file_types=[".sdasession"], height=100)
    return DecodePanel(levels, decode, player, save, saved, opened)


# --- views: what the components show for a session -------------------------------------------------
def _pictures(ctx: AppContext, session: UserSession, colour, values) -> list:
    """Both grids on one time axis, with the region drawn on A (values: start s, end s, first,
    last level), then the side grids of stereo slots (hidden when a slot has none)."""
    codes = cb.slot_codes(session, "A")
    region = None if codes is None else cb.region_for(codes, *values)
    axis = shared_axis(session)
    mids = [
        grid_picture(ctx, session, s, colour, region, width=GRID_WIDTH, axis_frames=axis)
        for s in "AB"
    ]
    sides = [
        grid_picture(
            ctx, session, s, colour, region, width=GRID_WIDTH, axis_frames=axis, part="side"
        )
        for s in "AB"
    ]
    return [*mids, *(gr.Image(value=side, visible=side is not None) for side in sides)]


def _stereo_controls(session: UserSession) -> list:
    """The target selector and "swap side", shown only while the editor holds a stereo sound."""
    shown = stereo.is_stereo(session)
    return [gr.Radio(visible=shown), gr.Button(visible=shown)]


def _ranges(session: UserSession) -> list:
    """Slider ranges and values for a newly loaded A: the whole sound, every level."""
    codes = cb.slot_codes(session, "A")
    if codes is None:
        return [gr.Slider()] * 5
    seconds = round(codes.seconds, 2)
    top = codes.levels - 1
    return [
        gr.Slider(maximum=seconds, value=0),
        gr.Slider(maximum=seconds, value=seconds),
        gr.Slider(maximum=top, value=0),
        gr.Slider(maximum=top, value=top),
        gr.Slider(maximum=codes.levels, value=codes.levels),
    ]


def _limits(session: UserSession) -> list:
    """New slider maxima after an edit changed A's length (the values stay)."""
    codes = cb.slot_codes(session, "A")
    if codes is None:
        return [gr.Slider()] * 2
    return [gr.Slider(maximum=round(codes.seconds, 2))] * 2


def _slot_statuses(session: UserSession) -> list[str]:
    texts = []
    for slot in "AB":
        codes = cb.slot_codes(session, slot)
        label = session.editor.labels.get(slot, "")
        texts.append("Empty." if codes is None else f"**{label}** · {cb.grid_text(codes)}")
    return texts


def _full_view(ctx: AppContext, session: UserSession, colour) -> list:
    """Values for `DnaTab.full_outputs`."""
    codes = cb.slot_codes(session, "A")
    values = [0, codes.seconds if codes else 0, 0, (codes.levels - 1) if codes else 0]
    return [
        session,
        *_slot_statuses(session),
        *_pictures(ctx, session, colour, values),
        cb.history_text(session),
        *_ranges(session),
        *_stereo_controls(session),
    ]


def _edited_view(ctx: AppContext, session: UserSession, colour, values) -> list:
    """Values for `DnaTab.edit_outputs`."""
    return [
        session,
        *_slot_statuses(session),
        *_pictures(ctx, session, colour, values),
        cb.history_text(session),
        *_limits(session),
    ]


# --- events ----------------------------------------------------------------------------------------
# Loading is two steps: the load itself changes only the (invisible) session, so a refused file
# is one error message and not an "Error" badge on every grid, slider and status; the view
# follows only on success.
def _loader_for_file(ctx: AppContext, slot: str):
    @friendly(f"loading slot {slot}")
    def on_upload(session: UserSession, model_name, path):
        gr.Info(cb.load_file(ctx, session, slot, model_name, path))
        return session

    return on_upload


def _loader_for_take(ctx: AppContext, slot: str):
    @friendly(f"loading slot {slot}")
    def on_take(session: UserSession, number):
        gr.Info(cb.load_take(ctx, session, slot, number))
        return session

    return on_take


def _viewer(ctx: AppContext):
    @friendly("drawing the grids")
    def on_loaded(session: UserSession, colour):
        return _full_view(ctx, session, colour)

    return on_loaded


def _wire_loading(ctx: AppContext, session_state: gr.State, ui: DnaTab) -> None:
    """Opening the tab lists models and takes; uploads and takes fill the slots."""

    @friendly("listing models and takes")
    def on_tab(session: UserSession, current):
        names = model_names(ctx)
        value = default_model(ctx, session.editor.model or current)
        choices = take_choices(session)
        newest = choices[0][1] if choices else None
        return (
            gr.Dropdown(choices=names, value=value),
            gr.Dropdown(choices=choices, value=newest),
            gr.Dropdown(choices=choices, value=newest),
        )

    ui.tab.select(
        on_tab,
        [session_state, ui.model],
        [ui.model, ui.slots["A"].take, ui.slots["B"].take],
        queue=False,
    )
    full_outputs = ui.full_outputs(session_state)
    show = _viewer(ctx)
    for slot, panel in ui.slots.items():
        panel.upload.upload(
            _loader_for_file(ctx, slot), [session_state, ui.model, panel.upload], session_state
        ).success(show, [session_state, ui.colour_by], full_outputs)
        panel.use_take.click(
            _loader_for_take(ctx, slot), [session_state, panel.take], session_state
        ).success(show, [session_state, ui.colour_by], full_outputs)


def _operation_for(ctx: AppContext, name: str):
    """An edit, as a step that changes only the session (its view follows on success)."""

    @friendly(name)
    def on_operation(session: UserSession, alpha_v, seed_v, target, *values):
        codes = cb.slot_codes(session, "A")
        if codes is None:
            raise cb.AppError("load a sound into slot A first")
        region = cb.region_for(codes, *values)
        cb.apply_operation(
            ctx, session, name, region, alpha=alpha_v, seed=int(seed_v or 0), target=target
        )
        return session

    return on_operation


def _wire_editing(ctx: AppContext, session_state: gr.State, ui: DnaTab) -> None:
    """Operations, undo and redo; the region from the sliders or two clicks on grid A."""

    @friendly("undoing")
    def on_undo(session: UserSession):
        cb.undo(session)
        return session

    @friendly("redoing")
    def on_redo(session: UserSession):
        cb.redo(session)
        return session

    @friendly(stereo.SWAP_SIDE)
    def on_swap_side(session: UserSession):
        gr.Info(stereo.swap_side(ctx, session))
        return session

    @friendly("drawing the grids")
    def on_edited(session: UserSession, colour, *values):
        return _edited_view(ctx, session, colour, values)

    @friendly("drawing the grids")
    def on_region(session: UserSession, colour, *values):
        return _pictures(ctx, session, colour, values)

    ops, sliders = ui.operations, ui.region.sliders
    edit_outputs = ui.edit_outputs(session_state)
    view = [session_state, ui.colour_by, *sliders]
    # One output (the invisible session) per edit: a refusal is one message, not a badge on
    # every grid and status; the view is drawn only after an edit that worked.
    for name, button in ops.buttons.items():
        button.click(
            _operation_for(ctx, name),
            [session_state, ops.alpha, ops.seed, ops.target, *sliders],
            session_state,
            concurrency_limit=2,
            concurrency_id="dna-edit",
        ).success(on_edited, view, edit_outputs)
    ops.swap_side.click(on_swap_side, session_state, session_state).success(
        on_edited, view, edit_outputs
    )
    ops.undo.click(on_undo, session_state, session_state).success(on_edited, view, edit_outputs)
    ops.redo.click(on_redo, session_state, session_state).success(on_edited, view, edit_outputs)
    for slider in sliders:
        slider.release(on_region, [session_state, ui.colour_by, *sliders], ui.images)
    ui.colour_by.change(on_region, [session_state, ui.colour_by, *sliders], ui.images)
    clicked = [session_state, *sliders, *ui.images]
    for part, image in (("mid", ui.slots["A"].image), ("side", ui.slots["A"].side_image)):
        image.select(_grid_clicker(ctx, part), [session_state, ui.colour_by], clicked)


def _grid_clicker(ctx: AppContext, part: str):
    """Two clicks on grid A (its mid, or its side: the same level numbers) pick the region."""

    @friendly("selecting on the grid")
    def on_grid_click(session: UserSession, colour, event: gr.SelectData):
        codes = cb.slot_codes(session, "A")
        if codes is None or (part == "side" and codes.channels == 1):
            return [session] + [gr.Slider()] * 4 + [gr.Image()] * 4
        x, y = event.index
        region, session.editor.anchor = cb.click_region(
            codes.part(part),
            int(x),
            int(y),
            width=GRID_WIDTH,
            anchor=session.editor.anchor,
            axis_frames=shared_axis(session),
        )
        start, end = cb.region_seconds(codes, region)
        values = [start, end, region.first_level, region.last_level]
        return [session, *values, *_pictures(ctx, session, colour, values)]

    return on_grid_click


def _wire_output(ctx: AppContext, session_state: gr.State, ui: DnaTab) -> None:
    """Decode slot A; save and open sessions."""

    @friendly("decoding")
    def on_decode(session: UserSession, k):
        return session, str(cb.decode_working(ctx, session, int(k)))

    @friendly("saving the session")
    def on_save(session: UserSession):
        return gr.File(value=str(cb.save_session(ctx, session)), visible=True)

    @friendly("opening the session")
    def on_open(session: UserSession, path):
        gr.Info(cb.load_session(ctx, session, path))
        return session

    out = ui.output
    out.decode.click(on_decode, [session_state, out.levels], [session_state, out.player])
    out.save.click(on_save, session_state, out.saved)
    out.opened.upload(on_open, [session_state, out.opened], session_state).success(
        _viewer(ctx), [session_state, ui.colour_by], ui.full_outputs(session_state)
    )
