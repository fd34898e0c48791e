"""The Gradio explorer: `build_app(library)` builds it, `launch_app(app)` serves it on localhost."""

from __future__ import annotations

from typing import Any

__all__ = ["build_app", "launch_app"]


def build_app(library: Any, **kwargs: Any):
    """See `sda.app.build.build_app` (imported lazily: gradio takes a second to import)."""
    from sda.app.build import build_app as build

    return build(library, **kwargs)


def launch_app(app: Any, **kwargs: Any):
    from sda.app.build import launch_app as launch

    return launch(app, **kwargs)
