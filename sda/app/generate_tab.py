"""The Generate tab: model, sampling and musical-control sliders, takes, history, A/B, presets."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from sda.app import generate_callbacks as cb
from sda.app.export_panel import build_export_panel
from sda.app.feedback import friendly
from sda.app.state import AppContext, UserSession

# A/B switching happens in the browser around the server call that swaps the file: remember where
# the player was (and whether it played), then seek the new file there once it has loaded.
# Gradio's audio player keeps its <audio> element inside a shadow root.
FIND_AB_AUDIO = """
const findAbAudio = () => {
  const host = document.querySelector('#gen-ab-player');
  for (const el of host ? host.querySelectorAll('*') : []) {
    const audio = el.shadowRoot ? el.shadowRoot.querySelector('audio') : null;
    if (audio) return audio;
  }
  return null;
};
"""
AB_REMEMBER_JS = (
    "() => {"
    + FIND_AB_AUDIO
    + """
  const audio = findAbAudio();
  window.sdaAbBusy = (window.sdaAbBusy || 0) + 1;
  window.sdaAb = audio ? {time: audio.currentTime, playing: !audio.paused, src: audio.src} : null;
  if (audio) audio.pause();
  return [audio ? audio.currentTime : 0];
}"""
)
AB_RESTORE_JS = (
    "() => {"
    + FIND_AB_AUDIO
    + """
  const saved = window.sdaAb;
  const done = () => { window.sdaAbBusy = Math.max((window.sdaAbBusy || 1) - 1, 0); };
  if (!saved) { done(); return []; }
  const seek = (audio) => {
    audio.currentTime = Math.min(saved.time, audio.duration || saved.time);
    if (saved.playing) audio.play();
  };
  let tries = 0;
  const timer = setInterval(() => {
    const audio = findAbAudio();
    tries += 1;
    if (audio && audio.src && audio.src !== saved.src && audio.readyState >= 1) {
      clearInterval(timer);
      seek(audio);
      // Once it has decoded the file the player rewinds to 0 by itself: seek back, once.
      const guard = () => {
        if (audio.currentTime < 0.01 && saved.time > 0.05) {
          audio.removeEventListener('seeked', guard);
          seek(audio);
        }
      };
      audio.addEventListener('seeked', guard);
      setTimeout(() => { audio.removeEventListener('seeked', guard); done(); }, 3000);
    } else if (tries > 200) {
      clearInterval(timer);
      done();
    }
  }, 25);
  return [];
}"""
)


def control_names() -> tuple[str, ...]:
    from sda.audio.descriptors import CONTROL_NAMES

    return tuple(CONTROL_NAMES)


@dataclass
class GenerateTab:
    tab: gr.Tab
    model: gr.Dropdown


@dataclass
class SettingsPanel:
    """The left column: model, sampling, musical controls, presets and the Generate button."""

    model: gr.Dropdown
    refresh: gr.Button
    seed: gr.Number
    dice: gr.Button
    lock: gr.Checkbox  # keep the seed for the next Generate (off: a new seed every time)
    top_k: gr.Slider
    inputs: list[gr.components.Component]  # what `collect` reads, in its order
    control_checks: list[gr.Checkbox]  # one per control: ticked = steered
    control_values: list[gr.Slider]  # one per control, in `control_names()` order
    moving: gr.Dropdown  # the control that moves over the take ("none")
    guidance: gr.Slider
    candidates: gr.Slider
    control_units: list[gr.Markdown]  # beside each: what that setting means for this model
    width: gr.Slider  # a mono model's widening, or a stereo model's own side (0.5 = as made)
    width_value: gr.Markdown  # beside it: the physical value, in the picked model's terms
    preset: gr.Dropdown
    preset_name: gr.Textbox
    preset_save: gr.Button
    preset_recall: gr.Button
    preset_delete: gr.Button
    go: gr.Button


@dataclass
class TakesPanel:
    """The right column: status, players, history, A/B compare and the export panel."""

    status: gr.Markdown
    players: list[gr.Audio]
    history: gr.Dataframe
    pick: gr.Dropdown
    reuse: gr.Button
    take_a: gr.Dropdown
    take_b: gr.Dropdown
    ab: gr.Radio
    ab_player: gr.Audio
    ab_position: gr.Number
    export_take: gr.Dropdown


def build_generate_tab(ctx: AppContext, session_state: gr.State) -> GenerateTab:
    names = control_names()
    with gr.Tab("Generate", id="generate", elem_id="tab-generate") as tab:  # noqa: SIM117
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=320, elem_classes=["sda-panel"]):
                settings = _settings_panel(ctx, names)
            with gr.Column(scale=3, min_width=360):
                takes = _takes_panel(ctx, session_state)
    _wire_generation(ctx, session_state, tab, settings, takes, names)
    _wire_history(session_state, settings, takes, names)
    _wire_presets(ctx, settings, names)
    _wire_control_units(ctx, settings, names)
    _wire_sampling(ctx, settings, names)
    _wire_width(ctx, settings)
    return GenerateTab(tab=tab, model=settings.model)


def _settings_panel(ctx: AppContext, names: tuple[str, ...]) -> SettingsPanel:
    with gr.Row():
        model = gr.Dropdown(
            label="Model",
            choices=[],
            # Filled on page load; custom values let API calls name a model
            # without a page (the callbacks refuse names not in the library).
            allow_custom_value=True,
            scale=4,
            elem_id="gen-model",
            info="a model from your library",
        )
        refresh = gr.Button("↻", scale=0, min_width=44, size="sm")
    seconds = gr.Slider(
        0.5, ctx.max_seconds, value=4.0, step=0.5, label="Duration (s)", elem_id="gen-seconds"
    )
    with gr.Row(equal_height=True):
        seed = gr.Number(
            value=0,
            precision=0,
            label="Seed",
            minimum=0,
            scale=4,
            elem_id="gen-seed",
            info="the seed of the last take; lock it to make that take again",
        )
        dice = gr.Button("Random", scale=0, min_width=80, size="sm", elem_id="gen-dice")
        lock = gr.Checkbox(
            value=False, label="Lock seed", scale=1, min_width=110, elem_id="gen-lock"
        )
    with gr.Row():
        temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.05, label="Temperature")
        top_k = gr.Slider(0, 256, value=0, step=1, label="Top-k", info="0 = off")
    count = gr.Slider(1, ctx.max_count, value=1, step=1, label="Takes", elem_id="gen-count")
    with gr.Accordion("Musical controls", open=True):
        controls = _controls(names)
    with gr.Accordion("Loop and stereo", open=False):
        loop_and_stereo, width_value = _loop_and_stereo()
    with gr.Accordion("Presets", open=False):
        # Custom values: API calls may name a preset before any page listed them (the
        # callbacks refuse names the model has no preset for).
        preset = gr.Dropdown(label="Preset", choices=[], allow_custom_value=True)
        preset_name = gr.Textbox(label="Name", placeholder="e.g. bright and sparse")
        with gr.Row():
            preset_save = gr.Button("Save", size="sm")
            preset_recall = gr.Button("Recall", size="sm")
            preset_delete = gr.Button("Delete", size="sm", variant="stop")
    go = gr.Button("Generate", variant="primary", elem_id="gen-button")
    guidance, candidates, moving, moving_to, checks, values, units = controls
    inputs = [
        seconds, seed, temperature, top_k, guidance, candidates, count, moving, moving_to,
        *loop_and_stereo, *checks, *values,
    ]  # fmt: skip
    return SettingsPanel(
        model=model, refresh=refresh, seed=seed, dice=dice, lock=lock, top_k=top_k, inputs=inputs,
        control_checks=checks, control_values=values, moving=moving, guidance=guidance,
        candidates=candidates, control_units=units, width=loop_and_stereo[4],
        width_value=width_value, preset=preset, preset_name=preset_name, preset_save=preset_save,
        preset_recall=preset_recall, preset_delete=preset_delete, go=go,
    )  # fmt: skip


def _controls(names: tuple[str, ...]) -> tuple:
    """(guidance, candidates, moving, moving_to, checks, values, units): the musical controls;
    `units` show each setting in the model's own units once a model is picked."""
    gr.Markdown("Tick a control to steer the model towards it; unticked ones stay free.")
    checks, values, units = [], [], []
    for name in names:
        with gr.Row(equal_height=True):
            checks.append(
                gr.Checkbox(
                    label=name, value=False, scale=1, min_width=110, elem_id=f"gen-check-{name}"
                )
            )
            values.append(gr.Slider(0, 1, value=0.5, step=0.01, show_label=False, scale=3))
            units.append(gr.Markdown("", elem_id=f"gen-unit-{name}", min_height=0))
    with gr.Row(equal_height=True):
        moving = gr.Dropdown(
            label="Moves over the take",
            choices=["none", *names],
            value="none",
            scale=2,
            elem_id="gen-moving",
            info="this control goes from its slider value ...",
        )
        moving_to = gr.Slider(
            0, 1, value=0.9, step=0.01, label="... to", scale=3, elem_id="gen-moving-to"
        )
    guidance = gr.Slider(
        0.0,
        5.0,
        value=cb.GenerationSettings.guidance,
        step=0.1,
        label="Guidance",
        info="how strongly the ticked controls are followed (1 = plain); ticking sets it",
        elem_id="gen-guidance",
    )
    candidates = gr.Slider(
        1,
        8,
        value=cb.GenerationSettings.candidates,
        step=1,
        label="Candidates",
        info="with controls ticked: draw this many, steered to the closest every second (1 = one "
        "take; tension is corrected every second either way); ticking sets it",
        elem_id="gen-candidates",
    )
    return guidance, candidates, moving, moving_to, checks, values, units


