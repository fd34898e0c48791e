"""codec_bridge: a grid decoded once into a `Take` that exports use, with how it was decoded."""

import numpy as np
import pytest

from sda.dna import codec_bridge
from sda.dna.codes import Codes, CodesError
from sda.dna.take import Take


@pytest.fixture(scope="module")
def codes(tiny_bundle, tiny_training_audio) -> Codes:
    return codec_bridge.encode_audio(tiny_bundle, tiny_training_audio[0], source="pluck.wav")


def test_a_take_holds_the_decode_and_how_it_was_made(tiny_bundle, codes):
    take = codec_bridge.decode_take(tiny_bundle, codes)
    assert isinstance(take, Take) and take.sample_rate == tiny_bundle.codec.config.sample_rate
    np.testing.assert_array_equal(take.audio, codec_bridge.decode(tiny_bundle, codes))
    assert take.provenance["sources"] == ["pluck.wav"]
    assert [op["op"] for op in take.provenance["operations"]] == ["encode"]
    coarse = codec_bridge.decode_take(tiny_bundle, codes, levels=1)
    assert coarse.provenance["operations"][-1] == {"op": "decode", "levels": 1}
    assert codes.provenance["operations"][-1]["op"] == "encode"  # the codes are left as they were
    assert not np.array_equal(coarse.audio, take.audio)
    assert take.seconds == pytest.approx(len(take.audio) / take.sample_rate)


def test_a_take_refuses_foreign_codes_and_bad_levels(tiny_bundle, codes):
    foreign = Codes(codes.indices, "f" * 16, codes.frame_rate, codes.codebook_size)
    with pytest.raises(CodesError, match="made by model ffff"):
        codec_bridge.decode_take(tiny_bundle, foreign)
    with pytest.raises(CodesError, match="levels"):
        codec_bridge.decode_take(tiny_bundle, codes, levels=codes.levels + 1)
    with pytest.raises(ValueError, match="samples"):
        Take(codes=codes, audio=np.zeros((3, 10), np.float32), sample_rate=48_000)
    stereo = Take(codes=codes, audio=np.zeros((2, 480), np.float32), sample_rate=48_000)
    assert stereo.seconds == pytest.approx(0.01)  # a stereo take: two channels, one length


def test_an_audio_output_is_the_take_exported(tiny_bundle, codes, tmp_path):
    import soundfile

    path = codec_bridge.save_codes_or_audio(tiny_bundle, codes, tmp_path / "x.wav")
    written = soundfile.read(str(path), dtype="float64")[0]
    expected = codec_bridge.decode_take(tiny_bundle, codes).audio
    assert np.abs(written - expected).max() <= 2.0 / 2**23  # 24 bits of it, +-1 LSB dither
