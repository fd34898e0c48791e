"""The Library tab: a searchable table of models, their details and preview, and housekeeping."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from sda.app import library_callbacks as cb
from sda.app.feedback import friendly
from sda.app.state import AppContext, UserSession


@dataclass
class TablePanel:
    """The searchable table of models and the bundle import."""

    search: gr.Textbox
    table: gr.Dataframe
    upload: gr.File
    import_button: gr.Button


@dataclass
class ModelPanel:
    """The selected model: details, preview, rename and tag, delete."""

    selected: gr.Textbox
    details: gr.Markdown
    preview: gr.Audio
    preview_button: gr.Button
    new_name: gr.Textbox
    rename: gr.Button
    add_tags: gr.Textbox
    remove_tags: gr.Textbox
    tag: gr.Button
    confirm: gr.Textbox
    delete: gr.Button


def build_library_tab(ctx: AppContext, session_state: gr.State) -> gr.Tab:
    """The table and the selected model's panel, then their events."""
    with gr.Tab("Library", id="library", elem_id="tab-library") as tab:  # noqa: SIM117
        with gr.Row(equal_height=False):
            table = _build_table_panel()
            model = _build_model_panel()
    _wire_browsing(ctx, session_state, tab, table, model)
    _wire_housekeeping(ctx, table, model)
    return tab


def _build_table_panel() -> TablePanel:
    with gr.Column(scale=3):
        search = gr.Textbox(
            label="Search",
            placeholder="name, tag, dataset file or date",
            elem_id="lib-search",
        )
        table = gr.Dataframe(
            headers=cb.LIBRARY_COLUMNS,
            value=[],
            interactive=False,
            max_height=420,
            elem_id="lib-table",
        )
        with gr.Accordion("Import a bundle (.zip)", open=False):
            upload = gr.File(label="Bundle zip", file_types=[".zip"], file_count="single")
            import_button = gr.Button("Import", size="sm")
    return TablePanel(search, table, upload, import_button)


def _build_model_panel() -> ModelPanel:
    with gr.Column(scale=2, elem_classes=["sda-panel"]):
        selected = gr.Textbox(visible=False)
        details = gr.Markdown("Select a model in the table to see its details.")
        preview = gr.Audio(label="Preview", type="filepath", interactive=False)
        preview_button = gr.Button("Make a preview", size="sm")
        with gr.Accordion("Rename and tag", open=False):
            new_name = gr.Textbox(label="New name")
            rename = gr.Button("Rename", size="sm")
            add_tags = gr.Textbox(label="Add tags", placeholder="comma separated")
            remove_tags = gr.Textbox(label="Remove tags", placeholder="comma separated")
            tag = gr.Button("Update tags", size="sm")
        with gr.Accordion("Delete", open=False):
            gr.Markdown("Deleting removes the model's folder from the library for good.")
            confirm = gr.Textbox(label="Type the model's name to confirm")
            delete = gr.Button("Delete model", variant="stop", size="sm")
    return ModelPanel(
        selected,
        details,
        preview,
        preview_button,
        new_name,
        rename,
        add_tags,
        remove_tags,
        tag,
        confirm,
        delete,
    )


def _wire_browsing(
    ctx: AppContext, session_state: gr.State, tab: gr.Tab, table: TablePanel, model: ModelPanel
) -> None:
    """Search the table, select a model to see its details, make a preview."""

    @friendly("reading the library")
    def on_search(query):
        return cb.library_rows(ctx, query)

    @friendly("reading the model")
    def on_select(rows, event: gr.SelectData):
        row = event.index[0] if isinstance(event.index, list | tuple) else event.index
        name = str(rows.iloc[row, 0]) if hasattr(rows, "iloc") else str(rows[row][0])
        text, preview_path = cb.model_details(ctx, name)
        return name, text, preview_path, name

    @friendly("making a preview")
    def on_preview(session: UserSession, name):
        from sda.app.generate_callbacks import GenerationSettings, generate_takes

        if not name:
            raise cb.LibraryTabError("select a model in the table first")
        take = generate_takes(ctx, session, name, GenerationSettings(seconds=3.0, seed=0))[0]
        return session, str(take.path)

    table.search.change(on_search, table.search, table.table, queue=False)
    tab.select(on_search, table.search, table.table, queue=False)
    table.table.select(
        on_select, table.table, [model.selected, model.details, model.preview, model.new_name]
    )
    model.preview_button.click(
        on_preview, [session_state, model.selected], [session_state, model.preview]
    )


def _wire_housekeeping(ctx: AppContext, table: TablePanel, model: ModelPanel) -> None:
    """Rename, tag and delete the selected model; import a bundle zip."""

    @friendly("renaming")
    def do_rename(name, new):
        renamed = cb.rename_model(ctx, name, new)
        gr.Info(f"renamed to {renamed}")
        return renamed  # into the hidden "selected" box

    @friendly("reading the model")
    def after_rename(name, query):
        text, preview_path = cb.model_details(ctx, name)
        return text, preview_path, cb.library_rows(ctx, query)

    # Rename, tag, delete and import change the library in a first step with no visible output,
    # so a refusal is one message and not an "Error" badge on the table and every field; the
    # view follows only when it worked.
    @friendly("tagging")
    def do_tag(name, add, remove):
        cb.tag_model(ctx, name, add, remove)

    @friendly("reading the model")
    def after_tag(name, query):
        text, _ = cb.model_details(ctx, name)
        return text, cb.library_rows(ctx, query), "", ""

    @friendly("deleting")
    def do_delete(name, confirmation):
        cb.delete_model(ctx, name, confirmation)
        gr.Info(f"deleted {name}")

    @friendly("reading the library")
    def after_delete(query):
        return None, "Model deleted.", None, "", cb.library_rows(ctx, query)

    @friendly("importing")
    def do_import(path):
        gr.Info(f"imported {cb.import_zip(ctx, path)}")

    @friendly("reading the library")
    def after_import(query):
        return cb.library_rows(ctx, query), None

    m, search = model, table.search
    m.rename.click(do_rename, [m.selected, m.new_name], m.selected).success(
        after_rename, [m.selected, search], [m.details, m.preview, table.table]
    )
    m.tag.click(do_tag, [m.selected, m.add_tags, m.remove_tags], None).success(
        after_tag, [m.selected, search], [m.details, table.table, m.add_tags, m.remove_tags]
    )
    m.delete.click(do_delete, [m.selected, m.confirm], None).success(
        after_delete, search, [m.selected, m.details, m.preview, m.confirm, table.table]
    )
    table.import_button.click(do_import, table.upload, None).success(
        after_import, search, [table.table, table.upload]
    )