def _loop_and_stereo() -> tuple[tuple, gr.Markdown]:
    """(loop, bars, bpm, beats per bar, width, movement) and the width's value: off by default;
    width and movement show their physical value as they move (the width's in the picked
    model's terms: `_wire_width`)."""
    from sda.audio.stereo_field import describe_movement, describe_width

    loop = gr.Checkbox(
        value=False,
        label="Seamless loop",
        info="its end flows into its start; exports carry loop points",
        elem_id="gen-loop",
    )
    with gr.Row():
        bars = gr.Number(
            value=0, minimum=0, label="Bars", info="0 = the duration above", elem_id="gen-bars"
        )
        bpm = gr.Number(value=120, minimum=20, maximum=400, label="BPM", elem_id="gen-bpm")
        beats = gr.Number(value=4, precision=0, minimum=1, maximum=16, label="Beats per bar")
    with gr.Row(equal_height=True):
        width = gr.Slider(
            0, 1, value=0, step=0.05, label="Stereo width", scale=3, elem_id="gen-width"
        )
        width_value = gr.Markdown(describe_width(0.0), elem_id="gen-width-value")
    with gr.Row(equal_height=True):
        movement = gr.Slider(
            0, 1, value=0, step=0.05, label="Stereo movement", scale=3, elem_id="gen-movement"
        )
        movement_value = gr.Markdown(describe_movement(0.0), elem_id="gen-movement-value")
    movement.change(lambda m: describe_movement(float(m)), movement, movement_value, queue=False)
    return (loop, bars, bpm, beats, width, movement), width_value


