"""Assemble the explorer: `build_app(library)` returns a `gr.Blocks`; `launch_app` serves it safely."""

from __future__ import annotations

import os
from typing import Any

import gradio as gr

from sda.app.dna_tab import build_dna_tab
from sda.app.generate_tab import build_generate_tab
from sda.app.library_tab import build_library_tab
from sda.app.state import AppContext, new_session, remove_session_files
from sda.app.train_tab import build_train_tab

MAX_UPLOAD = "200mb"
SESSION_SECONDS = 6 * 3600  # a browser tab's takes are dropped after 6 idle hours

CSS = """
.gradio-container { max-width: 1280px !important; margin: auto; }
#sda-header h1 { margin-bottom: 0; }
#sda-header p { margin-top: 2px; opacity: 0.75; }
.sda-panel { padding: 8px 10px; }
.sda-slot { padding: 6px 10px; margin-bottom: 10px; }
.sda-slot-title h4 { margin: 6px 0; }
.sda-grid button, .sda-grid .image-frame { width: 100%; }
.sda-grid img { width: 100% !important; height: auto !important; object-fit: fill !important;
  image-rendering: pixelated; }
.sda-grid .image-container { background: #181820; }
"""


def build_app(
    library: Any,
    *,
    work_dir: str | os.PathLike | None = None,
    device: str = "cpu",
    allow_training: bool = True,
    runs_dir: str | os.PathLike | None = None,
) -> gr.Blocks:
    """The whole explorer for one library; every session keeps its own takes and DNA slots.

    `allow_training` adds the Train tab, which reads folders of the machine running the app:
    keep it off when the app is reachable by others.
    """
    ctx = AppContext.create(library, work_dir=work_dir, device=device, runs_dir=runs_dir)
    # delete_cache: every hour, drop served copies of files older than a day from Gradio's cache.
    with gr.Blocks(
        title="sda explorer", analytics_enabled=False, delete_cache=(3600, 86400)
    ) as app:
        gr.Markdown(
            "# sda explorer\nYour models, their sounds and their DNA: generate, compare, edit, export.",
            elem_id="sda-header",
        )
        session_state = gr.State(
            new_session,
            time_to_live=SESSION_SECONDS,
            delete_callback=lambda session: remove_session_files(ctx.work_dir, session),
        )
        with gr.Tabs(selected="generate"):
            build_library_tab(ctx, session_state)
            generate = build_generate_tab(ctx, session_state)
            build_dna_tab(ctx, session_state)
            if allow_training:
                build_train_tab(ctx)
        # Fill the model picker once the page is open, so a new model shows up on reload.
        app.load(_first_model(ctx), generate.model, generate.model, queue=False)
    app.sda_context = ctx  # for launch_app and tests: where files live
    return app


def _first_model(ctx: AppContext):
    from sda.app.generate_callbacks import default_model, model_names

    def pick(current):
        try:
            return gr.Dropdown(choices=model_names(ctx), value=default_model(ctx, current))
        except Exception as error:  # a broken library must not keep the page from opening
            gr.Warning(f"cannot read the library: {error}")
            return gr.Dropdown(choices=[], value=None)

    return pick


def launch_app(
    app: gr.Blocks,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    block: bool = True,
    quiet: bool = False,
) -> tuple[Any, str, str]:
    """Serve on `host` (localhost by default; never a public share link) with the queue on.

    Every request must name this address (Host/Origin, against DNS rebinding); only the app's
    own work folder is served, never the library; uploads are size-limited.
    """
    from starlette.middleware import Middleware

    from sda.app.host_guard import HostGuard
    from sda.app.served_files import allowed_paths, blocked_paths

    ctx: AppContext = app.sda_context
    app.queue(default_concurrency_limit=4, max_size=64)
    return app.launch(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        show_error=False,
        quiet=quiet,
        prevent_thread_lock=not block,
        allowed_paths=allowed_paths(ctx),
        blocked_paths=blocked_paths(ctx),
        # FastAPI takes the middleware at construction, so it wraps every route Gradio adds.
        app_kwargs={"middleware": [Middleware(HostGuard, bound_host=host)]},
        num_workers=0,  # static-file worker processes would serve files outside the guard
        max_file_size=MAX_UPLOAD,
        theme=gr.themes.Soft(primary_hue="indigo", secondary_hue="rose", neutral_hue="slate"),
        css=CSS,
        footer_links=["gradio"],
        ssr_mode=False,
    )
