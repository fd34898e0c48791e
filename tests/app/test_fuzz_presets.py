"""Fuzzed presets files: each reads, and recalls into the Generate tab's settings, or gives one
clean `SdaError`; never a traceback, never an allocation beyond a bound (seeded, a few seconds)."""

from __future__ import annotations

import json
import random

import pytest
from fuzzing import HOSTILE_VALUES, mutate_bytes, mutate_json, run_fuzz

from sda.app.generate_callbacks import GenerationSettings
from sda.app.presets import MAX_FILE_BYTES, PresetError, PresetStore

MODEL = "abc123"


@pytest.fixture
def store(tmp_path) -> PresetStore:
    store = PresetStore(root=tmp_path)
    plain = GenerationSettings(seconds=3.0, temperature=0.9, controls={"brightness": 0.7})
    swell = GenerationSettings(loop=True, bars=2, bpm=96, controls={"loudness": [0.2, 0.8]})
    for name, settings in (("bright", plain), ("swell", swell)):
        data = settings.to_dict()
        data.pop("seed")
        store.save(MODEL, name, data)
    return store


def _recall_all(store: PresetStore) -> None:
    for name in store.names(MODEL):
        data = store.load(MODEL, name)
        GenerationSettings.from_dict({**GenerationSettings().to_dict(), **data}).rules()


def test_fuzzed_presets_files_load_or_give_a_clean_error(store):
    path = store._path(MODEL)
    raw = path.read_bytes()
    data = json.loads(raw)
    _recall_all(store)  # the original is good

    def case(rng: random.Random, _: int) -> None:
        roll = rng.random()
        if roll < 0.4:
            path.write_bytes(mutate_bytes(raw, rng))
        elif roll < 0.9:
            path.write_text(json.dumps(mutate_json(data, rng)))
        else:  # a whole preset or the whole list replaced by something hostile
            changed = json.loads(raw)
            target = changed["presets"] if rng.random() < 0.5 else changed
            target[rng.choice(list(target))] = rng.choice(HOSTILE_VALUES)
            path.write_text(json.dumps(changed))
        _recall_all(store)

    assert run_fuzz(case, seed=41) >= 1000


def test_an_oversized_or_deeply_nested_presets_file_is_refused_unread(store):
    path = store._path(MODEL)
    path.write_bytes(b" " * (MAX_FILE_BYTES + 1))
    with pytest.raises(PresetError, match="more than the .* a list can be.*move it away"):
        store.names(MODEL)
    path.write_text('{"format": "sda-presets", "presets": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(PresetError, match="damaged"):
        store.names(MODEL)
    path.write_text('{"format": "sda-presets", "presets": {"x": {"seconds": NaN}}}')
    with pytest.raises(PresetError, match="'x' is not a set of settings|NaN"):
        store.names(MODEL)


def test_a_preset_that_could_not_be_read_back_is_not_saved(store):
    with pytest.raises(PresetError, match="not a plain value"):
        store.save(MODEL, "odd", {"seconds": float("inf")})
    with pytest.raises(PresetError, match="not a plain value"):
        store.save(MODEL, "deep", {"controls": {"loudness": {"a": 1}}})
    assert store.names(MODEL) == ["bright", "swell"]