def _takes_panel(ctx: AppContext, session_state: gr.State) -> TakesPanel:
    status = gr.Markdown("Pick a model and press **Generate**.", elem_id="gen-status")
    players = [
        gr.Audio(
            label=f"take {i + 1}",
            type="filepath",
            interactive=False,
            visible=i == 0,
            elem_id=f"gen-player-{i}",
        )
        for i in range(ctx.max_count)
    ]
    with gr.Accordion("History", open=True):
        history = gr.Dataframe(
            headers=cb.TAKE_COLUMNS,
            value=[],
            interactive=False,
            wrap=True,
            max_height=260,
            elem_id="gen-history",
        )
        with gr.Row():
            pick = gr.Dropdown(label="Take", choices=[], scale=3, allow_custom_value=True)
            reuse = gr.Button("Use its settings", size="sm", scale=1)
    with gr.Accordion("A/B compare", open=True):
        with gr.Row():
            take_a = gr.Dropdown(label="A", choices=[], elem_id="gen-ab-a", allow_custom_value=True)
            take_b = gr.Dropdown(label="B", choices=[], elem_id="gen-ab-b", allow_custom_value=True)
            ab = gr.Radio(["A", "B"], value="A", label="Play", elem_id="gen-ab-choice")
        ab_player = gr.Audio(
            label="A/B", type="filepath", interactive=False, elem_id="gen-ab-player"
        )
        ab_position = gr.Number(value=0, visible=False)
    # Take pickers accept any value: an API client names take numbers the page never listed
    # (the callbacks answer "pick a take" for numbers the session does not have).
    export_take = gr.Dropdown(
        label="Take to export", choices=[], elem_id="gen-export-take", allow_custom_value=True
    )
    build_export_panel(ctx, session_state, export_take, prefix="gen")
    return TakesPanel(
        status=status, players=players, history=history, pick=pick, reuse=reuse, take_a=take_a,
        take_b=take_b, ab=ab, ab_player=ab_player, ab_position=ab_position,
        export_take=export_take,
    )  # fmt: skip


