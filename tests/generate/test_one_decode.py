"""One decode per take: candidates are measured on short decoded chunks, all candidates in one
batch per choice, and the kept take is decoded once, whole."""

import numpy as np
import pytest

from sda.dna.take import Take
from sda.generate import generate, render

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def decodes(tiny_prior_bundle, monkeypatch) -> list[tuple[int, ...]]:
    """The grid shapes the real codec's decoder is called with, in order."""
    codec = tiny_prior_bundle.codec
    real = codec.decode
    calls: list[tuple[int, ...]] = []

    def counted(codes, *args, **kwargs):
        calls.append(tuple(codes.shape))
        return real(codes, *args, **kwargs)

    monkeypatch.setattr(codec, "decode", counted)
    return calls


def test_a_free_take_is_decoded_once(tiny_prior_bundle, decodes):
    take = generate(tiny_prior_bundle, seconds=0.3, seed=1)
    assert isinstance(take, Take) and len(decodes) == 1
    assert decodes[0][-1] == take.codes.frames
    assert len(take.audio) == take.codes.frames * tiny_prior_bundle.codec.config.samples_per_frame


def test_candidates_are_measured_in_batches_and_the_kept_one_decoded_once(
    tiny_prior_bundle, decodes
):
    controls = {"brightness": 0.8, "loudness": 0.5}
    take = generate(
        tiny_prior_bundle, seconds=0.3, seed=2, controls=controls, candidates=3, halves=False
    )
    # a take shorter than a steering chunk: one choice, the three candidates in one batch
    assert [shape[0] for shape in decodes] == [3, 1]
    assert decodes[-1][-1] == take.codes.frames  # the kept take, whole
    assert take.provenance["operations"][-1]["candidates"]["count"] == 3
    decodes.clear()
    # the same take from its codes costs a decode, as `generate` made it
    np.testing.assert_array_equal(render(tiny_prior_bundle, take.codes, controls), take.audio)
    assert len(decodes) == 1


def test_a_kept_prompt_is_decoded_with_the_continuation_once(tiny_prior_bundle, decodes):
    prompt = generate(tiny_prior_bundle, seconds=0.1, seed=3).codes
    decodes.clear()
    take = generate(
        tiny_prior_bundle, seconds=0.2, seed=4, prompt=prompt, include_prompt=True,
        controls={"warmth": 0.3}, candidates=2,
    )  # fmt: skip
    # the two candidates of the new part in one batch, then the whole take (prompt + new part)
    assert [shape[0] for shape in decodes] == [2, 1]
    assert decodes[-1][-1] == take.codes.frames > prompt.frames
