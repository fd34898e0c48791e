"""The DNA editor tab: slots A and B, their code grids, a region, operations, undo, decode."""

from __future__ import annotations

import gradio as gr

from sda.app import dna_callbacks as cb
from sda.app.dna_pictures import COLOUR_BY_CODE, grid_picture
from sda.app.export_callbacks import EDITOR_SOURCE
from sda.app.export_panel import build_export_panel
from sda.app.feedback import friendly
from sda.app.generate_callbacks import default_model, model_names, take_choices
from sda.app.state import AppContext, UserSession

GRID_WIDTH = 1200
OPERATION_HELP = (
    "Operations change slot A (the working copy) inside the selected region, taking material "
    "from slot B: **swap levels** puts B's selected levels into A, **swap span** B's selected "
    "time range, **blend** mixes A and B at α, **morph** glides from A to B over the time range; "
    "**randomize** and **regenerate** (with the model's prior) redraw the region."
)


def build_dna_tab(ctx: AppContext, session_state: gr.State) -> gr.Tab:
    from sda.audio.descriptors import CONTROL_NAMES

    slot_widgets = {}
    with gr.Tab("DNA editor", id="dna", elem_id="tab-dna") as tab:
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
        for slot, title in (("A", "Slot A · working copy"), ("B", "Slot B · donor")):
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
                            label="…or a take", choices=[], elem_id=f"dna-take-{slot.lower()}"
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
            slot_widgets[slot] = (upload, take, use_take, status, image)
        with gr.Group(elem_classes=["sda-panel"]):
            gr.Markdown(
                "#### Region\nClick two corners on grid A, or use the sliders "
                "(level 0 is the coarsest codebook)."
            )
            with gr.Row():
                start_s = gr.Slider(
                    0, 10, value=0, step=0.01, label="From (s)", elem_id="dna-start"
                )
                end_s = gr.Slider(0, 10, value=10, step=0.01, label="To (s)", elem_id="dna-end")
                first_level = gr.Slider(
                    0, 7, value=0, step=1, label="First level", elem_id="dna-first"
                )
                last_level = gr.Slider(
                    0, 7, value=7, step=1, label="Last level", elem_id="dna-last"
                )
        with gr.Group(elem_classes=["sda-panel"]):
            gr.Markdown(OPERATION_HELP)
            with gr.Row():
                alpha = gr.Slider(0, 1, value=0.5, step=0.05, label="Blend α (0 = A, 1 = B)")
                seed = gr.Number(
                    value=0, precision=0, minimum=0, label="Seed (randomize, regenerate)"
                )
            buttons = {}
            with gr.Row():
                for name in cb.OPERATIONS:
                    buttons[name] = gr.Button(
                        name.capitalize(), size="sm", elem_id=f"dna-op-{name.replace(' ', '-')}"
                    )
            with gr.Row():
                undo = gr.Button("↶ Undo", size="sm", elem_id="dna-undo")
                redo = gr.Button("↷ Redo", size="sm", elem_id="dna-redo")
            history = gr.Markdown("History: empty.", elem_id="dna-history")
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

    region_inputs = [start_s, end_s, first_level, last_level]
    images = [slot_widgets["A"][4], slot_widgets["B"][4]]

    def region_of(session: UserSession, values) -> cb.Region | None:
        codes = cb.slot_codes(session, "A")
        return None if codes is None else cb.region_for(codes, *values)

    def pictures(session: UserSession, colour, values) -> list:
        region = region_of(session, values)
        return [grid_picture(ctx, session, s, colour, region, width=GRID_WIDTH) for s in "AB"]

    def ranges(session: UserSession) -> list:
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

    def limits(session: UserSession) -> list:
        """New slider maxima after an edit changed A's length (the values stay)."""
        codes = cb.slot_codes(session, "A")
        if codes is None:
            return [gr.Slider()] * 2
        return [gr.Slider(maximum=round(codes.seconds, 2))] * 2

    view_outputs = [*images, history]
    range_outputs = [*region_inputs, levels]

    def slot_statuses(session: UserSession) -> list[str]:
        texts = []
        for slot in "AB":
            codes = cb.slot_codes(session, slot)
            label = session.editor.labels.get(slot, "")
            texts.append(
                "Empty."
                if codes is None
                else f"**{label}** · {codes.levels} levels × {codes.frames} frames ({codes.seconds:.1f} s)"
            )
        return texts

    def full_view(session: UserSession, colour):
        codes = cb.slot_codes(session, "A")
        values = [0, codes.seconds if codes else 0, 0, (codes.levels - 1) if codes else 0]
        return [
            session,
            *slot_statuses(session),
            *pictures(session, colour, values),
            cb.history_text(session),
            *ranges(session),
        ]

    def edited_view(session: UserSession, colour, values):
        return [
            session,
            *slot_statuses(session),
            *pictures(session, colour, values),
            cb.history_text(session),
            *limits(session),
        ]

    full_outputs = [
        session_state,
        slot_widgets["A"][3],
        slot_widgets["B"][3],
        *view_outputs,
        *range_outputs,
    ]

    def loader_for_file(slot: str):
        @friendly(f"loading slot {slot}")
        def on_upload(session: UserSession, model_name, path, colour):
            message = cb.load_file(ctx, session, slot, model_name, path)
            gr.Info(message)
            return full_view(session, colour)

        return on_upload

    def loader_for_take(slot: str):
        @friendly(f"loading slot {slot}")
        def on_take(session: UserSession, number, colour):
            message = cb.load_take(ctx, session, slot, number)
            gr.Info(message)
            return full_view(session, colour)

        return on_take

    def operation_for(name: str):
        @friendly(name)
        def on_operation(session: UserSession, colour, alpha_v, seed_v, *values):
            codes = cb.slot_codes(session, "A")
            if codes is None:
                raise cb.EditorError("load a sound into slot A first")
            region = cb.region_for(codes, *values)
            cb.apply_operation(ctx, session, name, region, alpha=alpha_v, seed=int(seed_v or 0))
            return edited_view(session, colour, values)

        return on_operation

    @friendly("undoing")
    def on_undo(session: UserSession, colour, *values):
        cb.undo(session)
        return edited_view(session, colour, values)

    @friendly("redoing")
    def on_redo(session: UserSession, colour, *values):
        cb.redo(session)
        return edited_view(session, colour, values)

    @friendly("drawing the grids")
    def on_region(session: UserSession, colour, *values):
        return pictures(session, colour, values)

    @friendly("selecting on the grid")
    def on_grid_click(session: UserSession, colour, event: gr.SelectData):
        codes = cb.slot_codes(session, "A")
        if codes is None:
            return [session] + [gr.Slider()] * 4 + [gr.Image()] * 2
        x, y = event.index
        region, session.editor.anchor = cb.click_region(
            codes, int(x), int(y), width=GRID_WIDTH, anchor=session.editor.anchor
        )
        start, end = cb.region_seconds(codes, region)
        values = [start, end, region.first_level, region.last_level]
        return [session, *values, *pictures(session, colour, values)]

    @friendly("decoding")
    def on_decode(session: UserSession, k):
        return session, str(cb.decode_working(ctx, session, int(k)))

    @friendly("saving the session")
    def on_save(session: UserSession):
        return gr.File(value=str(cb.save_session(ctx, session)), visible=True)

    @friendly("opening the session")
    def on_open(session: UserSession, path, colour):
        gr.Info(cb.load_session(ctx, session, path))
        return full_view(session, colour)

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

    edit_outputs = [
        session_state,
        slot_widgets["A"][3],
        slot_widgets["B"][3],
        *view_outputs,
        start_s,
        end_s,
    ]
    tab.select(
        on_tab,
        [session_state, model],
        [model, slot_widgets["A"][1], slot_widgets["B"][1]],
        queue=False,
    )
    for slot, (upload, take, use_take, _status, _image) in slot_widgets.items():
        upload.upload(
            loader_for_file(slot), [session_state, model, upload, colour_by], full_outputs
        )
        use_take.click(loader_for_take(slot), [session_state, take, colour_by], full_outputs)
    for name, button in buttons.items():
        button.click(
            operation_for(name),
            [session_state, colour_by, alpha, seed, *region_inputs],
            edit_outputs,
            concurrency_limit=2,
            concurrency_id="dna-edit",
        )
    undo.click(on_undo, [session_state, colour_by, *region_inputs], edit_outputs)
    redo.click(on_redo, [session_state, colour_by, *region_inputs], edit_outputs)
    for slider in region_inputs:
        slider.release(on_region, [session_state, colour_by, *region_inputs], images)
    colour_by.change(on_region, [session_state, colour_by, *region_inputs], images)
    slot_widgets["A"][4].select(
        on_grid_click, [session_state, colour_by], [session_state, *region_inputs, *images]
    )
    decode.click(on_decode, [session_state, levels], [session_state, player])
    save.click(on_save, session_state, saved)
    opened.upload(on_open, [session_state, opened, colour_by], full_outputs)
    return tab