def collect(names: tuple[str, ...], values_in) -> cb.GenerationSettings:
    """The settings panel's values (in `SettingsPanel.inputs` order) as settings."""
    sec, sd, temp, k, guide, pick_of, cnt, move, move_to, *rest = values_in
    loop, bars, bpm, beats, width, movement, *rest = rest
    enabled, amounts = rest[: len(names)], rest[len(names) :]
    controls = {n: float(v) for n, on, v in zip(names, enabled, amounts, strict=True) if on}
    if move in names:  # the moving control is steered even if its box is not ticked
        start = float(amounts[names.index(move)])
        controls[move] = [start, float(move_to)]
    return cb.GenerationSettings(
        seconds=sec,
        seed=int(sd or 0),
        temperature=temp,
        top_k=int(k),
        guidance=guide,
        candidates=int(pick_of),
        count=int(cnt),
        controls=controls,
        loop=bool(loop),
        bars=bars or 0,
        bpm=bpm,
        beats_per_bar=beats,
        width=width,
        movement=movement,
    )


def spread(names: tuple[str, ...], settings: cb.GenerationSettings) -> list:
    """Settings as the settings panel's values, in `SettingsPanel.inputs` order."""
    curves = [n for n in names if isinstance(settings.controls.get(n), list)]
    move = curves[0] if curves else "none"  # the tab shows one moving control
    firsts = {n: v[0] if isinstance(v, list) else v for n, v in settings.controls.items()}
    return [
        settings.seconds,
        settings.seed,
        settings.temperature,
        settings.top_k,
        settings.guidance,
        settings.candidates,
        settings.count,
        move,
        settings.controls[move][-1] if curves else 0.9,
        settings.loop,
        settings.bars,
        settings.bpm,
        settings.beats_per_bar,
        0.0 if settings.width is None else settings.width,
        settings.movement,
        *[n in settings.controls for n in names],
        *[firsts.get(n, 0.5) for n in names],
    ]


