"""The Train tab: pick a folder, read its dataset report, train a model in the background."""

from __future__ import annotations

import gradio as gr

from sda.app import train_callbacks as cb
from sda.app.feedback import friendly
from sda.app.state import AppContext

POLL_SECONDS = 2.0


def build_train_tab(ctx: AppContext) -> gr.Tab:
    with gr.Tab("Train", id="train", elem_id="tab-train") as tab:  # noqa: SIM117
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, elem_classes=["sda-panel"]):
                gr.Markdown(
                    "Train a new model on a folder of your recordings (5 to 500 files). "
                    "The codec learns first, then the prior; the model then joins your library."
                )
                folder = gr.Textbox(
                    label="Folder on this computer",
                    placeholder="~/sounds/my-kit",
                    elem_id="train-folder",
                )
                inspect = gr.Button("Inspect the folder", size="sm", elem_id="train-inspect")
                name = gr.Textbox(label="Name of the new model", placeholder="my-kit")
                minutes = gr.Slider(
                    1, 120, value=20, step=1, label="Minutes per stage (codec, then prior)"
                )
                with gr.Row():
                    start = gr.Button("Start training", variant="primary", elem_id="train-start")
                    stop = gr.Button("Stop", variant="stop")
                gr.Markdown(cb.tensorboard_hint(ctx))
            with gr.Column(scale=3):
                summary = gr.Markdown("Inspect a folder to see which files will be used.")
                report = gr.Dataframe(
                    headers=cb.REPORT_COLUMNS,
                    value=[],
                    interactive=False,
                    max_height=260,
                    elem_id="train-report",
                )
                status = gr.Markdown("No training run yet.", elem_id="train-status")
                log = gr.Code(label="Log", language=None, lines=10, interactive=False)
        timer = gr.Timer(POLL_SECONDS, active=False)

    @friendly("reading the folder")
    def on_inspect(path):
        rows, text = cb.inspect_folder(path)
        return rows, text

    @friendly("starting the training")
    def on_start(path, model_name, budget):
        job = cb.start_training(ctx, path, model_name, budget)
        gr.Info(f"training {job.name} started")
        return job.status(), job.log_tail(), gr.Timer(active=True)

    def on_tick():
        job = ctx.training
        if job is None:
            return "No training run yet.", "", gr.Timer(active=False)
        return job.status(), job.log_tail(), gr.Timer(active=job.running)

    def on_stop():
        job = ctx.training
        if job is None or not job.running:
            gr.Warning("no training run is going")
            return
        job.stop()
        gr.Info(f"stopping {job.name}")

    inspect.click(on_inspect, folder, [report, summary])
    start.click(on_start, [folder, name, minutes], [status, log, timer])
    timer.tick(on_tick, None, [status, log, timer], queue=False)
    tab.select(on_tick, None, [status, log, timer], queue=False)
    stop.click(on_stop, None, None, queue=False)
    return tab
