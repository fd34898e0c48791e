"""check_codes: the one "do these codes fit this model" rule, the same from a bundle or a codec."""

import numpy as np
import pytest

from sda.dna.codes import Codes
from sda.dna.codes_fit import check_codes, model_parts
from sda.dna.errors import CodesError


def _grid(model, levels: int, *, size: int | None = None, bundle_id: str | None = None) -> Codes:
    codec, model_id, _ = model_parts(model)
    size = size or codec.config.codebook_size
    return Codes(np.zeros((levels, 3), np.int32), bundle_id or model_id, 10.0, size)


def test_a_bundle_and_its_bare_codec_are_the_same_model(tiny_bundle):
    codec, model_id, name = model_parts(tiny_bundle)
    assert codec is tiny_bundle.codec and model_id == tiny_bundle.codec.fingerprint()
    assert model_parts(tiny_bundle.codec)[:2] == (codec, model_id)
    levels = codec.config.num_levels
    for model in (tiny_bundle, tiny_bundle.codec):
        check_codes(model, _grid(model, levels))
        check_codes(model, _grid(model, 1))  # fewer levels decode fine
        check_codes(model, _grid(model, levels), all_levels=True)


def test_codes_that_do_not_fit_are_refused_with_one_message(tiny_bundle):
    levels = tiny_bundle.codec.config.num_levels
    size = tiny_bundle.codec.config.codebook_size
    cases = [
        (_grid(tiny_bundle, levels, bundle_id="f" * 16), {}, "were made by model ffff"),
        (_grid(tiny_bundle, levels + 1), {}, f"{levels + 1} levels .* at most that many"),
        (_grid(tiny_bundle, 1), {"all_levels": True}, "needs all of them"),
        (_grid(tiny_bundle, levels, size=size * 2), {}, f"of {size * 2} codes"),
    ]
    for codes, options, message in cases:
        messages = []
        for model in (tiny_bundle, tiny_bundle.codec):
            with pytest.raises(CodesError, match=message) as refused:
                check_codes(model, codes, what="the codes in kick.sdacodes", **options)
            messages.append(str(refused.value))
        # a bare codec has no name, so its id stands in for it; the words are the same
        named, bare = tiny_bundle.name, tiny_bundle.id
        assert messages[0].replace(f" {named} ", f" {bare} ") == messages[1]
        assert messages[0].startswith("the codes in kick.sdacodes")