def _wire_generation(
    ctx: AppContext,
    session_state: gr.State,
    tab: gr.Tab,
    settings: SettingsPanel,
    takes: TakesPanel,
    names: tuple[str, ...],
) -> None:
    """Model list, model choice, the dice and the Generate button."""

    @friendly("listing models")
    def on_refresh(current):
        return gr.Dropdown(choices=cb.model_names(ctx), value=cb.default_model(ctx, current))

    @friendly("loading the model")
    def on_model(name, current_preset):
        if not name:
            return gr.Dropdown(choices=[], value=None), gr.Slider()
        bundle = ctx.models.get(name)
        size = int(bundle.codec.config.codebook_size)
        message = "" if bundle.prior is not None else " (no prior: this model cannot generate)"
        if message:
            gr.Warning(f"{name}{message}")
        presets = cb.preset_names(ctx, name)
        # Keep a preset picked (or just saved) while this ran, if the model has it.
        keep = current_preset if current_preset in presets else None
        return gr.Dropdown(choices=presets, value=keep), gr.Slider(maximum=size)

    @friendly("generating")
    def on_generate(session: UserSession, model_name, *values_in, progress=gr.Progress()):  # noqa: B008 (Gradio injects it)
        *values, locked = values_in  # the lock comes last, after the settings panel's inputs
        asked = collect(names, values)
        asked.seed = cb.seed_for_generate(asked.seed, bool(locked))
        made = cb.generate_takes(
            ctx, session, model_name, asked, report=lambda f, m: progress(f, desc=m)
        )
        status, *shown = _after_generation(ctx, session, model_name, made)
        return (session, status, asked.seed, *shown)  # the seed used, shown in its box

    model = settings.model
    settings.refresh.click(on_refresh, model, model, queue=False)
    tab.select(on_refresh, model, model, queue=False)
    model.change(on_model, [model, settings.preset], [settings.preset, settings.top_k])
    settings.dice.click(cb.random_seed, None, settings.seed, queue=False)
    # A seed typed in is one the person wants: keep it for the next Generate.
    settings.seed.input(lambda: True, None, settings.lock, queue=False)
    settings.go.click(
        on_generate,
        [session_state, model, *settings.inputs, settings.lock],
        [
            session_state, takes.status, settings.seed, *takes.players, takes.history, takes.pick,
            takes.take_a, takes.take_b, takes.export_take, takes.ab, takes.ab_player,
        ],
        concurrency_limit=2,
        concurrency_id="generate",
        # Progress (and a refusal's "Error" badge) on the status line only, not on all outputs.
        show_progress_on=[takes.status],
    )  # fmt: skip


def _after_generation(ctx: AppContext, session: UserSession, model_name: str, made) -> list:
    """What the takes panel shows after new takes: players, history, pickers, the A/B player."""
    updates = []
    for i in range(ctx.max_count):
        if i < len(made):
            looped = made[i].loop_seconds is not None  # a loop plays round and round
            updates.append(
                gr.Audio(value=str(made[i].path), label=made[i].label, visible=True, loop=looped)
            )
        else:
            updates.append(gr.Audio(value=None, visible=False))
    choices = cb.take_choices(session)
    newest = choices[0][1]
    previous = choices[1][1] if len(choices) > 1 else newest
    status_text = f"Made {len(made)} take{'s' if len(made) > 1 else ''} with **{model_name}**."
    if made and made[0].codes is not None and made[0].codes.channels == 2:
        status_text += " Stereo takes of the model's own image: the width scales its side."
    if any(not take.in_memory for take in session.takes):
        status_text += " Older takes play and export from disk, to keep memory free."
    return [
        status_text,
        *updates,
        cb.take_rows(session),
        gr.Dropdown(choices=choices, value=newest),
        gr.Dropdown(choices=choices, value=previous),
        gr.Dropdown(choices=choices, value=newest),
        gr.Dropdown(choices=choices, value=newest),
        gr.Radio(value="A"),
        cb.take_path(session, previous),  # the A/B player starts on A
    ]


def _wire_control_units(ctx: AppContext, settings: SettingsPanel, names: tuple[str, ...]) -> None:
    """Each control's physical value follows its slider and the model picked."""

    def show(model, *values):
        return cb.control_units(ctx, model, dict(zip(names, values, strict=True)))

    sources = [settings.model, *settings.control_values]
    for component in sources:
        component.change(show, sources, settings.control_units, queue=False)


def _wire_sampling(ctx: AppContext, settings: SettingsPanel, names: tuple[str, ...]) -> None:
    """Ticking a control sets guidance and candidates to what `sda generate` picks for the
    controls now ticked and the picked model (`sda.generate.sampling_defaults`); the sliders stay
    the person's to move. Only a person's tick (`.input`) does this: a recalled preset keeps its
    own values."""

    def on_tick(model, moving, *checks):
        ticked = {n: 0.5 for n, on in zip(names, checks, strict=True) if on}
        if moving in names:
            ticked[moving] = 0.5
        guidance, candidates = cb.sampling_for(ctx, model, ticked)
        return gr.Slider(value=guidance), gr.Slider(value=candidates)

    ticks = [settings.moving, *settings.control_checks]
    targets = [settings.guidance, settings.candidates]
    for component in ticks:
        component.input(on_tick, [settings.model, *ticks], targets, queue=False)


def _wire_width(ctx: AppContext, settings: SettingsPanel) -> None:
    """The width's value follows its slider in the picked model's terms: a widening of a mono
    take, or "side of the model" for a stereo model. Picking a model sets the width to its
    own neutral: 0 (mono) for a mono model, 0.5 (the side as generated) for a stereo one."""

    def on_model(model):
        width = cb.model_width(cb.is_stereo_model(ctx, model), None)
        return gr.Slider(value=width), cb.width_label(ctx, model, width)

    def show(width, model):
        return cb.width_label(ctx, model, width)

    settings.width.change(show, [settings.width, settings.model], settings.width_value, queue=False)
    settings.model.change(
        on_model, settings.model, [settings.width, settings.width_value], queue=False
    )


def _wire_history(
    session_state: gr.State, settings: SettingsPanel, takes: TakesPanel, names: tuple[str, ...]
) -> None:
    """A/B switching (keeping the play position) and loading a past take's settings."""

    def on_ab(session: UserSession, choice, a, b, position):
        path = cb.take_path(session, a if choice == "A" else b)
        return gr.Audio(value=path, playback_position=float(position or 0))

    @friendly("reusing settings")
    def on_reuse(session: UserSession, number):
        # Locked: the next Generate makes this very take again (change the seed to vary it).
        return [*spread(names, cb.settings_from_take(session, number)), True]

    # `.input`: only a person's switch moves the player; generating sets it directly.
    for trigger in (takes.ab.input, takes.take_a.input, takes.take_b.input):
        trigger(None, None, takes.ab_position, js=AB_REMEMBER_JS, queue=False).then(
            on_ab,
            [session_state, takes.ab, takes.take_a, takes.take_b, takes.ab_position],
            takes.ab_player,
            queue=False,
        ).then(None, None, None, js=AB_RESTORE_JS, queue=False)
    takes.reuse.click(
        on_reuse, [session_state, takes.pick], [*settings.inputs, settings.lock], queue=False
    )


def _wire_presets(ctx: AppContext, settings: SettingsPanel, names: tuple[str, ...]) -> None:
    """Save, recall and delete presets of the current model."""

    @friendly("saving the preset")
    def on_preset_save(model_name, name, *values_in):
        saved = cb.save_preset(ctx, model_name, name, collect(names, values_in))
        gr.Info(f"preset {saved!r} saved")
        return gr.Dropdown(choices=cb.preset_names(ctx, model_name), value=saved)

    @friendly("recalling the preset")
    def on_preset_recall(model_name, name, *values_in):
        return spread(names, cb.recall_preset(ctx, model_name, name, collect(names, values_in)))

    @friendly("deleting the preset")
    def on_preset_delete(model_name, name):
        cb.delete_preset(ctx, model_name, name)
        gr.Info(f"preset {name!r} deleted")
        return gr.Dropdown(choices=cb.preset_names(ctx, model_name), value=None)

    model, preset, inputs = settings.model, settings.preset, settings.inputs
    settings.preset_save.click(on_preset_save, [model, settings.preset_name, *inputs], preset)
    settings.preset_recall.click(on_preset_recall, [model, preset, *inputs], inputs)
    settings.preset_delete.click(on_preset_delete, [model, preset], preset)
